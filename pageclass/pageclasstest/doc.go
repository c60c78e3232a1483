// Package pageclasstest builds small synthetic x86_64 Linux memory images
// for tests of code that classifies pages or writes dumps: physical memory
// holding a kernel's SPARSEMEM_EXTREME mem_section tables, its struct
// pages (laid out as Linux 6.12 lays them out), its page tables and
// init_uts_ns, the VMCOREINFO text that describes them, and an ELF vmcore
// of it all.
//
// The physical layout, in page frames: 0 empty; 1 init_top_pgt; 2-3 the
// direct map's PUD and PMD (2 MiB pages); 4-6 vmemmap's PUD, PMD and PTE
// table (4 KiB pages); 8 init_uts_ns; 9 the mem_section roots; 10 the
// first root's struct mem_section page; from 16 on the struct pages, 64
// bytes per page frame. Page frames from FirstFree on are the tests' to
// use. The kernel image is mapped at StartKernelMap + 16 MiB for physical
// 0, so phys_base is -16 MiB, as under KASLR it is often negative.
package pageclasstest
