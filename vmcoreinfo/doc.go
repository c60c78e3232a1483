// Package vmcoreinfo parses VMCOREINFO, the text a Linux kernel keeps in
// its own memory to tell dump tools how it is built: release, page size,
// where its key symbols are, the sizes and member offsets of the structs a
// tool must walk.
//
// # Where it lives
//
// At boot (kernel/vmcore_info.c, crash_save_vmcoreinfo_init) the kernel
// writes the text into a page and wraps it in an ELF note in a second
// buffer, whose physical address and size /sys/kernel/vmcoreinfo shows as
// "0x000000000105e000 1024" (address and size both hexadecimal; 0x1024 =
// 4132 = [NoteSize]). The buffer, little-endian:
//
//	offset  size       field
//	0       4          n_namesz = 11, len("VMCOREINFO") + NUL
//	4       4          n_descsz = length of the text, no NUL
//	8       4          n_type   = 0
//	12      12         "VMCOREINFO\0" and one byte of padding to 4
//	24      n_descsz   the text, then zero padding to a multiple of 4
//	...     12         an empty note header (all zero) ending the list
//	...                zeros up to NoteSize
//
// [ParseNote] takes the buffer (or a prefix holding the note) and returns
// the text. The same note appears in /proc/kcore and, when the ELF core
// header lists the buffer, in a second kernel's /proc/vmcore (package
// elfcore reads it from there).
//
// # The text
//
// ASCII lines "KEY=VALUE\n", at most one page in all (VMCOREINFO_BYTES),
// each line at most 79 bytes (vmcoreinfo_append_str formats into an
// 80-byte buffer). The keys a 6.12 x86_64 kernel writes, in order, and how
// the values are printed:
//
//	OSRELEASE=%s                 uname -r
//	BUILD-ID=%20phN              40 hex digits: vmlinux's GNU build ID (zeros if none)
//	PAGESIZE=%ld                 4096
//	SYMBOL(name)=%lx             address of name (hex, no 0x); for the "array"
//	                             symbols swapper_pg_dir, vmemmap, mem_section
//	                             the value of the pointer
//	NUMBER(VMALLOC_START)=0x%lx  the one NUMBER printed in hex
//	SIZE(name)=%lu               sizeof(struct name) or sizeof(name)
//	OFFSET(struct.member)=%lu    offsetof(struct struct, member)
//	LENGTH(name)=%lu             an array's length, e.g. LENGTH(zone.free_area)
//	NUMBER(name)=%ld             a constant or variable, signed decimal
//	NUMBER(pgtable_l5_enabled)=%d
//	KERNELOFFSET=%lx             KASLR virtual displacement (hex, no 0x)
//	CONFIG_NAME=y                (VMCOREINFO_CONFIG; unused on x86_64 in 6.12)
//	CRASHTIME=%lld               added by crash_save_vmcoreinfo, only on a crash
//
// SYMBOL: init_uts_ns, node_online_map, swapper_pg_dir, _stext, mem_map and
// contig_page_data (without NUMA), vmemmap, mem_section, prb,
// printk_rb_static, clear_seq, kallsyms_names, kallsyms_num_syms,
// kallsyms_token_table, kallsyms_token_index, kallsyms_offsets,
// kallsyms_relative_base, init_top_pgt, node_data (NUMA). SIZE: page,
// pglist_data, zone, free_area, list_head, nodemask_t, mem_section, the
// printk ring-buffer structs, atomic_long_t, latched_seq. NUMBER:
// SECTION_SIZE_BITS, MAX_PHYSMEM_BITS, NR_FREE_PAGES, PG_lru, PG_private,
// PG_swapcache, PG_swapbacked, PG_hwpoison (MEMORY_FAILURE), PG_head_mask,
// PAGE_{BUDDY,SLAB,HUGETLB,OFFLINE}_MAPCOUNT_VALUE, phys_base,
// KERNEL_IMAGE_SIZE, sme_mask. Other architectures add their own keys;
// [Parse] keeps unknown ones in [Info.Raw].
//
// # Identity
//
// [Info.Identity] names the kernel build: release plus build ID, or, for a
// kernel without a build ID, release plus a hash of the build-determined
// lines (struct layouts and kernel-image symbols with the KASLR offset
// taken out). kjump uses it to refuse resuming a hibernation image under
// a different kernel build.
package vmcoreinfo
