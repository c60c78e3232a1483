package kexec_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/kjump/kjump/bootparam"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
)

// syntheticBzImage stands in for os.ReadFile("arch/x86/boot/bzImage"): a
// valid 64-bit setup header (boot protocol 2.15, init_size 24 MiB,
// pref_address 16 MiB) in front of 4 KiB of filler.
func syntheticBzImage() []byte {
	b := make([]byte, 4*512+4096)
	le := binary.LittleEndian
	b[0x1f1] = 3                                     // setup_sects
	le.PutUint32(b[0x1f4:], 4096/16)                 // syssize
	le.PutUint16(b[0x1fe:], 0xaa55)                  // boot_flag
	b[0x200], b[0x201] = 0xeb, 0x6a                  // jump: the header ends at 0x26c
	copy(b[0x202:], "HdrS")                          // header
	le.PutUint16(b[0x206:], 0x020f)                  // version
	b[0x211] = bootparam.LoadedHigh                  // loadflags
	le.PutUint32(b[0x230:], 0x200000)                // kernel_alignment
	b[0x234] = 1                                     // relocatable_kernel
	le.PutUint16(b[0x236:], 0x3)                     // xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
	le.PutUint32(b[0x238:], 2047)                    // cmdline_size
	le.PutUint64(b[0x258:], 0x1000000)               // pref_address
	le.PutUint32(b[0x260:], 24<<20)                  // init_size
	copy(b[4*512:], "decompressor and payload here") // the protected-mode part
	return b
}

// PlanLinux lays a second kernel out in a region of 256 MiB at 256 MiB: the
// whole region (and the low 128–384 KiB) in segments, the kernel at the
// start, the initrd below the top 1 MiB, the purgatory (the entry) at the top.
func ExamplePlanLinux() {
	k, err := bootparam.Parse(syntheticBzImage())
	if err != nil {
		log.Fatal(err)
	}
	plan, err := kexec.PlanLinux(kexec.Linux{
		Kernel:  k,
		Initrd:  make([]byte, 5000),
		Cmdline: "console=ttyS0",
		Region:  memmap.Range{Start: 256 << 20, Size: 256 << 20},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range plan.Segments {
		fmt.Printf("%-20s %v\n", s.Name, s.Mem)
	}
	fmt.Printf("entry %#x, kernel %#x, initrd %#x\n", plan.Entry, plan.KernelAddr, plan.InitrdAddr)
	fmt.Println("RAM:", plan.RAM)
	fmt.Println(plan.Cmdline)
	// Output:
	// low memory           [0x20000-0x5ffff]
	// kernel               [0x10000000-0x117fffff]
	// free                 [0x11800000-0x1fefdfff]
	// initrd               [0x1fefe000-0x1fefffff]
	// purgatory+boot data  [0x1ff00000-0x1fffefff]
	// entry 0x1ff00000, kernel 0x10000000, initrd 0x1fefe000
	// RAM: [[0x20000-0x5ffff] [0x10000000-0x1fefffff]]
	// console=ttyS0 nokaslr iomem=relaxed memmap=exactmap memmap=256K@128K memmap=255M@256M kjump.gate=0x1ff001d0 kexec_jump_back_entry=0x0000000000000000
}

// Validate explains, before the syscall, what kexec_load would refuse.
func ExampleValidate() {
	seg := func(start, size uint64) kexec.Segment {
		return kexec.Segment{Name: "s", Mem: memmap.Range{Start: start, Size: size}}
	}
	const ram = 1 << 30
	err := kexec.Validate([]kexec.Segment{seg(0x10000000, 0x2000), seg(0x10001000, 0x1000)}, ram)
	fmt.Println(errors.Is(err, kexec.ErrBadSegments), err)
	err = kexec.Validate([]kexec.Segment{seg(0x10000000, 768<<20)}, ram)
	fmt.Println(errors.Is(err, kexec.ErrTooLarge))
	fmt.Println(kexec.Validate([]kexec.Segment{seg(0x10000000, 256<<20)}, ram))
	// Output:
	// true invalid kexec segments: s [0x10001000-0x10001fff] (0 bytes of data) overlaps s [0x10000000-0x10001fff] (0 bytes of data)
	// true
	// <nil>
}

// A round trip from the first kernel: load a second kernel with preserved
// context, jump, and come back. (Needs root and CONFIG_KEXEC_JUMP, so the
// example is compiled, not run.)
func ExampleExec() {
	data, err := os.ReadFile("/boot/vmlinuz")
	if err != nil {
		log.Fatal(err)
	}
	k, err := bootparam.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	plan, err := kexec.PlanLinux(kexec.Linux{Kernel: k, Cmdline: "console=ttyS0", Region: memmap.Range{Start: 256 << 20, Size: 256 << 20}})
	if err != nil {
		log.Fatal(err)
	}
	if err := kexec.Load(plan.Entry, plan.Segments, kexec.PreserveContext); err != nil {
		// A *kexec.LoadError: branch with errors.Is(err, kexec.ErrNotPermitted),
		// kexec.ErrTooLarge, ... or unix.EPERM; its message names the cause and the fix.
		log.Fatal(err)
	}
	away, err := kexec.Exec() // returns when the second kernel jumps back
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("back after %v\n", away)
}
