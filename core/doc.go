// Package core reads and writes a parked second kernel from the first: the
// kernel 'kjump load' loaded and 'kjump exec' entered, which has jumped back
// and waits for the next 'kjump exec' (kjump core). It is what Huang Ying's
// kexec-jump patchset offered as /proc/kimgcore, which never reached
// mainline, done from user space.
//
// Where the second kernel's memory is while it waits:
//
//   - Each page of its image's segments (the low range, its kernel, its
//     initrd, the top MiB, and the whole region when the region was not
//     reserved at boot) was swapped with a page of the first kernel at the
//     jump and swapped back at the return: it is now in the "source" page
//     kexec allocated for it, in the first kernel's RAM. The first kernel's
//     page list (kexec.ReadSwapMap, through the control page that the
//     second kernel's jump-back entry lies in) says which.
//   - Every other page of its RAM (the free part of a region reserved with
//     crashkernel= or memmap=SIZE$ADDR, which is no segment) stays where it
//     is.
//
// The second kernel tells the first where its VMCOREINFO note is and where
// the first kernel's control page is: 'kjump back' leaves a note in the
// note page (jump.BackNote) before every jump back. From it, Write builds an
// ELF core of the second kernel's RAM with its own VMCOREINFO note, so crash,
// makedumpfile and drgn open the second kernel with its vmlinux.
// A note that does not fit the loaded image — a page list that does not move
// the second kernel's lowest page, a VMCOREINFO of another release — is
// refused (ErrStale): a kernel loaded by other means leaves an old note in
// place ('kjump load' renews it, 'kjump unload' empties it).
//
// How the first kernel reaches those pages: its own RAM (the source pages,
// a crashkernel= region) through /proc/kcore, read-only (physmem.Kcore:
// STRICT_DEVMEM keeps /dev/mem from a kernel's own RAM); a memmap=SIZE$ADDR
// region, which is not its RAM, through /dev/mem, read and write. So Poke,
// which writes into the second kernel, works on a STRICT_DEVMEM kernel only
// for pages that stayed in a memmap=SIZE$ADDR region; elsewhere it fails
// with ErrOwnRAM, naming the page.
package core
