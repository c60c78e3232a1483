/*
 * hello.S: a blob for 'kjump call' (see kjump help call for the convention).
 *
 * Entered by `call` in 64-bit mode with identity-mapped page tables, interrupts
 * off, the GDT and IDT invalid (do not reload segment registers), on a stack at
 * the top of the kernel's swap page. It prints one line on COM1 and returns with
 * `ret`; %rsp must be as it was on entry. Position independent: it may be loaded
 * at any page.
 */
	.code64
	.text
	.globl	_start
_start:
	leaq	msg(%rip), %rsi
next:
	movzbl	(%rsi), %ecx
	testl	%ecx, %ecx
	jz	done
	movl	$0x100000, %edi		/* poll the line status register at most this often */
	movw	$0x3fd, %dx		/* COM1 LSR */
wait:
	inb	%dx, %al
	testb	$0x20, %al		/* transmit holding register empty */
	jnz	send
	decl	%edi
	jnz	wait
send:
	movw	$0x3f8, %dx		/* COM1 data */
	movl	%ecx, %eax
	outb	%al, %dx
	incq	%rsi
	jmp	next
done:
	ret
msg:
	.asciz	"kjump call: hello from physical mode\r\n"
