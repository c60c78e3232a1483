package cpio

import (
	"errors"
	"fmt"
)

// File type bits of [Header.Mode], the S_IF* values of st_mode.
const (
	TypeMask     = 0o170000 // S_IFMT: the type bits of a mode
	TypeSocket   = 0o140000 // S_IFSOCK
	TypeSymlink  = 0o120000 // S_IFLNK
	TypeReg      = 0o100000 // S_IFREG
	TypeBlockDev = 0o060000 // S_IFBLK
	TypeDir      = 0o040000 // S_IFDIR
	TypeCharDev  = 0o020000 // S_IFCHR
	TypeFIFO     = 0o010000 // S_IFIFO
	PermMask     = 0o7777   // permission, set-id and sticky bits of a mode
)

// Limits.
const (
	// MaxNameSize is the largest c_namesize, counting the final NUL: the
	// kernel's PATH_MAX. It also bounds a symbolic link's target, which
	// must be shorter than MaxNameSize.
	MaxNameSize = 4096
	// MaxSize is the largest data size an eight-digit hex field can hold.
	MaxSize = 1<<32 - 1
)

// Magic starts every newc header.
const Magic = "070701"

// TrailerName is the name of the entry that ends an archive.
const TrailerName = "TRAILER!!!"

const headerSize = 110

// Sentinel errors, wrapped by every [*Error] this package returns.
var (
	ErrBadMagic      = errors.New("bad magic: not a newc (070701) cpio header")
	ErrBadHex        = errors.New("bad hexadecimal number in header")
	ErrTruncated     = errors.New("archive truncated")
	ErrBadName       = errors.New("bad entry name")
	ErrNameTooLong   = errors.New("entry name too long")
	ErrSizeTooLarge  = errors.New("data size too large")
	ErrBadSize       = errors.New("data size not allowed for this file type")
	ErrBadMode       = errors.New("bad mode")
	ErrWriteTooLong  = errors.New("write beyond the size given in the header")
	ErrWriteTooShort = errors.New("fewer data bytes written than the size given in the header")
	ErrClosed        = errors.New("writer is closed")
)

// An Error describes what is wrong with one entry of an archive, or with the
// archive at one offset.
type Error struct {
	Offset int64  // archive offset of the entry's header (or of the problem)
	Name   string // the entry's name, when known
	Err    error  // wraps one of the sentinel errors, or an I/O error
}

func (e *Error) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("cpio: entry %q at offset %d: %v", e.Name, e.Offset, e.Err)
	}
	return fmt.Sprintf("cpio: offset %d: %v", e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Header describes one entry of an archive. Its fields are the header
// fields of the newc format; c_namesize and c_check are implied.
type Header struct {
	Name                 string // path inside the archive, conventionally without a leading "/"
	Mode                 uint32 // st_mode: one Type* value | permission bits
	UID, GID             uint32
	NLink                uint32
	MTime                uint32 // seconds since 1970-01-01 UTC
	Size                 int64  // data size; for a symbolic link, len(target)
	DevMajor, DevMinor   uint32 // device that holds the file; 0 in archives made from scratch
	RDevMajor, RDevMinor uint32 // for device nodes: the device they name
	Ino                  uint32 // 0: let the Writer number the entry
}

// knownType reports whether mode names one of the seven file types.
func knownType(mode uint32) bool {
	switch mode & TypeMask {
	case TypeSocket, TypeSymlink, TypeReg, TypeBlockDev, TypeDir, TypeCharDev, TypeFIFO:
		return true
	}
	return false
}

// pad4 returns how many bytes follow offset n to reach a multiple of 4.
func pad4(n int64) int64 { return -n & 3 }
