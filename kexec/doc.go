// Package kexec loads images with kexec_load(2), executes them, and lays out a
// second Linux kernel so that the running kernel can jump to it and come back
// ("kexec jump", CONFIG_KEXEC_JUMP). This comment states the ABI as kjump uses
// it on Linux 6.12 (arch/x86/kernel/relocate_kernel_64.S, machine_kexec_64.c,
// kernel/kexec_core.c); the numbers are the constants of this package.
//
// # Loading
//
// kexec_load(entry, segments, flags) copies each segment — a user buffer and
// the physical range it goes to — into pages the kernel allocates, and
// remembers entry. [Load] makes the call; [Validate] first checks what the
// kernel's sanity_check_segment_list will check: every range page aligned and
// whole pages (else EADDRNOTAVAIL), no two overlapping and no buffer larger
// than its range (else EINVAL; bytes of a range beyond its buffer are
// zero-filled), and all ranges together at most half of the RAM the kernel
// manages (MemTotal; else EINVAL). kexec_load also needs CAP_SYS_BOOT,
// kernel.kexec_load_disabled=0 and no lockdown (else EPERM). A failure is a
// *[LoadError]: the arguments, the errno, and the likely cause in words; it
// matches both the errno and one of the sentinel errors (ErrNotPermitted,
// ErrTooLarge, ...) with errors.Is. kjump always loads with
// KEXEC_PRESERVE_CONTEXT ([PreserveContext]): the image is a peer the kernel
// calls and that returns, not a kernel that replaces it.
//
// # What a jump does
//
// [Exec] is reboot(LINUX_REBOOT_CMD_KEXEC). For a preserve-context image,
// kernel_kexec freezes processes, suspends devices as for hibernation, takes
// the other CPUs offline, disables interrupts and suspends timekeeping;
// machine_kexec saves the processor state, invalidates the GDT and IDT and
// calls relocate_kernel. That switches to identity-mapped page tables (the
// running kernel's RAM, every segment, the EFI and ACPI tables) and swaps
// pages: for each page of each segment, the copy made at load time (the
// "source" page) and the page at the destination exchange contents through
// the kernel's swap page. Then it calls the entry (see below). When the peer
// returns, relocate_kernel runs the same swap again over the same list, so
// the caller gets its own pages back, and the peer's pages — all of its
// state — move into the source pages, where they wait until the next jump
// swaps them in again. The swap is an involution done on every entry and
// every exit. So a region that was not reserved at boot works: whatever the
// first kernel kept there is out of the way while the peer runs. The price:
// the region counts against the half-of-RAM limit, and the first kernel
// needs that much free memory for the source pages.
//
// Exec returns after the peer jumps back, and a later Exec re-enters the peer
// where it left off (machine_kexec stores the peer's re-entry point as the
// image's next start). Timekeeping is suspended meanwhile, so the monotonic
// clock stops: durations across a jump use the wall clock.
//
// # The entry ABI
//
// relocate_kernel enters the image's entry with a call:
//
//   - 64-bit mode, paging on with the identity map above, CR0.WP clear,
//     interrupts off, RFLAGS 0;
//   - the GDT and IDT are invalid (the segment registers keep their cached
//     descriptors): do not reload a segment register, take no fault;
//   - %rsp at the top of the caller's swap page (outside all segments), and
//     0(%rsp) the return address of that call: the caller's re-entry point
//     (the jump-back address), inside its control page; other general
//     registers carry nothing;
//   - the callee comes back either with ret (a code blob; %rsp balanced), or
//     by entering the caller's re-entry point through a kexec jump of its own
//     (a kernel).
//
// After the call the caller takes the peer's re-entry point. On Linux before
// 6.14, so on 6.12, it reads it from 0(%rsp): right when the peer came back
// through its own kexec jump (its relocate_kernel's call pushed its return
// address there), undefined when a plain blob just rets (it is the word above
// the swap page). So a blob must be loaded anew before each run (jump.Call
// loads, executes and unloads it each time). Since 6.14, 8(%rsp) is a slot
// holding the image's start address that the callee may overwrite with its
// own re-entry point before it rets; the caller pops it after the call.
//
// # The layout of a second kernel
//
// [PlanLinux] places a bzImage, its initrd and boot data in a region of RAM
// that starts on 16 MiB (at or above the kernel's pref_address, so the
// kernel runs where it is loaded) and is whole MiB, with top = region end −
// [TopSize]:
//
//	[LowStart, LowStart+LowSize)  128–384 KiB: zero-filled, the second kernel's
//	                              low RAM (its real-mode trampoline)
//	region start                  the kernel's protected-mode part, given
//	                              max(init_size, its length) bytes
//	...                           zero-filled: the second kernel's working RAM
//	top − initrd (page rounded)   the initrd, just below the top 1 MiB
//	top                           the purgatory (the entry point)
//	top + 64 KiB                  boot_params (the zero page)
//	top + 68 KiB                  the command line, NUL-terminated
//	top + 128 KiB                 the ELF core header, if Linux.CoreHeader is set
//	region end − 4 KiB            the park page ([ParkPage]): in no segment
//	region end
//
// Segments cover the whole region but its park page, and the low range, zero-filled where there
// is no data, so every page the second kernel can touch is swapped with the
// first kernel's at each jump and swapped back on return — which is also what
// keeps the second kernel's state across re-entries. A region reserved at the
// first kernel's boot (crashkernel=, memmap=SIZE$ADDR; Linux.Reserved) holds
// nothing of the first kernel's, so its free part is no segment: the first
// kernel needs no copy of it, and the second kernel's pages there simply stay
// put while the first kernel runs. The kernel's segment still covers its
// init_size (the decompressor moves itself to the end of that buffer before
// it has page tables of its own). The second kernel's RAM
// is the low range plus the region minus its top 1 MiB. Its e820 map (in
// boot_params) lists that RAM, the top 1 MiB as reserved, and the first
// kernel's non-RAM firmware entries (ACPI tables and NVS, reserved ranges),
// so it finds its firmware tables and no other RAM. Its command line is the
// caller's, then
//
//	nokaslr iomem=relaxed memmap=exactmap memmap=256K@128K memmap=<N>M@<S>M kjump.gate=<top+0x1d0> [elfcorehdr=<top+128K>] kexec_jump_back_entry=0x0000000000000000
//
// nokaslr, because the decompressor would otherwise pick a random address,
// possibly in the first kernel's memory; memmap=exactmap and the memmap=
// ranges confine it to that RAM whatever map it is given (unconfined, a
// second kernel uses all RAM and the jump back resets the machine);
// elfcorehdr= gives it /proc/vmcore over the first kernel's memory (the
// header lies outside its RAM, as the kernel requires); iomem=relaxed lets it
// map, through /dev/mem, the first kernel's pages that IO_STRICT_DEVMEM would
// refuse (the busy "RAM buffer" after its last RAM range); kjump.gate= names
// the purgatory's gate (below). The purgatory
// checks the checksums (package purgatory) of the kernel, the initrd and
// boot_params unless Linux.NoVerify, overwrites the 16 zero digits of
// kexec_jump_back_entry= with the first kernel's re-entry point (0(%rsp) at
// its entry), and starts the kernel at its 64-bit entry (region start +
// 0x200) with %rsi = boot_params.
//
// # The jump back
//
// The second kernel reads its way back from /proc/cmdline — kjump.gate= if
// it is there (see "The gate"), else kexec_jump_back_entry= — and
// [LoadJumpBack] loads a preserve-context image whose entry is that address
// and whose one segment is the page holding it, with the page's current
// contents read from /dev/mem ([ReadPhys] maps it: read(2) on /dev/mem stops
// at the second kernel's high_memory). The swap of that page is then a no-op,
// and being a segment, the page is in the second kernel's kexec identity map.
// kexec-tools' --load-jump-back-helper passes one 0-byte segment at address
// 0 instead: Linux 6.12 computes that segment's last byte as 0 + 0 − 1, so
// every page counts as a destination and the load fails with ENOMEM
// (kimage_alloc_control_pages finds no page); and with the entry outside the
// identity map, the jump would page-fault with no valid IDT (a triple fault).
// Executing it returns to the first kernel; the call returns when the first
// kernel re-enters.
//
// Load the jump-back helper once per second-kernel lifetime. Its page is
// rewritten at every jump: the gate's page holds the saved re-entry points
// and page-table roots, and without the gate the page is the first kernel's
// control page (its saved stack pointer and page-table root; measured: a
// reload after a re-entry crashes the machine). Because the swap runs at
// every entry and exit, while the second kernel runs after a re-entry the
// physical page holds the copy from load time and the helper's source page
// holds the live one; the next exec swaps them back. A reload would copy the
// stale physical page and drop the live one, and the first kernel would
// resume on an old page table and crash.
//
// # The gate: why re-entry does not go straight to the peer
//
// Each kernel's kexec page tables are built once, at kexec_load
// (machine_kexec_prepare → init_pgtable): an identity map of the loading
// kernel's direct-mapped RAM (pfn_mapped), of every segment, and of the EFI
// and ACPI tables, in 2 MiB pages (1 GiB where the CPU has them). After the
// first jump back, the first kernel's image starts at the second kernel's
// re-entry point, which lies in the second kernel's own control page —
// a page the second kernel's kexec_load took from its RAM for its jump-back
// helper, anywhere in the region. Entering it directly needs the first
// kernel's map to cover it, and after the call the second kernel's code reads
// 0(%rsp) and its control page before it loads its own page tables. That holds
// for a region the first kernel's direct map covers (crashkernel=, which is
// RAM there) and for a region that is all segments (not reserved); it fails
// for memmap=SIZE$ADDR, which takes the range out of the first kernel's RAM:
// its free part is neither direct-mapped nor a segment, so the first re-entry
// page-faults at the second kernel's re-entry point with no IDT, a double
// fault, and a triple fault (the reenter-reserved scenario, before the gate).
// The second kernel's control page is chosen by its page allocator after the
// first kernel's map was built, and a kexec image takes at most 16 segments,
// so no segment list can cover it short of the whole free part (a copy of it
// in the first kernel's RAM, which a reservation exists to avoid).
//
// So every jump after the first goes through the purgatory's gate (package
// purgatory, "The gate"): the purgatory's first page, at top, is a segment
// of the first kernel's image and the one segment of the second kernel's
// jump-back helper (entry kjump.gate=, top + purgatory.OffsetGate), so both
// kernels' kexec maps cover it, whatever else they cover. The gate records
// each side's re-entry point and page-table root as it passes (the purgatory
// records the first kernel's on the first entry), switches to the other
// side's page tables and a stack in its own page, and enters the other side
// with 0(%rsp) = the gate's opposite entry. Each kernel therefore records the
// gate as its peer's re-entry point, and neither ever runs on the other's
// page tables or needs the other's control page mapped. The gate's page is
// swapped by both images like any segment; its saved words are written and
// read only between the swaps, while the page holds the copy both sides
// last left there. Costs: no copies, one page swap per jump on each side.
//
// What reads kexec_jump_back_entry= keeps the first kernel's own re-entry
// point: the snapshot's swap map reads the first kernel's control page
// through it, and a hibernation image stores it, because the resume kernel
// is a new kernel whose purgatory page is not the gate's (it jumps back
// straight to the first kernel, which unloads its image afterwards). A
// second kernel that returns without the gate (kjump back --entry,
// kexec-tools) works once; its re-entry then needs the first kernel's map to
// cover its control page, which only a crashkernel= or unreserved region
// gives.
package kexec
