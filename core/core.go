package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/physmem"
)

// ErrOwnRAM means a page of the second kernel lies in the first kernel's
// own RAM, which STRICT_DEVMEM keeps /dev/mem from writing.
var ErrOwnRAM = errors.New("the page lies in this kernel's own RAM")

// ErrStale means the note in the note page does not fit the loaded image
// (another kernel was loaded since, without 'kjump load').
var ErrStale = errors.New("the second kernel's note does not fit the loaded image")

// ErrOutside means an address is not in the second kernel's RAM.
var ErrOutside = errors.New("outside the second kernel's RAM")

// Kernel is a parked second kernel, opened for reading and writing.
type Kernel struct {
	Note jump.BackNote
	// Swap maps each of the second kernel's pages that the jump moved to
	// where it is now (see the package documentation).
	Swap  kexec.SwapMap
	kcore *physmem.Kcore
	mem   *physmem.Mem
}

// Open finds the waiting second kernel: its note in the note page, the
// first kernel's page list.
func Open() (*Kernel, error) {
	rec, err := jump.ReadBackNote()
	if err != nil {
		return nil, err
	}
	return open(rec, physmem.KcorePath, physmem.Path)
}

func open(rec jump.BackNote, kcorePath, memPath string) (*Kernel, error) {
	k := &Kernel{Note: rec}
	var err error
	if k.kcore, err = physmem.OpenKcore(kcorePath); err != nil {
		return nil, err
	}
	if k.mem, err = physmem.Open(memPath); err != nil {
		k.kcore.Close()
		return nil, err
	}
	// The control page and the page list are the first kernel's own
	// (kernel) memory.
	read := func(phys uint64, buf []byte) error { _, err := k.kcore.ReadPhys(buf, phys); return err }
	if k.Swap, err = kexec.ReadSwapMap(read, rec.Entry); err != nil {
		k.Close()
		return nil, fmt.Errorf("%w: %v", ErrStale, err)
	}
	// The second kernel's lowest page (its low range) is always a segment
	// of the image: a page list that does not move it is not this kernel's.
	if len(rec.RAM) == 0 {
		k.Close()
		return nil, fmt.Errorf("%w: it names no RAM", ErrStale)
	}
	low := slices.MinFunc(rec.RAM, func(a, b memmap.Range) int { return cmpUint(a.Start, b.Start) }).Start
	if _, ok := k.Swap[low&^(kexec.PageSize-1)]; !ok {
		k.Close()
		return nil, fmt.Errorf("%w: the loaded image's page list does not move its lowest page %#x", ErrStale, low)
	}
	return k, nil
}

// Close releases the files.
func (k *Kernel) Close() error {
	k.mem.Close()
	return k.kcore.Close()
}

// Where returns where the second kernel's page at phys (page aligned) is now
// in physical memory, and whether that is the first kernel's own RAM.
func (k *Kernel) Where(phys uint64) (uint64, bool) {
	at, moved := k.Swap[phys]
	if !moved {
		at = phys
	}
	return at, k.kcore.Covers(at)
}

// inRAM checks that [phys, phys+n) lies in the second kernel's RAM.
func (k *Kernel) inRAM(phys, n uint64) error {
	r := memmap.Range{Start: phys, Size: n}
	if n == 0 || !slices.ContainsFunc(k.Note.RAM, func(ram memmap.Range) bool { return ram.ContainsRange(r) }) {
		return fmt.Errorf("%#x+%#x: %w (%s)", phys, n, ErrOutside, rangesString(k.Note.RAM))
	}
	return nil
}

// ReadPhys fills p with the second kernel's memory at its physical address
// phys. Pages that follow on in the same kind of memory (a run the jump left
// in place, or moved into consecutive pages) are read at once.
func (k *Kernel) ReadPhys(p []byte, phys uint64) (int, error) {
	done := 0
	for done < len(p) {
		addr := phys + uint64(done)
		page := addr &^ (kexec.PageSize - 1)
		at, own := k.Where(page)
		end := page + kexec.PageSize
		for end < phys+uint64(len(p)) {
			next, nown := k.Where(end)
			if nown != own || next != at+(end-page) {
				break
			}
			end += kexec.PageSize
		}
		n := min(len(p)-done, int(end-addr))
		var err error
		if own {
			_, err = k.kcore.ReadPhys(p[done:done+n], at+addr-page)
		} else {
			var b []byte
			if b, err = k.mem.Map(at, int(pageUp(addr-page+uint64(n)))); err == nil {
				copy(p[done:done+n], b[addr-page:])
				physmem.Unmap(b)
			}
		}
		if err != nil {
			return done, fmt.Errorf("the second kernel's page %#x, now at %#x: %w", page, at, err)
		}
		done += n
	}
	return done, nil
}

// Vmcoreinfo reads the second kernel's VMCOREINFO note from its memory.
func (k *Kernel) Vmcoreinfo() (elfcore.RawNote, error) {
	v := k.Note.Vmcoreinfo
	if v.Size == 0 || v.Size > 1<<20 {
		return elfcore.RawNote{}, fmt.Errorf("the second kernel's VMCOREINFO note buffer is %d bytes", v.Size)
	}
	buf := make([]byte, v.Size)
	if _, err := k.ReadPhys(buf, v.Phys); err != nil {
		return elfcore.RawNote{}, err
	}
	notes, err := elfcore.ParseNotes(buf)
	if err != nil {
		return elfcore.RawNote{}, fmt.Errorf("the second kernel's VMCOREINFO buffer at %#x: %w", v.Phys, err)
	}
	for _, n := range notes {
		if n.Name != "VMCOREINFO" {
			continue
		}
		if k.Note.Release != "" && !strings.Contains(string(n.Desc), "OSRELEASE="+k.Note.Release+"\n") {
			return elfcore.RawNote{}, fmt.Errorf("%w: the VMCOREINFO at %#x is not of release %s", ErrStale, v.Phys, k.Note.Release)
		}
		return n, nil
	}
	return elfcore.RawNote{}, fmt.Errorf("the second kernel's buffer at %#x holds no VMCOREINFO note", v.Phys)
}

// Result says what Write wrote.
type Result struct {
	Bytes      int64
	Pages      int // pages of the second kernel's RAM
	Moved      int // of them, pages read from where the jump moved them
	Release    string
	Vmcoreinfo uint64 // the note's physical address in the second kernel
}

// Write writes the second kernel as an ELF core to w: its VMCOREINFO note,
// then every page of its RAM at its physical address (and in its direct
// map), and its kernel image's mapping.
func (k *Kernel) Write(w io.Writer) (Result, error) {
	note, err := k.Vmcoreinfo()
	if err != nil {
		return Result{}, err
	}
	c := elfcore.CoreFile{Notes: []elfcore.RawNote{note}, KernelText: k.Note.KernelText}
	res := Result{Release: k.Note.Release, Vmcoreinfo: k.Note.Vmcoreinfo.Phys}
	for _, r := range k.Note.RAM {
		start, end := pageUp(r.Start), (r.Start+r.Size)&^(kexec.PageSize-1)
		if start >= end {
			continue
		}
		l := elfcore.Load{Phys: start, Size: end - start}
		if k.Note.PageOffset != 0 {
			l.Virt = k.Note.PageOffset + start
		}
		c.Loads = append(c.Loads, l)
		res.Pages += int((end - start) / kexec.PageSize)
		for p := start; p < end; p += kexec.PageSize {
			if _, moved := k.Swap[p]; moved {
				res.Moved++
			}
		}
	}
	slices.SortFunc(c.Loads, func(a, b elfcore.Load) int { return cmpUint(a.Phys, b.Phys) })
	res.Bytes, err = elfcore.WriteCore(w, c, func(phys uint64, buf []byte) error { _, err := k.ReadPhys(buf, phys); return err })
	return res, err
}

// WriteFile writes the core to path: a regular file is written beside it and
// renamed when complete (mode 0600: it holds the second kernel's secrets); a
// block device is written in place.
func (k *Kernel) WriteFile(path string) (Result, error) {
	if st, err := os.Stat(path); err == nil && st.Mode()&os.ModeDevice != 0 {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return Result{}, err
		}
		res, err := k.Write(f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return res, err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return Result{}, err
	}
	res, err := k.Write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return res, err
}

// Poke writes data into the second kernel's memory at its physical address
// phys, which with data must lie in its RAM. A page that lies in the first
// kernel's own RAM (swapped there, or in a crashkernel= region) can be
// written only where the kernel lacks STRICT_DEVMEM (ErrOwnRAM otherwise).
func (k *Kernel) Poke(phys uint64, data []byte, memPath string) error {
	if err := k.inRAM(phys, uint64(len(data))); err != nil {
		return err
	}
	m, err := physmem.OpenWritable(memPath)
	if err != nil {
		return err
	}
	defer m.Close()
	for done := 0; done < len(data); {
		addr := phys + uint64(done)
		page := addr &^ (kexec.PageSize - 1)
		n := min(len(data)-done, int(page+kexec.PageSize-addr))
		at, own := k.Where(page)
		err := m.Fill(at, kexec.PageSize, func(dst []byte) { copy(dst[addr-page:], data[done:done+n]) })
		if err != nil {
			if own {
				where := fmt.Sprintf("stayed at %#x, in a region of this kernel's RAM (crashkernel=)", at)
				if at != page {
					where = fmt.Sprintf("was moved by the jump to %#x", at)
				}
				return fmt.Errorf("the second kernel's page %#x %s: %w, which /dev/mem does not write under STRICT_DEVMEM (%v); poke pages that stay in a memmap=SIZE$ADDR region, or use a kernel without STRICT_DEVMEM", page, where, ErrOwnRAM, err)
			}
			return err
		}
		done += n
	}
	return nil
}

func pageUp(a uint64) uint64 { return (a + kexec.PageSize - 1) &^ (kexec.PageSize - 1) }

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func rangesString(rs []memmap.Range) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ", "
		}
		s += r.String()
	}
	return s
}
