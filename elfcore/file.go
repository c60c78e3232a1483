package elfcore

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

const (
	// shdrSize is sizeof(Elf64_Shdr); section header 0 carries the real
	// program header count when e_phnum is PN_XNUM.
	shdrSize = 64
	// pnXnum is PN_XNUM (0xffff), the e_phnum escape for large tables,
	// which makedumpfile -E writes for dumps with many segments.
	pnXnum = 0xffff
	// maxProgs bounds a PN_XNUM program header count (64 MiB of headers).
	maxProgs = 1 << 20
	// maxNotesBytes bounds the PT_NOTE bytes read into memory.
	maxNotesBytes = 1 << 30
)

// Segment is one PT_LOAD of an ELF vmcore.
type Segment struct {
	// Phys is p_paddr: where the bytes were in physical memory.
	// 0xffffffffffffffff means the segment has none (e.g. vmalloc ranges
	// in /proc/kcore); ReadPhys ignores such segments.
	Phys uint64
	// Virt is p_vaddr, or 0 when the file says 0xffffffffffffffff
	// (unknown), matching Load.Virt.
	Virt uint64
	// FileOff and FileSize locate the segment's bytes in the file.
	FileOff, FileSize uint64
	// MemSize is the segment's size in memory; bytes past FileSize are
	// zero (makedumpfile -E drops zero pages at a segment's end this way).
	MemSize uint64
}

// File is an ELF vmcore opened for reading: /proc/vmcore in a second
// kernel, or a copy of it written by kjump or makedumpfile -E.
type File struct {
	// Loads are the PT_LOAD segments in file order.
	Loads []Segment
	// Notes are the notes of every PT_NOTE segment, in file order.
	Notes []RawNote

	r      io.ReaderAt
	closer io.Closer
	phys   []span // sorted, disjoint: where each physical byte is read from
}

// span maps the physical range [start, end) to Loads[seg].
type span struct {
	start, end uint64
	seg        int
}

// Open opens the ELF vmcore at path. Close the File when done.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("elfcore: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("elfcore: %w", err)
	}
	f, err := NewFile(fh, st.Size())
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.closer = fh
	return f, nil
}

// Close closes the file Open opened; for a File from NewFile it does
// nothing.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// NewFile reads the ELF core in r, size bytes long. It checks the ELF
// header (ELF64, little-endian, ET_CORE, EM_X86_64), that the program header
// table and every segment lie within size, and that every PT_NOTE holds
// well-formed notes, which it reads into memory. Errors are *FormatError
// matching one of the sentinels.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, formatErr(ErrTruncated, -1, "negative file size %d", size)
	}
	eh, progs, err := readHeaders(r, size)
	if err != nil {
		return nil, err
	}
	f := &File{r: r}
	var notesBytes uint64
	for i, p := range progs {
		phOff := int64(eh.Phoff) + int64(i)*phdrSize // for messages
		switch elf.ProgType(p.Type) {
		case elf.PT_LOAD:
			if p.Filesz > p.Memsz {
				return nil, formatErr(ErrMalformed, phOff, "PT_LOAD %d: p_filesz %#x > p_memsz %#x", i, p.Filesz, p.Memsz)
			}
			if err := checkInFile(i, phOff, "PT_LOAD", p, size); err != nil {
				return nil, err
			}
			if p.Paddr != ^uint64(0) && p.Memsz > ^uint64(0)-p.Paddr {
				return nil, formatErr(ErrMalformed, phOff, "PT_LOAD %d: physical range %#x+%#x wraps around", i, p.Paddr, p.Memsz)
			}
			v := p.Vaddr
			if v == unknownVirt {
				v = 0
			}
			f.Loads = append(f.Loads, Segment{Phys: p.Paddr, Virt: v, FileOff: p.Off, FileSize: p.Filesz, MemSize: p.Memsz})
		case elf.PT_NOTE:
			if err := checkInFile(i, phOff, "PT_NOTE", p, size); err != nil {
				return nil, err
			}
			notesBytes += p.Filesz
			if notesBytes > maxNotesBytes {
				return nil, formatErr(ErrMalformed, -1, "PT_NOTE segments hold more than %d bytes", maxNotesBytes)
			}
			buf, err := readFull(r, int64(p.Off), int64(p.Filesz))
			if err != nil {
				return nil, formatErr(ErrTruncated, int64(p.Off), "PT_NOTE %d: %v", i, err)
			}
			notes, err := ParseNotes(buf)
			if err != nil {
				var fe *FormatError
				if errors.As(err, &fe) && fe.Offset >= 0 {
					fe.Offset += int64(p.Off)
					fe.Detail = fmt.Sprintf("PT_NOTE %d: %s", i, fe.Detail)
				}
				return nil, err
			}
			f.Notes = append(f.Notes, notes...)
		}
	}
	f.phys = physMap(f.Loads)
	return f, nil
}

func checkInFile(i int, phOff int64, what string, p elf.Prog64, size int64) error {
	if p.Off > uint64(size) || p.Filesz > uint64(size)-p.Off {
		hint := "was the file cut short while it was copied?"
		if p.Off == p.Paddr && p.Off != 0 {
			hint = "p_offset equals p_paddr: is this an ELF core header (elfcorehdr), which points into memory, rather than a dump?"
		}
		return &FormatError{
			Err:    ErrSegmentBeyondEOF,
			Offset: phOff,
			Detail: fmt.Sprintf("%s %d: file bytes %#x+%#x, file is %#x bytes", what, i, p.Off, p.Filesz, size),
			Hint:   hint,
		}
	}
	return nil
}

// readFull reads n bytes at off, growing the buffer as data arrives so that
// a lying size cannot force a huge allocation.
func readFull(r io.ReaderAt, off, n int64) ([]byte, error) {
	var buf bytes.Buffer
	got, err := buf.ReadFrom(io.NewSectionReader(r, off, n))
	if err != nil {
		return nil, err
	}
	if got != n {
		return nil, fmt.Errorf("read %d of %d bytes: %w", got, n, io.ErrUnexpectedEOF)
	}
	return buf.Bytes(), nil
}

// readHeaders reads and checks the ELF header and the program header table.
// A negative size means unknown (/proc/kcore reports a meaningless one):
// then nothing is checked against it.
func readHeaders(r io.ReaderAt, size int64) (elf.Header64, []elf.Prog64, error) {
	var eh elf.Header64
	head := make([]byte, ehdrSize)
	n, err := r.ReadAt(head, 0)
	if n < len(head) && err != nil && err != io.EOF {
		return eh, nil, fmt.Errorf("elfcore: reading ELF header: %w", err)
	}
	if size >= 0 && int64(n) > size {
		n = int(size)
	}
	head = head[:n]
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		return eh, nil, notELF(head)
	}
	if len(head) < ehdrSize {
		return eh, nil, formatErr(ErrTruncated, 0, "ELF header needs %d bytes, file has %d", ehdrSize, len(head))
	}
	eh = decodeEhdr(head)
	if c := elf.Class(eh.Ident[elf.EI_CLASS]); c != elf.ELFCLASS64 {
		return eh, nil, formatErr(ErrWrongMachine, int64(elf.EI_CLASS), "class %v; only ELF64 x86_64 cores are supported", c)
	}
	if d := elf.Data(eh.Ident[elf.EI_DATA]); d != elf.ELFDATA2LSB {
		return eh, nil, formatErr(ErrWrongMachine, int64(elf.EI_DATA), "byte order %v; only little-endian x86_64 cores are supported", d)
	}
	if t := elf.Type(eh.Type); t != elf.ET_CORE {
		fe := formatErr(ErrNotCore, 16, "e_type %v", t)
		if t == elf.ET_EXEC || t == elf.ET_DYN {
			fe.Hint = "this is a program or a kernel image (vmlinux), not a memory dump"
		}
		return eh, nil, fe
	}
	if m := elf.Machine(eh.Machine); m != elf.EM_X86_64 {
		return eh, nil, formatErr(ErrWrongMachine, 18, "e_machine %v", m)
	}
	switch {
	case eh.Ident[elf.EI_VERSION] != byte(elf.EV_CURRENT) || eh.Version != uint32(elf.EV_CURRENT):
		return eh, nil, formatErr(ErrMalformed, 20, "ELF version %d/%d, want 1", eh.Ident[elf.EI_VERSION], eh.Version)
	case eh.Ehsize != ehdrSize:
		return eh, nil, formatErr(ErrMalformed, 52, "e_ehsize %d, want %d", eh.Ehsize, ehdrSize)
	case eh.Phentsize != phdrSize:
		return eh, nil, formatErr(ErrMalformed, 54, "e_phentsize %d, want %d", eh.Phentsize, phdrSize)
	case eh.Phnum == 0:
		return eh, nil, formatErr(ErrMalformed, 56, "no program headers")
	}

	phnum := uint64(eh.Phnum)
	if eh.Phnum == pnXnum {
		// Extended numbering: the count is section header 0's sh_info.
		if eh.Shentsize != shdrSize {
			return eh, nil, formatErr(ErrMalformed, 58, "e_phnum is PN_XNUM but e_shentsize is %d, want %d", eh.Shentsize, shdrSize)
		}
		if size >= 0 && (eh.Shoff > uint64(size) || uint64(size)-eh.Shoff < shdrSize) {
			return eh, nil, formatErr(ErrTruncated, 40, "section header 0 at %#x (for the PN_XNUM program header count) is past the end of the %#x-byte file", eh.Shoff, size)
		}
		sh := make([]byte, shdrSize)
		if eh.Shoff > 1<<62 {
			return eh, nil, formatErr(ErrMalformed, 40, "e_shoff %#x", eh.Shoff)
		}
		if _, err := r.ReadAt(sh, int64(eh.Shoff)); err != nil {
			return eh, nil, formatErr(ErrTruncated, int64(eh.Shoff), "reading section header 0: %v", err)
		}
		phnum = uint64(le.Uint32(sh[44:])) // sh_info
		if phnum == 0 || phnum > maxProgs {
			return eh, nil, formatErr(ErrMalformed, int64(eh.Shoff), "PN_XNUM program header count %d", phnum)
		}
	}
	tableSize := phnum * phdrSize
	if eh.Phoff > 1<<62 || (size >= 0 && (eh.Phoff > uint64(size) || uint64(size)-eh.Phoff < tableSize)) {
		return eh, nil, formatErr(ErrTruncated, 32, "%d program headers at %#x need %#x bytes, file is %#x bytes", phnum, eh.Phoff, tableSize, size)
	}
	table, err := readFull(r, int64(eh.Phoff), int64(tableSize))
	if err != nil {
		return eh, nil, formatErr(ErrTruncated, int64(eh.Phoff), "program header table: %v", err)
	}
	progs := make([]elf.Prog64, phnum)
	for i := range progs {
		progs[i] = decodePhdr(table[i*phdrSize:])
	}
	return eh, progs, nil
}

// notELF explains data without the ELF magic, recognising the other dump
// formats makedumpfile writes.
func notELF(head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte("KDUMP   ")), bytes.HasPrefix(head, []byte("DISKDUMP")):
		return &FormatError{Err: ErrKdumpCompressed, Offset: 0,
			Detail: fmt.Sprintf("magic %q: this is a kdump-compressed dump, not an ELF core", head[:8]),
			Hint:   "is this a kdump-compressed file? read it with a kdump-compressed (diskdump) reader, or write an ELF dump in the first place (makedumpfile -E)"}
	case bytes.HasPrefix(head, []byte("makedumpfile")):
		return &FormatError{Err: ErrFlattened, Offset: 0,
			Detail: "magic \"makedumpfile\": this is makedumpfile's flattened format, not an ELF core",
			Hint:   "rebuild it into a regular dump first: kjump dump -R OUT < FILE (or makedumpfile -R OUT < FILE)"}
	case len(head) == 0:
		return formatErr(ErrNotELF, -1, "empty file")
	}
	return formatErr(ErrNotELF, 0, "magic %q, want \"\\x7fELF\"", head[:min(len(head), 4)])
}

// physMap builds the sorted, disjoint physical-address index of loads.
// Where segments overlap (the kernel-text PT_LOAD repeats part of a RAM
// range) the one starting lower, then the one listed first, wins.
func physMap(loads []Segment) []span {
	idx := make([]int, 0, len(loads))
	for i, s := range loads {
		if s.Phys != ^uint64(0) && s.MemSize > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case loads[a].Phys < loads[b].Phys:
			return -1
		case loads[a].Phys > loads[b].Phys:
			return 1
		}
		return 0
	})
	var (
		spans   []span
		covered uint64 // end of the highest span so far
		seen    bool
	)
	for _, i := range idx {
		s := loads[i]
		start, end := s.Phys, s.Phys+s.MemSize // no wrap: checked in NewFile
		if seen && start < covered {
			start = covered
		}
		if start >= end {
			continue
		}
		spans = append(spans, span{start: start, end: end, seg: i})
		covered, seen = max(covered, end), true
	}
	return spans
}

// ReadPhys reads len(p) bytes of physical memory starting at phys, from as
// many PT_LOAD segments as the range spans; bytes of a segment past its
// FileSize read as zeros. If part of the range is in no segment it returns
// the bytes before it and an *AddrError (ErrNotInDump).
func (f *File) ReadPhys(p []byte, phys uint64) (int, error) {
	n := 0
	for n < len(p) {
		addr := phys + uint64(n) // cannot wrap: no span reaches 2^64-1
		i, ok := slices.BinarySearchFunc(f.phys, addr, func(s span, a uint64) int {
			switch {
			case s.end <= a:
				return -1
			case s.start > a:
				return 1
			}
			return 0
		})
		if !ok {
			return n, &AddrError{Phys: addr}
		}
		sp := f.phys[i]
		seg := f.Loads[sp.seg]
		want := min(uint64(len(p)-n), sp.end-addr)
		chunk := p[n : n+int(want)]
		segOff := addr - seg.Phys
		// File-backed part.
		if segOff < seg.FileSize {
			fb := min(want, seg.FileSize-segOff)
			m, err := f.r.ReadAt(chunk[:fb], int64(seg.FileOff+segOff))
			if uint64(m) < fb {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n + m, fmt.Errorf("elfcore: reading physical %#x: %w", addr+uint64(m), err)
			}
			n += int(fb)
			chunk = chunk[fb:]
		}
		clear(chunk)
		n += len(chunk)
	}
	return n, nil
}

// Note returns the descriptor of the first note with the given name and
// type.
func (f *File) Note(name string, typ uint32) ([]byte, bool) {
	for _, n := range f.Notes {
		if n.Name == name && n.Type == typ {
			return n.Desc, true
		}
	}
	return nil, false
}

// VMCOREINFO returns the text of the VMCOREINFO note (name "VMCOREINFO",
// type 0), which package vmcoreinfo parses.
func (f *File) VMCOREINFO() ([]byte, bool) {
	return f.Note("VMCOREINFO", 0)
}
