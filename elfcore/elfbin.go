package elfcore

import (
	"debug/elf"
	"encoding/binary"
)

// Little-endian encoders and decoders for the ELF64 header and program
// header, field by field in file order (no reflection, no failure modes).

var le = binary.LittleEndian

func appendEhdr(b []byte, h *elf.Header64) []byte {
	b = append(b, h.Ident[:]...)
	b = le.AppendUint16(b, h.Type)
	b = le.AppendUint16(b, h.Machine)
	b = le.AppendUint32(b, h.Version)
	b = le.AppendUint64(b, h.Entry)
	b = le.AppendUint64(b, h.Phoff)
	b = le.AppendUint64(b, h.Shoff)
	b = le.AppendUint32(b, h.Flags)
	b = le.AppendUint16(b, h.Ehsize)
	b = le.AppendUint16(b, h.Phentsize)
	b = le.AppendUint16(b, h.Phnum)
	b = le.AppendUint16(b, h.Shentsize)
	b = le.AppendUint16(b, h.Shnum)
	b = le.AppendUint16(b, h.Shstrndx)
	return b
}

// decodeEhdr decodes b[:64].
func decodeEhdr(b []byte) elf.Header64 {
	var h elf.Header64
	copy(h.Ident[:], b[:elf.EI_NIDENT])
	h.Type = le.Uint16(b[16:])
	h.Machine = le.Uint16(b[18:])
	h.Version = le.Uint32(b[20:])
	h.Entry = le.Uint64(b[24:])
	h.Phoff = le.Uint64(b[32:])
	h.Shoff = le.Uint64(b[40:])
	h.Flags = le.Uint32(b[48:])
	h.Ehsize = le.Uint16(b[52:])
	h.Phentsize = le.Uint16(b[54:])
	h.Phnum = le.Uint16(b[56:])
	h.Shentsize = le.Uint16(b[58:])
	h.Shnum = le.Uint16(b[60:])
	h.Shstrndx = le.Uint16(b[62:])
	return h
}

func appendPhdr(b []byte, p *elf.Prog64) []byte {
	b = le.AppendUint32(b, p.Type)
	b = le.AppendUint32(b, p.Flags)
	b = le.AppendUint64(b, p.Off)
	b = le.AppendUint64(b, p.Vaddr)
	b = le.AppendUint64(b, p.Paddr)
	b = le.AppendUint64(b, p.Filesz)
	b = le.AppendUint64(b, p.Memsz)
	b = le.AppendUint64(b, p.Align)
	return b
}

// decodePhdr decodes b[:56].
func decodePhdr(b []byte) elf.Prog64 {
	return elf.Prog64{
		Type:   le.Uint32(b[0:]),
		Flags:  le.Uint32(b[4:]),
		Off:    le.Uint64(b[8:]),
		Vaddr:  le.Uint64(b[16:]),
		Paddr:  le.Uint64(b[24:]),
		Filesz: le.Uint64(b[32:]),
		Memsz:  le.Uint64(b[40:]),
		Align:  le.Uint64(b[48:]),
	}
}
