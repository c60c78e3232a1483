package elfcore

import (
	"debug/elf"
	"fmt"
	"io"
)

// CoreFile describes an ELF core file to write (WriteCore): the notes, then
// the memory. It is the file form of what Header describes in memory.
type CoreFile struct {
	// Notes are the notes, in order (e.g. a VMCOREINFO RawNote).
	Notes []RawNote
	// Loads are the RAM ranges, sorted by Phys, not overlapping, page
	// aligned; each becomes a PT_LOAD whose bytes follow in the file.
	Loads []Load
	// KernelText, if set, adds a PT_LOAD for the kernel image's mapping
	// (see Header.KernelText). It must lie inside one of Loads: its
	// p_offset points at that range's bytes, so it costs no space.
	KernelText *Load
}

// WriteCore writes c to w as an ELF64 ET_CORE file for EM_X86_64: the ELF
// header, the program headers (PT_NOTE, the kernel text if any, one PT_LOAD
// per range), the notes, then each range's bytes at a page-aligned offset, in
// order. read fills buf with len(buf) bytes of physical memory at phys (at
// most 1 MiB at a time, never across a range's end). It returns the bytes
// written.
func WriteCore(w io.Writer, c CoreFile, read func(phys uint64, buf []byte) error) (int64, error) {
	for i, l := range c.Loads {
		if l.Phys%pageSize != 0 || l.Size%pageSize != 0 || l.Size == 0 || l.Phys+l.Size < l.Phys {
			return 0, &HeaderError{Field: "Loads", Index: i, Detail: fmt.Sprintf("range %#x+%#x is not whole pages, or wraps around", l.Phys, l.Size)}
		}
		if i > 0 && l.Phys < c.Loads[i-1].Phys+c.Loads[i-1].Size {
			return 0, &HeaderError{Field: "Loads", Index: i, Detail: "ranges not sorted or overlapping"}
		}
	}
	var notes []byte
	for _, n := range c.Notes {
		notes = AppendNote(notes, n)
	}
	phnum := 1 + len(c.Loads)
	if c.KernelText != nil {
		phnum++
	}
	if phnum > maxPhnum {
		return 0, &HeaderError{Field: "Loads", Index: -1, Detail: fmt.Sprintf("%d ranges, at most %d", len(c.Loads), maxPhnum-2)}
	}
	notesOff := uint64(ehdrSize + phnum*phdrSize)
	dataOff := pageUp(notesOff + uint64(len(notes)))
	offs := make([]uint64, len(c.Loads))
	at := dataOff
	for i, l := range c.Loads {
		offs[i], at = at, at+l.Size
	}
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	b := appendEhdr(make([]byte, 0, dataOff), &elf.Header64{
		Ident: ident, Type: uint16(elf.ET_CORE), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Phoff: ehdrSize, Ehsize: ehdrSize, Phentsize: phdrSize, Phnum: uint16(phnum),
	})
	b = appendPhdr(b, &elf.Prog64{Type: uint32(elf.PT_NOTE), Off: notesOff, Filesz: uint64(len(notes)), Memsz: uint64(len(notes))})
	load := func(l Load, off uint64) {
		v := l.Virt
		if v == 0 {
			v = unknownVirt
		}
		b = appendPhdr(b, &elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_W | elf.PF_X),
			Off: off, Vaddr: v, Paddr: l.Phys, Filesz: l.Size, Memsz: l.Size, Align: pageSize})
	}
	if kt := c.KernelText; kt != nil {
		i := -1
		for j, l := range c.Loads {
			if kt.Phys >= l.Phys && kt.Size <= l.Size && kt.Phys-l.Phys <= l.Size-kt.Size {
				i = j
			}
		}
		if i < 0 {
			return 0, &HeaderError{Field: "KernelText", Index: -1, Detail: fmt.Sprintf("%#x+%#x lies in no range", kt.Phys, kt.Size)}
		}
		load(*kt, offs[i]+kt.Phys-c.Loads[i].Phys)
	}
	for i, l := range c.Loads {
		load(l, offs[i])
	}
	b = append(b, notes...)
	b = append(b, make([]byte, dataOff-uint64(len(b)))...)
	n, err := w.Write(b)
	total := int64(n)
	if err != nil {
		return total, err
	}
	buf := make([]byte, 1<<20)
	for _, l := range c.Loads {
		for done := uint64(0); done < l.Size; {
			chunk := buf[:min(uint64(len(buf)), l.Size-done)]
			if err := read(l.Phys+done, chunk); err != nil {
				return total, fmt.Errorf("reading %#x+%#x: %w", l.Phys+done, len(chunk), err)
			}
			n, err := w.Write(chunk)
			total += int64(n)
			if err != nil {
				return total, err
			}
			done += uint64(len(chunk))
		}
	}
	return total, nil
}

// KcoreRAM returns the direct-map PT_LOADs of /proc/kcore (kcore; its size
// is not needed): the running kernel's RAM, each with its physical address
// (p_paddr) and where its bytes are in the file. Reading them needs
// CAP_SYS_RAWIO and no lockdown.
func KcoreRAM(kcore io.ReaderAt) ([]Segment, error) {
	_, progs, err := readHeaders(kcore, -1)
	if err != nil {
		return nil, err
	}
	var out []Segment
	for _, p := range progs {
		if elf.ProgType(p.Type) != elf.PT_LOAD || p.Paddr == ^uint64(0) || p.Vaddr >= startKernelMap || p.Vaddr < kernelHalf || p.Vaddr < p.Paddr {
			continue
		}
		out = append(out, Segment{Phys: p.Paddr, Virt: p.Vaddr, FileOff: p.Off, FileSize: p.Filesz, MemSize: p.Memsz})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("elfcore: kcore has no direct-map PT_LOAD with a physical address: %w", ErrNoPageOffset)
	}
	return out, nil
}
