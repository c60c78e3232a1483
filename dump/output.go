package dump

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// output is where a dump is written: a temporary file renamed over DST,
// or a device written in place.
type output interface {
	WriteAt(p []byte, off int64) (int, error)
	// Truncate sets the size of a file; on a device it only checks that
	// the dump fits.
	Truncate(size int64) error
}

// zeroFilled reports whether bytes of o never written read as zeros (a
// new file), so that runs of zeros need not be written.
func zeroFilled(o output) bool {
	_, dev := o.(*deviceOutput)
	return !dev
}

// writeOutput runs write on DST's output and returns the dump's size.
//
// A regular file, or a path that does not exist yet, is written as a new
// file next to dst (dst.tmp-XXXX, mode 0600: a dump holds everything the
// kernel had in memory), synced and renamed to dst; on any error it is
// removed, so dst is either complete or untouched.
//
// A device (a disk or partition the second kernel of a kexec jump writes
// to raw, /dev/null) cannot be replaced; it is written in place, and its
// first block last: a dump cut short has no valid header (on an error the
// first block is zeroed, so not even an older dump's header stays).
func writeOutput(dst string, write func(output) error) (int64, error) {
	fi, err := os.Stat(dst)
	switch {
	case err == nil && fi.IsDir():
		return 0, fmt.Errorf("%s is a directory: %w", dst, ErrOptions)
	case err == nil && !fi.Mode().IsRegular():
		return writeDevice(dst, write)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return 0, err
	}
	return writeAtomically(dst, write)
}

func writeAtomically(dst string, write func(output) error) (size int64, err error) {
	dir := filepath.Dir(dst)
	f, err := os.CreateTemp(dir, filepath.Base(dst)+".tmp-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(&writeBack{File: f}); err != nil {
		return 0, err
	}
	if err = f.Sync(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err = f.Close(); err != nil {
		return 0, err
	}
	if err = os.Rename(tmp, dst); err != nil {
		return 0, err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: make the rename itself durable
		d.Close()
	}
	return fi.Size(), nil
}

// writeBackEvery is how many bytes writeBack lets be written between two
// requests to start writing them back.
const writeBackEvery = 4 << 20

// writeBack is a new file that starts the write-back of what has been
// written every writeBackEvery bytes (sync_file_range without waiting), so
// that the disk works while the dump goes on and the fsync before the
// rename finds little left to do. The requests are advice: their errors
// are left to that fsync.
type writeBack struct {
	*os.File
	mu      sync.Mutex
	pending int64 // bytes written since the last request
}

func (w *writeBack) WriteAt(p []byte, off int64) (int, error) {
	n, err := w.File.WriteAt(p, off)
	w.mu.Lock()
	w.pending += int64(n)
	start := w.pending >= writeBackEvery
	if start {
		w.pending = 0
	}
	w.mu.Unlock()
	if start {
		unix.SyncFileRange(int(w.File.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	}
	return n, err
}

// headSize is how much of a device's start waits for the end: the first
// block of a kdump file (its signature and header), or an ELF file's
// header.
const headSize = pageSize

func writeDevice(dst string, write func(output) error) (int64, error) {
	f, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var capacity int64
	if end, err := f.Seek(0, 2); err == nil && end > 0 {
		capacity = end // block devices report their size this way
	}
	return writeInPlace(f, capacity, dst, write)
}

// Device is an output written in place (RunDevice): a raw block device, or a
// file of another kernel's filesystem written through its extents.
type Device interface {
	io.WriterAt
	Sync() error
}

// writeInPlace writes through write to dev, its first block last; capacity 0
// means unknown.
func writeInPlace(dev Device, capacity int64, name string, write func(output) error) (int64, error) {
	d := &deviceOutput{f: dev, capacity: capacity}
	if err := write(d); err != nil {
		dev.WriteAt(make([]byte, headSize), 0) // best effort
		dev.Sync()
		return 0, err
	}
	if _, err := dev.WriteAt(d.head[:d.headLen], 0); err != nil {
		return 0, fmt.Errorf("writing the header of %s: %w", name, err)
	}
	if err := dev.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) { // character devices cannot sync
		return 0, err
	}
	return d.end, nil
}

// deviceOutput holds back the first headSize bytes written.
type deviceOutput struct {
	f        io.WriterAt
	capacity int64 // 0 when unknown

	mu      sync.Mutex
	head    [headSize]byte
	headLen int
	end     int64 // the highest offset written
}

func (d *deviceOutput) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	if d.capacity > 0 && off+int64(len(p)) > d.capacity {
		return 0, fmt.Errorf("the dump needs more than the device's %d bytes", d.capacity)
	}
	d.mu.Lock()
	d.end = max(d.end, off+int64(len(p)))
	n := 0
	if off < headSize {
		n = copy(d.head[off:], p)
		d.headLen = max(d.headLen, int(off)+n)
	}
	d.mu.Unlock()
	if n == len(p) {
		return n, nil
	}
	m, err := d.f.WriteAt(p[n:], off+int64(n))
	return n + m, err
}

func (d *deviceOutput) Truncate(size int64) error {
	if d.capacity > 0 && size > d.capacity {
		return fmt.Errorf("the dump needs %d bytes, the device has %d", size, d.capacity)
	}
	d.mu.Lock()
	d.end = max(d.end, size)
	d.mu.Unlock()
	return nil
}
