package extents

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
)

// ReadWriterAt is a raw block device (an *os.File opened on /dev/...) or
// anything that stands for one.
type ReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// File is the file a Map describes, read and written through the raw device
// that holds it. It is what the other kernel uses: it never touches the
// filesystem. ReadAt and WriteAt may be called concurrently if the device
// allows it.
type File struct {
	dev ReadWriterAt
	m   Map
}

// NewFile returns the file m describes on dev, after checking m (see
// Map.Validate). It keeps a copy of m. dev is the whole device m.Device names,
// opened by the caller (O_DIRECT needs the caller's buffers and offsets to be
// aligned to the device's logical block size).
func NewFile(dev ReadWriterAt, m *Map) (*File, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := *m
	c.Extents = slices.Clone(m.Extents)
	return &File{dev: dev, m: c}, nil
}

// Size is the size of the file in bytes.
func (f *File) Size() int64 { return f.m.Size }

// ReadAt reads len(p) bytes of the file at off, splitting the read where an
// extent ends. Like bytes.Reader: a negative off is an error (ErrOutOfRange);
// a read that reaches Size returns the bytes before Size and io.EOF. A device
// that ends early gives io.ErrUnexpectedEOF, never io.EOF.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: read at offset %d", ErrOutOfRange, off)
	}
	if off >= f.m.Size {
		if len(p) == 0 && off == f.m.Size {
			return 0, nil
		}
		return 0, io.EOF
	}
	want := p
	if int64(len(p)) > f.m.Size-off {
		want = p[:f.m.Size-off]
	}
	n, err := f.each(want, off, func(b []byte, phys int64) (int, error) {
		n, err := f.dev.ReadAt(b, phys)
		if n == len(b) {
			return n, nil // an io.EOF with the last byte of the device is fine
		}
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return n, fmt.Errorf("read %d bytes of the device at %#x: %w", len(b), phys, err)
	})
	if err == nil && len(want) < len(p) {
		err = io.EOF
	}
	return n, err
}

// WriteAt writes p to the file at off, splitting the write where an extent
// ends. A write that would not fit in [0, Size) writes nothing and returns
// ErrOutOfRange.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off > f.m.Size || int64(len(p)) > f.m.Size-off {
		return 0, fmt.Errorf("%w: write of %d bytes at offset %d, the file has %d", ErrOutOfRange, len(p), off, f.m.Size)
	}
	return f.each(p, off, func(b []byte, phys int64) (int, error) {
		n, err := f.dev.WriteAt(b, phys)
		if n == len(b) {
			return n, nil
		}
		if err == nil {
			err = io.ErrShortWrite
		}
		return n, fmt.Errorf("write %d bytes of the device at %#x: %w", len(b), phys, err)
	})
}

// each calls do for the pieces of p that lie in one extent each; p lies in
// [0, Size) from off.
func (f *File) each(p []byte, off int64, do func(b []byte, phys int64) (int, error)) (int, error) {
	ext := f.m.Extents
	i := sort.Search(len(ext), func(i int) bool { return ext[i].Logical+ext[i].Length > uint64(off) })
	done := 0
	for done < len(p) {
		e := ext[i]
		in := uint64(off) + uint64(done) - e.Logical
		chunk := min(uint64(len(p)-done), e.Length-in)
		n, err := do(p[done:done+int(chunk)], int64(e.Physical+in))
		done += n
		if err != nil {
			return done, err
		}
		i++
	}
	return done, nil
}

// Sync flushes the device if it has a Sync method (as *os.File does). The
// other kernel calls it before it jumps back, so the data is on the disk
// when the first kernel reads the file.
func (f *File) Sync() error {
	if s, ok := f.dev.(interface{ Sync() error }); ok {
		return s.Sync()
	}
	return nil
}
