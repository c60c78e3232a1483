package bootparam_test

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kjump/kjump/bootparam"
)

// A loader reads the kernel, decides where things go, and builds the zero
// page. (defaultFake stands in for os.ReadFile("arch/x86/boot/bzImage").)
func Example() {
	img, err := bootparam.Parse(defaultFake().bytes())
	if err != nil {
		fmt.Println(err)
		return
	}
	h := img.Header
	fmt.Printf("Linux %s, boot protocol %s, 64-bit: %v\n", h.KernelVersion, h.Protocol(), h.XLoadFlags&bootparam.XLFKernel64 != 0)

	const loadAddr = 0x1000000 // a multiple of h.KernelAlignment, at or above h.PrefAddress
	start, _ := img.RuntimeWindow(loadAddr)
	fmt.Printf("load at %#x (runs at %#x), entry %#x, reserve %#x bytes\n", loadAddr, start, img.Entry64(loadAddr), img.MemSize())

	cmdline := "console=ttyS0 nokaslr"
	zp, err := img.BootParams(bootparam.Params{
		CmdlineAddr: 0x10ff1000,
		CmdlineSize: uint32(len(cmdline)),
		E820: []bootparam.E820Entry{
			{Addr: 0, Size: 0x9fc00, Type: bootparam.E820RAM},
			{Addr: 0x100000, Size: 0x3ff00000, Type: bootparam.E820RAM},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("zero page: %d bytes, cmd_line_ptr %#x, %d e820 entries\n",
		len(zp), binary.LittleEndian.Uint32(zp[0x228:]), zp[0x1e8])
	// Output:
	// Linux 6.12.0-fake (kjump@test) #1 SMP, boot protocol 2.15, 64-bit: true
	// load at 0x1000000 (runs at 0x1000000), entry 0x1000200, reserve 0x1800000 bytes
	// zero page: 4096 bytes, cmd_line_ptr 0x10ff1000, 2 e820 entries
}

// Passing vmlinux instead of bzImage is a common mistake; the error says so.
func ExampleParse_vmlinux() {
	_, err := bootparam.Parse([]byte("\x7fELF\x02\x01\x01\x00"))
	fmt.Println(errors.Is(err, bootparam.ErrNotBzImage))
	fmt.Println(err)
	// Output:
	// true
	// not a bzImage: this is an ELF vmlinux, not a bzImage; pass the bzImage (arch/x86/boot/bzImage), not vmlinux
}
