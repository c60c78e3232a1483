//go:build linux

package extents

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// openRawDevice opens the block device m names with O_DIRECT (so neither
// this kernel's block device cache nor the file's page cache is in the way),
// or skips.
func openRawDevice(t *testing.T, m *Map) *os.File {
	t.Helper()
	major, minor, err := parseDevice(m.Device)
	if err != nil {
		t.Fatal(err)
	}
	node := "/dev/" + devName(filepath.Join("/sys/dev/block", m.Device))
	var st unix.Stat_t
	if err := unix.Stat(node, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor {
		t.Skipf("no block device node for %s at %s (%v)", m.Device, node, err)
	}
	f, err := os.OpenFile(node, os.O_RDWR|unix.O_DIRECT, 0)
	if err != nil {
		t.Skipf("cannot open the raw device (needs root and access to the device): %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// alignedBuffer is page-aligned memory, as O_DIRECT wants.
func alignedBuffer(t *testing.T, n int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}

// TestRawDeviceRoundTrip does what the two kernels do, in one: the file is
// written through the filesystem and read through a File on the raw device,
// then written through the File and read through the filesystem after
// DropCache. It runs only where the raw device can be opened (root). The
// write to the raw device comes only after the read proved the map right, and
// touches only the file's own blocks.
func TestRawDeviceRoundTrip(t *testing.T) {
	dir := diskDir(t)
	const size = 3<<20 + 5*PageSize
	path := filepath.Join(dir, "image")
	m, err := Prepare(path, size)
	if err != nil {
		t.Fatal(err)
	}
	dev := openRawDevice(t, m)
	f, err := NewFile(dev, m)
	if err != nil {
		t.Fatal(err)
	}

	first := pattern(size, "first kernel")
	overwrite(t, path, first)
	buf := alignedBuffer(t, size)
	if n, err := f.ReadAt(buf, 0); n != size || err != nil {
		t.Fatalf("ReadAt on the raw device = %d, %v", n, err)
	}
	if !bytes.Equal(buf, first) {
		t.Fatal("the raw device does not hold the file's data where the map says; not writing")
	}
	if err := m.Verify(path); err != nil {
		t.Fatal(err)
	}

	second := pattern(size, "other kernel")
	copy(buf, second)
	// Two writes that meet inside the file, each aligned for O_DIRECT.
	const half = size / 2 &^ (PageSize - 1)
	if n, err := f.WriteAt(buf[:half], 0); n != half || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if n, err := f.WriteAt(buf[half:], half); n != size-half || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := DropCache(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, second) {
		t.Fatal("after DropCache the filesystem does not show what was written to the raw device")
	}
	if err := m.Verify(path); err != nil {
		t.Fatal(err)
	}
}
