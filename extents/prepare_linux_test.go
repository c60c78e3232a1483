//go:build linux

package extents

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestFiemapABI(t *testing.T) {
	if got := unsafe.Sizeof(fiemapExtent{}); got != 56 {
		t.Errorf("sizeof(struct fiemap_extent) = %d, want 56", got)
	}
	if got := unsafe.Offsetof(fiemapRequest{}.Extents); got != 32 {
		t.Errorf("sizeof(struct fiemap) = %d, want 32", got)
	}
	if got := unsafe.Sizeof(fsxattr{}); got != 28 {
		t.Errorf("sizeof(struct fsxattr) = %d, want 28", got)
	}
	if fsIocFiemap != 0xC020660B || fsIocFsgetxattr != 0x801C581F {
		t.Errorf("ioctl numbers %#x %#x, want 0xc020660b 0x801c581f", fsIocFiemap, fsIocFsgetxattr)
	}
}

// diskDir is a temporary directory on a filesystem Prepare accepts, or skips.
func diskDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	_, err := Prepare(filepath.Join(dir, "probe"), PageSize)
	if errors.Is(err, ErrNotSupported) || errors.Is(err, ErrNotOneDevice) {
		t.Skipf("the test directory's filesystem cannot be mapped (%v); set TMPDIR to a directory on ext4 or xfs", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func blockSize(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Blksize)
}

// pattern is size bytes that differ in every block and every run.
func pattern(size int64, seed string) []byte {
	b := make([]byte, size)
	for off := int64(0); off < size; off += PageSize {
		blk := b[off : off+PageSize]
		for i := range blk {
			blk[i] = byte(int(off/PageSize)*7 + i*13 + len(seed))
		}
		copy(blk, fmt.Sprintf("%s block %d", seed, off/PageSize))
	}
	return b
}

func overwrite(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// checkMap checks what Prepare promises about a real file's map.
func checkMap(t *testing.T, path string, m *Map, size int64) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)); m.Device != want {
		t.Errorf("Device = %s, want %s", m.Device, want)
	}
	if m.Size != size || st.Size != size {
		t.Errorf("map size %d, file size %d, want %d", m.Size, st.Size, size)
	}
	bs := blockSize(t, path)
	for _, e := range m.Extents {
		if e.Physical%bs != 0 || e.Logical%bs != 0 || e.Length%bs != 0 {
			t.Errorf("%v is not aligned to the %d-byte block", e, bs)
		}
	}
	// Independently of buildExtents: the kernel reports every extent of the
	// file written, private and placed.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := fiemap(int(f.Fd()), uint64(size))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range raw {
		if r.Logical < uint64(size) && r.Flags&^(extentLast|extentMerged) != 0 {
			t.Errorf("extent at %#x has FIEMAP flags %#x", r.Logical, r.Flags)
		}
	}
	if st.Blocks*512 < size {
		t.Errorf("the file has %d bytes of blocks, want at least %d", st.Blocks*512, size)
	}
}

func TestPrepare(t *testing.T) {
	dir := diskDir(t)
	for _, size := range []int64{PageSize, 1<<20 + 2*PageSize, 24 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("f%d", size))
			m, err := Prepare(path, size)
			if err != nil {
				t.Fatal(err)
			}
			checkMap(t, path, m, size)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, make([]byte, size)) {
				t.Fatal("a new file is not all zeros")
			}
			if err := m.Verify(path); err != nil {
				t.Fatalf("Verify right after Prepare: %v", err)
			}

			// Writing the file in place moves no block.
			data := pattern(size, "in place")
			overwrite(t, path, data)
			if err := m.Verify(path); err != nil {
				t.Fatalf("Verify after overwriting the file: %v", err)
			}

			// Prepare again reuses the file: same blocks, contents kept.
			again, err := Prepare(path, size)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Equal(m) {
				t.Fatalf("Prepare of a prepared file moved it: %s", diff(m, again))
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
				t.Fatal("Prepare of a prepared file changed its contents")
			}
		})
	}
}

func TestPrepareRepairs(t *testing.T) {
	dir := diskDir(t)
	const size = 1 << 20
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"sparse", func(t *testing.T, path string) {
			if err := os.Truncate(path, size); err != nil {
				t.Fatal(err)
			}
		}},
		{"fallocated, unwritten", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
				t.Skipf("fallocate: %v", err)
			}
		}},
		{"punched", func(t *testing.T, path string) {
			overwrite(t, path, pattern(size, "x"))
			punch(t, path, PageSize, 2*PageSize)
		}},
		{"larger", func(t *testing.T, path string) {
			if err := os.WriteFile(path, pattern(3*size, "big"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"smaller", func(t *testing.T, path string) {
			if err := os.WriteFile(path, pattern(size/2, "small"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint(i))
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, path)
			m, err := Prepare(path, size)
			if err != nil {
				t.Fatal(err)
			}
			checkMap(t, path, m, size)
			if err := m.Verify(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func punch(t *testing.T, path string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n); err != nil {
		t.Skipf("cannot punch a hole: %v", err)
	}
}

func TestVerifyDetectsChanges(t *testing.T) {
	dir := diskDir(t)
	const size = 4 << 20
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
		want   error
		msg    string
	}{
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, size/2); err != nil {
				t.Fatal(err)
			}
		}, ErrChanged, "size 4194304, now 2097152"},
		{"replaced", func(t *testing.T, path string) {
			other := path + ".new"
			if err := os.WriteFile(other, pattern(size, "other"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}, ErrChanged, "extent"},
		{"punched", func(t *testing.T, path string) {
			punch(t, path, size/2, PageSize)
		}, ErrHole, "[0x200000, 0x201000)"},
		{"zeroed to unwritten", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, 0, size); err != nil {
				t.Skipf("FALLOC_FL_ZERO_RANGE: %v", err)
			}
		}, ErrUnsafeExtent, "allocated but not written"},
		{"removed", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, os.ErrNotExist, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprint(i))
			m, err := Prepare(path, size)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(t, path)
			err = m.Verify(path)
			if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.msg) {
				t.Fatalf("Verify = %v; want %v containing %q", err, tt.want, tt.msg)
			}
			if tt.want == os.ErrNotExist {
				return
			}
			// Prepare mends what Verify found.
			m, err = Prepare(path, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Verify(path); err != nil {
				t.Fatalf("Verify after Prepare mended the file: %v", err)
			}
		})
	}
	if err := (&Map{Device: "8:0", Size: 1}).Verify(filepath.Join(dir, "0")); !errors.Is(err, ErrInvalidMap) {
		t.Errorf("Verify with an invalid map = %v, want ErrInvalidMap", err)
	}
}

func TestPrepareRefuses(t *testing.T) {
	dir := diskDir(t)
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		size int64
		want error
		msg  string
	}{
		{"zero size", filepath.Join(dir, "a"), 0, ErrSize, "not a positive multiple of 4096"},
		{"negative size", filepath.Join(dir, "a"), -PageSize, ErrSize, "round the size up"},
		{"odd size", filepath.Join(dir, "a"), 1000, ErrSize, "size 1000"},
		{"not page sized", filepath.Join(dir, "a"), PageSize + 512, ErrSize, "size 4608"},
		{"fifo", fifo, PageSize, ErrNotSupported, "not a regular file"},
		{"beyond the largest file", filepath.Join(dir, "a"), 1 << 60, ErrSize, "cannot grow to 1152921504606846976 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Prepare(tt.path, tt.size)
			if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.msg) || m != nil {
				t.Fatalf("Prepare = %v, %v; want %v containing %q", m, err, tt.want, tt.msg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Prepare left a file behind: %v", err)
	}
}

// shmDir is a directory on tmpfs, or skips.
func shmDir(t *testing.T) string {
	t.Helper()
	var sfs unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &sfs); err != nil || sfs.Type != unix.TMPFS_MAGIC {
		t.Skip("/dev/shm is not a tmpfs here")
	}
	dir, err := os.MkdirTemp("/dev/shm", "extents-test")
	if err != nil {
		t.Skipf("cannot write to /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestPrepareRefusesTmpfs(t *testing.T) {
	path := filepath.Join(shmDir(t), "image")
	_, err := Prepare(path, PageSize)
	want := "extents: file " + path + " is on tmpfs, which has no disk blocks; put it on a disk filesystem or give a raw device"
	if !errors.Is(err, ErrNotSupported) || fmt.Sprint(err) != want {
		t.Fatalf("Prepare on tmpfs = %v\nwant ErrNotSupported: %s", err, want)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Prepare left a file on tmpfs: %v", err)
	}
	if err := os.WriteFile(path, make([]byte, PageSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(path, PageSize); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Prepare of an existing tmpfs file = %v, want ErrNotSupported", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Prepare removed a file it did not create: %v", err)
	}
	m := Map{Device: "0:1", Size: PageSize, Extents: []Extent{{0, 0, PageSize}}}
	if err := m.Verify(path); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Verify on tmpfs = %v, want ErrNotSupported", err)
	}
}

func TestPrepareRefusesJournaledData(t *testing.T) {
	dir := diskDir(t)
	path := filepath.Join(dir, "journaled")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil || sfs.Type != unix.EXT4_SUPER_MAGIC {
		t.Skip("not on ext4")
	}
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|fsJournalDataFl)); err != nil {
		t.Skipf("cannot set chattr +j (needs CAP_SYS_RESOURCE): %v", err)
	}
	if _, err := Prepare(path, PageSize); !errors.Is(err, ErrUnsafeExtent) || !strings.Contains(err.Error(), "chattr -j") {
		t.Fatalf("Prepare of a chattr +j file = %v, want ErrUnsafeExtent", err)
	}
}

func BenchmarkPrepare(b *testing.B) {
	dir := b.TempDir()
	if _, err := Prepare(filepath.Join(dir, "probe"), PageSize); err != nil {
		b.Skip(err)
	}
	const size = 64 << 20
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		path := filepath.Join(dir, fmt.Sprint(i))
		if _, err := Prepare(path, size); err != nil {
			b.Fatal(err)
		}
		os.Remove(path)
	}
}

func BenchmarkVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), "f")
	m, err := Prepare(path, 64<<20)
	if err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if err := m.Verify(path); err != nil {
			b.Fatal(err)
		}
	}
}
