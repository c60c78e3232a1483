// Package purgatory holds kjump's x86_64 purgatory: the small piece of code
// that runs between the first kernel's kexec and the second kernel's
// start, and the Go side that configures it.
//
// A kexec image's entry point is not the kernel itself but the purgatory.
// The first kernel's relocate_kernel (arch/x86/kernel/relocate_kernel_64.S)
// copies or swaps the segments into place and enters the image; the
// purgatory verifies the segments, tells the second kernel how to come
// back, and starts it through the Linux 64-bit boot protocol. The code is
// purgatory.S (GNU as); gen.sh assembles it into purgatory.bin, which is
// embedded as [Blob]. [Build] returns a copy with the header fields
// patched; the loader puts that copy in a kexec segment and uses the
// segment's address as the kexec entry point. The blob is position
// independent, needs no relocation, and includes its own 1 KiB stack, so
// the segment is just len(Blob) bytes (under one page).
//
// # Blob header
//
// All fields are little-endian, at fixed offsets (the Offset* constants):
//
//	0x00  jmp to the code (5 bytes), padding
//	0x08  "KJPURG02"        magic and header version
//	0x10  entry64           the kernel's 64-bit entry: load address + 0x200
//	0x18  boot_params       physical address of the zero page
//	0x20  cmdline_hex_addr  address of the first hex digit of the jump-back
//	                        placeholder in the command line, 0 = none
//	0x28  nsegs (u32)       entries of segs in use
//	0x2c  maxsegs (u32)     capacity of segs (16), read-only
//	0x30  jump_back         written by the purgatory and the gate: the
//	                        first kernel's re-entry point
//	0x38  segs[16]          {addr, len, sum u64}: ranges to verify
//	0x1b8 first_cr3         written by the purgatory and the gate: the first
//	                        kernel's kexec page-table root
//	0x1c0 second_entry      written by the gate: the second kernel's re-entry
//	                        point
//	0x1c8 second_cr3        written by the gate: the second kernel's kexec
//	                        page-table root
//	0x1d0 the gate's entry for the second kernel ([OffsetGate]), then the
//	      code, GDT, stack and the gate's 16-byte stack
//
// The blob is under one page (a test checks it), so a page-aligned load
// address puts the header, the gate and its stack in one page.
//
// # The kjump entry ABI (x86_64) as this purgatory implements it
//
// With KEXEC_PRESERVE_CONTEXT, machine_kexec saves the first kernel's CPU
// state, invalidates the GDT and IDT (the segment registers keep their
// cached descriptors), and relocate_kernel, after swapping the segments
// into place, enters the image's start address with a call:
//
//   - 64-bit mode, paging on with identity-mapped page tables that cover
//     the first kernel's RAM and every segment; CR0.WP and CR4.CET clear;
//   - interrupts off, RFLAGS = 0 (so DF = 0);
//   - %rsp at the top of the kernel's swap page (a page of the first
//     kernel, outside all segments), 0(%rsp) = the return address of that
//     call: the first kernel's re-entry point in its control page, the
//     "jump-back entry". A plain kexec (no preserve context) enters with
//     ret instead, and 0(%rsp) is 0.
//   - Before Linux 6.14 (so in 6.12.y) that is all: when the callee later
//     enters the caller's re-entry point, the caller takes the callee's
//     own re-entry point from 0(%rsp), which is right when the callee
//     comes back by a kexec jump of its own (its relocate_kernel's call
//     pushed its return address there) and wrong when it just returns.
//     Since 6.14, 8(%rsp) is a slot that holds the image's start address
//     and that the callee may overwrite with its own re-entry point; the
//     caller pops it after the call. The purgatory never returns, so it
//     reads 0(%rsp) and leaves 8(%rsp) alone on either version.
//
// The purgatory then:
//
//  1. saves 0(%rsp) and switches to its own stack inside the blob;
//  2. halts (after a message on COM1) if entry64 or boot_params is 0;
//  3. verifies each of the nsegs segments: computes [Checksum] over
//     [addr, addr+len) and compares it with sum. On a mismatch it prints
//     "kjump purgatory: checksum mismatch in segment N" to COM1 (port
//     0x3f8, polling bit 5 of the line status register at 0x3fd; the UART
//     is not reprogrammed) and halts with interrupts off;
//  4. stores the jump-back address at offset 0x30 of the blob and, if
//     cmdline_hex_addr is not 0, writes it there as exactly 16 lowercase
//     hex digits. Verifying before writing lets the segment that holds the
//     command line be verified too. Then it stores %cr3 (the first
//     kernel's kexec page tables) at first_cr3, for the gate;
//  5. loads its own GDT (0x00 null, 0x08 unused, 0x10 = 64-bit code,
//     0x18 = flat data), loads DS, ES, SS, FS and GS with 0x18 and CS with
//     0x10 (lretq), and jumps to entry64 with %rsi = boot_params and every
//     other general register zero, interrupts still off. That is the
//     64-bit boot protocol of Documentation/arch/x86/boot.rst; the loader
//     must make sure the identity map covers the kernel's init_size
//     window, boot_params and the command line (segments are always
//     mapped), and must keep the blob outside the kernel's init_size
//     window, because the kernel uses the purgatory's GDT until it loads
//     its own.
//
// # How the jump-back entry reaches the second kernel
//
// The loader puts [JumpBackPlaceholder] ("kexec_jump_back_entry=0x"
// followed by 16 zeros) on the second kernel's command line, places the
// command line in a segment, and sets Config.CmdlineHexAddr to the
// physical address of the first zero ([PlaceholderAddr]). The purgatory
// overwrites the zeros, so the second kernel boots with, for example,
// kexec_jump_back_entry=0x000000000a3c5000 in /proc/cmdline — the
// parameter kexec-tools uses, so existing tools find it. [ParseJumpBack]
// reads it back. To return, the second kernel loads an image whose entry
// is that address (with KEXEC_PRESERVE_CONTEXT) and executes it; the first
// kernel resumes after its call, swaps its pages back and records the
// second kernel's re-entry point as the image's next start, so the next
// jump re-enters the second kernel where it left off, not the purgatory.
// kexec.PlanLinux also puts kjump.gate=ADDR ([GateParam], [ParseGate]) on
// the command line, the gate's address; kjump back uses the gate as its
// entry instead (see "The gate"), while what reads kexec_jump_back_entry=
// (a snapshot's swap map, a hibernation image) still gets the first
// kernel's own re-entry point.
//
// # The gate
//
// The purgatory's page is the one page both kernels' kexec identity maps
// are sure to cover: it is a segment of the first kernel's image, and the
// second kernel's jump-back helper loads it as its one segment. The
// gate, at [OffsetGate], lets every jump after the first go through it
// (kexec/doc.go, "The gate", says why):
//
//   - kj_gate_second (OffsetGate) is the entry of the second kernel's
//     jump-back helper. Called by the second kernel's relocate_kernel, it
//     saves 0(%rsp) (the second kernel's re-entry point) at second_entry
//     and %cr3 at second_cr3, switches to its own stack in the blob,
//     pushes the address of kj_gate_first, loads first_cr3 into %cr3 and
//     jumps to jump_back. The first kernel's code there takes 0(%rsp) —
//     kj_gate_first — as its peer's re-entry point, so the first kernel's
//     next exec calls kj_gate_first.
//   - kj_gate_first does the mirror image: saves 0(%rsp) at jump_back and
//     %cr3 at first_cr3, pushes OffsetGate's address, loads second_cr3 and
//     jumps to second_entry, where the second kernel's relocate_kernel
//     takes the gate as its next start.
//
// Each entry touches only the blob's page between its two page-table
// switches; %rax, %rcx and %rdx are clobbered (the kernel code they enter
// reads only 0(%rsp)). If a saved value it needs is 0 (entered before the
// other side passed through), it prints "kjump purgatory: gate entered
// before both kernels passed through it" on COM1 and halts.
//
// # Checksum
//
// [Checksum] starts from the length in bytes and folds in each 8-byte
// little-endian word w as h = rotl64((h ^ w) * 0x9e3779b97f4a7c15, 31), the
// last partial word zero-padded. It needs only integer instructions (QEMU's
// qemu64 CPU model has no SSE4.2 CRC32), runs at memory speed, and
// catches any change confined to one word. It is an integrity check
// against loader bugs and overlapping memory, not a cryptographic digest.
//
// # Tests
//
// Besides the unit tests, TestQEMU boots testdata/qemu/harness.S (a
// multiboot program) in qemu-system-x86_64: it recreates relocate_kernel's
// entry state, calls the patched blob and reports what the "kernel" it
// starts receives, then goes three round trips through the gate between
// two sets of page tables, one of which leaves out the other side's
// re-entry point (as a first kernel's kexec map leaves out a memmap=$
// region); TestQEMUKernel starts a real bzImage (from the lab's
// build cache, $KJUMP_TEST_BZIMAGE or /boot) the same way, with a zero
// page from package bootparam. Both skip without binutils and QEMU.
package purgatory
