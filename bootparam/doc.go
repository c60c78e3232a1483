// Package bootparam reads an x86 bzImage's setup header and writes the
// boot_params ("zero page") that starts it through Linux's 64-bit boot
// protocol (Documentation/arch/x86/boot.rst).
//
// A bzImage file has two parts. The first (setup_sects+1)*512 bytes are
// the real-mode part: a boot sector and 16-bit setup code, with the setup
// header at offset 0x1f1. The header starts with setup_sects, holds the
// 0xAA55 boot flag at 0x1fe, a 2-byte jump at 0x200 whose second byte says
// where the header ends (0x202 + that byte), the magic "HdrS" at 0x202 and
// the boot protocol version at 0x206, followed by fields a loader reads
// (syssize, xloadflags, kernel_alignment, init_size, cmdline_size, ...)
// and fields it writes (type_of_loader, cmd_line_ptr, ramdisk_image, ...).
// The rest of the file, syssize*16 bytes, is the protected-mode kernel:
// the decompressor plus the compressed vmlinux. A 64-bit loader such as
// kexec ignores the real-mode code. It places the protected-mode part at
// a load address aligned to kernel_alignment, builds a 4096-byte struct
// boot_params — all zero, with the setup header copied in at the same
// offset 0x1f1 and its write fields filled in, plus the command line and
// initrd pointers (with their high 32 bits at 0x0c8, 0x0c0, 0x0c4), the
// e820 memory map (count at 0x1e8, up to 128 packed 20-byte entries at
// 0x2d0) and the ACPI RSDP address (0x070) — and jumps to the load address
// + 0x200 in 64-bit mode with %rsi pointing to boot_params.
//
// [Parse] checks that a file is such a kernel (boot protocol 2.12 or
// later, XLF_KERNEL_64, relocatable) and explains what else it is when it
// is not (an ELF vmlinux, a compressed file, an arm64 Image, ...).
// [BzImage.BootParams] builds the zero page from [Params];
// [BzImage.Entry64], [BzImage.MemSize] and [BzImage.RuntimeWindow] give
// the numbers a loader needs to place the kernel. Offsets are those of
// boot.rst and zero-page.rst, checked against a table restated from the
// documents in the tests.
package bootparam
