package vmcoreinfo_test

import (
	"fmt"

	"github.com/kjump/kjump/vmcoreinfo"
)

func ExampleParse() {
	text := "OSRELEASE=6.12.38\n" +
		"BUILD-ID=5b1e0c37a4d2f9e8c61b7a0d93f4e2c85a6b1d07\n" +
		"PAGESIZE=4096\n" +
		"SYMBOL(_stext)=ffffffff99a00000\n" +
		"NUMBER(VMALLOC_START)=0xffffb52c40000000\n" +
		"OFFSET(page.flags)=0\n" +
		"NUMBER(phys_base)=436207616\n" +
		"KERNELOFFSET=18a00000\n"
	info, err := vmcoreinfo.Parse([]byte(text))
	if err != nil {
		fmt.Println(err)
		return
	}
	stext, _ := info.Symbol("_stext")
	vmalloc, _ := info.Number("VMALLOC_START")
	physBase, _ := info.Number("phys_base")
	kaslr, _ := info.KernelOffset()
	fmt.Println(info.OSRelease())
	fmt.Printf("_stext %#x, vmalloc %#x, phys_base %#x, KASLR %#x\n", stext, uint64(vmalloc), physBase, kaslr)
	fmt.Println(info.Identity())
	// Output:
	// 6.12.38
	// _stext 0xffffffff99a00000, vmalloc 0xffffb52c40000000, phys_base 0x1a000000, KASLR 0x18a00000
	// 6.12.38 build-id:5b1e0c37a4d2f9e8c61b7a0d93f4e2c85a6b1d07
}

func ExampleParseNote() {
	// The buffer at the address /sys/kernel/vmcoreinfo names.
	buf := vmcoreinfo.AppendNote(nil, []byte("OSRELEASE=6.12.38\nPAGESIZE=4096\n"))
	buf = append(buf, make([]byte, vmcoreinfo.NoteSize-len(buf))...)

	text, err := vmcoreinfo.ParseNote(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := vmcoreinfo.Parse(text)
	if err != nil {
		fmt.Println(err)
		return
	}
	size, _ := info.PageSize()
	fmt.Println(info.OSRelease(), size)
	// Output: 6.12.38 4096
}

func ExampleParse_garbage() {
	_, err := vmcoreinfo.Parse([]byte("\x7fELF\x02\x01\x01\x00"))
	fmt.Println(err)
	// Output: vmcoreinfo: binary data, not VMCOREINFO text: byte 0x7f at offset 0 (line 1)
}
