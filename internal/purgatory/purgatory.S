/*
 * purgatory.S - kjump's x86_64 purgatory.
 *
 * GNU as, AT&T syntax, no C preprocessor. Assembled by gen.sh into the flat
 * binary purgatory.bin (link address 0). Every memory reference is
 * %rip-relative or through a register, so the blob runs at whatever physical
 * address the loader puts it (TestPositionIndependent checks that the object
 * file has no relocations). doc.go describes the ABI; purgatory.go mirrors
 * the header layout.
 *
 * Entry (from relocate_kernel in the first kernel, Linux 6.12 and later):
 *   64-bit mode, identity-mapped page tables that cover every kexec segment,
 *   interrupts off, RFLAGS = 0 (so DF = 0), the GDT and IDT invalidated
 *   (limit 0) but DS/ES/SS still holding the first kernel's cached
 *   descriptors, CS = the first kernel's 64-bit __KERNEL_CS.
 *   0(%rsp) = return address into the first kernel's control page (the
 *             jump-back entry), or 0 for a kexec without
 *             KEXEC_PRESERVE_CONTEXT.
 *   8(%rsp) = since Linux 6.14 a slot for the callee's re-entry point;
 *             this purgatory never returns, so it leaves it alone.
 *
 * Exit: jumps to hdr_entry64 (the second kernel's startup_64, load address
 * + 0x200) per the 64-bit boot protocol of Documentation/arch/x86/boot.rst:
 * CS = 0x10 (64-bit code), DS = ES = SS = FS = GS = 0x18 (flat data) from
 * our own GDT, %rsi = hdr_boot_params, interrupts off, all other general
 * registers zero, %rsp = top of our own stack.
 *
 * Register use (documented per routine below):
 *   kj_start keeps the jump-back address in %r15 until kj_prepare has
 *   consumed it. The subroutines follow the SysV x86_64 convention: args in
 *   %rdi, %rsi, result in %rax; they may clobber %rax, %rcx, %rdx, %rsi,
 *   %rdi, %r8-%r11 and preserve %rbx, %rbp, %r12-%r15. No SSE/AVX anywhere.
 */

	.set	MAX_SEGS, 16		/* entries in hdr_segs */
	.set	SEG_SIZE, 24		/* {addr, len, sum}, 3 quadwords */
	.set	BOOT_CS, 0x10		/* __BOOT_CS: 64-bit code */
	.set	BOOT_DS, 0x18		/* __BOOT_DS: flat data */
	.set	COM1, 0x3f8		/* 8250 UART transmit holding register */
	.set	COM1_LSR, 0x3fd		/* line status register */
	.set	LSR_THRE, 0x20		/* bit 5: transmit holding register empty */
	.set	THRE_POLLS, 0x100000	/* give up waiting for a missing UART */
	.set	STACK_SIZE, 1024
	.set	MSG_BUF, 64		/* stack buffer for formatted messages */
	.set	ASCII_0, 0x30
	.set	ASCII_CR, 0x0d
	.set	ASCII_LF, 0x0a

	.text
	.code64
	.globl	_start

/*
 * Header. Offsets are ABI (purgatory.go: Offset*); every .org below fails
 * the assembly if a field moved.
 */
_start:
	jmp	kj_start			/* 0x00: 5-byte near jmp */
	.org	0x08, 0xcc
hdr_magic:
	.ascii	"KJPURG02"			/* 0x08 */
	.org	0x10
hdr_entry64:
	.quad	0				/* 0x10: patched, kernel 64-bit entry */
hdr_boot_params:
	.quad	0				/* 0x18: patched, &boot_params */
hdr_cmdline_hex:
	.quad	0				/* 0x20: patched, &first hex digit or 0 */
hdr_nsegs:
	.long	0				/* 0x28: patched, entries used */
hdr_maxsegs:
	.long	MAX_SEGS			/* 0x2c: read-only capacity */
hdr_jump_back:
	.quad	0				/* 0x30: written at run time */
	.org	0x38
hdr_segs:
	.fill	MAX_SEGS * SEG_SIZE, 1, 0	/* 0x38: patched, {addr,len,sum}[16] */
	.org	0x38 + MAX_SEGS * SEG_SIZE	/* 0x1b8 */
hdr_first_cr3:
	.quad	0				/* 0x1b8: run time, first kernel's kexec CR3 */
hdr_second_entry:
	.quad	0				/* 0x1c0: run time, second kernel's re-entry */
hdr_second_cr3:
	.quad	0				/* 0x1c8: run time, second kernel's kexec CR3 */
	.org	0x1d0

/*
 * The gate: how the two kernels re-enter each other after the first jump
 * (doc.go, "The gate"). Each kernel's kexec page tables identity-map this
 * page (it is a segment of both images), while neither needs to map the
 * other kernel's control page. So each side enters the gate with its own
 * page tables, the gate switches to the other side's page tables (saved
 * here) and stack, and enters the other side's re-entry point with 0(%rsp)
 * = the gate's opposite entry, which that side's relocate_kernel takes as
 * its peer's re-entry point. Both entries come from relocate_kernel's
 * call: interrupts off, %rsp on the caller's swap page, 0(%rsp) = the
 * caller's re-entry point. They clobber %rax, %rcx, %rdx and %rsp, which
 * the kernel code they enter does not read.
 *
 * kj_gate_second (0x1d0, fixed: the second kernel's jump-back helper's
 * entry): the second kernel goes back to the first.
 */
kj_gate_second:
	movq	(%rsp), %rax
	movq	%rax, hdr_second_entry(%rip)
	movq	%cr3, %rax
	movq	%rax, hdr_second_cr3(%rip)
	movq	hdr_first_cr3(%rip), %rdx
	movq	hdr_jump_back(%rip), %rcx
	testq	%rdx, %rdx
	jz	kj_fail_gate
	testq	%rcx, %rcx
	jz	kj_fail_gate
	leaq	kj_gate_stack_top(%rip), %rsp
	leaq	kj_gate_first(%rip), %rax
	pushq	%rax
	movq	%rdx, %cr3			/* this page: mapped the same in both */
	jmpq	*%rcx

/*
 * kj_gate_first: the first kernel re-enters the second (the first kernel's
 * image starts here after the first jump back, because kj_gate_second
 * handed it this address as the second kernel's re-entry point).
 */
kj_gate_first:
	movq	(%rsp), %rax
	movq	%rax, hdr_jump_back(%rip)
	movq	%cr3, %rax
	movq	%rax, hdr_first_cr3(%rip)
	movq	hdr_second_cr3(%rip), %rdx
	movq	hdr_second_entry(%rip), %rcx
	testq	%rdx, %rdx
	jz	kj_fail_gate
	testq	%rcx, %rcx
	jz	kj_fail_gate
	leaq	kj_gate_stack_top(%rip), %rsp
	leaq	kj_gate_second(%rip), %rax
	pushq	%rax
	movq	%rdx, %cr3
	jmpq	*%rcx

kj_fail_gate:
	leaq	kj_stack_top(%rip), %rsp
	leaq	kj_msg_gate(%rip), %rdi
	call	kj_serial_puts
	jmp	kj_halt

/*
 * kj_start: the image entry point (the loader sets the kexec entry to the
 * blob's load address; _start jumps here).
 */
kj_start:
	cli
	cld
	movq	(%rsp), %r15			/* r15 = jump-back address */
	leaq	kj_stack_top(%rip), %rsp	/* own stack inside the blob */

	movq	hdr_entry64(%rip), %rax
	testq	%rax, %rax
	jz	kj_fail_config
	movq	hdr_boot_params(%rip), %rax
	testq	%rax, %rax
	jz	kj_fail_config

	movq	%r15, %rdi
	call	kj_prepare			/* verify, then record jump-back */
	testl	%eax, %eax
	jnz	kj_fail_prepare
	movq	%cr3, %rax			/* for the gate's way back */
	movq	%rax, hdr_first_cr3(%rip)

	/*
	 * Load our GDT. The 10-byte pseudo-descriptor (limit:16, base:64) is
	 * built on the stack at 6(%rsp) so that the base is 8-byte aligned;
	 * the base is computed at run time because we are position
	 * independent.
	 */
	leaq	kj_gdt(%rip), %rax
	subq	$16, %rsp
	movw	$(kj_gdt_end - kj_gdt - 1), 6(%rsp)
	movq	%rax, 8(%rsp)
	lgdt	6(%rsp)
	addq	$16, %rsp

	/* Data segments from the new GDT. */
	movl	$BOOT_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	/* CS from the new GDT: lretq pops RIP, then CS. */
	leaq	1f(%rip), %rax
	pushq	$BOOT_CS
	pushq	%rax
	lretq
1:
	/* 64-bit boot protocol: %rsi = boot_params, the rest zero. */
	movq	hdr_boot_params(%rip), %rsi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	xorl	%r8d, %r8d
	xorl	%r9d, %r9d
	xorl	%r10d, %r10d
	xorl	%r11d, %r11d
	xorl	%r12d, %r12d
	xorl	%r13d, %r13d
	xorl	%r14d, %r14d
	xorl	%r15d, %r15d
	jmpq	*hdr_entry64(%rip)

/*
 * Failure paths: say why on COM1, then halt for good. %eax holds
 * kj_prepare's status (1 + segment index, or -1 for a bad header).
 */
kj_fail_prepare:
	cmpl	$-1, %eax
	je	kj_fail_header
	subq	$MSG_BUF, %rsp
	leal	-1(%rax), %esi			/* esi = segment index */
	movq	%rsp, %rdi			/* rdi = buffer */
	call	kj_fmt_mismatch
	movq	%rsp, %rdi
	call	kj_serial_puts
	jmp	kj_halt
kj_fail_header:
	leaq	kj_msg_header(%rip), %rdi
	call	kj_serial_puts
	jmp	kj_halt
kj_fail_config:
	leaq	kj_msg_config(%rip), %rdi
	call	kj_serial_puts
	/* fall through */
kj_halt:
	cli
2:	hlt
	jmp	2b				/* an NMI wakes hlt: halt again */

/*
 * kj_prepare: the part of the purgatory that touches only memory (no
 * privileged instructions, no I/O).
 *   in:  %rdi = jump-back address
 *   out: %eax = 0 ok; 1 + i if segment i's checksum does not match;
 *        -1 if hdr_nsegs > MAX_SEGS
 * Order: verify first, then write, so that the segment holding the command
 * line may itself be listed in hdr_segs.
 * Uses %rbx = &hdr_segs[i], %r12d = nsegs, %r13d = i, %r14 = jump-back;
 * saves and restores them.
 */
kj_prepare:
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	movq	%rdi, %r14

	movl	hdr_nsegs(%rip), %r12d
	cmpl	$MAX_SEGS, %r12d
	ja	3f
	leaq	hdr_segs(%rip), %rbx
	xorl	%r13d, %r13d
1:	cmpl	%r12d, %r13d
	jae	2f
	movq	0(%rbx), %rdi			/* addr */
	movq	8(%rbx), %rsi			/* len */
	call	kj_checksum
	cmpq	16(%rbx), %rax			/* sum */
	jne	4f
	addq	$SEG_SIZE, %rbx
	incl	%r13d
	jmp	1b

2:	/* All segments match: record the jump-back address. */
	movq	%r14, hdr_jump_back(%rip)
	movq	hdr_cmdline_hex(%rip), %rdi
	testq	%rdi, %rdi
	jz	5f
	movq	%r14, %rsi
	call	kj_puthex
5:	xorl	%eax, %eax
	jmp	6f
3:	movl	$-1, %eax
	jmp	6f
4:	leal	1(%r13), %eax
6:	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	ret

/*
 * kj_checksum: purgatory.Checksum.
 *   h = len; for each little-endian quadword w (the last one zero-padded):
 *       h = rotl64((h ^ w) * 0x9e3779b97f4a7c15, 31)
 *   in:  %rdi = address, %rsi = length in bytes
 *   out: %rax = h
 *   clobbers %rcx (quadword count), %rdx (tail word), %rsi (tail count),
 *   %rdi (cursor), %r8 (multiplier), %r9 (tail byte).
 * Never reads past address + length.
 */
kj_checksum:
	movq	%rsi, %rax			/* h = len */
	movabsq	$0x9e3779b97f4a7c15, %r8
	movq	%rsi, %rcx
	shrq	$3, %rcx			/* whole quadwords */
	testq	%rcx, %rcx
	jz	2f
1:	xorq	(%rdi), %rax
	imulq	%r8, %rax
	rolq	$31, %rax
	addq	$8, %rdi
	decq	%rcx
	jnz	1b
2:	andl	$7, %esi			/* tail bytes, 0..7 */
	jz	4f
	xorl	%edx, %edx
3:	shlq	$8, %rdx			/* last byte first, so byte 0 */
	movzbl	-1(%rdi,%rsi), %r9d		/* ends up in bits 0..7 */
	orq	%r9, %rdx
	decl	%esi
	jnz	3b
	xorq	%rdx, %rax
	imulq	%r8, %rax
	rolq	$31, %rax
4:	ret

/*
 * kj_puthex: write a value as exactly 16 lowercase hex digits, most
 * significant first, no prefix, no terminator.
 *   in:  %rdi = destination, %rsi = value
 *   clobbers %rax (digit), %rcx (count), %rdi (cursor), %rsi (rotated
 *   value, back to the input after 16 rotations), %r8 (digit table).
 */
kj_puthex:
	leaq	kj_hexdigits(%rip), %r8
	movl	$16, %ecx
1:	rolq	$4, %rsi			/* next nibble into bits 0..3 */
	movl	%esi, %eax
	andl	$0xf, %eax
	movzbl	(%r8,%rax), %eax
	movb	%al, (%rdi)
	incq	%rdi
	decl	%ecx
	jnz	1b
	ret

/*
 * kj_fmt_mismatch: format "kjump purgatory: checksum mismatch in segment
 * N\r\n" with a NUL terminator (at most 51 bytes, N < 100).
 *   in:  %rdi = buffer, %esi = segment index
 *   out: %rax = length without the NUL
 *   clobbers %rcx (byte, then tens digit), %rdx (index), %rsi (source),
 *   %rdi (cursor), %r8 (start).
 */
kj_fmt_mismatch:
	movq	%rdi, %r8
	movl	%esi, %edx
	leaq	kj_msg_mismatch(%rip), %rsi
1:	movzbl	(%rsi), %ecx			/* copy the fixed text */
	testl	%ecx, %ecx
	jz	2f
	movb	%cl, (%rdi)
	incq	%rsi
	incq	%rdi
	jmp	1b
2:	xorl	%ecx, %ecx			/* ecx = tens, edx = ones */
3:	cmpl	$10, %edx
	jb	4f
	subl	$10, %edx
	incl	%ecx
	jmp	3b
4:	testl	%ecx, %ecx
	jz	5f
	addl	$ASCII_0, %ecx
	movb	%cl, (%rdi)
	incq	%rdi
5:	addl	$ASCII_0, %edx
	movb	%dl, (%rdi)
	movb	$ASCII_CR, 1(%rdi)
	movb	$ASCII_LF, 2(%rdi)
	movb	$0, 3(%rdi)
	leaq	3(%rdi), %rax
	subq	%r8, %rax
	ret

/*
 * kj_serial_puts: write a NUL-terminated string to COM1. Polls the LSR for
 * THRE before each byte, at most THRE_POLLS times (a missing UART must not
 * hang us here; we are about to halt anyway). Does not program the UART:
 * it keeps whatever the first kernel's console set up.
 *   in:  %rdi = string
 *   clobbers %rax (%al = port data), %rcx (byte), %rdx (%dx = port),
 *   %rdi (cursor), %r8 (poll budget).
 */
kj_serial_puts:
1:	movzbl	(%rdi), %ecx
	testl	%ecx, %ecx
	jz	4f
	movl	$THRE_POLLS, %r8d
	movl	$COM1_LSR, %edx
2:	inb	%dx, %al
	testb	$LSR_THRE, %al
	jnz	3f
	pause
	decl	%r8d
	jnz	2b
3:	movl	$COM1, %edx
	movl	%ecx, %eax
	outb	%al, %dx
	incq	%rdi
	jmp	1b
4:	ret

/* Read-only data. */
kj_hexdigits:
	.ascii	"0123456789abcdef"
kj_msg_mismatch:
	.asciz	"kjump purgatory: checksum mismatch in segment "
kj_msg_header:
	.asciz	"kjump purgatory: bad header (segment count)\r\n"
kj_msg_gate:
	.asciz	"kjump purgatory: gate entered before both kernels passed through it\r\n"
kj_msg_config:
	.asciz	"kjump purgatory: not configured (entry64 or boot_params is 0)\r\n"

/*
 * GDT: 0x00 null, 0x08 unused, 0x10 = __BOOT_CS, 0x18 = __BOOT_DS.
 *   0x00af9a000000ffff: base 0, limit 0xfffff, G=1, L=1 (64-bit), D=0,
 *                       P=1, DPL=0, code, execute/read.
 *   0x00cf92000000ffff: base 0, limit 0xfffff, G=1, D/B=1, P=1, DPL=0,
 *                       data, read/write.
 * Must stay intact until the kernel loads its own GDT (startup_64 does so
 * early), so the loader must keep the blob outside the kernel's init_size
 * window.
 */
	.balign	16
kj_gdt:
	.quad	0
	.quad	0
	.quad	0x00af9a000000ffff
	.quad	0x00cf92000000ffff
kj_gdt_end:

/* Stack (zero bytes, part of the blob so the loader copies it). */
	.balign	16
kj_stack:
	.fill	STACK_SIZE, 1, 0
kj_stack_top:
/* The gate's stack: one return address. */
kj_gate_stack:
	.quad	0, 0
kj_gate_stack_top:
