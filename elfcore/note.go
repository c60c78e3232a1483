package elfcore

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// noteHeaderSize is sizeof(Elf64_Nhdr): n_namesz, n_descsz, n_type, each a
// 32-bit word (the same in ELF32 and ELF64).
const noteHeaderSize = 12

// RawNote is one ELF note: its name without the terminating NUL, its type
// and its descriptor bytes.
type RawNote struct {
	Name string
	Type uint32
	Desc []byte
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// ParseNotes walks the notes in b, the contents of one PT_NOTE segment, the
// way the kernel does (fs/proc/vmcore.c): each note is a 12-byte header
// followed by the name and the descriptor, each padded to 4 bytes; a header
// whose n_namesz is 0 ends the list (the kernel writes one after its notes),
// and so does the end of b. Trailing bytes shorter than a header must be
// zero. A note that claims more bytes than remain gives ErrNoteOverflow.
// The returned descriptors alias b.
func ParseNotes(b []byte) ([]RawNote, error) {
	var notes []RawNote
	off := 0
	for off < len(b) {
		rest := b[off:]
		if len(rest) < noteHeaderSize {
			if allZero(rest) {
				break
			}
			return nil, formatErr(ErrNoteOverflow, int64(off), "note %d: %d bytes left, too few for a note header", len(notes), len(rest))
		}
		namesz := binary.LittleEndian.Uint32(rest[0:])
		descsz := binary.LittleEndian.Uint32(rest[4:])
		typ := binary.LittleEndian.Uint32(rest[8:])
		if namesz == 0 {
			break
		}
		size := noteHeaderSize + align4(uint64(namesz)) + align4(uint64(descsz))
		if size > uint64(len(rest)) {
			return nil, formatErr(ErrNoteOverflow, int64(off), "note %d: n_namesz %#x n_descsz %#x need %#x bytes, %#x left", len(notes), namesz, descsz, size, len(rest))
		}
		name := rest[noteHeaderSize : noteHeaderSize+uint64(namesz)]
		descOff := noteHeaderSize + align4(uint64(namesz))
		notes = append(notes, RawNote{
			Name: string(bytes.TrimRight(name, "\x00")),
			Type: typ,
			Desc: rest[descOff : descOff+uint64(descsz) : descOff+uint64(descsz)],
		})
		off += int(size)
	}
	return notes, nil
}

// AppendNote appends n to b in the kernel's layout (append_elf_note in
// kernel/vmcore_info.c): n_namesz is len(Name)+1, counting the NUL; name and
// descriptor are zero-padded to 4 bytes. It does not append the empty note
// that ends a list in kernel memory; append 12 zero bytes for that.
func AppendNote(b []byte, n RawNote) []byte {
	namesz := len(n.Name) + 1
	b = binary.LittleEndian.AppendUint32(b, uint32(namesz))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(n.Desc)))
	b = binary.LittleEndian.AppendUint32(b, n.Type)
	b = append(b, n.Name...)
	b = append(b, make([]byte, align4(uint64(namesz))-uint64(len(n.Name)))...)
	b = append(b, n.Desc...)
	b = append(b, make([]byte, align4(uint64(len(n.Desc)))-uint64(len(n.Desc)))...)
	return b
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// String describes the note for debugging: name, type and descriptor size.
func (n RawNote) String() string {
	return fmt.Sprintf("%q type %d, %d bytes", n.Name, n.Type, len(n.Desc))
}
