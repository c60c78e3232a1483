package blockdev

import (
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Align is what a Direct device's I/O is aligned to: buffer address, offset
// and length. 4096 covers every logical block size a disk has.
const Align = 4096

// Direct is a block device opened with O_DIRECT: writes go from the
// caller's buffer to the device and aligned reads from the device into it,
// with no copy through the page cache and no dirty pages to throttle on (the
// second and the resume kernel have little memory). A write
// whose buffer, offset or length is not aligned to Align is bounced through
// an aligned buffer; one whose offset or length cannot be (beyond the
// buffer's edges) goes through a plain descriptor of the same device.
type Direct struct {
	*os.File          // O_DIRECT
	plain    *os.File // for what O_DIRECT cannot take
}

// OpenDirect opens the device at path for O_DIRECT reading and writing. It
// fails where the kernel refuses O_DIRECT (the caller then writes through
// the page cache).
func OpenDirect(path string) (*Direct, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_DIRECT, 0)
	if err != nil {
		return nil, err
	}
	plain, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Direct{File: f, plain: plain}, nil
}

// Device is a device (or file) open for reading and writing: a *Direct, or
// an *os.File where the kernel refuses O_DIRECT (Open).
type Device interface {
	io.ReaderAt
	io.WriterAt
	Name() string
	Stat() (os.FileInfo, error)
	Seek(offset int64, whence int) (int64, error)
	Sync() error
	Close() error
}

// Open opens path for reading and writing with O_DIRECT (Direct) where the
// kernel takes it: an image's chunks then go between the disk and the
// caller's buffers with no copy through the page cache, which in a second
// or resume kernel of a few hundred MiB is also memory to fill and reclaim.
// Elsewhere (tmpfs, some filesystems) it opens path through the page cache.
func Open(path string) (Device, error) {
	if d, err := OpenDirect(path); err == nil {
		return d, nil
	}
	return os.OpenFile(path, os.O_RDWR, 0)
}

// AlignedBuffer returns n zero bytes whose first byte is aligned to Align.
func AlignedBuffer(n int) []byte {
	b := make([]byte, n+Align)
	skip := (Align - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%Align)) % Align
	return b[skip : skip+n : skip+n]
}

func aligned(p []byte, off int64) bool {
	return off%Align == 0 && len(p)%Align == 0 && (len(p) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(p)))%Align == 0)
}

// WriteAt writes p at off: straight from p when it is aligned, else from an
// aligned copy, else (an offset or length not a multiple of Align) through
// the page cache, written back before it returns so that a later direct
// read or write sees it.
func (d *Direct) WriteAt(p []byte, off int64) (int, error) {
	switch {
	case aligned(p, off):
		return d.File.WriteAt(p, off)
	case off%Align == 0 && len(p)%Align == 0:
		b := AlignedBuffer(len(p))
		copy(b, p)
		return d.File.WriteAt(b, off)
	}
	n, err := d.plain.WriteAt(p, off)
	if err == nil {
		err = d.plain.Sync()
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", d.plain.Name(), err)
	}
	return n, err
}

// ReadAt reads straight into p when it is aligned (a resume's chunks: no
// copy through the page cache of a kernel that has little memory, and no
// cache to fill and reclaim), else through the page cache (headers).
func (d *Direct) ReadAt(p []byte, off int64) (int, error) {
	if aligned(p, off) {
		return d.File.ReadAt(p, off)
	}
	return d.plain.ReadAt(p, off)
}

// Sync flushes the device's write cache.
func (d *Direct) Sync() error { return d.File.Sync() }

// Close closes both descriptors.
func (d *Direct) Close() error {
	err := d.File.Close()
	if perr := d.plain.Close(); err == nil {
		err = perr
	}
	return err
}
