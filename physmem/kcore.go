package physmem

import (
	"fmt"
	"io"
	"os"

	"github.com/kjump/kjump/elfcore"
)

// KcorePath is the running kernel's own memory as an ELF core.
const KcorePath = "/proc/kcore"

// Kcore reads the running kernel's own RAM, read-only, through /proc/kcore's
// direct-map segments: the one way to it, since STRICT_DEVMEM keeps /dev/mem
// from the kernel's own System RAM. It needs CAP_SYS_RAWIO,
// CONFIG_PROC_KCORE and no lockdown. Pages the kernel holds reserved (kexec's
// copies of a loaded image, a crashkernel= reservation) read like any other.
type Kcore struct {
	f    *os.File
	segs []elfcore.Segment
}

// OpenKcore opens path (normally KcorePath).
func OpenKcore(path string) (*Kcore, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Op: "opening", Detail: path, Hint: "needs root and CONFIG_PROC_KCORE; a locked-down kernel refuses it", Err: err}
	}
	segs, err := elfcore.KcoreRAM(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("physmem: %s: %w", path, err)
	}
	return &Kcore{f: f, segs: segs}, nil
}

// Covers reports whether the byte at phys is RAM kcore shows.
func (k *Kcore) Covers(phys uint64) bool { return k.seg(phys) >= 0 }

func (k *Kcore) seg(phys uint64) int {
	for i, s := range k.segs {
		if phys >= s.Phys && phys-s.Phys < s.FileSize {
			return i
		}
	}
	return -1
}

// ReadPhys fills p from physical address phys.
func (k *Kcore) ReadPhys(p []byte, phys uint64) (int, error) {
	done := 0
	for done < len(p) {
		at := phys + uint64(done)
		i := k.seg(at)
		if i < 0 {
			return done, &Error{Op: "reading", Offset: at, Detail: k.f.Name(), Err: fmt.Errorf("not RAM of this kernel (kcore has no direct-map segment there)")}
		}
		s := k.segs[i]
		n := min(uint64(len(p)-done), s.Phys+s.FileSize-at)
		m, err := k.f.ReadAt(p[done:done+int(n)], int64(s.FileOff+at-s.Phys))
		done += m
		if err != nil && !(err == io.EOF && m == int(n)) {
			return done, &Error{Op: "reading", Offset: at, Detail: k.f.Name(), Err: err}
		}
	}
	return done, nil
}

// Close closes the file.
func (k *Kcore) Close() error { return k.f.Close() }
