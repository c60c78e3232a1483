package elfcore

import (
	"debug/elf"
	"fmt"
	"slices"
)

const (
	ehdrSize = 64 // sizeof(Elf64_Ehdr)
	phdrSize = 56 // sizeof(Elf64_Phdr)
	pageSize = 4096

	// maxPhysEnd is 2^52, the x86_64 architectural limit of physical
	// addresses (MAXPHYADDR is at most 52).
	maxPhysEnd = 1 << 52
	// maxNoteSize bounds a PT_NOTE's p_memsz: the second kernel kmallocs
	// that many bytes per PT_NOTE, and kmalloc refuses more than 4 MiB
	// (KMALLOC_MAX_SIZE with 4 KiB pages on x86_64).
	maxNoteSize = 4 << 20
	// maxPhnum: e_phnum is 16 bits and 0xffff is PN_XNUM, which
	// fs/proc/vmcore.c does not understand.
	maxPhnum = 0xfffe

	// unknownVirt is the p_vaddr written for a PT_LOAD whose virtual
	// address is unknown, as kexec-tools does.
	unknownVirt = ^uint64(0)
)

// Load is one range of the first kernel's RAM the second kernel exposes in
// /proc/vmcore, as a PT_LOAD.
type Load struct {
	Phys, Size uint64
	// Virt is the range's address in the kernel's direct map
	// (page_offset + Phys, see PageOffset); 0 means unknown and is written
	// as p_vaddr = 0xffffffffffffffff, as kexec-tools does.
	Virt uint64
}

// Note is a buffer of ELF notes that lives in the first kernel's memory: the
// VMCOREINFO note (ReadVmcoreinfoNote) or a CPU's crash notes
// (ReadCrashNotes). Size is the buffer's size; the second kernel reads it
// whole and walks the notes inside.
type Note struct {
	Phys, Size uint64
}

// Header describes an ELF core header (kexec-tools' "elfcorehdr") for a
// kdump-style second kernel. See the package documentation for the layout
// and for which notes to list.
type Header struct {
	// Loads are the RAM ranges, sorted by Phys, not overlapping and no
	// two sharing a page (the second kernel widens each to whole pages).
	Loads []Load
	// Notes are the note buffers, in the order the notes should appear in
	// /proc/vmcore (kexec-tools and the kernel put the per-CPU notes first,
	// then VMCOREINFO). At least one is required, and at least one must
	// hold a note when the second kernel boots.
	Notes []Note
	// KernelText, if set, adds a PT_LOAD for the kernel image's own
	// mapping (Virt = the address of _text, Phys = its physical address,
	// Size = _end - _text); debuggers such as crash(8) use it to find the
	// kernel's physical base. It repeats part of a RAM range, so
	// /proc/vmcore grows by its size.
	KernelText *Load
}

// Marshal validates h and returns the ELF core header bytes: an ELF64
// little-endian ET_CORE header for EM_X86_64, then one PT_NOTE per Note,
// the kernel-text PT_LOAD if any, then one PT_LOAD per Load. Errors match
// ErrInvalidHeader.
func (h Header) Marshal() ([]byte, error) {
	if err := h.validate(); err != nil {
		return nil, err
	}
	phnum := len(h.Notes) + len(h.Loads)
	if h.KernelText != nil {
		phnum++
	}
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	eh := elf.Header64{
		Ident:     ident,
		Type:      uint16(elf.ET_CORE),
		Machine:   uint16(elf.EM_X86_64),
		Version:   uint32(elf.EV_CURRENT),
		Phoff:     ehdrSize,
		Ehsize:    ehdrSize,
		Phentsize: phdrSize,
		Phnum:     uint16(phnum),
	}
	b := make([]byte, 0, ehdrSize+phnum*phdrSize)
	b = appendEhdr(b, &eh)
	for _, n := range h.Notes {
		b = appendPhdr(b, &elf.Prog64{
			Type:   uint32(elf.PT_NOTE),
			Off:    n.Phys,
			Paddr:  n.Phys,
			Filesz: n.Size,
			Memsz:  n.Size,
		})
	}
	load := func(l Load) {
		v := l.Virt
		if v == 0 {
			v = unknownVirt
		}
		b = appendPhdr(b, &elf.Prog64{
			Type:   uint32(elf.PT_LOAD),
			Flags:  uint32(elf.PF_R | elf.PF_W | elf.PF_X),
			Off:    l.Phys,
			Vaddr:  v,
			Paddr:  l.Phys,
			Filesz: l.Size,
			Memsz:  l.Size,
		})
	}
	if h.KernelText != nil {
		load(*h.KernelText)
	}
	for _, l := range h.Loads {
		load(l)
	}
	return b, nil
}

func (h Header) validate() error {
	bad := func(field string, i int, format string, args ...any) error {
		return &HeaderError{Field: field, Index: i, Detail: fmt.Sprintf(format, args...)}
	}
	if len(h.Notes) == 0 {
		return bad("Notes", -1, "no note buffers; the second kernel refuses a core header without notes (list the VMCOREINFO note)")
	}
	if len(h.Loads) == 0 {
		return bad("Loads", -1, "no RAM ranges")
	}
	n := len(h.Notes) + len(h.Loads)
	if h.KernelText != nil {
		n++
	}
	if n > maxPhnum {
		return bad("Loads", -1, "%d program headers, more than the %d an ELF header can count", n, maxPhnum)
	}

	for i, nt := range h.Notes {
		switch {
		case nt.Size < noteHeaderSize:
			return bad("Notes", i, "size %d is smaller than a note header (%d bytes)", nt.Size, noteHeaderSize)
		case nt.Size > maxNoteSize:
			return bad("Notes", i, "size %#x exceeds %#x, the most the second kernel can kmalloc", nt.Size, maxNoteSize)
		case nt.Phys >= maxPhysEnd || nt.Size > maxPhysEnd-nt.Phys:
			return bad("Notes", i, "range %#x+%#x is beyond the physical address space", nt.Phys, nt.Size)
		}
	}
	byAddr := make([]int, len(h.Notes))
	for i := range byAddr {
		byAddr[i] = i
	}
	slices.SortFunc(byAddr, func(a, b int) int {
		switch {
		case h.Notes[a].Phys < h.Notes[b].Phys:
			return -1
		case h.Notes[a].Phys > h.Notes[b].Phys:
			return 1
		}
		return a - b
	})
	for k := 1; k < len(byAddr); k++ {
		p, c := h.Notes[byAddr[k-1]], h.Notes[byAddr[k]]
		if c.Phys < p.Phys+p.Size {
			return bad("Notes", byAddr[k], "range %#x+%#x overlaps Notes[%d] %#x+%#x", c.Phys, c.Size, byAddr[k-1], p.Phys, p.Size)
		}
	}

	var (
		haveOff bool
		virtOff uint64 // Virt - Phys, the same for every direct-map range
	)
	for i, l := range h.Loads {
		if err := checkLoad(l); err != "" {
			return bad("Loads", i, "%s", err)
		}
		if i > 0 {
			p := h.Loads[i-1]
			if l.Phys < p.Phys {
				return bad("Loads", i, "starts at %#x, below Loads[%d] at %#x: ranges must be sorted", l.Phys, i-1, p.Phys)
			}
			if l.Phys < p.Phys+p.Size {
				return bad("Loads", i, "range %#x+%#x overlaps Loads[%d] %#x+%#x", l.Phys, l.Size, i-1, p.Phys, p.Size)
			}
			if pageDown(l.Phys) < pageUp(p.Phys+p.Size) {
				return bad("Loads", i, "range %#x+%#x shares a page with Loads[%d] %#x+%#x; the second kernel widens each range to whole pages, so that page would appear twice", l.Phys, l.Size, i-1, p.Phys, p.Size)
			}
		}
		if l.Virt != 0 {
			off := l.Virt - l.Phys
			if haveOff && off != virtOff {
				return bad("Loads", i, "Virt %#x - Phys %#x = %#x differs from the direct-map offset %#x of the ranges before it", l.Virt, l.Phys, off, virtOff)
			}
			haveOff, virtOff = true, off
		}
	}
	if t := h.KernelText; t != nil {
		if err := checkLoad(*t); err != "" {
			return bad("KernelText", -1, "%s", err)
		}
		if t.Virt == 0 {
			return bad("KernelText", -1, "Virt (the address of _text) is required")
		}
	}
	return nil
}

func checkLoad(l Load) string {
	switch {
	case l.Size == 0:
		return "empty range"
	case l.Phys >= maxPhysEnd || l.Size > maxPhysEnd-l.Phys:
		return fmt.Sprintf("range %#x+%#x is beyond the physical address space", l.Phys, l.Size)
	case l.Virt == unknownVirt:
		return "Virt 0xffffffffffffffff: use 0 for unknown"
	case l.Virt != 0 && l.Virt+l.Size-1 < l.Virt:
		return fmt.Sprintf("virtual range %#x+%#x wraps around", l.Virt, l.Size)
	}
	return ""
}

func pageDown(a uint64) uint64 { return a &^ (pageSize - 1) }
func pageUp(a uint64) uint64   { return (a + pageSize - 1) &^ (pageSize - 1) }
