package flattened

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

const (
	// HeaderSize is the size of the stream's header.
	HeaderSize = 4096
	// Signature starts the header (zero-padded to 16 bytes).
	Signature = "makedumpfile"
	// MaxRecord is the most data Writer puts in one record.
	MaxRecord = 64 << 10

	recordHeader = 16
	typeFlat     = 1
	versionFlat  = 1
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("write after Close")

// Writer writes a dump file as a flattened stream: see the package
// documentation. It is safe for concurrent use; the first error sticks.
type Writer struct {
	mu     sync.Mutex
	w      *bufio.Writer
	err    error
	closed bool
	rec    [recordHeader]byte
}

// NewWriter starts a flattened stream on w with its header.
func NewWriter(w io.Writer) (*Writer, error) {
	fw := &Writer{w: bufio.NewWriterSize(w, 1<<20)}
	var h [HeaderSize]byte
	copy(h[:], Signature)
	binary.BigEndian.PutUint64(h[16:], typeFlat)
	binary.BigEndian.PutUint64(h[24:], versionFlat)
	if _, err := fw.w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("flattened: writing the header: %w", err)
	}
	return fw, nil
}

// WriteAt writes p as the records that put it at offset off of the dump
// file.
func (fw *Writer) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("flattened: negative offset %d", off)
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.closed {
		return 0, fmt.Errorf("flattened: %w", ErrClosed)
	}
	n := 0
	for fw.err == nil && n < len(p) {
		chunk := p[n:min(len(p), n+MaxRecord)]
		fw.record(off+int64(n), int64(len(chunk)))
		if fw.err == nil {
			_, fw.err = fw.w.Write(chunk)
			n += len(chunk)
		}
	}
	if fw.err != nil {
		return 0, fw.err
	}
	return n, nil
}

// record writes a record's header.
func (fw *Writer) record(off, size int64) {
	binary.BigEndian.PutUint64(fw.rec[:8], uint64(off))
	binary.BigEndian.PutUint64(fw.rec[8:], uint64(size))
	_, fw.err = fw.w.Write(fw.rec[:])
}

// Sync writes out what the Writer holds in its buffer.
func (fw *Writer) Sync() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.err == nil {
		fw.err = fw.w.Flush()
	}
	return fw.err
}

// Close ends the stream with the end record and writes out the buffer. It
// does not close the underlying writer.
func (fw *Writer) Close() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.closed {
		return fw.err
	}
	fw.closed = true
	if fw.err == nil {
		fw.record(-1, -1)
	}
	if fw.err == nil {
		fw.err = fw.w.Flush()
	}
	return fw.err
}

// Errors of Rebuild, wrapped with what was wrong; the caller's io.Reader
// and io.WriterAt errors are returned as they are.
var (
	// ErrFormat: the stream is not in the flattened format (its header),
	// or a record cannot be one (a negative offset, a size of 0 or less).
	ErrFormat = errors.New("not a flattened stream")
	// ErrCutShort: the stream ends before its end record.
	ErrCutShort = errors.New("the stream ends before its end record: it was cut short")
)

// Rebuild reads a flattened stream from r and writes each record's bytes
// at its offset in w, as makedumpfile -R does; it returns the size of the
// rebuilt file (the end of the furthest record). It reads records through
// a 64 KiB buffer, whatever their size. A stream without its end record is
// ErrCutShort, after its records were written.
func Rebuild(r io.Reader, w io.WriterAt) (int64, error) {
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("flattened: %d-byte header: %w", HeaderSize, ErrFormat)
		}
		return 0, err
	}
	var sig [16]byte
	copy(sig[:], Signature)
	if [16]byte(h[:16]) != sig {
		return 0, fmt.Errorf("flattened: signature %q: %w", h[:16], ErrFormat)
	}
	if t, v := binary.BigEndian.Uint64(h[16:]), binary.BigEndian.Uint64(h[24:]); t != typeFlat || v != versionFlat {
		return 0, fmt.Errorf("flattened: type %d, version %d (want 1 and 1): %w", int64(t), int64(v), ErrFormat)
	}
	buf := make([]byte, MaxRecord)
	var size int64
	for {
		var rec [recordHeader]byte
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return size, fmt.Errorf("flattened: after %d bytes of the file: %w", size, ErrCutShort)
			}
			return size, err
		}
		off, n := int64(binary.BigEndian.Uint64(rec[:8])), int64(binary.BigEndian.Uint64(rec[8:]))
		if off == -1 && n == -1 {
			return size, nil
		}
		// A record of no bytes writes nothing (makedumpfile -R refuses one).
		if off < 0 || n <= 0 || off > math.MaxInt64-n {
			return size, fmt.Errorf("flattened: a record of %d bytes at offset %d: %w", n, off, ErrFormat)
		}
		got, err := io.CopyBuffer(io.NewOffsetWriter(w, off), io.LimitReader(r, n), buf)
		if err != nil {
			return size, err
		}
		if got < n {
			return size, fmt.Errorf("flattened: a record of %d bytes at offset %d has %d: %w", n, off, got, ErrCutShort)
		}
		size = max(size, off+n)
	}
}
