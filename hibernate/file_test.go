package hibernate

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/extents"
)

// memDev is a byte slice as a block device.
type memDev struct{ b []byte }

func (m *memDev) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memDev) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(m.b)) {
		return 0, io.ErrShortWrite
	}
	return copy(m.b[off:], p), nil
}

// testMap is a 3-block file scattered over a 64 KiB device: file block 0 at
// device block 10, blocks 1-2 at device blocks 3-4.
func testMap() *extents.Map {
	return &extents.Map{Device: "254:0", Size: 3 * 4096, Extents: []extents.Extent{
		{Logical: 0, Physical: 10 * 4096, Length: 4096},
		{Logical: 4096, Physical: 3 * 4096, Length: 2 * 4096},
	}}
}

func TestLocatorRoundTrip(t *testing.T) {
	m := testMap()
	b, err := encodeLocator(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != imageOffset || string(b[:8]) != locatorMagic {
		t.Fatalf("locator of %d bytes starting %q", len(b), b[:8])
	}
	got, err := decodeLocator(b)
	if err != nil || !got.Equal(m) {
		t.Fatalf("decoded %v, %v; want %v", got, err, m)
	}
	for name, bad := range map[string][]byte{
		"short":       b[:100],
		"no magic":    append([]byte("KJIMGFIX"), b[8:]...),
		"huge len":    append(append([]byte(locatorMagic), 0xff, 0xff, 0, 0), b[12:]...),
		"flipped map": func() []byte { c := bytes.Clone(b); c[20] ^= 1; return c }(),
	} {
		if _, err := decodeLocator(bad); !errors.Is(err, ErrLocator) {
			t.Errorf("%s: err = %v, want ErrLocator", name, err)
		}
	}
}

func TestLocatorTooManyExtents(t *testing.T) {
	m := &extents.Map{Device: "254:0", Size: 400 * 4096}
	for i := uint64(0); i < 400; i++ {
		m.Extents = append(m.Extents, extents.Extent{Logical: i * 4096, Physical: (2*i + 1) * 4096, Length: 4096})
	}
	if _, err := encodeLocator(m); err == nil {
		t.Fatal("a map of 400 extents fit a 4 KiB locator")
	}
}

// TestSection writes an "image" through the section over the scattered file
// and checks where its bytes land on the device, and the bounds.
func TestSection(t *testing.T) {
	dev := &memDev{b: make([]byte, 64<<10)}
	f, err := extents.NewFile(dev, testMap())
	if err != nil {
		t.Fatal(err)
	}
	s := NewSection(f)
	if s.size != 2*4096 {
		t.Fatalf("section of %d bytes, want 8192", s.size)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 512) // 8 KiB
	if _, err := s.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dev.b[3*4096:5*4096], data) {
		t.Error("the image's bytes are not at file blocks 1-2 (device blocks 3-4)")
	}
	if !bytes.Equal(dev.b[10*4096:11*4096], make([]byte, 4096)) {
		t.Error("the section wrote into the locator block")
	}
	if _, err := s.WriteAt([]byte{1}, s.size); err == nil {
		t.Error("a write past the end was taken")
	}
	buf := make([]byte, 100)
	if n, err := s.ReadAt(buf, s.size-50); n != 50 || err != io.EOF || !bytes.Equal(buf[:50], data[len(data)-50:]) {
		t.Errorf("read across the end: %d, %v", n, err)
	}
}

// TestOpenImageFile finds the image file by the offset of its first block.
func TestOpenImageFile(t *testing.T) {
	dir := t.TempDir()
	m := testMap()
	img := make([]byte, 64<<10)
	loc, _ := encodeLocator(m)
	copy(img[10*4096:], loc)
	path := filepath.Join(dir, "disk")
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	dev, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if s, err := openImageFile(dev, "254:0", 10*4096); err != nil || s.size != 8192 {
		t.Fatalf("openImageFile: %v, %v", s, err)
	}
	for _, tc := range []struct {
		dev    string
		offset int64
	}{
		{"254:1", 10 * 4096}, // another device's file
		{"254:0", 3 * 4096},  // not where the locator is
	} {
		if _, err := openImageFile(dev, tc.dev, tc.offset); !errors.Is(err, ErrLocator) {
			t.Errorf("device %s offset %d: err = %v, want ErrLocator", tc.dev, tc.offset, err)
		}
	}
}

func TestImagePart(t *testing.T) {
	plain := bytes.Repeat([]byte{7}, 3*4096)
	if r, n := ImagePart(bytes.NewReader(plain), int64(len(plain))); n != int64(len(plain)) || r == nil {
		t.Errorf("a raw image: size %d", n)
	}
	file := append(append([]byte(locatorMagic), make([]byte, 4096-8)...), plain...)
	r, n := ImagePart(bytes.NewReader(file), int64(len(file)))
	b := make([]byte, 1)
	if n != int64(len(plain)) {
		t.Fatalf("an image file: size %d, want %d", n, len(plain))
	}
	if _, err := r.ReadAt(b, 0); err != nil || b[0] != 7 {
		t.Errorf("an image file's part starts with %v (%v)", b, err)
	}
}

// FuzzDecodeLocator: no panic; a decoded map is valid and encodes back to
// the same locator.
func FuzzDecodeLocator(f *testing.F) {
	b, _ := encodeLocator(testMap())
	f.Add(b)
	f.Add(b[:12])
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < imageOffset {
			in = append(in, make([]byte, imageOffset-len(in))...)
		}
		m, err := decodeLocator(in)
		if err != nil {
			if !errors.Is(err, ErrLocator) || m != nil {
				t.Fatalf("error %v with map %v", err, m)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded an invalid map: %v", err)
		}
		again, err := encodeLocator(m)
		if err != nil {
			t.Fatalf("re-encoding a decoded map: %v", err)
		}
		back, err := decodeLocator(again)
		if err != nil || !back.Equal(m) {
			t.Fatalf("round trip: %v, %v", back, err)
		}
	})
}

// TestPrepareFileKeepsItsBlocks: a file prepared ahead (kjump image prepare)
// keeps its first block when the hibernation prepares it again with the same
// size, so the resume entry's offset, set before, stays right.
func TestPrepareFileKeepsItsBlocks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "image")
	m, _, err := PrepareFile(p, 8<<20)
	if err != nil {
		t.Skipf("cannot map a file on this filesystem: %v", err)
	}
	again, err := prepareImageFile(p, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	if again.Extents[0].Physical != m.Extents[0].Physical || again.Device != m.Device {
		t.Errorf("prepared at %#x on %s, the hibernation's file is at %#x on %s", m.Extents[0].Physical, m.Device, again.Extents[0].Physical, again.Device)
	}
}
