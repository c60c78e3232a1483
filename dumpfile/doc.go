// Package dumpfile writes and reads kdump-compressed dump files, the
// "diskdump" format with signature "KDUMP   " that makedumpfile writes and
// the crash utility reads, so that a snapshot of physical memory taken by
// kjump can be opened with those tools.
//
// # The format
//
// A dump file is a sequence of blocks of block_size bytes (the page size,
// 4096 on x86-64): a header block, sub header blocks, two bitmaps, then the
// page descriptor table and the pages, which are not block-aligned. All
// integers are little-endian (the dumped machine's byte order; only
// little-endian 64-bit dumps are handled). Offsets below are from the start
// of the file, for 4096-byte blocks.
//
// Block 0 is struct disk_dump_header (464 bytes, then zeros):
//
//	  0  char signature[8]          "KDUMP   "
//	  8  int header_version         6
//	 12  struct new_utsname         sysname, nodename, release, version,
//	                                machine, domainname: 6 × char[65]
//	408  struct timeval timestamp   tv_sec, tv_usec: 2 × int64
//	424  uint status                FlagZlib 0x1, FlagLZO 0x2, FlagSnappy 0x4,
//	                                FlagIncomplete 0x8, FlagExcludedVmemmap 0x10,
//	                                FlagZstd 0x20
//	428  int block_size
//	432  int sub_hdr_size           blocks of sub header, notes, VMCOREINFO
//	436  uint bitmap_blocks         blocks of both bitmaps together
//	440  uint max_mapnr             page frames covered, clipped to 32 bits
//	444  uint total_ram_blocks, device_blocks, written_blocks, current_cpu:
//	                                unused, zero
//	460  int nr_cpus
//
// Blocks 1 to sub_hdr_size hold struct kdump_sub_header (104 bytes) and
// then the ELF notes (Elf64_Nhdr records: one NT_PRSTATUS per CPU, and a
// "VMCOREINFO" note whose descriptor is the kernel's VMCOREINFO text):
//
//	4096  ulong phys_base            the kernel's physical load offset (x86-64
//	                                 phys_base: __pa = va - __START_KERNEL_map
//	                                 + phys_base for kernel text)
//	4104  int dump_level             makedumpfile -d; bit 1: zero pages shared
//	4108  int split                  1 in one file of a makedumpfile --split set
//	4112  ulong start_pfn, end_pfn   start_pfn_64, end_pfn_64 clipped to 32 bits
//	4128  off_t offset_vmcoreinfo    of the VMCOREINFO text (inside the notes)
//	4136  ulong size_vmcoreinfo
//	4144  off_t offset_note          4200: right after this header
//	4152  ulong size_note
//	4160  off_t offset_eraseinfo     makedumpfile --config's log, after the pages
//	4168  ulong size_eraseinfo
//	4176  u64 start_pfn_64, end_pfn_64   the page frames of a split file
//	4192  u64 max_mapnr_64           page frames covered
//
// Then come two bitmaps of bitmap_blocks/2 blocks each, bit pfn%8 of byte
// pfn/8 standing for page frame pfn: the 1st marks the page frames that
// exist, the 2nd those whose contents are in the file.
//
// Then comes the page descriptor table: one 24-byte page_desc_t {int64
// offset, uint32 size, uint32 flags, uint64 page_flags} for each page frame
// set in the 2nd bitmap, in page frame order. Finding page frame pfn's
// descriptor means counting the bits set below pfn. flags names the
// compression of the size bytes at offset (one of the status compression
// bits), or is 0 for a raw page of block_size bytes; zlib data is a zlib
// stream, Snappy data is the raw Snappy block format (not the framed one),
// zstd data one zstd frame, LZO data LZO1X.
//
// Then come the pages, in the same order, right after the table. As
// makedumpfile does at dump level bit 1, Write stores one all-zero page
// first, and the descriptor of every all-zero page points at it; it stores
// a page raw when its compressed form is not smaller than a block, and
// sets the compression status bit of the whole file.
//
// # What can read what
//
// Debian 12's crash 8.0.2 is linked with liblzo2, libsnappy and libzstd
// and has zlib, so it reads all five kinds of page (raw, zlib, LZO, Snappy,
// zstd). Debian 12's makedumpfile 1.7.2 is built with zlib and LZO only
// ("makedumpfile -v": snappy and zstd disabled), so it reads and writes
// raw, zlib and LZO pages. The tests check this: crash --log and
// makedumpfile --dump-dmesg print the kernel log of dumps this package
// writes, and files makedumpfile writes are read here. Neither program
// knows LZ4, and neither does this package.
//
// Write compresses with None, Zlib (package zpage, made for one page at a
// time), LZO (package lzo, kjump's own LZO1X compressor), Snappy or Zstd;
// Zlib and LZO are what both crash and makedumpfile read. Open reads all
// five (LZO through github.com/anchore/go-lzo). A PageSource that maps its
// pages can offer them in place (PageMapper) and be told when they are
// written (PageReleaser), so that Write neither copies them nor keeps
// them in memory.
//
// Not handled: makedumpfile's flattened format (makedumpfile -F, QEMU's
// dump-guest-memory -z; Open says ErrFlattened: package flattened, kjump
// dump -R or makedumpfile -R rebuilds it), the older "DISKDUMP" format, and big-endian dumps.
// Open reads one file of a split set (the page frames it holds); joining
// the set is left to the caller.
package dumpfile
