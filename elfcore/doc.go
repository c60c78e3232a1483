// Package elfcore writes the ELF core header a kdump-style second kernel
// needs to show the first kernel's memory as /proc/vmcore, and reads ELF
// vmcores: /proc/vmcore itself, or a copy written by kjump or by
// makedumpfile -E.
//
// # The ELF core header ("elfcorehdr")
//
// A kernel booted with elfcorehdr=ADDR (kexec-tools passes it; kjump's
// loader does the same) treats physical memory at ADDR as a list of what
// the previous kernel left behind: where its notes are and which RAM it
// had. It is an ELF file with no contents of its own, only headers, and
// every "file offset" in it is a physical address in the first kernel's
// memory. [Header.Marshal] writes it, all little-endian:
//
//	offset  size  field         value
//	0       4     e_ident[0:4]  7f 45 4c 46 ("\x7fELF")
//	4       1     EI_CLASS      2 (ELFCLASS64)
//	5       1     EI_DATA       1 (ELFDATA2LSB)
//	6       1     EI_VERSION    1 (EV_CURRENT)
//	7       9     EI_OSABI, pad 0
//	16      2     e_type        4 (ET_CORE)
//	18      2     e_machine     62 (EM_X86_64)
//	20      4     e_version     1
//	24      8     e_entry       0
//	32      8     e_phoff       64: the program headers follow at once
//	40      8     e_shoff       0: no sections
//	48      4     e_flags       0
//	52      2     e_ehsize      64
//	54      2     e_phentsize   56
//	56      2     e_phnum       number of program headers (never 0, never 0xffff)
//	58      6     e_shentsize, e_shnum, e_shstrndx: 0
//
// then e_phnum program headers of 56 bytes each:
//
//	offset  size  field     PT_NOTE                 PT_LOAD
//	0       4     p_type    4                       1
//	4       4     p_flags   0                       7 (PF_R|PF_W|PF_X)
//	8       8     p_offset  physical address        physical address
//	16      8     p_vaddr   0                       direct-map address, or 2^64-1 if unknown
//	24      8     p_paddr   physical address        physical address
//	32      8     p_filesz  buffer size             range size
//	40      8     p_memsz   buffer size             range size
//	48      8     p_align   0                       0
//
// Marshal writes the PT_NOTEs first, one per [Note], then the optional
// kernel-text PT_LOAD, then one PT_LOAD per [Load]: the order of
// crash_prepare_elf64_headers in kernel/crash_core.c.
//
// The header must lie where the second kernel will not allocate memory:
// x86 does not reserve it (elfcorehdr=SIZE@ADDR only records the size), so
// put it outside the RAM the second kernel is given (with memmap=exactmap,
// outside every memmap=SIZE@ADDR range). The kernel's own loader aligns it
// to 4 KiB (ELF_CORE_HEADER_ALIGN). Note that any elfcorehdr= makes
// is_kdump_kernel() true in the second kernel, so code that checks it
// takes its crash-kernel path there.
//
// # What the second kernel does with it (fs/proc/vmcore.c, Linux 6.12)
//
// parse_crash_elf64_headers reads the 64-byte ELF header at ADDR and refuses
// it ("Core image elf header is not sane") unless the magic, class 64,
// version 1 (twice), ET_CORE, EM_X86_64, e_ehsize 64, e_phentsize 56 and
// e_phnum > 0 all hold. It then reads e_phnum*56 bytes of program headers
// into pages of its own (so e_phnum is bounded by a 4 MiB allocation).
//
// merge_note_headers_elf64 then reads, for each PT_NOTE, p_memsz bytes of
// physical memory at p_offset (kmalloc'd: at most 4 MiB each) and walks the
// notes in them: a 12-byte header (n_namesz, n_descsz, n_type), the name
// and the descriptor each padded to 4 bytes, until a header with
// n_namesz == 0 or a note that would run past p_memsz ("Exceeded p_memsz,
// dropping PT_NOTE entry"). The bytes walked become that PT_NOTE's real size;
// a buffer that starts with a zero header has size 0 and logs "Zero PT_NOTE
// entries found". All real notes are copied, back to back, into one buffer
// exposed as a single PT_NOTE, which replaces program header 0; headers 1 to
// N-1 are deleted, N being the number of PT_NOTEs. So all PT_NOTEs must
// come first, or PT_LOADs are lost. If the total is zero, allocating the
// buffer fails, and the kernel logs "Kdump: vmcore not initialized": there
// is no /proc/vmcore at all.
//
// That is why per-CPU crash notes ([ReadCrashNotes]) must be listed only
// when they hold something: the kernel fills them in crash_save_cpu, when
// it crashes, not for a kexec jump. A zeroed buffer next to a valid one
// costs a warning; zeroed buffers alone cost /proc/vmcore. The VMCOREINFO
// note ([ReadVmcoreinfoNote]) is filled at boot and always holds a note;
// kexec-tools leaves it out of preserve-context loads, kjump must not.
//
// process_ptload_program_headers_elf64 turns each PT_LOAD, in header order,
// into a chunk of /proc/vmcore: it widens [p_offset, p_offset+p_memsz) to
// whole pages and appends those pages after the notes; p_paddr and p_vaddr
// are passed through untouched, p_offset is rewritten to the chunk's
// position in /proc/vmcore. The kernel needs no alignment, but two ranges
// that share a page would both export it; Marshal therefore wants the
// Loads sorted, disjoint and on distinct pages. The kernel-text PT_LOAD
// repeats physical memory a RAM range already covers; tools such as crash(8)
// use its p_vaddr/p_paddr pair to find the kernel's physical base.
//
// The resulting /proc/vmcore is again an ELF64 ET_CORE file: the ELF header
// and program headers padded to a page, the merged notes padded to a page,
// then the memory chunks. [Open] and [NewFile] read it.
//
// # Where the addresses come from
//
// [ReadVmcoreinfoNote] reads /sys/kernel/vmcoreinfo ("%pa %x": a 0x-prefixed
// address and a hexadecimal size, usually 1024 = 4132 bytes). The note
// buffer there holds the note header, "VMCOREINFO\0" padded to 12 bytes, the
// VMCOREINFO text and a terminating zero header (package vmcoreinfo).
//
// [PageOffset] finds the direct-map base (page_offset_base; randomised
// in 1 GiB steps under KASLR, 0xffff888000000000 without it) from
// /proc/kcore, whose program headers describe the running kernel's address
// space. For each System RAM range kcore has a PT_LOAD with p_vaddr =
// __va(phys) and p_paddr = phys (fs/proc/kcore.c, KCORE_RAM); vmalloc,
// module and vmemmap segments carry p_paddr = 2^64-1, and the kernel-text
// segment sits at or above __START_KERNEL_map (0xffffffff80000000). So
// p_vaddr - p_paddr of every PT_LOAD with a physical address, a kernel-half
// p_vaddr and p_vaddr below __START_KERNEL_map is the direct-map base;
// PageOffset checks that they all agree. Only the headers are read, so the
// memory behind kcore is never touched. [KernelText] reads the kernel-text
// segment from the same headers.
//
// # ELF vmcores
//
// [NewFile] accepts ELF64 little-endian ET_CORE files for EM_X86_64 and
// checks everything it reads against the file size: the program header
// table (including PN_XNUM extended numbering, whose real count is
// section header 0's sh_info, as makedumpfile writes for big dumps), every
// segment's file bytes, every note's sizes. A PT_LOAD may have
// p_filesz < p_memsz; the rest reads as zeros. [File.ReadPhys] reads
// physical memory through the PT_LOADs' p_paddr. Errors are [*FormatError]
// values matching a sentinel (ErrNotELF, ErrNotCore, ErrWrongMachine,
// ErrMalformed, ErrTruncated, ErrSegmentBeyondEOF, ErrNoteOverflow), and
// name kdump-compressed ("KDUMP   ") and flattened ("makedumpfile") files
// for what they are.
package elfcore
