package elfcore_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/kjump/kjump/elfcore"
)

// seg is one segment of a core file built by buildCore.
type seg struct {
	typ   elf.ProgType
	phys  uint64
	virt  uint64
	data  []byte // file bytes
	memsz uint64 // 0: len(data)
}

// buildCore lays out an ELF64 x86_64 core: header, program headers, then
// each segment's data in order.
func buildCore(segs []seg) []byte {
	le := binary.LittleEndian
	var b []byte
	b = append(b, elf.ELFMAG...)
	b = append(b, byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT))
	b = append(b, make([]byte, 9)...)
	b = le.AppendUint16(b, uint16(elf.ET_CORE))
	b = le.AppendUint16(b, uint16(elf.EM_X86_64))
	b = le.AppendUint32(b, 1)
	b = le.AppendUint64(b, 0)  // entry
	b = le.AppendUint64(b, 64) // phoff
	b = le.AppendUint64(b, 0)  // shoff
	b = le.AppendUint32(b, 0)  // flags
	b = le.AppendUint16(b, 64)
	b = le.AppendUint16(b, 56)
	b = le.AppendUint16(b, uint16(len(segs)))
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	off := uint64(64 + 56*len(segs))
	for _, s := range segs {
		memsz := s.memsz
		if memsz == 0 {
			memsz = uint64(len(s.data))
		}
		b = le.AppendUint32(b, uint32(s.typ))
		b = le.AppendUint32(b, 0)
		b = le.AppendUint64(b, off)
		b = le.AppendUint64(b, s.virt)
		b = le.AppendUint64(b, s.phys)
		b = le.AppendUint64(b, uint64(len(s.data)))
		b = le.AppendUint64(b, memsz)
		b = le.AppendUint64(b, 0)
		off += uint64(len(s.data))
	}
	for _, s := range segs {
		b = append(b, s.data...)
	}
	return b
}

// phdrAt returns the offset of program header i in a buildCore file.
func phdrAt(i int) int { return 64 + 56*i }

// physMem is a sparse model of physical memory, page by page.
type physMem map[uint64][]byte

func (m physMem) write(addr uint64, b []byte) {
	for len(b) > 0 {
		pg, off := addr/4096, addr%4096
		if m[pg] == nil {
			m[pg] = make([]byte, 4096)
		}
		n := copy(m[pg][off:], b)
		b, addr = b[n:], addr+uint64(n)
	}
}

func (m physMem) read(addr, n uint64) []byte {
	out := make([]byte, n)
	for i := uint64(0); i < n; {
		pg, off := (addr+i)/4096, (addr+i)%4096
		k := min(n-i, 4096-off)
		if p := m[pg]; p != nil {
			copy(out[i:i+k], p[off:off+k])
		}
		i += k
	}
	return out
}

var errVmcoreNotInitialized = errors.New("Kdump: vmcore not initialized")

// simulateVmcore builds /proc/vmcore the way Linux 6.12's fs/proc/vmcore.c
// does from the ELF core header at hdrAddr in mem (parse_crash_elf64_headers,
// merge_note_headers_elf64, process_ptload_program_headers_elf64). It
// returns the file and the warnings the kernel would log.
func simulateVmcore(mem physMem, hdrAddr uint64) ([]byte, []string, error) {
	const page = 4096
	le := binary.LittleEndian
	var warn []string
	eh := mem.read(hdrAddr, 64)
	phnum := int(le.Uint16(eh[56:]))
	if !bytes.Equal(eh[:4], []byte(elf.ELFMAG)) || le.Uint16(eh[16:]) != uint16(elf.ET_CORE) ||
		le.Uint16(eh[18:]) != uint16(elf.EM_X86_64) || eh[4] != 2 || eh[6] != 1 || le.Uint32(eh[20:]) != 1 ||
		le.Uint16(eh[52:]) != 64 || le.Uint16(eh[54:]) != 56 || phnum == 0 {
		return nil, []string{"Warning: Core image elf header is not sane"}, errVmcoreNotInitialized
	}
	buf := mem.read(hdrAddr, uint64(64+56*phnum))
	type ph struct {
		typ, flags                              uint32
		off, vaddr, paddr, filesz, memsz, align uint64
	}
	var phs []ph
	for i := range phnum {
		p := buf[64+56*i:]
		phs = append(phs, ph{le.Uint32(p), le.Uint32(p[4:]), le.Uint64(p[8:]), le.Uint64(p[16:]), le.Uint64(p[24:]), le.Uint64(p[32:]), le.Uint64(p[40:]), le.Uint64(p[48:])})
	}
	// update_note_header_size_elf64 + copy_notes_elf64
	var notes []byte
	nrNote := 0
	for i := range phs {
		if phs[i].typ != uint32(elf.PT_NOTE) {
			continue
		}
		nrNote++
		sec := mem.read(phs[i].off, phs[i].memsz)
		var real uint64
		for real+12 <= uint64(len(sec)) {
			namesz, descsz := le.Uint32(sec[real:]), le.Uint32(sec[real+4:])
			if namesz == 0 {
				break
			}
			sz := 12 + (uint64(namesz)+3)&^3 + (uint64(descsz)+3)&^3
			if real+sz > phs[i].memsz {
				warn = append(warn, fmt.Sprintf("Warning: Exceeded p_memsz, dropping PT_NOTE entry n_namesz=0x%x, n_descsz=0x%x", namesz, descsz))
				break
			}
			real += sz
		}
		phs[i].memsz = real
		if real == 0 {
			warn = append(warn, "Warning: Zero PT_NOTE entries found")
		}
		notes = append(notes, sec[:real]...)
	}
	if len(notes) == 0 {
		// vmcore_alloc_buf(0) fails: -ENOMEM.
		return nil, append(warn, "vmalloc_user(0) failed"), errVmcoreNotInitialized
	}
	notesSz := (uint64(len(notes)) + page - 1) &^ (page - 1)
	newPhnum := phnum - nrNote + 1
	elfSz := (uint64(64+56*newPhnum) + page - 1) &^ (page - 1)
	merged := ph{typ: uint32(elf.PT_NOTE), off: elfSz, filesz: uint64(len(notes)), memsz: uint64(len(notes)), align: 4}
	// The kernel overwrites program header 0 with the merged note and
	// deletes headers 1..nrNote-1, assuming the PT_NOTEs come first.
	out := append([]ph{merged}, phs[nrNote:]...)
	var chunks [][2]uint64
	vmcoreOff := elfSz + notesSz
	for i, p := range out {
		if p.typ != uint32(elf.PT_LOAD) {
			continue
		}
		start := p.off &^ (page - 1)
		end := (p.off + p.memsz + page - 1) &^ (page - 1)
		chunks = append(chunks, [2]uint64{start, end - start})
		out[i].off = vmcoreOff + (p.off - start)
		vmcoreOff += end - start
	}
	file := slices.Clone(eh)
	le.PutUint16(file[56:], uint16(newPhnum))
	for _, p := range out {
		file = le.AppendUint32(file, p.typ)
		file = le.AppendUint32(file, p.flags)
		for _, v := range []uint64{p.off, p.vaddr, p.paddr, p.filesz, p.memsz, p.align} {
			file = le.AppendUint64(file, v)
		}
	}
	file = append(file, make([]byte, elfSz-uint64(len(file)))...)
	file = append(file, notes...)
	file = append(file, make([]byte, notesSz-uint64(len(notes)))...)
	for _, c := range chunks {
		file = append(file, mem.read(c[0], c[1])...)
	}
	return file, warn, nil
}

// vmcoreinfoNoteBuffer is the VMCOREINFO note buffer as the kernel keeps it
// in memory: the note, then a zero header, then zeros up to 4132 bytes.
func vmcoreinfoNoteBuffer(text string) []byte {
	b := elfcore.AppendNote(nil, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte(text)})
	b = append(b, make([]byte, 12)...)
	if len(b) < 4132 {
		b = append(b, make([]byte, 4132-len(b))...)
	}
	return b
}
