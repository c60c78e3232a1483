// Package pageclass tells which page frames of a dumped Linux kernel a
// dump may leave out, the way makedumpfile's dump level (-d) does, by
// reading the kernel's own struct pages from its memory.
//
// # Dump levels
//
// A Level is a set of bits (makedumpfile -d): 1 zero pages, 2 page cache
// without private data, 4 page cache with or without it, 8 user process
// data, 16 free pages; 31 is all of them. Zero pages are told by their
// contents, so the dump writer checks them; the others by struct page.
//
// # Finding a page frame's struct page (SPARSEMEM)
//
// x86_64 kernels use SPARSEMEM: physical memory is cut into sections of
// 2^SECTION_SIZE_BITS bytes (2^27, 32768 pages, on x86_64), and each
// present section has an array of struct page, one per page frame.
// VMCOREINFO gives what is needed to find them: SYMBOL(mem_section),
// LENGTH(mem_section), SIZE(mem_section),
// OFFSET(mem_section.section_mem_map), NUMBER(SECTION_SIZE_BITS) and
// NUMBER(MAX_PHYSMEM_BITS). With SPARSEMEM_EXTREME, SYMBOL(mem_section) is
// the address of an array of LENGTH(mem_section) root pointers, each to a
// page holding PAGE_SIZE/SIZE(mem_section) struct mem_section (NULL roots
// have no memory); without it, a static array of all sections. A section's
// section_mem_map has flag bits in its low 5 bits (bit 0
// SECTION_MARKED_PRESENT) and above them mem_map minus the section's first
// page frame number, counted in struct pages, so page frame pfn's struct
// page is at (section_mem_map &^ 31) + pfn*SIZE(page) (mm/sparse.c).
//
// Those addresses are kernel virtual addresses. An AddressSpace turns
// them into physical ones: the kernel image (from __START_KERNEL_map,
// 0xffffffff80000000) through NUMBER(phys_base), the direct map through
// its base when known (p_vaddr - p_paddr of a vmcore's PT_LOADs), and
// everything else (vmemmap with SPARSEMEM_VMEMMAP, whose base KASLR
// randomises) by walking the kernel's 4- or 5-level page tables from
// SYMBOL(init_top_pgt), following 1 GiB and 2 MiB pages.
//
// # Classifying a struct page (Linux 6.12, include/linux/page-flags.h)
//
// The fields read are OFFSET(page.flags), _mapcount, mapping, private and
// compound_head, with the flag bits NUMBER(PG_lru), PG_private,
// PG_swapcache, PG_swapbacked, PG_head_mask and PG_hwpoison. Since Linux
// 6.12 a typed page (buddy, offline, slab, hugetlb, ...) holds its type in
// the top byte of page_type, which shares _mapcount's place; VMCOREINFO
// gives each type's value as NUMBER(PAGE_*_MAPCOUNT_VALUE) (0xf0000000 for
// buddy in 6.12), and a page has the type when the field equals it. Older
// kernels cleared one bit of an all-ones page_type; the equality holds for
// them too. In makedumpfile's order, the first rule that matches wins:
//
//  1. compound tail page (compound_head bit 0): decided by its head;
//  2. free (level bit 16): page_type buddy; the block holds 2^order page
//     frames, order in page.private (below LENGTH(zone.free_area), else
//     the page is kept and counted in Stats.BadOrder);
//  3. page cache (bit 2): on an LRU list (PG_lru) or in the swap cache
//     (PG_swapcache with PG_swapbacked), without PG_private, not anonymous;
//  4. page cache with private data (bit 4): the same with PG_private too;
//  5. user data (bit 8): anonymous (mapping bit 0, PAGE_MAPPING_ANON, and
//     not a slab page, whose fields overlay mapping) or a hugetlbfs page;
//  6. hardware-poisoned (PG_hwpoison) and logically offline pages, at any
//     level at which struct pages are read.
//
// A compound page's head decides for all 2^order page frames of the page:
// the order is the low byte of the next struct page's flags (folio
// _flags_1) since Linux 6.6, and the hugetlb type is its head's page_type
// since 6.9. Everything else is kept: kernel data, slab, page tables,
// reserved pages.
//
// # Compared with makedumpfile
//
// On the test vmcore (Linux 6.12.117, 1 GiB, KASLR) Exclude's counts equal
// those of makedumpfile 1.7.2 and of makedumpfile's development version
// (1.7.9++) exactly. Where they may differ: Stats counts a page frame only
// if it was in Exclude's input, while makedumpfile counts every page frame
// of a free block or compound page, existing or not; makedumpfile 1.7.2
// predates Linux 6.10's typed slab pages and 6.6's folio order, so on
// other dumps it may count slab pages as user data and leave compound
// tail pages in, which the development version (and this package) do
// not. makedumpfile's "Original pages" also counts the kernel-text
// PT_LOAD's pages a second time; see package dump.
//
// Everything read from the dumped memory is untrusted: garbage there gives
// wrong classes, never a panic or an out-of-bounds read.
package pageclass
