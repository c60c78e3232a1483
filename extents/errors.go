package extents

import (
	"errors"

	"github.com/kjump/kjump/internal/errs"
)

// Sentinel errors: callers branch with errors.Is; users read the *Error text,
// which names the cause and the fix.
var (
	// ErrNotSupported: the filesystem cannot say where the file's data is on
	// disk (tmpfs has no disk, NFS is remote, some filesystems lack FIEMAP).
	ErrNotSupported = errs.NotSupported("the filesystem cannot map the file to disk blocks")
	// ErrNotOneDevice: the filesystem can map the file, but its offsets are not
	// offsets on one plain block device the other kernel can open (btrfs,
	// device-mapper, loop, md RAID, overlayfs, XFS realtime files).
	ErrNotOneDevice = errors.New("the file's blocks do not map to one plain block device")
	// ErrUnsafeExtent: an extent cannot be written raw (unwritten, delayed,
	// encoded, encrypted, inline or tail-packed data, or an unknown flag).
	ErrUnsafeExtent = errors.New("an extent cannot be written raw")
	// ErrShared: an extent is shared with another file (reflink, dedupe,
	// snapshot); a raw write would change the other file too.
	ErrShared = errors.New("an extent is shared with another file")
	// ErrHole: part of the file has no block.
	ErrHole = errors.New("the file has a hole")
	// ErrSize: the requested size is not allowed.
	ErrSize = errors.New("invalid file size")
	// ErrNoSpace: the filesystem has no room for the file.
	ErrNoSpace = errors.New("not enough free space for the file")
	// ErrChanged: the file's map is not the one Prepare returned.
	ErrChanged = errors.New("the file's block map changed")
	// ErrInvalidMap: a Map (or its encoding) breaks the rules in the package comment.
	ErrInvalidMap = errors.New("invalid extent map")
	// ErrOutOfRange: a File access lies outside [0, Size).
	ErrOutOfRange = errors.New("access outside the mapped file")
	// ErrStillCached: DropCache could not make the kernel forget some pages.
	ErrStillCached = errors.New("pages of the file are still cached")
)

// Error is a refusal that explains itself: Cause says what is wrong with which
// file, Fix what to do about it. It matches Kind (a sentinel) and Err (the
// underlying error, if any) with errors.Is.
type Error struct {
	Path   string
	Detail string
	Hint   string
	Err    error
	Cause  error
}

func (e *Error) Error() string {
	s := "extents: " + e.Detail
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}
