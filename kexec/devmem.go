package kexec

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// DevMem reads physical memory through /dev/mem by mapping it a page at a time
// (read(2) stops at this kernel's high_memory). It keeps the device open.
type DevMem struct{ f *os.File }

// OpenDevMem opens path (normally /dev/mem) for reading.
func OpenDevMem(path string) (*DevMem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w (needs CONFIG_DEVMEM and root)", path, err)
	}
	return &DevMem{f: f}, nil
}

// ReadPhys fills p from physical address phys; phys and len(p) need not be page
// aligned.
func (d *DevMem) ReadPhys(p []byte, phys uint64) (int, error) {
	done := 0
	for done < len(p) {
		at := phys + uint64(done)
		base := at &^ (PageSize - 1)
		m, err := unix.Mmap(int(d.f.Fd()), int64(base), PageSize, unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return done, fmt.Errorf("mapping %#x of %s: %w", base, d.f.Name(), err)
		}
		done += copy(p[done:], m[at-base:])
		unix.Munmap(m)
	}
	return done, nil
}

// Close closes the device.
func (d *DevMem) Close() error { return d.f.Close() }
