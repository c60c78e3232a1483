package elfcore_test

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/kjump/kjump/elfcore"
)

// A loader builds the header from what the first kernel publishes
// (ReadVmcoreinfoNote, PageOffset, its RAM map), places it in memory and
// passes elfcorehdr=ADDR to the second kernel.
func ExampleHeader_Marshal() {
	const pageOffset = 0xffff888000000000 // from PageOffset(/proc/kcore)
	h := elfcore.Header{
		// From ReadVmcoreinfoNote("/"): "0x000000000105e000 1024".
		Notes: []elfcore.Note{{Phys: 0x105e000, Size: 0x1024}},
		Loads: []elfcore.Load{
			{Phys: 0x100000, Size: 0xff00000, Virt: pageOffset + 0x100000},
			{Phys: 0x20000000, Size: 0x1ffe0000, Virt: pageOffset + 0x20000000},
		},
	}
	b, err := h.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d bytes, e_phnum %d\n", len(b), binary.LittleEndian.Uint16(b[56:]))
	for i := range binary.LittleEndian.Uint16(b[56:]) {
		p := b[64+56*int(i):]
		fmt.Printf("%-8v p_offset=%#x p_memsz=%#x\n", elf.ProgType(binary.LittleEndian.Uint32(p)),
			binary.LittleEndian.Uint64(p[8:]), binary.LittleEndian.Uint64(p[40:]))
	}
	// Output:
	// 232 bytes, e_phnum 3
	// PT_NOTE  p_offset=0x105e000 p_memsz=0x1024
	// PT_LOAD  p_offset=0x100000 p_memsz=0xff00000
	// PT_LOAD  p_offset=0x20000000 p_memsz=0x1ffe0000
}

// A kdump-compressed file is not an ELF core; the error says so.
func ExampleNewFile_kdumpCompressed() {
	data := "KDUMP   \x06\x00\x00\x00"
	_, err := elfcore.NewFile(strings.NewReader(data), int64(len(data)))
	fmt.Println(errors.Is(err, elfcore.ErrKdumpCompressed), errors.Is(err, elfcore.ErrNotELF))
	fmt.Println(err)
	// Output:
	// true true
	// elfcore: kdump-compressed file: magic "KDUMP   ": this is a kdump-compressed dump, not an ELF core (at offset 0x0); is this a kdump-compressed file? read it with a kdump-compressed (diskdump) reader, or write an ELF dump in the first place (makedumpfile -E)
}

func ExampleParseNotes() {
	// The VMCOREINFO note buffer as the kernel keeps it: one note, then an
	// empty header that ends the list.
	buf := elfcore.AppendNote(nil, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte("OSRELEASE=6.12.38\nPAGESIZE=4096\n")})
	buf = append(buf, make([]byte, 12)...)
	notes, err := elfcore.ParseNotes(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range notes {
		fmt.Println(n)
	}
	fmt.Printf("%q\n", notes[0].Desc)
	// Output:
	// "VMCOREINFO" type 0, 32 bytes
	// "OSRELEASE=6.12.38\nPAGESIZE=4096\n"
}
