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
// or length through the page cache.
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
	got := make([]byte, len(want))
	if _, err := d.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the device does not hold what was written")
	}
}

func copyAligned(p []byte) []byte {
	b := AlignedBuffer(len(p))
	copy(b, p)
	return b
}
