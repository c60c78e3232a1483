package blockdev

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDirect: writes of every alignment land where they belong: aligned ones
// straight, a misaligned buffer through an aligned copy, a misaligned offset
// or length through the page cache; reads of every alignment see them.
func TestDirect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(path, make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDirect(path)
	if errors.Is(err, unix.EINVAL) {
		t.Skipf("this filesystem refuses O_DIRECT: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := make([]byte, 64<<10)
	fill := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	misaligned := AlignedBuffer(2*Align + 1)[1:]
	copy(misaligned, fill(2*Align, 3))
	for _, c := range []struct {
		name string
		p    []byte
		off  int64
	}{
		{"aligned", copyAligned(fill(Align, 1)), 0},
		{"aligned buffer", copyAligned(fill(2*Align, 2)), 4 * Align},
		{"misaligned buffer", misaligned, 8 * Align},
		{"misaligned offset", fill(100, 4), 3*Align + 17},
		{"short length", fill(Align-1, 5), 12 * Align},
	} {
		if n, err := d.WriteAt(c.p, c.off); err != nil || n != len(c.p) {
			t.Fatalf("%s: wrote %d of %d: %v", c.name, n, len(c.p), err)
		}
		copy(want[c.off:], c.p)
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	// Reads of either kind see every write: an aligned one straight from
	// the device, the others through the page cache.
	for _, c := range []struct {
		name string
		p    []byte
		off  int64
	}{
		{"aligned read", AlignedBuffer(len(want)), 0},
		{"misaligned read buffer", make([]byte, len(want)+1)[1:], 0},
		{"misaligned read offset", make([]byte, 100), 3*Align + 17},
		{"aligned read after a plain write", AlignedBuffer(Align), 3 * Align},
	} {
		if n, err := d.ReadAt(c.p, c.off); err != nil || n != len(c.p) {
			t.Fatalf("%s: read %d of %d: %v", c.name, n, len(c.p), err)
		}
		if !bytes.Equal(c.p, want[c.off:c.off+int64(len(c.p))]) {
			t.Errorf("%s: the device does not hold what was written", c.name)
		}
	}
}

func copyAligned(p []byte) []byte {
	b := AlignedBuffer(len(p))
	copy(b, p)
	return b
}
