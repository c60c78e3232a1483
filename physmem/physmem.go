// Package physmem is kjump's one way to physical memory: /dev/mem, always
// mapped (read(2) on /dev/mem stops at the running kernel's high_memory, and the
// other kernel's pages usually lie above it), a page or a range at a time. The
// kernel's rules for /dev/mem live here too, so every refusal explains itself:
//
//   - STRICT_DEVMEM: a kernel does not map its own System RAM through /dev/mem.
//     The other kernel's memory is not System RAM here, so a second kernel
//     reads and writes the first kernel's pages, and a resume kernel restores
//     them; no kernel reads its own.
//   - IO_STRICT_DEVMEM: no mapping of a busy resource, such as the "RAM buffer"
//     the kernel adds after the end of its last RAM range. End a region on a
//     64 MiB boundary (or boot with iomem=relaxed) to keep such a resource away
//     from the memory kjump maps.
//
// A kernel's own RAM is read through /proc/kcore instead (Kcore), read-only:
// the first kernel reads the pages of a parked second kernel that the jump
// moved into its RAM that way (kjump core).
package physmem

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/internal/errs"
)

// Path is the physical memory device.
const Path = "/dev/mem"

const pageSize = 4096

var errNoDevMem = errs.NotSupported("no physical memory device")

// Error is a refused or failed access to physical memory.
type Error struct {
	Op     string // "opening", "mapping"
	Offset uint64 // physical address
	Detail string // what was asked: the device and the size
	Hint   string // what to do about it, when known
	Err    error  // the errno
}

func (e *Error) Error() string {
	s := fmt.Sprintf("physmem: %s %#x (%s): %v", e.Op, e.Offset, e.Detail, e.Err)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func hint(op string, err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist) && op == "opening":
		return "the kernel needs CONFIG_DEVMEM"
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		if op == "opening" {
			return "needs root; a locked-down kernel refuses /dev/mem"
		}
		return "STRICT_DEVMEM forbids mapping this kernel's own RAM; IO_STRICT_DEVMEM forbids busy ranges such as a 'RAM buffer': end the region on a 64 MiB boundary or boot with iomem=relaxed"
	}
	return ""
}

// Mem is the opened device.
type Mem struct {
	f        *os.File
	writable bool
}

// Open opens path (normally Path) for reading.
func Open(path string) (*Mem, error) { return open(path, false) }

// OpenWritable opens path (normally Path) for reading and writing, with
// O_SYNC (uncached mappings where the architecture allows).
func OpenWritable(path string) (*Mem, error) { return open(path, true) }

func open(path string, writable bool) (*Mem, error) {
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR | os.O_SYNC
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w (%w)", errNoDevMem, err)
		}
		return nil, &Error{Op: "opening", Detail: path, Hint: hint("opening", err), Err: err}
	}
	return &Mem{f: f, writable: writable}, nil
}

// Close closes the device; mappings stay valid until Unmap.
func (m *Mem) Close() error { return m.f.Close() }

// Map maps n bytes of physical memory at phys (page aligned), writable if the
// device was opened so. Unmap it when done.
func (m *Mem) Map(phys uint64, n int) ([]byte, error) {
	prot := unix.PROT_READ
	if m.writable {
		prot |= unix.PROT_WRITE
	}
	if phys%pageSize != 0 {
		return nil, &Error{Op: "mapping", Offset: phys, Detail: fmt.Sprintf("%d bytes of %s", n, m.f.Name()), Err: errors.New("not page aligned")}
	}
	b, err := unix.Mmap(int(m.f.Fd()), int64(phys), n, prot, unix.MAP_SHARED)
	if err != nil {
		return nil, &Error{Op: "mapping", Offset: phys, Detail: fmt.Sprintf("%d bytes of %s", n, m.f.Name()), Hint: hint("mapping", err), Err: err}
	}
	return b, nil
}

// Unmap releases a mapping from Map.
func Unmap(b []byte) error { return unix.Munmap(b) }

// ReadPhys fills p from physical address phys, a page at a time; phys and len(p)
// need not be page aligned.
func (m *Mem) ReadPhys(p []byte, phys uint64) (int, error) {
	done := 0
	for done < len(p) {
		at := phys + uint64(done)
		base := at &^ (pageSize - 1)
		b, err := m.Map(base, pageSize)
		if err != nil {
			return done, err
		}
		done += copy(p[done:], b[at-base:])
		Unmap(b)
	}
	return done, nil
}

// Fill maps n bytes at phys (page aligned), lets fill write them, and unmaps.
func (m *Mem) Fill(phys uint64, n int, fill func(dst []byte)) error {
	if !m.writable {
		return &Error{Op: "mapping", Offset: phys, Detail: fmt.Sprintf("%d bytes of %s for writing", n, m.f.Name()), Hint: "open it with OpenWritable", Err: unix.EACCES}
	}
	b, err := m.Map(phys, n)
	if err != nil {
		return err
	}
	fill(b)
	return Unmap(b)
}

// Read reads len(buf) bytes at phys through the device at path.
func Read(path string, phys uint64, buf []byte) error {
	m, err := Open(path)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.ReadPhys(buf, phys)
	return err
}
