//go:build linux

package extents

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// golang.org/x/sys/unix (v0.49) has neither FS_IOC_FIEMAP nor struct fiemap,
// nor FS_IOC_FSGETXATTR; they are defined here from the kernel's
// include/uapi/linux/fiemap.h and fs.h. fiemap_linux_test.go checks the sizes.
const (
	// FS_IOC_FIEMAP = _IOWR('f', 11, struct fiemap): dir 3, size 32, type 'f', nr 11.
	fsIocFiemap uintptr = 3<<30 | 32<<16 | 'f'<<8 | 11
	// FS_IOC_FSGETXATTR = _IOR('X', 31, struct fsxattr): dir 2, size 28.
	fsIocFsgetxattr uintptr = 2<<30 | 28<<16 | 'X'<<8 | 31

	fiemapFlagSync  = 0x1 // FIEMAP_FLAG_SYNC: sync the file before mapping
	fsXflagRealtime = 0x1 // FS_XFLAG_REALTIME: data on the XFS realtime device
)

// fiemapBatch is how many extents one ioctl returns at most.
const fiemapBatch = 128

// fiemapExtent is struct fiemap_extent (56 bytes).
type fiemapExtent struct {
	Logical    uint64
	Physical   uint64
	Length     uint64
	Reserved64 [2]uint64
	Flags      uint32
	Reserved   [3]uint32
}

// fiemapRequest is struct fiemap (32 bytes) followed by room for fiemapBatch extents.
type fiemapRequest struct {
	Start         uint64
	Length        uint64
	Flags         uint32
	MappedExtents uint32
	ExtentCount   uint32
	Reserved      uint32
	Extents       [fiemapBatch]fiemapExtent
}

// fsxattr is struct fsxattr (28 bytes).
type fsxattr struct {
	Xflags     uint32
	Extsize    uint32
	Nextents   uint32
	Projid     uint32
	Cowextsize uint32
	Pad        [8]byte
}

// fiemap returns the extents of the open file fd that overlap [0, size),
// asking the kernel to sync the file first. It errs with the ioctl's errno.
func fiemap(fd int, size uint64) ([]rawExtent, error) {
	var out []rawExtent
	req := new(fiemapRequest)
	flags := uint32(fiemapFlagSync)
	for start := uint64(0); start < size; {
		*req = fiemapRequest{Start: start, Length: size - start, Flags: flags, ExtentCount: fiemapBatch}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fsIocFiemap, uintptr(unsafe.Pointer(req))); e != 0 {
			return nil, e
		}
		flags = 0 // synced once is enough
		n := min(int(req.MappedExtents), fiemapBatch)
		if n == 0 {
			break
		}
		for _, e := range req.Extents[:n] {
			out = append(out, rawExtent{Logical: e.Logical, Physical: e.Physical, Length: e.Length, Flags: e.Flags})
		}
		last := req.Extents[n-1]
		next := last.Logical + last.Length
		if last.Flags&extentLast != 0 || next <= start {
			break
		}
		start = next
	}
	return out, nil
}

// fiemapProbe asks only how many extents the file's first page has, to learn
// whether the filesystem supports FIEMAP before a long fill.
func fiemapProbe(fd int) error {
	req := fiemapRequest{Length: 4096} // ExtentCount 0: count only
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fsIocFiemap, uintptr(unsafe.Pointer(&req))); e != 0 {
		return e
	}
	return nil
}

// xfsRealtime reports whether an XFS file keeps its data on the realtime device.
func xfsRealtime(fd int) (bool, error) {
	var a fsxattr
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fsIocFsgetxattr, uintptr(unsafe.Pointer(&a))); e != 0 {
		return false, e
	}
	return a.Xflags&fsXflagRealtime != 0, nil
}
