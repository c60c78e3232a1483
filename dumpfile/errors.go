package dumpfile

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns matches one of these
// with errors.Is, except I/O errors of the caller's io.WriterAt and errors
// of the caller's PageSource, which are wrapped as they are.
var (
	// ErrNotKdump: the file does not start with Signature.
	ErrNotKdump = errors.New("not a kdump-compressed file")
	// ErrFlattened: the file is in makedumpfile's flattened format (what
	// makedumpfile -F and QEMU's dump-guest-memory write); turn it into a
	// regular file with kjump dump -R (package flattened) or makedumpfile -R.
	ErrFlattened = errors.New("flattened kdump format; rebuild it with kjump dump -R OUT < FILE (or makedumpfile -R)")
	// ErrUnsupported: a well-formed file or request this package does not
	// handle (a header version, block size or compression).
	ErrUnsupported = errors.New("unsupported")
	// ErrCorrupt: a field or a page's bytes contradict the format.
	ErrCorrupt = errors.New("corrupt")
	// ErrTruncated: the file ends before a part the header points to.
	ErrTruncated = errors.New("truncated")
	// ErrNotDumped: the page frame is not in the dump.
	ErrNotDumped = errors.New("page not in dump")
	// ErrInvalid: Write was given a header, bitmap or buffer it cannot
	// write.
	ErrInvalid = errors.New("invalid argument")
)

// FormatError reports a field of a dump file that cannot be used.
type FormatError struct {
	Field  string // the C field name, e.g. "block_size" or "page_desc"
	Offset int64  // file offset of the field, or -1
	Detail string
	Err    error // ErrCorrupt, ErrTruncated, ErrUnsupported, ...
}

func (e *FormatError) Error() string {
	s := "dumpfile: " + e.Field
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at %#x", e.Offset)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s + ": " + e.Err.Error()
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(err error, field string, off int64, format string, args ...any) error {
	return &FormatError{Field: field, Offset: off, Detail: fmt.Sprintf(format, args...), Err: err}
}

// PageError reports a failure to read or write one page frame.
type PageError struct {
	PFN uint64
	Err error
}

func (e *PageError) Error() string { return fmt.Sprintf("dumpfile: pfn %#x: %v", e.PFN, e.Err) }

func (e *PageError) Unwrap() error { return e.Err }

func invalid(format string, args ...any) error {
	return fmt.Errorf("dumpfile: %s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}
