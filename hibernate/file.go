package hibernate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/internal/blockdev"
)

// An image in a file of the hibernating system's filesystem. The resume kernel
// must not mount that filesystem, so it finds the file by the disk offset of
// its first block (kjump resume --from DISK --offset N, like the kernel's
// resume_offset=). That block is the locator, which the first kernel writes
// through the filesystem before the jump; the image follows it, written raw
// by the second kernel through the file's extents:
//
//	0     8 bytes   magic "KJIMGFIL"
//	8     uint32    length L of the map
//	12    L bytes   the file's extent map (extents.Map binary encoding)
//	…     zeros to 4096
//	4096  the image (package image)
const (
	locatorMagic = "KJIMGFIL"
	imageOffset  = 4096
)

// ErrLocator means the offset given to resume does not hold an image file's
// locator block.
var ErrLocator = errors.New("no kjump image file starts at this offset")

func encodeLocator(m *extents.Map) ([]byte, error) {
	enc, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if 12+len(enc) > imageOffset {
		return nil, fmt.Errorf("the file has %d extents, too many to describe in its first block: defragment it (e4defrag) or use a raw device", len(m.Extents))
	}
	b := make([]byte, imageOffset)
	copy(b, locatorMagic)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(enc)))
	copy(b[12:], enc)
	return b, nil
}

func decodeLocator(b []byte) (*extents.Map, error) {
	if len(b) < imageOffset || !bytes.Equal(b[:8], []byte(locatorMagic)) {
		return nil, fmt.Errorf("%w (no %s magic)", ErrLocator, locatorMagic)
	}
	n := binary.LittleEndian.Uint32(b[8:])
	if n > imageOffset-12 {
		return nil, fmt.Errorf("%w: map length %d", ErrLocator, n)
	}
	var m extents.Map
	if err := m.UnmarshalBinary(b[12 : 12+n]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLocator, err)
	}
	return &m, nil
}

// writeLocator prepares path as an image file of size bytes and writes its
// locator block through the filesystem.
func writeLocator(path string, size int64) (*extents.Map, error) {
	m, err := extents.Prepare(path, size)
	if err != nil {
		return nil, err
	}
	b, err := encodeLocator(m)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteAt(b, 0); err != nil {
		return nil, err
	}
	return m, f.Sync()
}

// Section is the image part of an image file: [imageOffset, Size) of the
// file, read and written through its extents on the raw device.
type Section struct {
	f    *extents.File
	size int64
}

// NewSection is the image part of the image file f.
func NewSection(f *extents.File) *Section { return &Section{f: f, size: f.Size() - imageOffset} }

// Size is the image part's size in bytes.
func (s *Section) Size() int64 { return s.size }

func (s *Section) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-off {
		n, err := s.f.ReadAt(p[:s.size-off], off+imageOffset)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return s.f.ReadAt(p, off+imageOffset)
}

func (s *Section) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > s.size {
		return 0, fmt.Errorf("image file: write of %d bytes at %d is beyond its %d bytes (preallocate more with --size)", len(p), off, s.size)
	}
	return s.f.WriteAt(p, off+imageOffset)
}

func (s *Section) Sync() error { return s.f.Sync() }

// openImageFile opens the image file whose locator is at offset on the device
// dev (the resume kernel's view).
func openImageFile(dev blockdev.Device, devNum string, offset int64) (*Section, error) {
	b := make([]byte, imageOffset)
	if _, err := dev.ReadAt(b, offset); err != nil {
		return nil, fmt.Errorf("reading the locator at %d of %s: %w", offset, dev.Name(), err)
	}
	m, err := decodeLocator(b)
	if err != nil {
		return nil, err
	}
	if m.Device != devNum || len(m.Extents) == 0 || m.Extents[0].Physical != uint64(offset) {
		return nil, fmt.Errorf("%w: the locator at %d describes a file on device %s starting elsewhere (a stale copy?)", ErrLocator, offset, m.Device)
	}
	f, err := extents.NewFile(dev, m)
	if err != nil {
		return nil, err
	}
	return NewSection(f), nil
}

// ImagePart returns where the image is in r (size bytes): after the locator
// block when r is an image file read through its filesystem, else all of r.
func ImagePart(r io.ReaderAt, size int64) (io.ReaderAt, int64) {
	b := make([]byte, len(locatorMagic))
	if size > imageOffset {
		if _, err := r.ReadAt(b, 0); err == nil && string(b) == locatorMagic {
			return io.NewSectionReader(r, imageOffset, size-imageOffset), size - imageOffset
		}
	}
	return r, size
}
