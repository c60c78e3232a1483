/*
 * harness.S - a multiboot test program that runs the purgatory blob under
 * QEMU the way a kexec jump would, for TestQEMU in qemu_test.go.
 *
 * QEMU boots this flat binary with -kernel (multiboot, "a.out kludge"
 * header, loaded at 1 MiB, entered in 32-bit protected mode). It switches
 * to 64-bit mode with 1 GiB identity-mapped, then recreates the state
 * relocate_kernel leaves for a KEXEC_PRESERVE_CONTEXT image: GDT and IDT
 * invalidated (limit 0) with segment registers still cached from a GDT
 * whose selectors differ from the boot protocol's (code 0x08, data 0x10),
 * RFLAGS = 0, %rsp at the top of a "swap page", and calls the patched
 * purgatory that the test put at purgatory_addr with QEMU's generic
 * loader. The purgatory's kernel entry is fake_kernel, which reports on
 * COM1 what it was given and exits QEMU through isa-debug-exit.
 *
 * Report lines (all start with "KJTEST "):
 *   KJTEST harness
 *   KJTEST kernel cs=XXXX ds=XXXX es=XXXX ss=XXXX fs=XXXX gs=XXXX rsi=X{16} if=X gprs=X{16}
 *   KJTEST cmdline=<the string at boot_params.cmd_line_ptr>
 *   KJTEST jumpback=X{16}      (the blob's jump_back field)
 *   KJTEST gate a cr3=X{16} peer=X{16}   (3 times, then)
 *   KJTEST gate b cr3=X{16} peer=X{16}   (alternating)
 *   KJTEST done
 *
 * The gate lines: after its report the fake kernel becomes the second
 * kernel "B", with page tables of its own (pml4_b: all of the 1 GiB) and a
 * re-entry point at B_REENTRY, in a 2 MiB page the harness's own page
 * tables ("A", pml4) leave out, as the first kernel's kexec map leaves out
 * a memmap=$ region. B jumps back the way its relocate_kernel would: %rsp
 * on its swap page, 0(%rsp) = B_REENTRY, into the purgatory's gate. Each
 * side, when entered, prints %cr3 and 0(%rsp) (the peer's re-entry point it
 * would record) and enters the peer there; three round trips.
 * gprs is the OR of every general register except %rsi and %rsp at entry.
 */

	.set	MB_MAGIC, 0x1badb002
	.set	MB_FLAGS, 0x00010000		/* addresses in the header are valid */
	.set	COM1, 0x3f8
	.set	COM1_LSR, 0x3fd
	.set	DEBUG_EXIT, 0x501		/* isa-debug-exit; 0xf4 is probed by Linux */
	.set	SWAP_TOP, 0x280000		/* top of the fake swap page */
	.set	JUMP_BACK_OFF, 0x30		/* purgatory.OffsetJumpBack */
	.set	CMD_LINE_PTR, 0x228		/* boot_params.hdr.cmd_line_ptr */
	.set	EXT_CMD_LINE_PTR, 0x0c8		/* boot_params.ext_cmd_line_ptr */
	.set	GATE_OFF, 0x1d0			/* purgatory.OffsetGate */
	.set	B_REENTRY, 0x600000		/* B's re-entry point, unmapped in A */
	.set	SWAP_B_TOP, 0x2a0000		/* top of B's fake swap page */
	.set	GATE_ROUNDS, 3

	.globl	purgatory_addr
	.set	purgatory_addr, 0x200000

	.text
	.code32
	.globl	_start
_start:
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	(0 - (MB_MAGIC + MB_FLAGS)) & 0xffffffff
	.long	mb_header			/* header_addr */
	.long	_start				/* load_addr */
	.long	0				/* load_end_addr: whole file */
	.long	0				/* bss_end_addr: no bss */
	.long	start32				/* entry_addr */

start32:
	cli
	movl	$stack_top, %esp

	/* 512 2 MiB pages: identity map 0..1 GiB. */
	movl	$pd, %edi
	movl	$0x83, %eax			/* present, writable, 2 MiB */
	movl	$512, %ecx
1:	movl	%eax, (%edi)
	movl	$0, 4(%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	decl	%ecx
	jnz	1b
	movl	$(pdpt + 3), pml4
	movl	$(pd + 3), pdpt
	/* A's hole: the 2 MiB page of B's re-entry point. */
	movl	$0, pd + 8 * (B_REENTRY >> 21)

	/* B's page tables: all of 0..1 GiB. */
	movl	$pd_b, %edi
	movl	$0x83, %eax
	movl	$512, %ecx
1:	movl	%eax, (%edi)
	movl	$0, 4(%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	decl	%ecx
	jnz	1b
	movl	$(pdpt_b + 3), pml4_b
	movl	$(pd_b + 3), pdpt_b

	movl	%cr4, %eax
	orl	$0x20, %eax			/* PAE */
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx		/* EFER */
	rdmsr
	orl	$0x100, %eax			/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax		/* PG, PE */
	movl	%eax, %cr0
	lgdt	gdt_desc
	ljmp	$0x08, $start64

	.code64
start64:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movq	$stack_top, %rsp

	leaq	msg_hello(%rip), %rdi
	call	puts

	/* machine_kexec: GDT and IDT gone, selectors stay cached. */
	lgdt	zero_desc(%rip)
	lidt	zero_desc(%rip)
	/* relocate_kernel: flags cleared, stack at the top of the swap page. */
	pushq	$0
	popfq
	movq	$SWAP_TOP, %rsp
	movq	$purgatory_addr, %rax
	call	*%rax
	.globl	kj_return
kj_return:
	cmpl	$0, gate_round(%rip)
	jne	a_entered
	/* The purgatory must never return. */
	movq	$stack_top, %rsp
	leaq	msg_returned(%rip), %rdi
	call	puts
	jmp	exit

	.globl	fake_kernel
fake_kernel:
	pushfq
	orq	%rbx, %rax
	orq	%rcx, %rax
	orq	%rdx, %rax
	orq	%rdi, %rax
	orq	%rbp, %rax
	orq	%r8, %rax
	orq	%r9, %rax
	orq	%r10, %rax
	orq	%r11, %rax
	orq	%r12, %rax
	orq	%r13, %rax
	orq	%r14, %rax
	orq	%r15, %rax
	popq	%r12				/* r12 = rflags */
	movq	%rax, %r15			/* r15 = OR of the registers */
	movq	%rsi, %r13			/* r13 = boot_params */
	movq	$stack_top, %rsp

	leaq	msg_kernel(%rip), %rdi
	call	puts
	movw	%cs, %ax
	call	puthex4
	leaq	msg_ds(%rip), %rdi
	call	puts
	movw	%ds, %ax
	call	puthex4
	leaq	msg_es(%rip), %rdi
	call	puts
	movw	%es, %ax
	call	puthex4
	leaq	msg_ss(%rip), %rdi
	call	puts
	movw	%ss, %ax
	call	puthex4
	leaq	msg_fs(%rip), %rdi
	call	puts
	movw	%fs, %ax
	call	puthex4
	leaq	msg_gs(%rip), %rdi
	call	puts
	movw	%gs, %ax
	call	puthex4
	leaq	msg_rsi(%rip), %rdi
	call	puts
	movq	%r13, %rax
	movl	$16, %ecx
	call	puthex
	leaq	msg_if(%rip), %rdi
	call	puts
	movq	%r12, %rax
	shrq	$9, %rax
	andl	$1, %eax
	movl	$1, %ecx
	call	puthex
	leaq	msg_gprs(%rip), %rdi
	call	puts
	movq	%r15, %rax
	movl	$16, %ecx
	call	puthex

	leaq	msg_cmdline(%rip), %rdi
	call	puts
	movl	EXT_CMD_LINE_PTR(%r13), %edi
	shlq	$32, %rdi
	movl	CMD_LINE_PTR(%r13), %eax
	orq	%rax, %rdi
	call	puts

	leaq	msg_jumpback(%rip), %rdi
	call	puts
	movq	$purgatory_addr, %rax
	movq	JUMP_BACK_OFF(%rax), %rax
	movl	$16, %ecx
	call	puthex

	leaq	msg_crlf(%rip), %rdi
	call	puts
	/* Become B: own page tables, a re-entry point A cannot map. */
	movq	$pml4_b, %rax
	movq	%rax, %cr3
	leaq	b_stub(%rip), %rsi
	movq	$B_REENTRY, %rdi
	movl	$(b_stub_end - b_stub), %ecx
	rep movsb
	movl	$1, gate_round(%rip)
b_jump_back:
	/* B's relocate_kernel calls its image's start from B_REENTRY. */
	movq	$SWAP_B_TOP, %rsp
	pushq	$B_REENTRY
	movq	b_start(%rip), %rax
	jmpq	*%rax

/* A re-entered (at kj_return, its re-entry point). */
a_entered:
	movq	(%rsp), %r12
	movq	%cr3, %r13
	movq	$stack_top, %rsp
	leaq	msg_gate_a(%rip), %rdi
	call	report_gate
	/* A's relocate_kernel calls the recorded start from kj_return. */
	movq	$SWAP_TOP, %rsp
	pushq	$kj_return
	jmpq	*%r12

/* B re-entered (b_stub at B_REENTRY jumps here). */
b_entered:
	movq	$stack_top, %rsp
	leaq	msg_gate_b(%rip), %rdi
	call	report_gate
	movq	%r12, b_start(%rip)
	incl	gate_round(%rip)
	cmpl	$GATE_ROUNDS, gate_round(%rip)
	jbe	b_jump_back
done:
	leaq	msg_done(%rip), %rdi
	call	puts
exit:
	movl	$DEBUG_EXIT, %edx
	movl	$0x10, %eax
	outb	%al, %dx
2:	cli
	hlt
	jmp	2b

/* report_gate: print %rdi, then "cr3=" %r13 " peer=" %r12 and CRLF. */
report_gate:
	call	puts
	movq	%r13, %rax
	movl	$16, %ecx
	call	puthex
	leaq	msg_peer(%rip), %rdi
	call	puts
	movq	%r12, %rax
	movl	$16, %ecx
	call	puthex
	leaq	msg_crlf(%rip), %rdi
	jmp	puts

/* Copied to B_REENTRY: what B's relocate_kernel runs after its call. */
b_stub:
	movq	(%rsp), %r12
	movq	%cr3, %r13
	movabsq	$b_entered, %rax
	jmpq	*%rax
b_stub_end:

/* puthex4: print %ax as 4 hex digits. */
puthex4:
	movzwl	%ax, %eax
	movl	$4, %ecx
	/* fall through */
/* puthex: print the low %ecx nibbles of %rax, most significant first. */
puthex:
	pushq	%rbx
	movq	%rax, %rbx
	movl	%ecx, %esi
1:	decl	%esi
	js	2f
	leal	(,%rsi,4), %ecx
	movq	%rbx, %rax
	shrq	%cl, %rax
	andl	$0xf, %eax
	leaq	hexdigits(%rip), %rdx
	movzbl	(%rdx,%rax), %eax
	call	putc
	jmp	1b
2:	popq	%rbx
	ret

/* puts: print the NUL-terminated string at %rdi. */
puts:
1:	movzbl	(%rdi), %eax
	testl	%eax, %eax
	jz	2f
	call	putc
	incq	%rdi
	jmp	1b
2:	ret

/* putc: print %al; clobbers %edx. */
putc:
	pushq	%rax
	movl	$COM1_LSR, %edx
1:	inb	%dx, %al
	testb	$0x20, %al
	jz	1b
	popq	%rax
	movl	$COM1, %edx
	outb	%al, %dx
	ret

hexdigits:	.ascii	"0123456789abcdef"
msg_hello:	.asciz	"KJTEST harness\r\n"
msg_returned:	.asciz	"KJTEST purgatory returned\r\n"
msg_kernel:	.asciz	"KJTEST kernel cs="
msg_ds:		.asciz	" ds="
msg_es:		.asciz	" es="
msg_ss:		.asciz	" ss="
msg_fs:		.asciz	" fs="
msg_gs:		.asciz	" gs="
msg_rsi:	.asciz	" rsi="
msg_if:		.asciz	" if="
msg_gprs:	.asciz	" gprs="
msg_cmdline:	.asciz	"\r\nKJTEST cmdline="
msg_jumpback:	.asciz	"\r\nKJTEST jumpback="
msg_done:	.asciz	"KJTEST done\r\n"
msg_gate_a:	.asciz	"KJTEST gate a cr3="
msg_gate_b:	.asciz	"KJTEST gate b cr3="
msg_peer:	.asciz	" peer="
msg_crlf:	.asciz	"\r\n"

	.balign	8
gate_round:	.long	0, 0
b_start:	.quad	purgatory_addr + GATE_OFF

	.balign	8
gdt:
	.quad	0
	.quad	0x00af9a000000ffff		/* 0x08: 64-bit code */
	.quad	0x00cf92000000ffff		/* 0x10: data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt
zero_desc:
	.word	0
	.quad	0

	.balign	4096
pml4:	.fill	4096, 1, 0
pdpt:	.fill	4096, 1, 0
pd:	.fill	4096, 1, 0
pml4_b:	.fill	4096, 1, 0
pdpt_b:	.fill	4096, 1, 0
pd_b:	.fill	4096, 1, 0
	.fill	4096, 1, 0
stack_top:
