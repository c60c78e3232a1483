package vmcoreinfo

import (
	"encoding/binary"
	"fmt"
)

const (
	// NoteName is the note's name; in the note it is followed by a NUL
	// and padded to 12 bytes.
	NoteName = "VMCOREINFO"
	// NoteType is the note's n_type: 0.
	NoteType = 0
	// NoteSize is VMCOREINFO_NOTE_SIZE for 4 KiB pages: two note headers
	// (the note and the empty one after it), the padded name and
	// VMCOREINFO_BYTES (a page) of text. /sys/kernel/vmcoreinfo shows it
	// in hex, as 1024.
	NoteSize = 12*2 + 12 + 4096

	noteHeaderSize = 12
)

// NoteError explains why ParseNote refused its input; it matches ErrNote.
type NoteError struct {
	Detail string
}

func (e *NoteError) Error() string { return "vmcoreinfo: " + ErrNote.Error() + ": " + e.Detail }

// Unwrap returns ErrNote.
func (e *NoteError) Unwrap() error { return ErrNote }

// ParseNote returns the VMCOREINFO text inside the ELF note at the start of
// note: the buffer found at the physical address /sys/kernel/vmcoreinfo
// names (usually all NoteSize bytes of it; what follows the note is
// ignored). The layout, little-endian on x86_64:
//
//	0   n_namesz  4 bytes  11 (len("VMCOREINFO") + NUL)
//	4   n_descsz  4 bytes  length of the text
//	8   n_type    4 bytes  0
//	12  name      12 bytes "VMCOREINFO\0\0\0"
//	24  desc      n_descsz bytes of text, then padding to 4 bytes
//
// The result aliases note. Errors are *NoteError.
func ParseNote(note []byte) ([]byte, error) {
	bad := func(format string, args ...any) ([]byte, error) {
		return nil, &NoteError{Detail: fmt.Sprintf(format, args...)}
	}
	if len(note) < noteHeaderSize {
		return bad("%d bytes, too short for a note header", len(note))
	}
	namesz := binary.LittleEndian.Uint32(note[0:])
	descsz := binary.LittleEndian.Uint32(note[4:])
	typ := binary.LittleEndian.Uint32(note[8:])
	if namesz == 0 {
		return bad("the buffer starts with an empty note header (the kernel had no VMCOREINFO to write)")
	}
	const nameField = (len(NoteName) + 1 + 3) &^ 3
	if namesz != uint32(len(NoteName)+1) || len(note) < noteHeaderSize+nameField ||
		string(note[noteHeaderSize:noteHeaderSize+len(NoteName)+1]) != NoteName+"\x00" {
		n := min(uint64(namesz), uint64(len(note)-noteHeaderSize), 32)
		return bad("note name %q (n_namesz %d), want %q", note[noteHeaderSize:noteHeaderSize+int(n)], namesz, NoteName)
	}
	if typ != NoteType {
		return bad("n_type %d, want %d", typ, NoteType)
	}
	start := uint64(noteHeaderSize + nameField)
	if uint64(descsz) > uint64(len(note))-start {
		return bad("n_descsz %d, but only %d bytes follow the name", descsz, uint64(len(note))-start)
	}
	if descsz == 0 {
		return bad("empty descriptor")
	}
	return note[start : start+uint64(descsz) : start+uint64(descsz)], nil
}

// AppendNote appends the VMCOREINFO note holding text to b, in the layout
// ParseNote reads, without the empty note the kernel writes after it.
func AppendNote(b, text []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(NoteName)+1))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(text)))
	b = binary.LittleEndian.AppendUint32(b, NoteType)
	b = append(b, NoteName+"\x00\x00"...)
	b = append(b, text...)
	return append(b, make([]byte, (4-len(text)%4)%4)...)
}
