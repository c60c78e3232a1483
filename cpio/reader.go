package cpio

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// A Reader reads a newc archive: Next returns each entry's header, Read its
// data. Data the caller does not read is skipped by the next call to Next.
type Reader struct {
	r      io.Reader
	off    int64  // bytes consumed from r
	name   string // current entry
	hdrOff int64  // offset of the current entry's header
	remain int64  // data bytes of the current entry not yet read
	pad    int64  // padding after the current entry's data
	err    error  // sticky: io.EOF after the trailer, or the first error
	buf    [headerSize + MaxNameSize + 4]byte
}

// NewReader returns a Reader that reads an archive from r. It reads r in
// small pieces; wrap r in a bufio.Reader if it is unbuffered.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

var fieldNames = [13]string{
	"c_ino", "c_mode", "c_uid", "c_gid", "c_nlink", "c_mtime", "c_filesize",
	"c_devmajor", "c_devminor", "c_rdevmajor", "c_rdevminor", "c_namesize", "c_check",
}

// Next skips the rest of the current entry and returns the header of the
// next one. After the trailer it returns [io.EOF]; an archive that ends
// without a trailer is reported as truncated. Errors are [*Error] values and
// are sticky: every later call returns the same error.
//
// A header Next returns has a non-empty name without NUL bytes, shorter than
// [MaxNameSize]; a mode naming one of the seven file types with no bits above
// them; and a Size of at most [MaxSize]. Next does not check the kernel's
// rules about which file types carry data; Read returns whatever data the
// entry has.
func (r *Reader) Next() (*Header, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := r.skip(r.remain + r.pad); err != nil {
		return nil, err
	}
	r.remain, r.pad, r.name, r.hdrOff = 0, 0, "", r.off
	h, err := r.readHeader()
	if err != nil {
		if err != io.EOF {
			err = &Error{Offset: r.hdrOff, Name: r.name, Err: err}
		}
		r.err = err
		return nil, err
	}
	return h, nil
}

func (r *Reader) readHeader() (*Header, error) {
	b := r.buf[:headerSize]
	if err := r.full(b); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: archive ends without %s", ErrTruncated, TrailerName)
		}
		return nil, err
	}
	if magic := string(b[:6]); magic != Magic {
		switch magic {
		case "070702":
			return nil, fmt.Errorf("%w: found 070702 (the \"crc\" variant), which this package does not read", ErrBadMagic)
		case "070707":
			return nil, fmt.Errorf("%w: found 070707 (the old \"odc\" format); create the archive with -H newc", ErrBadMagic)
		}
		return nil, fmt.Errorf("%w: found %q", ErrBadMagic, magic)
	}
	var f [13]uint32
	for i := range f {
		field := b[6+8*i : 14+8*i]
		v, ok := parseHex(field)
		if !ok {
			return nil, fmt.Errorf("%w: %s is %q", ErrBadHex, fieldNames[i], field)
		}
		f[i] = v
	}
	h := &Header{
		Ino: f[0], Mode: f[1], UID: f[2], GID: f[3], NLink: f[4], MTime: f[5], Size: int64(f[6]),
		DevMajor: f[7], DevMinor: f[8], RDevMajor: f[9], RDevMinor: f[10],
	}
	namesize := int64(f[11])
	switch {
	case namesize == 0:
		return nil, fmt.Errorf("%w: c_namesize is 0", ErrBadName)
	case namesize > MaxNameSize:
		return nil, fmt.Errorf("%w: c_namesize is %d, limit %d", ErrNameTooLong, namesize, MaxNameSize)
	}
	nb := r.buf[headerSize : headerSize+namesize+pad4(r.off+namesize)]
	if err := r.full(nb); err != nil {
		if err == io.EOF {
			err = truncated(io.ErrUnexpectedEOF)
		}
		return nil, err
	}
	nb = nb[:namesize]
	if nb[namesize-1] != 0 {
		return nil, fmt.Errorf("%w: name %q is not NUL-terminated", ErrBadName, nb)
	}
	h.Name = string(nb[:namesize-1])
	r.name = h.Name
	switch {
	case h.Name == "":
		return nil, fmt.Errorf("%w: empty", ErrBadName)
	case strings.IndexByte(h.Name, 0) >= 0:
		return nil, fmt.Errorf("%w: contains a NUL byte", ErrBadName)
	case h.Name == TrailerName:
		if h.Size != 0 {
			return nil, fmt.Errorf("%w: the trailer has size %d", ErrBadSize, h.Size)
		}
		return nil, io.EOF
	case h.Mode&^(TypeMask|PermMask) != 0 || !knownType(h.Mode):
		return nil, fmt.Errorf("%w: %#o is not a file type with permission bits", ErrBadMode, h.Mode)
	}
	r.remain = h.Size
	r.pad = pad4(r.off + h.Size)
	return h, nil
}

// Read reads data of the current entry. It returns [io.EOF] at the end of
// the entry's data, and an error wrapping [ErrTruncated] if the archive ends
// first.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.r.Read(p)
	r.off += int64(n)
	r.remain -= int64(n)
	switch {
	case err == io.EOF && r.remain > 0:
		err = io.ErrUnexpectedEOF
	case err == io.EOF:
		err = nil
	}
	if err != nil {
		r.err = &Error{Offset: r.hdrOff, Name: r.name, Err: truncated(err)}
		return n, r.err
	}
	return n, nil
}

// skip discards n bytes.
func (r *Reader) skip(n int64) error {
	if n == 0 {
		return nil
	}
	m, err := io.CopyN(io.Discard, r.r, n)
	r.off += m
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = &Error{Offset: r.hdrOff, Name: r.name, Err: truncated(err)}
		return r.err
	}
	return nil
}

// full fills b, returning io.EOF only if r ended before the first byte.
func (r *Reader) full(b []byte) error {
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	return truncated(err)
}

func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return err
}

// parseHex parses eight hexadecimal digits of either case.
func parseHex(b []byte) (uint32, bool) {
	var v uint32
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	return v, true
}
