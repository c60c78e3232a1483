package elfcore

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the reader returns matches one of these with
// errors.Is; the message says what was found and where.
var (
	// ErrNotELF: the data does not start with the ELF magic "\x7fELF".
	ErrNotELF = errors.New("not an ELF file")
	// ErrKdumpCompressed: the data is a kdump-compressed (diskdump) file,
	// magic "KDUMP   " or "DISKDUMP", not an ELF core. Matches ErrNotELF too.
	ErrKdumpCompressed = errors.New("kdump-compressed file")
	// ErrFlattened: the data is makedumpfile's flattened format (magic
	// "makedumpfile"), the stream makedumpfile -F writes. Matches ErrNotELF too.
	ErrFlattened = errors.New("makedumpfile flattened file")
	// ErrNotCore: an ELF file whose e_type is not ET_CORE.
	ErrNotCore = errors.New("not an ELF core file")
	// ErrWrongMachine: an ELF core for something other than ELF64
	// little-endian x86_64.
	ErrWrongMachine = errors.New("not an x86_64 ELF64 core")
	// ErrMalformed: a header field that no ELF core producer writes
	// (wrong header sizes, a segment whose file size exceeds its memory
	// size, an address range that wraps around).
	ErrMalformed = errors.New("malformed ELF core")
	// ErrTruncated: the ELF header or the program header table extends
	// past the end of the file.
	ErrTruncated = errors.New("truncated ELF core")
	// ErrSegmentBeyondEOF: a segment's file bytes extend past the end of
	// the file.
	ErrSegmentBeyondEOF = errors.New("segment beyond end of file")
	// ErrNoteOverflow: a note's header claims more bytes than are left in
	// its PT_NOTE segment.
	ErrNoteOverflow = errors.New("note overflows its segment")
	// ErrNotInDump: a physical address no PT_LOAD segment covers.
	ErrNotInDump = errors.New("physical address not in dump")
	// ErrInvalidHeader: Header.Marshal refused its input.
	ErrInvalidHeader = errors.New("invalid ELF core header")
	// ErrNoPageOffset: /proc/kcore has no direct-map segment to derive
	// the direct-map base from.
	ErrNoPageOffset = errors.New("direct-map base not found")
)

// FormatError reports a problem with ELF core bytes. Kind is one of the
// sentinel errors above; Off is the file offset of the offending structure
// (from ParseNotes: the offset in its input; -1 when there is none); Hint, when set, tells the user what to do instead.
type FormatError struct {
	Err    error
	Offset int64
	Detail string
	Hint   string
}

func (e *FormatError) Error() string {
	s := "elfcore: " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (at offset %#x)", e.Offset)
	}
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Unwrap returns the sentinel, and ErrNotELF for the two non-ELF dump
// formats so that errors.Is(err, ErrNotELF) holds for them as well.
func (e *FormatError) Unwrap() []error {
	if e.Err == ErrKdumpCompressed || e.Err == ErrFlattened {
		return []error{e.Err, ErrNotELF}
	}
	return []error{e.Err}
}

func formatErr(kind error, off int64, format string, args ...any) *FormatError {
	return &FormatError{Err: kind, Offset: off, Detail: fmt.Sprintf(format, args...)}
}

// AddrError reports a physical address that no PT_LOAD segment covers.
type AddrError struct {
	Phys uint64
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("elfcore: physical address %#x is not in the dump", e.Phys)
}

// Unwrap returns ErrNotInDump.
func (e *AddrError) Unwrap() error { return ErrNotInDump }

// HeaderError reports why Header.Marshal refused its input. Field names the
// offending part ("Loads", "Notes", "KernelText"), Index the element (-1 for
// the field as a whole).
type HeaderError struct {
	Field  string
	Index  int
	Detail string
}

func (e *HeaderError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("elfcore: invalid header: %s[%d]: %s", e.Field, e.Index, e.Detail)
	}
	return fmt.Sprintf("elfcore: invalid header: %s: %s", e.Field, e.Detail)
}

// Unwrap returns ErrInvalidHeader.
func (e *HeaderError) Unwrap() error { return ErrInvalidHeader }
