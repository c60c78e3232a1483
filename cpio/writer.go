package cpio

import (
	"fmt"
	"io"
	"strings"
)

// A Writer writes a newc archive: WriteHeader, then Write exactly Size data
// bytes, for each entry; then Close.
type Writer struct {
	w       io.Writer
	off     int64  // bytes written to w
	entries uint32 // headers written so far; numbers entries whose Ino is 0
	name    string // current entry
	hdrOff  int64  // offset of the current entry's header
	remain  int64  // data bytes the current entry still expects
	pad     int64  // padding owed after the current entry's data
	err     error  // sticky: a failed write to w, or ErrClosed
	buf     [headerSize + MaxNameSize + 4]byte
}

// NewWriter returns a Writer that writes an archive to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteHeader finishes the previous entry and starts a new one described by
// h. An entry whose Ino is 0 gets the writer's entry count as its inode
// number (0 for the first entry, 1 for the next, …), as `cpio --reproducible`
// numbers them, so equal input gives equal output.
//
// WriteHeader checks h the way the kernel will read it: the name must be
// non-empty, shorter than [MaxNameSize], free of NUL bytes and not
// [TrailerName]; the mode must name a file type and have no bits above the
// type bits; Size must be 0 for directories, device nodes, FIFOs and sockets,
// and between 1 and MaxNameSize-1 for symbolic links.
func (w *Writer) WriteHeader(h *Header) error {
	if err := w.finish(); err != nil {
		return err
	}
	if err := checkHeader(h); err != nil {
		return &Error{Offset: w.off, Name: h.Name, Err: err}
	}
	ino := h.Ino
	if ino == 0 {
		ino = w.entries
	}
	w.entries++
	b := w.encode(h.Name, [13]uint32{
		ino, h.Mode, h.UID, h.GID, h.NLink, h.MTime, uint32(h.Size),
		h.DevMajor, h.DevMinor, h.RDevMajor, h.RDevMinor, uint32(len(h.Name) + 1), 0,
	})
	w.hdrOff, w.name = w.off, h.Name
	if err := w.put(b); err != nil {
		return err
	}
	w.remain = h.Size
	w.pad = pad4(h.Size)
	return nil
}

func checkHeader(h *Header) error {
	switch {
	case h.Name == "":
		return fmt.Errorf("%w: empty", ErrBadName)
	case strings.IndexByte(h.Name, 0) >= 0:
		return fmt.Errorf("%w: contains a NUL byte", ErrBadName)
	case h.Name == TrailerName:
		return fmt.Errorf("%w: %s is reserved for the end of the archive", ErrBadName, TrailerName)
	case len(h.Name)+1 > MaxNameSize:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrNameTooLong, len(h.Name), MaxNameSize-1)
	case h.Mode&^(TypeMask|PermMask) != 0 || !knownType(h.Mode):
		return fmt.Errorf("%w: %#o is not a file type with permission bits", ErrBadMode, h.Mode)
	case h.Size < 0:
		return fmt.Errorf("%w: negative size %d", ErrBadSize, h.Size)
	case h.Size > MaxSize:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrSizeTooLarge, h.Size, int64(MaxSize))
	}
	switch h.Mode & TypeMask {
	case TypeReg:
	case TypeSymlink:
		if h.Size == 0 || h.Size >= MaxNameSize {
			return fmt.Errorf("%w: symbolic link target of %d bytes, want 1 to %d", ErrBadSize, h.Size, MaxNameSize-1)
		}
	default:
		if h.Size != 0 {
			return fmt.Errorf("%w: mode %#o carries no data, size is %d", ErrBadSize, h.Mode, h.Size)
		}
	}
	return nil
}

// encode returns header, name, NUL and padding as one slice of w.buf.
func (w *Writer) encode(name string, fields [13]uint32) []byte {
	const hexdigits = "0123456789ABCDEF"
	b := w.buf[:0]
	b = append(b, Magic...)
	for _, v := range fields {
		for shift := 28; shift >= 0; shift -= 4 {
			b = append(b, hexdigits[v>>shift&0xF])
		}
	}
	b = append(b, name...)
	b = append(b, 0)
	for pad := pad4(w.off + int64(len(b))); pad > 0; pad-- {
		b = append(b, 0)
	}
	return b
}

// Write writes data of the current entry. Writing more than the header's
// Size writes what fits and returns an error wrapping [ErrWriteTooLong].
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	long := int64(len(p)) > w.remain
	if long {
		p = p[:w.remain]
	}
	n, err := w.w.Write(p)
	w.off += int64(n)
	w.remain -= int64(n)
	if err != nil {
		w.err = &Error{Offset: w.off, Name: w.name, Err: err}
		return n, w.err
	}
	if long {
		return n, &Error{Offset: w.hdrOff, Name: w.name, Err: ErrWriteTooLong}
	}
	return n, nil
}

// Close finishes the last entry, writes the trailer and pads the archive with
// NUL bytes to a multiple of 512. It does not close the underlying writer.
// Calls after the first return an error wrapping [ErrClosed].
func (w *Writer) Close() error {
	if err := w.finish(); err != nil {
		return err
	}
	b := w.encode(TrailerName, [13]uint32{4: 1, 11: uint32(len(TrailerName) + 1)})
	for (w.off+int64(len(b)))%512 != 0 {
		b = append(b, 0)
	}
	if err := w.put(b); err != nil {
		return err
	}
	w.err = &Error{Offset: w.off, Err: ErrClosed}
	return nil
}

// finish checks that the current entry got all its data and pads it.
func (w *Writer) finish() error {
	if w.err != nil {
		return w.err
	}
	if w.remain > 0 {
		return &Error{Offset: w.hdrOff, Name: w.name,
			Err: fmt.Errorf("%w: %d bytes missing", ErrWriteTooShort, w.remain)}
	}
	var zeros [3]byte
	err := w.put(zeros[:w.pad])
	w.pad = 0
	return err
}

func (w *Writer) put(b []byte) error {
	n, err := w.w.Write(b)
	w.off += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = &Error{Offset: w.off, Name: w.name, Err: err}
	}
	return w.err
}
