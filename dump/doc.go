// Package dump copies an ELF vmcore (/proc/vmcore in a kdump or kexec-jump
// second kernel, or a saved copy) into a smaller dump file, leaving out the
// pages a crash analysis does not need, as makedumpfile does: 'kjump dump'
// is its library.
//
// # What it does
//
// Run maps SRC into memory (mmap; it reads through pread when mapping
// fails) and opens it with package elfcore, which checks every header
// against the file size, so a truncated copy or a file in another format
// is refused with a reason (a kdump-compressed SRC is "a kdump-compressed
// file already"). The page frames with contents are those the PT_LOADs
// cover; a page a segment covers only in part (e820 ranges that end
// mid-page, like 0x9fc00) is kept with its missing bytes as zeros, where
// makedumpfile drops it.
//
// The dump level (makedumpfile's -d; package pageclass) then leaves out
// classes of pages: bit 1 all-zero pages, 2 page cache, 4 page cache with
// private data, 8 user data, 16 free pages. Bits 2 to 16 need the kernel's
// struct pages, which package pageclass finds through the VMCOREINFO note;
// zero pages are found by their bytes while copying.
//
// The output is written to DST.tmp-XXXX next to DST (mode 0600: a dump
// holds all the kernel's secrets), synced and renamed to DST only when
// complete (while it is written, the kernel is asked every 4 MiB to start
// writing it back, so that the final fsync has little left); on any error, or when the context is cancelled, the temporary
// file is removed. A DST that exists is replaced only then. A DST that is
// a device (the raw disk a kexec jump's second kernel writes to) is
// written in place instead, its first block last, so that a dump cut
// short has no valid header; a failed dump zeroes the first block.
// Summary.OutputBytes then says how much of the device the dump uses.
//
// # Output formats
//
// Kdump (the default) is the kdump-compressed format of package dumpfile:
// a bitmap of page frames that exist, one of those saved, and each saved
// page compressed on its own. Zero pages stay in the bitmap and all share
// one stored zero page, as makedumpfile does, so crash reads them as
// zeros. Which compression each reader handles, for the Debian 12 tools:
//
//	              none  zlib  lzo   snappy  zstd
//	crash 8.0.2   yes   yes   yes   yes     yes
//	makedumpfile  yes   yes   yes   no      no     (1.7.2, built without snappy and zstd)
//	kjump         yes   yes   yes   yes     yes
//
// so zlib is the default: both tools read it, and it is the smallest of
// the two. LZO (package lzo, kjump's own compressor) is the fastest both
// read.
//
// ELF is an ELF64 core file like makedumpfile -E writes: a PT_NOTE with
// SRC's notes (VMCOREINFO included), then PT_LOADs in SRC's order. Each
// of SRC's PT_LOADs is cut where 256 or more consecutive pages are left
// out: the left-out pages stay inside the previous PT_LOAD's p_memsz
// beyond its p_filesz, so readers see them as zeros, and the next kept
// page starts a new PT_LOAD. Shorter left-out runs are written as zero
// bytes in place (file holes, where the file system has them). Since the
// program headers come before the pages, zero pages (level bit 1) are
// found in a first pass over the kept pages. 65535 or more program
// headers use ELF extended numbering (e_phnum 0xffff, the count in
// section header 0's sh_info).
//
// Both writers produce the same bytes whatever Options.Threads is.
//
// # Streams and logs
//
// RunFlattened writes either format as makedumpfile's flattened stream
// (package flattened) to a pipe or connection, as to a device: first block
// last, then the stream's end record. Rebuild turns such a stream back into
// the file, byte for byte what Run writes. Dmesg writes the kernel log a
// vmcore or a kdump file holds (package dmesg), as makedumpfile
// --dump-dmesg does.
//
// # A live kernel's CPU: JumpedCPU
//
// A kernel that crashed left an NT_PRSTATUS note per online CPU (its
// registers and running task) in its per-CPU crash_notes buffers, and
// /proc/vmcore lists them. A live kernel read after a kexec jump (kjump
// snapshot) has none: the buffers are zero, and crash warns "cpu 0: invalid
// NT_PRSTATUS note" because it checks the buffer of every CPU online in the
// dump. With Options.Jumped, Run writes the note crash_save_cpu would have
// for the CPU that jumped (the others were offline): its registers as
// relocate_kernel left them on the kernel stack, the task that jumped. The
// note comes first among the output's notes (Kdump's nr_cpus counts it)
// and also replaces the zeros of that CPU's crash_notes buffer in the
// output's copy of memory. A SRC with NT_PRSTATUS notes of its own is left
// as it is.
//
// # Pages SRC does not have: Overlay
//
// In the second kernel of a kexec jump, /proc/vmcore leaves out the second
// kernel's own region, but the first kernel's pages that lived there were
// only moved: the jump swapped them into the pages the kexec image was
// loaded into. Options.Overlay names, for each such page frame of the
// first kernel, the physical address that holds its contents now, and
// Options.Extra (e.g. /dev/mem) reads them. Run then treats them as part
// of SRC: they are classified (their struct pages and the kernel's page
// tables are read through the overlay too), written, and counted in
// Summary.PagesOverlay. Overlay pages win over SRC's, should both have one.
package dump
