// Package memmap reads the physical memory maps Linux publishes and chooses
// the region of RAM a second kernel will live in during a kexec jump.
//
// Two maps describe physical memory. /sys/firmware/memmap/N/{start,end,type}
// (CONFIG_FIRMWARE_MEMMAP) is the map the firmware handed to the kernel
// (e820 on x86), one directory per entry, "end" inclusive, "type" one of the
// kernel's names ("System RAM", "Reserved", "ACPI Tables", ...). It is what a
// kexec loader should tell the next kernel, and memmap= options on the
// running kernel's command line do not change it. /proc/iomem is the
// kernel's own resource tree:
//
//	00100000-3ffdffff : System RAM
//	  01000000-01c031d0 : Kernel code
//	  10000000-1fffffff : Crash kernel
//	fec00000-fec003ff : IOAPIC 0
//
// one resource per line, "START-END : NAME" in hex with END inclusive,
// children indented by two spaces per level. It shows what the running
// kernel did with the memory: where its image lies, the crashkernel=
// reservation, memmap=SIZE$ADDR reservations (as "Reserved"), device
// windows. Readers without CAP_SYS_ADMIN see every address as zero
// (ParseIomem then returns ErrIomemHidden).
//
// [Range] is a half-open span of physical addresses; [Map] a sorted list of
// typed ranges; [Resource] a node of the iomem tree.
//
// # Choosing a region
//
// The second kernel needs a physically contiguous window of RAM that it
// owns (it is confined to it with memmap=exactmap on its command line).
// [ChooseRegion] picks one by these rules:
//
//  1. If /proc/iomem has a "Crash kernel" reservation (crashkernel= on the
//     running kernel's command line) inside [Min, Max], use it: it was set
//     aside at boot, so nothing of the running system is there and nothing
//     needs to be swapped out at the jump (Reserved: true, Source
//     "crashkernel"). Its size wins over Options.Size. With several, the
//     largest wins.
//  2. Otherwise choose one automatically (Source "auto", Reserved: false).
//     A preserve-context kexec_load then swaps the window's contents out at
//     the jump and back on return, and the kernel refuses (EINVAL) a load
//     whose segments exceed half of its RAM, so Size (default 256 MiB,
//     rounded up to 16 MiB) must be at most half of the map's System RAM,
//     else ErrRegionTooLarge. The window must lie in one System RAM range
//     of the map (and of /proc/iomem's top level, when given), start at or
//     above 16 MiB and at or above Min, end at or below 4 GiB and at or
//     below Max, start on a 16 MiB boundary, and overlap no iomem resource
//     other than System RAM: not the running kernel's image ("Kernel
//     code", "Kernel rodata", "Kernel data", "Kernel bss"), not a crash
//     kernel reservation outside [Min, Max], not a memmap= reservation,
//     not a device window. Among such windows, one whose end falls on a
//     64 MiB boundary is preferred (the second kernel adds a busy "RAM
//     buffer" resource from the end of its RAM to the next 64 MiB
//     boundary, which a kernel with IO_STRICT_DEVMEM will not let it map,
//     yet that span is the first kernel's memory it may need to read);
//     among those the highest wins, far from the running kernel's image
//     (loading right above it was measured 50 times slower). No window:
//     ErrNoRegion, with the largest free span in the message.
//
// Sizes and addresses given by people use the kernel's memparse syntax
// ([ParseSize]): "256M", "1G", "0x1000000", "4096".
package memmap
