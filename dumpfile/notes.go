package dumpfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// vmcoreinfoNoteName is the name of the ELF note that carries VMCOREINFO
// (the kernel's crash_save_vmcoreinfo uses name "VMCOREINFO", type 0).
const vmcoreinfoNoteName = "VMCOREINFO"

// note is one ELF note record: Elf64_Nhdr {n_namesz, n_descsz, n_type}
// (three 32-bit words, as in Elf32_Nhdr), the name and the descriptor, each
// padded to 4 bytes.
type note struct {
	name     string // without the terminating NUL
	typ      uint32
	descOff  int // offset of the descriptor within the notes
	descSize int
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// walkNotes parses a PT_NOTE blob into its records.
func walkNotes(b []byte) ([]note, error) {
	var notes []note
	le := binary.LittleEndian
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			return nil, fmt.Errorf("note at offset %d: %d bytes left, want a 12-byte header", off, len(b)-off)
		}
		namesz := uint64(le.Uint32(b[off:]))
		descsz := uint64(le.Uint32(b[off+4:]))
		typ := le.Uint32(b[off+8:])
		nameOff := uint64(off) + 12
		descOff := nameOff + align4(namesz)
		end := descOff + align4(descsz)
		if descOff+descsz > uint64(len(b)) {
			return nil, fmt.Errorf("note at offset %d: name %d and descriptor %d bytes run past the end", off, namesz, descsz)
		}
		name := b[nameOff : nameOff+namesz]
		name = bytes.TrimRight(name, "\x00")
		notes = append(notes, note{name: string(name), typ: typ, descOff: int(descOff), descSize: int(descsz)})
		if end > uint64(len(b)) {
			// The last descriptor may lack its padding.
			break
		}
		off = int(end)
	}
	return notes, nil
}

// appendNote appends an ELF note record to b.
func appendNote(b []byte, name string, typ uint32, desc []byte) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, uint32(len(name)+1))
	b = le.AppendUint32(b, uint32(len(desc)))
	b = le.AppendUint32(b, typ)
	b = append(b, name...)
	b = append(b, make([]byte, align4(uint64(len(name)+1))-uint64(len(name)))...)
	b = append(b, desc...)
	return append(b, make([]byte, align4(uint64(len(desc)))-uint64(len(desc)))...)
}

// notesWithVMCOREINFO returns the notes to store and the offset and size of
// the VMCOREINFO text within them (size 0: none).
func notesWithVMCOREINFO(notes, vmcoreinfo []byte) ([]byte, int, int, error) {
	recs, err := walkNotes(notes)
	if err != nil {
		return nil, 0, 0, invalid("Header.Notes: %v", err)
	}
	for _, n := range recs {
		if n.name != vmcoreinfoNoteName {
			continue
		}
		desc := notes[n.descOff : n.descOff+n.descSize]
		if len(vmcoreinfo) > 0 && !bytes.Equal(desc, vmcoreinfo) {
			return nil, 0, 0, invalid("Header.Notes has a VMCOREINFO note that differs from Header.VMCOREINFO")
		}
		return notes, n.descOff, n.descSize, nil
	}
	if len(vmcoreinfo) == 0 {
		return notes, 0, 0, nil
	}
	out := append([]byte(nil), notes...)
	out = appendNote(out, vmcoreinfoNoteName, 0, vmcoreinfo)
	descOff := len(notes) + 12 + int(align4(uint64(len(vmcoreinfoNoteName)+1)))
	return out, descOff, len(vmcoreinfo), nil
}
