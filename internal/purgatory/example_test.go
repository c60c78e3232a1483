package purgatory_test

import (
	"encoding/binary"
	"fmt"

	"github.com/kjump/kjump/internal/purgatory"
)

// A loader's view: the second kernel's command line carries the
// placeholder, the purgatory gets the kernel entry, the zero page and the
// segments to verify.
func ExampleBuild() {
	const (
		kernelAddr  = 0x1000000 // where the bzImage's protected-mode part goes
		bootParams  = 0x10ff0000
		cmdlineAddr = bootParams + 0x1000
	)
	cmdline := "console=ttyS0 memmap=exactmap memmap=256K@128K memmap=240M@16M " + purgatory.JumpBackPlaceholder
	hexAddr, err := purgatory.PlaceholderAddr(cmdline, cmdlineAddr)
	if err != nil {
		fmt.Println(err)
		return
	}
	kernel := []byte("...the protected-mode part of a bzImage...")
	blob, err := purgatory.Build(purgatory.Config{
		Entry64:        kernelAddr + 0x200,
		BootParams:     bootParams,
		CmdlineHexAddr: hexAddr,
		Verify:         []purgatory.Segment{{Addr: kernelAddr, Len: uint64(len(kernel))}},
	}, func(int) []byte { return kernel })
	if err != nil {
		fmt.Println(err)
		return
	}
	le := binary.LittleEndian
	fmt.Printf("magic %s, fits a page: %v\n", blob[purgatory.OffsetMagic:purgatory.OffsetMagic+8], len(blob) <= 4096)
	fmt.Printf("entry64 %#x, boot_params %#x, digits at %#x\n",
		le.Uint64(blob[purgatory.OffsetEntry64:]), le.Uint64(blob[purgatory.OffsetBootParams:]),
		le.Uint64(blob[purgatory.OffsetCmdlineHexAddr:]))
	fmt.Printf("verify %d segment(s), sum %#x\n", le.Uint32(blob[purgatory.OffsetNumSegments:]),
		le.Uint64(blob[purgatory.OffsetSegments+16:]))
	// Output:
	// magic KJPURG02, fits a page: true
	// entry64 0x1000200, boot_params 0x10ff0000, digits at 0x10ff1057
	// verify 1 segment(s), sum 0x7444bfe6a7763bfd
}

// The second kernel finds its way back in /proc/cmdline.
func ExampleParseJumpBack() {
	entry, err := purgatory.ParseJumpBack("console=ttyS0 kexec_jump_back_entry=0x000000000a3c5000 quiet\n")
	fmt.Printf("%#x %v\n", entry, err)
	// Output: 0xa3c5000 <nil>
}

func ExampleChecksum() {
	fmt.Printf("%#x\n", purgatory.Checksum([]byte("abc")))
	// Output: 0x9d1145057048eac5
}
