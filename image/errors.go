package image

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package for a bad image wraps
// exactly one of ErrNotImage through ErrKey, so callers can branch with errors.Is.
var (
	// ErrNotImage: the bytes do not start with the image magic.
	ErrNotImage = errors.New("not a kjump hibernation image (no KJHIBER1 magic); check the device path")
	// ErrVersion: the image was written by an incompatible format version.
	ErrVersion = errors.New("unsupported image format version; resume with the kjump release that wrote it")
	// ErrCorrupt: a checksum, digest, authentication tag or structural check failed.
	ErrCorrupt = errors.New("image is corrupt; do not resume from it, boot normally and discard it")
	// ErrIncomplete: the image has no valid commit record (its write was interrupted) or is truncated.
	ErrIncomplete = errors.New("image is incomplete: its write was interrupted before the commit record; it cannot be resumed, boot normally")
	// ErrConsumed: the image was already marked consumed by a resume.
	ErrConsumed = errors.New("the image was already used to resume; it is not valid twice")
	// ErrKey: the image is encrypted and the key is missing or wrong.
	ErrKey = errors.New("missing or wrong key for encrypted image; supply the key file or passphrase it was written with")

	// ErrHeaderFull is returned by Write (never by a reader) when Release,
	// Identity and the Filesystems records do not fit in HeaderVarSize bytes.
	ErrHeaderFull = errors.New("header block full; shorten the identity or filesystem names, or save fewer filesystems")
)

// FormatError describes one problem found in an image: which structure, at
// which byte offset, and what was wrong. Err is one of the sentinel errors.
type FormatError struct {
	Where  string // "header", "map", "chunk 3", "commit record", ...
	Offset int64  // byte offset of the structure in the image
	Detail string // what was wrong
	Err    error  // sentinel: ErrNotImage, ErrVersion, ErrCorrupt, ...
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("image: %s at offset %d: %s: %v", e.Where, e.Offset, e.Detail, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

func ferr(sentinel error, where string, off int64, format string, args ...any) error {
	return &FormatError{Where: where, Offset: off, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}
