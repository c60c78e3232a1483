package hibernate

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// elfNote encodes one ELF note as the kernel lays them out in
// /sys/kernel/notes: namesz (with the NUL), descsz, type, then the name and
// the descriptor, each padded to 4 bytes.
func elfNote(name string, typ uint32, desc []byte) []byte {
	pad := func(n int) int { return (n + 3) &^ 3 }
	nameZ := len(name) + 1
	b := make([]byte, 12+pad(nameZ)+pad(len(desc)))
	binary.LittleEndian.PutUint32(b[0:], uint32(nameZ))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(desc)))
	binary.LittleEndian.PutUint32(b[8:], typ)
	copy(b[12:], name)
	copy(b[12+pad(nameZ):], desc)
	return b
}

// testBuildID is the 20-byte GNU build ID of the fake kernel.
var testBuildID = func() []byte {
	b := make([]byte, 20)
	for i := range b {
		b[i] = byte(0xa0 + i)
	}
	return b
}()

const testBuildIDHex = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"

// kernelNotes is a /sys/kernel/notes like an x86_64 kernel's: the GNU build
// ID among Linux and Xen notes, after a GNU note of another type.
func kernelNotes(withBuildID bool) []byte {
	var b []byte
	b = append(b, elfNote("GNU", 1, []byte{0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0})...) // NT_GNU_ABI_TAG
	if withBuildID {
		b = append(b, elfNote("GNU", 3, testBuildID)...)
	}
	b = append(b, elfNote("Linux", 0x101, []byte{1, 1, 0, 0})...)
	b = append(b, elfNote("Linux", 6, []byte("6.12.9-kjump\x00"))...)
	b = append(b, elfNote("Xen", 0x12, []byte{0, 0xcf, 0x78, 3, 0, 0, 0, 0})...)
	return b
}

// qemu1G is a QEMU guest's firmware memory map with 1 GiB of RAM, as
// {start, end (inclusive), type}.
var qemu1G = [][3]string{
	{"0x0", "0x9fbff", "System RAM"},
	{"0x9fc00", "0x9ffff", "Reserved"},
	{"0xf0000", "0xfffff", "Reserved"},
	{"0x100000", "0x3ffdffff", "System RAM"},
	{"0x3ffe0000", "0x3fffffff", "Reserved"},
	{"0xfeffc000", "0xfeffffff", "Reserved"},
	{"0xfffc0000", "0xffffffff", "Reserved"},
}

const qemu1GRAM = 0x9fc00 + 0x3fee0000

// fakeSystem is what ReadSystem reads under a root.
type fakeSystem struct {
	release, version string
	notes            []byte
	memmap           [][3]string
	possible         string
}

func defaultFakeSystem() fakeSystem {
	return fakeSystem{
		release:  "6.12.9-kjump",
		version:  "#1 SMP PREEMPT_DYNAMIC Thu Jan  2 10:00:00 UTC 2025",
		notes:    kernelNotes(true),
		memmap:   qemu1G,
		possible: "0-3",
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// write builds the system's files under a new root (with the newlines sysfs
// and procfs put after values) and returns the root.
func (s fakeSystem) write(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "proc/sys/kernel/osrelease"), []byte(s.release+"\n"))
	writeFile(t, filepath.Join(root, "proc/sys/kernel/version"), []byte(s.version+"\n"))
	writeFile(t, filepath.Join(root, "sys/kernel/notes"), s.notes)
	for i, e := range s.memmap {
		dir := filepath.Join(root, "sys/firmware/memmap", strconv.Itoa(i))
		for j, name := range []string{"start", "end", "type"} {
			writeFile(t, filepath.Join(dir, name), []byte(e[j]+"\n"))
		}
	}
	writeFile(t, filepath.Join(root, "sys/devices/system/cpu/possible"), []byte(s.possible+"\n"))
	return root
}

func TestReadSystem(t *testing.T) {
	root := defaultFakeSystem().write(t)
	s, err := ReadSystem(root)
	if err != nil {
		t.Fatal(err)
	}
	if s.Release != "6.12.9-kjump" {
		t.Errorf("Release = %q", s.Release)
	}
	if want := "#1 SMP PREEMPT_DYNAMIC Thu Jan  2 10:00:00 UTC 2025 build-id " + testBuildIDHex; s.Identity != want {
		t.Errorf("Identity = %q, want %q", s.Identity, want)
	}
	if s.RAMSize != qemu1GRAM {
		t.Errorf("RAMSize = %#x, want %#x", s.RAMSize, uint64(qemu1GRAM))
	}
	if s.CPUs != 4 {
		t.Errorf("CPUs = %d, want 4", s.CPUs)
	}
	if s.MemMapHash == ([32]byte{}) {
		t.Error("MemMapHash is zero")
	}
	again, err := ReadSystem(root)
	if err != nil {
		t.Fatal(err)
	}
	if again != s {
		t.Errorf("reading the same root twice gave %+v and %+v", s, again)
	}
}

func TestReadSystemErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		change  func(*fakeSystem)
		remove  string // a file or directory under root to delete
		wantErr string // in the message
		wantIs  error
	}{
		{name: "no osrelease", remove: "proc/sys/kernel/osrelease", wantIs: fs.ErrNotExist},
		{name: "no version", remove: "proc/sys/kernel/version", wantIs: fs.ErrNotExist},
		{name: "no notes", remove: "sys/kernel/notes", wantErr: "reading the kernel's build ID", wantIs: fs.ErrNotExist},
		{
			name:    "notes without a GNU build ID",
			change:  func(s *fakeSystem) { s.notes = kernelNotes(false) },
			wantErr: "no GNU build ID note",
		},
		{
			name:    "empty notes",
			change:  func(s *fakeSystem) { s.notes = nil },
			wantErr: "no GNU build ID note",
		},
		{
			name: "truncated notes",
			change: func(s *fakeSystem) {
				n := elfNote("GNU", 3, testBuildID)
				s.notes = n[:len(n)-4]
			},
			wantErr: "sys/kernel/notes",
		},
		{
			name:    "no firmware memory map",
			remove:  "sys/firmware/memmap",
			wantErr: "CONFIG_FIRMWARE_MEMMAP",
			wantIs:  fs.ErrNotExist,
		},
		{
			name:    "empty firmware memory map",
			change:  func(s *fakeSystem) { s.memmap = nil },
			wantErr: "CONFIG_FIRMWARE_MEMMAP",
		},
		{
			name:    "bad memmap entry",
			change:  func(s *fakeSystem) { s.memmap = [][3]string{{"0x1000", "0xfff", "System RAM"}} },
			wantErr: "invalid range",
		},
		{name: "no possible CPUs file", remove: "sys/devices/system/cpu/possible", wantIs: fs.ErrNotExist},
		{
			name:    "bad possible CPUs",
			change:  func(s *fakeSystem) { s.possible = "0-" },
			wantErr: "sys/devices/system/cpu/possible: bad cpu list",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := defaultFakeSystem()
			if tt.change != nil {
				tt.change(&fake)
			}
			root := fake.write(t)
			if tt.remove != "" {
				if err := os.RemoveAll(filepath.Join(root, tt.remove)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadSystem(root)
			if err == nil {
				t.Fatal("ReadSystem succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
		})
	}
}

// The kernel's notes of the machine running the test, if it shows them.
func TestBuildIDRunningKernel(t *testing.T) {
	notes, err := os.ReadFile("/sys/kernel/notes")
	if err != nil {
		t.Skipf("no /sys/kernel/notes here: %v", err)
	}
	id, err := buildID(notes)
	if err != nil {
		t.Skipf("the running kernel has no usable build ID: %v", err)
	}
	if len(id) < 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("build ID %q is not hex of at least 8 bytes", id)
	}
}

func TestMemMapHash(t *testing.T) {
	read := func(m [][3]string) System {
		t.Helper()
		fake := defaultFakeSystem()
		fake.memmap = m
		s, err := ReadSystem(fake.write(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := read(qemu1G)

	// The kernel numbers the entries; the hash is of the map, not the numbering.
	reversed := make([][3]string, len(qemu1G))
	for i, e := range qemu1G {
		reversed[len(qemu1G)-1-i] = e
	}
	if s := read(reversed); s.MemMapHash != base.MemMapHash || s.RAMSize != base.RAMSize {
		t.Errorf("the same map in another directory order: hash %x RAM %#x, want %x %#x", s.MemMapHash, s.RAMSize, base.MemMapHash, base.RAMSize)
	}

	// 2 GiB instead of 1 GiB.
	bigger := append([][3]string(nil), qemu1G...)
	bigger[3] = [3]string{"0x100000", "0x7ffdffff", "System RAM"}
	bigger[4] = [3]string{"0x7ffe0000", "0x7fffffff", "Reserved"}
	s := read(bigger)
	if s.MemMapHash == base.MemMapHash {
		t.Error("a map with more RAM has the same hash")
	}
	if want := uint64(0x9fc00 + 0x7fee0000); s.RAMSize != want {
		t.Errorf("RAMSize = %#x, want %#x", s.RAMSize, want)
	}

	// The same RAM, but a reserved range became ACPI tables.
	retyped := append([][3]string(nil), qemu1G...)
	retyped[4][2] = "ACPI Tables"
	s = read(retyped)
	if s.MemMapHash == base.MemMapHash {
		t.Error("a map with another entry type has the same hash")
	}
	if s.RAMSize != base.RAMSize {
		t.Errorf("RAMSize = %#x, want %#x", s.RAMSize, base.RAMSize)
	}
}

func TestCountCPUs(t *testing.T) {
	for _, tt := range []struct {
		list string
		want uint32
		bad  bool
	}{
		{list: "0", want: 1},
		{list: "0-3", want: 4},
		{list: "0-3,8", want: 5},
		{list: "0,2-3", want: 3},
		{list: "0-0", want: 1},
		{list: "0-127", want: 128},
		{list: "0-3,8-11,16", want: 9},
		{list: "", bad: true},
		{list: "a", bad: true},
		{list: "3-1", bad: true},
		{list: "0-", bad: true},
		{list: "-3", bad: true},
		{list: "0,,1", bad: true},
		{list: "0-3,", bad: true},
		{list: " 0", bad: true},
		{list: "0-3-5", bad: true},
		{list: "4294967296", bad: true},
	} {
		n, err := countCPUs(tt.list)
		switch {
		case tt.bad && err == nil:
			t.Errorf("countCPUs(%q) = %d, want an error", tt.list, n)
		case tt.bad && !strings.Contains(err.Error(), "bad cpu list"):
			t.Errorf("countCPUs(%q): error %q", tt.list, err)
		case !tt.bad && err != nil:
			t.Errorf("countCPUs(%q): %v", tt.list, err)
		case !tt.bad && n != tt.want:
			t.Errorf("countCPUs(%q) = %d, want %d", tt.list, n, tt.want)
		}
	}
}

func TestCompare(t *testing.T) {
	saved := System{
		Release:  "6.12.9-kjump",
		Identity: "#1 SMP build-id " + testBuildIDHex,
		RAMSize:  1 << 30,
		CPUs:     4,
	}
	saved.MemMapHash[0] = 1
	const (
		kernelWhy = "boot the kernel that hibernated"
		memmapWhy = "memory map differs"
		cpuWhy    = "possible CPUs"
	)
	for _, tt := range []struct {
		name   string
		change func(*System)
		want   []string // in the message; the other reasons must not be
	}{
		{name: "identical", change: func(*System) {}},
		{
			name:   "another release",
			change: func(s *System) { s.Release = "6.12.10-kjump" },
			want:   []string{kernelWhy, "saved by kernel 6.12.9-kjump", "this is 6.12.10-kjump"},
		},
		{
			name:   "another build of the same release",
			change: func(s *System) { s.Identity = "#2 SMP build-id 00" },
			want:   []string{kernelWhy, "(#2 SMP build-id 00)"},
		},
		{
			name:   "another memory map",
			change: func(s *System) { s.MemMapHash[0] = 2; s.RAMSize = 2 << 30 },
			want:   []string{memmapWhy, "(1 GiB of RAM then, 2 GiB now)"},
		},
		{
			name:   "another memory map of the same size",
			change: func(s *System) { s.MemMapHash[31] = 9 },
			want:   []string{memmapWhy, "(1 GiB of RAM then, 1 GiB now)"},
		},
		{
			name:   "RAM size alone is not compared",
			change: func(s *System) { s.RAMSize = 2 << 30 },
		},
		{
			name:   "other CPUs",
			change: func(s *System) { s.CPUs = 2 },
			want:   []string{cpuWhy, "it had 4 possible CPUs, this machine has 2"},
		},
		{
			name:   "everything",
			change: func(s *System) { s.Release = "x"; s.MemMapHash = [32]byte{}; s.CPUs = 8 },
			want:   []string{kernelWhy, memmapWhy, cpuWhy},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := saved
			tt.change(&now)
			err := now.Compare(saved)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Compare: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("Compare = %v, want ErrMismatch", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			for _, why := range []string{kernelWhy, memmapWhy, cpuWhy} {
				if strings.Contains(msg, why) && !slices.Contains(tt.want, why) {
					t.Errorf("message %q gives the unrelated reason %q", msg, why)
				}
			}
		})
	}
}
