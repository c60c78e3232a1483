package memmap_test

import (
	"fmt"
	"strings"

	"github.com/kjump/kjump/memmap"
)

// A QEMU guest with 1 GiB of RAM and its kernel at 16 MiB.
const iomem = `00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000f0000-000fffff : Reserved
00100000-3ffdffff : System RAM
  01000000-01c031d0 : Kernel code
  01e00000-0228dfff : Kernel rodata
  02400000-0262a7ff : Kernel data
  02b8a000-02ffffff : Kernel bss
3ffe0000-3fffffff : Reserved
fffc0000-ffffffff : Reserved
`

func ExampleChooseRegion() {
	tree, err := memmap.ParseIomem(strings.NewReader(iomem))
	if err != nil {
		panic(err)
	}
	ram := memmap.IomemRAM(tree)
	fmt.Println("RAM:", memmap.FormatSize(ram.TotalRAM()), "in", len(ram.RAM()), "ranges")
	fmt.Println("kernel code:", memmap.FindIomem(tree, "Kernel code"))

	r, err := memmap.ChooseRegion(ram, tree, memmap.Options{})
	fmt.Println(r, err)

	// With crashkernel=256M the kernel reserves a region at boot.
	tree, _ = memmap.ParseIomem(strings.NewReader(iomem + "  30000000-3fdfffff : Crash kernel\n"))
	r, err = memmap.ChooseRegion(ram, tree, memmap.Options{})
	fmt.Println(r, err)

	_, err = memmap.ChooseRegion(ram, tree, memmap.Options{Size: 768 * memmap.MiB, Max: 0x2fffffff})
	fmt.Println(err)
	// Output:
	// RAM: 1023.4 MiB in 2 ranges
	// kernel code: [[0x1000000-0x1c031d0]]
	// [0x2c000000-0x3bffffff] 256 MiB (auto, not reserved) <nil>
	// [0x30000000-0x3fdfffff] 254 MiB (crashkernel, reserved at boot) <nil>
	// memmap: region larger than half of RAM: 768 MiB asked for, but the machine has 1023.4 MiB of RAM and kexec_load refuses more than half (511.7 MiB): choose a smaller size, or reserve a region at boot with crashkernel=SIZE
}

func ExampleParseSize() {
	for _, s := range []string{"256M", "1G", "0x1000000", "4096"} {
		n, err := memmap.ParseSize(s)
		fmt.Println(s, n, err)
	}
	fmt.Println(memmap.CmdlineReservations("console=ttyS0 memmap=256M$16M quiet"))
	// Output:
	// 256M 268435456 <nil>
	// 1G 1073741824 <nil>
	// 0x1000000 16777216 <nil>
	// 4096 4096 <nil>
	// [[0x1000000-0x10ffffff]]
}
