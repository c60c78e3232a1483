package extents

import "fmt"

// FIEMAP extent flags, from the kernel's include/uapi/linux/fiemap.h.
const (
	extentLast          = 0x00000001
	extentUnknown       = 0x00000002
	extentDelalloc      = 0x00000004
	extentEncoded       = 0x00000008
	extentDataEncrypted = 0x00000080
	extentNotAligned    = 0x00000100
	extentDataInline    = 0x00000200
	extentDataTail      = 0x00000400
	extentUnwritten     = 0x00000800
	extentMerged        = 0x00001000
	extentShared        = 0x00002000
)

// rawExtent is one struct fiemap_extent as the kernel returned it.
type rawExtent struct {
	Logical, Physical, Length uint64
	Flags                     uint32
}

// refusal is why an extent flag makes raw I/O unsafe, and the fix. Checked in
// order: a flag that implies another (DELALLOC sets UNKNOWN, INLINE and TAIL set
// NOT_ALIGNED) comes first so the message names the real cause.
var refusals = []struct {
	flag       uint32
	kind       error
	cause, fix string
}{
	{extentDelalloc, ErrUnsafeExtent, "has data the filesystem has not placed on disk yet (delayed allocation)",
		"this should not happen after a sync; run Prepare again, and if it persists use another filesystem"},
	{extentUnknown, ErrUnsafeExtent, "has data whose place on disk the filesystem does not know",
		"use a filesystem that maps files to fixed blocks (ext4, xfs) or a raw device"},
	{extentEncoded, ErrUnsafeExtent, "has compressed or encoded data, which raw writes would corrupt",
		"turn compression off for the file (chattr -c) or put it on a filesystem without it"},
	{extentDataEncrypted, ErrUnsafeExtent, "is encrypted by the filesystem (fscrypt), so raw data would not be decrypted",
		"put the file in a directory that is not encrypted"},
	{extentDataInline, ErrUnsafeExtent, "has data stored inline with metadata",
		"use a larger file or a filesystem without inline data"},
	{extentDataTail, ErrUnsafeExtent, "has data packed into a block shared with other files (tail packing)",
		"use a filesystem without tail packing"},
	{extentNotAligned, ErrUnsafeExtent, "has data that is not block aligned on disk",
		"use a filesystem that stores file data in whole blocks (ext4, xfs)"},
	{extentUnwritten, ErrUnsafeExtent, "has blocks that are allocated but not written (the filesystem would read back zeros, whatever is on disk)",
		"run Prepare, which writes every block, and do not fallocate or punch the file afterwards"},
	{extentShared, ErrShared, "shares blocks with another file (a reflink, dedupe or snapshot), so a raw write would change that file too",
		"copy the file with cp --reflink=never, or run Prepare, which rewrites every block; do not reflink or snapshot it afterwards"},
}

const knownFlags = extentLast | extentUnknown | extentDelalloc | extentEncoded | extentDataEncrypted |
	extentNotAligned | extentDataInline | extentDataTail | extentUnwritten | extentMerged | extentShared

// checkExtent refuses an extent whose data cannot be read and written on the
// raw device as the filesystem would see it.
func checkExtent(path string, r rawExtent) error {
	where := fmt.Sprintf("file %s at [%#x, %#x)", path, r.Logical, r.Logical+r.Length)
	for _, c := range refusals {
		if r.Flags&c.flag != 0 {
			return &Error{Path: path, Detail: where + " " + c.cause, Hint: c.fix, Err: c.kind}
		}
	}
	if unknown := r.Flags &^ knownFlags; unknown != 0 {
		return &Error{Path: path, Detail: fmt.Sprintf("%s has FIEMAP extent flags %#x, which this program does not know", where, unknown),
			Hint: "update kjump, or use a raw device", Err: ErrUnsafeExtent}
	}
	return nil
}

// buildExtents turns what FIEMAP returned for a file of size bytes into
// extents that cover [0, size) exactly: it ignores extents at or beyond size
// (preallocated past the end), clips the last one to size (filesystems report
// whole blocks), merges neighbours that are contiguous on disk, and refuses
// holes, overlaps and unsafe flags.
func buildExtents(path string, raw []rawExtent, size uint64) ([]Extent, error) {
	var out []Extent
	var next uint64
	for _, r := range raw {
		if r.Logical >= size {
			continue
		}
		if err := checkExtent(path, r); err != nil {
			return nil, err
		}
		switch {
		case r.Length == 0 || r.Physical > 1<<63-1 || r.Length > 1<<63-1-r.Physical || r.Length > 1<<63-1-r.Logical:
			return nil, &Error{Path: path, Detail: fmt.Sprintf("file %s: FIEMAP returned a bad extent (logical %#x, physical %#x, length %#x)", path, r.Logical, r.Physical, r.Length),
				Hint: "check the filesystem (fsck)", Err: ErrInvalidMap}
		case r.Logical < next:
			return nil, &Error{Path: path, Detail: fmt.Sprintf("file %s: FIEMAP returned overlapping extents at %#x", path, r.Logical),
				Hint: "check the filesystem (fsck)", Err: ErrInvalidMap}
		case r.Logical > next:
			return nil, holeError(path, next, r.Logical)
		}
		e := Extent{Logical: r.Logical, Physical: r.Physical, Length: min(r.Length, size-r.Logical)}
		if n := len(out); n > 0 && out[n-1].Physical+out[n-1].Length == e.Physical {
			out[n-1].Length += e.Length
		} else {
			out = append(out, e)
		}
		next = e.Logical + e.Length
	}
	if next < size {
		return nil, holeError(path, next, size)
	}
	return out, nil
}

func holeError(path string, from, to uint64) error {
	return &Error{Path: path, Detail: fmt.Sprintf("file %s has no blocks at [%#x, %#x) (a hole)", path, from, to),
		Hint: "run Prepare, which writes every block, and do not truncate or punch the file afterwards", Err: ErrHole}
}
