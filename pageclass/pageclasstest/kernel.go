package pageclasstest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"github.com/kjump/kjump/vmcoreinfo"
)

// Layout constants of the synthetic kernel.
const (
	PageSize              = 4096
	PageOffset     uint64 = 0xffff888000000000 // direct-map base
	VmemmapBase    uint64 = 0xffffea0000000000
	StartKernelMap uint64 = 0xffffffff80000000
	imageOffset           = 16 << 20                 // _text is at StartKernelMap + imageOffset, physical 0
	PhysBase              = ^uint64(imageOffset - 1) // -imageOffset

	SectionSizeBits = 20 // 256 page frames per section
	PagesPerSection = 1 << (SectionSizeBits - 12)
	MaxPhysmemBits  = 46
	StructPageSize  = 64

	pfnPGD     = 1
	pfnDirPUD  = 2
	pfnDirPMD  = 3
	pfnVmmPUD  = 4
	pfnVmmPMD  = 5
	pfnVmmPTE  = 6
	pfnUTS     = 8
	pfnRoots   = 9
	pfnSection = 10
	pfnMemMap  = 16

	// Page flag bits and page types of Linux 6.12.
	PGLRU        = 5
	PGHead       = 6
	PGSwapCache  = 10
	PGPrivate    = 14
	PGSwapBacked = 17
	PGHWPoison   = 22
	TypeBuddy    = 0xf0000000
	TypeOffline  = 0xf1000000
	TypeHugetlb  = 0xf4000000
	TypeSlab     = 0xf5000000
	NoType       = 0xffffffff // page_type of a page without one (_mapcount -1)
)

// Kernel is a synthetic kernel's physical memory. Set up struct pages
// with the Set* methods, then read it through ReadPhys, VMCOREINFO and
// ELF.
type Kernel struct {
	MaxPFN  uint64
	Vmemmap bool // mem_map at VmemmapBase, mapped through page tables
	Release string
	mem     []byte
	holes   map[uint64]bool // sections without memory
}

// New returns a kernel with maxPFN page frames of memory (at least
// FirstFree+1; rounded up to whole sections), every struct page without
// flags or type.
func New(maxPFN uint64, vmemmap bool) *Kernel {
	maxPFN = max(maxPFN, FirstFree(maxPFN)+1)
	maxPFN = (maxPFN + PagesPerSection - 1) / PagesPerSection * PagesPerSection
	k := &Kernel{MaxPFN: maxPFN, Vmemmap: vmemmap, Release: "6.12.0-fake", mem: make([]byte, maxPFN*PageSize), holes: map[uint64]bool{}}
	for pfn := range maxPFN {
		k.SetPage(pfn, Page{Mapcount: NoType})
	}
	k.buildTables()
	return k
}

// FirstFree is the first page frame the kernel's own structures leave
// free, for a kernel of maxPFN page frames.
func FirstFree(maxPFN uint64) uint64 {
	return pfnMemMap + (maxPFN*StructPageSize+PageSize-1)/PageSize
}

// Hole removes section nr's memory: its mem_section says "not present"
// and ELF leaves it out.
func (k *Kernel) Hole(nr uint64) {
	k.holes[nr] = true
	k.buildTables()
}

func (k *Kernel) put64(phys, v uint64) { binary.LittleEndian.PutUint64(k.mem[phys:], v) }

// memMapVirt is the virtual address of page frame 0's struct page.
func (k *Kernel) memMapVirt() uint64 {
	if k.Vmemmap {
		return VmemmapBase
	}
	return PageOffset + pfnMemMap*PageSize
}

func (k *Kernel) buildTables() {
	const present, rw, ps = 1, 2, 0x80
	idx := func(v uint64, level uint) uint64 { return (v >> (12 + 9*(level-1))) & 511 }
	// Direct map: PGD -> PUD -> PMD of 2 MiB pages over all memory.
	k.put64(pfnPGD*PageSize+8*idx(PageOffset, 4), pfnDirPUD*PageSize|present|rw)
	k.put64(pfnDirPUD*PageSize+8*idx(PageOffset, 3), pfnDirPMD*PageSize|present|rw)
	for i := uint64(0); i*(2<<20) < k.MaxPFN*PageSize && i < 512; i++ {
		k.put64(pfnDirPMD*PageSize+8*i, i*(2<<20)|present|rw|ps)
	}
	// vmemmap: PGD -> PUD -> PMD -> PTE of 4 KiB pages over the struct pages.
	k.put64(pfnPGD*PageSize+8*idx(VmemmapBase, 4), pfnVmmPUD*PageSize|present|rw)
	k.put64(pfnVmmPUD*PageSize+8*idx(VmemmapBase, 3), pfnVmmPMD*PageSize|present|rw)
	k.put64(pfnVmmPMD*PageSize+8*idx(VmemmapBase, 2), pfnVmmPTE*PageSize|present|rw)
	for i := range min(FirstFree(k.MaxPFN)-pfnMemMap, 512) {
		k.put64(pfnVmmPTE*PageSize+8*i, (pfnMemMap+i)*PageSize|present|rw)
	}
	// mem_section: one root pointer, one page of sections.
	k.put64(pfnRoots*PageSize, PageOffset+pfnSection*PageSize)
	for nr := uint64(0); nr < k.MaxPFN/PagesPerSection && nr < PageSize/16; nr++ {
		v := uint64(0)
		if !k.holes[nr] {
			v = k.memMapVirt() | 0x3 // SECTION_MARKED_PRESENT | SECTION_HAS_MEM_MAP
		}
		k.put64(pfnSection*PageSize+16*nr, v)
	}
	// init_uts_ns.name: six 65-byte fields.
	uts := k.mem[pfnUTS*PageSize : pfnUTS*PageSize+6*65]
	clear(uts)
	for i, s := range []string{"Linux", "fake", k.Release, "#1 SMP", "x86_64", "(none)"} {
		copy(uts[i*65:], s)
	}
}

// Page is the part of a struct page the classification reads.
type Page struct {
	Flags        uint64
	Mapcount     uint32 // page_type for typed pages
	Mapping      uint64
	Private      uint64
	CompoundHead uint64 // bit 0 set in tail pages: the head's struct page address + 1
}

// Struct page member offsets, those of Linux 6.12 x86_64.
const (
	offFlags    = 0
	offLRU      = 8 // compound_head shares it
	offMapping  = 24
	offPrivate  = 40
	offMapcount = 48
)

func (k *Kernel) structPage(pfn uint64) []byte {
	off := pfnMemMap*PageSize + pfn*StructPageSize
	return k.mem[off : off+StructPageSize]
}

// StructPageVirt is the virtual address of pfn's struct page.
func (k *Kernel) StructPageVirt(pfn uint64) uint64 { return k.memMapVirt() + pfn*StructPageSize }

// SetPage writes pfn's struct page.
func (k *Kernel) SetPage(pfn uint64, p Page) {
	b := k.structPage(pfn)
	clear(b)
	binary.LittleEndian.PutUint64(b[offFlags:], p.Flags)
	binary.LittleEndian.PutUint64(b[offLRU:], p.CompoundHead)
	binary.LittleEndian.PutUint64(b[offMapping:], p.Mapping)
	binary.LittleEndian.PutUint64(b[offPrivate:], p.Private)
	binary.LittleEndian.PutUint32(b[offMapcount:], p.Mapcount)
}

// SetFree makes [pfn, pfn+2^order) a free buddy block.
func (k *Kernel) SetFree(pfn uint64, order uint) {
	k.SetPage(pfn, Page{Mapcount: TypeBuddy, Private: uint64(order)})
	for q := pfn + 1; q < pfn+1<<order; q++ {
		k.SetPage(q, Page{Mapcount: NoType})
	}
}

// SetCompound makes [pfn, pfn+2^order) a compound page whose head is
// head (PG_head is added); the order goes into the second struct page's
// flags (folio._flags_1), tails point at the head.
func (k *Kernel) SetCompound(pfn uint64, order uint, head Page) {
	head.Flags |= 1 << PGHead
	k.SetPage(pfn, head)
	for q := pfn + 1; q < pfn+1<<order; q++ {
		t := Page{Mapcount: NoType, CompoundHead: k.StructPageVirt(pfn) + 1}
		if q == pfn+1 {
			t.Flags = uint64(order)
		}
		k.SetPage(q, t)
	}
}

// Common struct pages.
var (
	CachePage        = Page{Flags: 1 << PGLRU, Mapcount: NoType, Mapping: PageOffset + 0x5000}
	CachePrivatePage = Page{Flags: 1<<PGLRU | 1<<PGPrivate, Mapcount: NoType, Mapping: PageOffset + 0x5000}
	SwapCachePage    = Page{Flags: 1<<PGSwapCache | 1<<PGSwapBacked, Mapcount: NoType, Mapping: PageOffset + 0x5000}
	AnonPage         = Page{Flags: 1<<PGLRU | 1<<PGSwapBacked, Mapcount: 0, Mapping: PageOffset + 0x6001}
	SlabPage         = Page{Mapcount: TypeSlab, Mapping: 0x3} // a slab whose field over mapping is odd
	OfflinePage      = Page{Mapcount: TypeOffline}
	PoisonedPage     = Page{Flags: 1 << PGHWPoison, Mapcount: NoType}
	HugetlbHead      = Page{Mapcount: TypeHugetlb}
)

// WritePage sets pfn's contents.
func (k *Kernel) WritePage(pfn uint64, data []byte) {
	copy(k.mem[pfn*PageSize:(pfn+1)*PageSize], data)
}

// ReadPhys reads physical memory; it implements pageclass.Memory.
func (k *Kernel) ReadPhys(p []byte, phys uint64) (int, error) {
	if phys >= uint64(len(k.mem)) || uint64(len(p)) > uint64(len(k.mem))-phys {
		n := 0
		if phys < uint64(len(k.mem)) {
			n = copy(p, k.mem[phys:])
		}
		return n, fmt.Errorf("pageclasstest: physical %#x+%#x beyond memory", phys, len(p))
	}
	return copy(p, k.mem[phys:]), nil
}

// Bytes is the whole physical memory; changes show in the kernel.
func (k *Kernel) Bytes() []byte { return k.mem }

// VMCOREINFO is the text the kernel would publish.
func (k *Kernel) VMCOREINFO() []byte {
	var b bytes.Buffer
	sym := func(name string, v uint64) { fmt.Fprintf(&b, "SYMBOL(%s)=%x\n", name, v) }
	num := func(name string, v int64) { fmt.Fprintf(&b, "NUMBER(%s)=%d\n", name, v) }
	fmt.Fprintf(&b, "OSRELEASE=%s\nPAGESIZE=4096\n", k.Release)
	image := func(phys uint64) uint64 { return StartKernelMap + imageOffset + phys }
	sym("init_uts_ns", image(pfnUTS*PageSize)) // name is at offset 0
	fmt.Fprintf(&b, "OFFSET(uts_namespace.name)=0\n")
	sym("swapper_pg_dir", image(pfnPGD*PageSize))
	sym("_stext", image(0))
	if k.Vmemmap {
		sym("vmemmap", VmemmapBase)
	}
	sym("mem_section", PageOffset+pfnRoots*PageSize)
	nrSections := uint64(1) << (MaxPhysmemBits - SectionSizeBits)
	fmt.Fprintf(&b, "LENGTH(mem_section)=%d\nSIZE(mem_section)=16\nOFFSET(mem_section.section_mem_map)=0\n", nrSections/(PageSize/16))
	num("SECTION_SIZE_BITS", SectionSizeBits)
	num("MAX_PHYSMEM_BITS", MaxPhysmemBits)
	fmt.Fprintf(&b, "SIZE(page)=%d\nOFFSET(page.flags)=%d\nOFFSET(page._refcount)=52\nOFFSET(page.mapping)=%d\nOFFSET(page.lru)=%d\nOFFSET(page._mapcount)=%d\nOFFSET(page.private)=%d\nOFFSET(page.compound_head)=%d\n",
		StructPageSize, offFlags, offMapping, offLRU, offMapcount, offPrivate, offLRU)
	fmt.Fprintf(&b, "LENGTH(zone.free_area)=11\n")
	num("PG_lru", PGLRU)
	num("PG_private", PGPrivate)
	num("PG_swapcache", PGSwapCache)
	num("PG_swapbacked", PGSwapBacked)
	typ := func(name string, v uint32) { num(name, int64(int32(v))) }
	typ("PAGE_SLAB_MAPCOUNT_VALUE", TypeSlab)
	num("PG_hwpoison", PGHWPoison)
	num("PG_head_mask", 1<<PGHead)
	typ("PAGE_BUDDY_MAPCOUNT_VALUE", TypeBuddy)
	typ("PAGE_HUGETLB_MAPCOUNT_VALUE", TypeHugetlb)
	typ("PAGE_OFFLINE_MAPCOUNT_VALUE", TypeOffline)
	num("phys_base", -imageOffset)
	sym("init_top_pgt", image(pfnPGD*PageSize))
	num("pgtable_l5_enabled", 0)
	fmt.Fprintf(&b, "KERNELOFFSET=%x\n", imageOffset)
	num("KERNEL_IMAGE_SIZE", 1<<30)
	num("sme_mask", 0)
	return b.Bytes()
}

// Info is VMCOREINFO parsed.
func (k *Kernel) Info() *vmcoreinfo.Info {
	info, err := vmcoreinfo.Parse(k.VMCOREINFO())
	if err != nil {
		panic(err) // the text above is well-formed
	}
	return info
}

// Range is a span of physical memory [Start, Start+Size).
type Range struct{ Start, Size uint64 }

// RAM returns the memory ranges: all of it, less the holes.
func (k *Kernel) RAM() []Range {
	var rs []Range
	for nr := range k.MaxPFN / PagesPerSection {
		if k.holes[nr] {
			continue
		}
		start := nr * PagesPerSection * PageSize
		if n := len(rs); n > 0 && rs[n-1].Start+rs[n-1].Size == start {
			rs[n-1].Size += PagesPerSection * PageSize
			continue
		}
		rs = append(rs, Range{start, PagesPerSection * PageSize})
	}
	return rs
}

// ELF returns an ELF vmcore of the kernel, as /proc/vmcore shows it: a
// PT_NOTE with the VMCOREINFO note, then one PT_LOAD per range (with
// p_vaddr in the direct map when withVirt, else 2^64-1), each range's
// bytes page-aligned in the file. nil ranges means RAM().
func (k *Kernel) ELF(ranges []Range, withVirt bool) []byte {
	if ranges == nil {
		ranges = k.RAM()
	}
	note := vmcoreinfo.AppendNote(nil, k.VMCOREINFO())
	phnum := 1 + len(ranges)
	hdr := make([]byte, 64+56*phnum)
	copy(hdr, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(hdr[16:], 4)  // ET_CORE
	le.PutUint16(hdr[18:], 62) // EM_X86_64
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[32:], 64)
	le.PutUint16(hdr[52:], 64)
	le.PutUint16(hdr[54:], 56)
	le.PutUint16(hdr[56:], uint16(phnum))
	noteOff := uint64(len(hdr))
	off := (noteOff + uint64(len(note)) + PageSize - 1) &^ (PageSize - 1)
	ph := func(i int, typ uint32, flags uint32, o, va, pa, sz uint64) {
		p := hdr[64+56*i:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[8:], o)
		le.PutUint64(p[16:], va)
		le.PutUint64(p[24:], pa)
		le.PutUint64(p[32:], sz)
		le.PutUint64(p[40:], sz)
	}
	ph(0, 4, 0, noteOff, 0, 0, uint64(len(note)))
	out := make([]byte, 0, off+k.MaxPFN*PageSize)
	var data [][]byte
	for i, r := range ranges {
		va := ^uint64(0)
		if withVirt {
			va = PageOffset + r.Start
		}
		ph(1+i, 1, 7, off, va, r.Start, r.Size)
		data = append(data, k.mem[r.Start:r.Start+r.Size])
		off += (r.Size + PageSize - 1) &^ (PageSize - 1)
	}
	out = append(out, hdr...)
	out = append(out, note...)
	for _, d := range data {
		out = append(out, make([]byte, (uint64(len(out))+PageSize-1)&^(PageSize-1)-uint64(len(out)))...)
		out = append(out, d...)
	}
	return out
}

// RealVmcore returns the path of a real vmcore for tests that need one: a copy of
// /proc/vmcore from a lab guest's second kernel (1 GiB, Linux 6.12.117, KASLR,
// SMP), named by $KJUMP_TEST_VMCORE or at the lab's default place. It is too big
// to commit; without it the test is skipped.
func RealVmcore(t testing.TB) string {
	t.Helper()
	path := os.Getenv("KJUMP_TEST_VMCORE")
	if path == "" {
		path = "/work/testdata-lab/vmcore-lab.elf"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no real vmcore (set KJUMP_TEST_VMCORE): %v", err)
	}
	return path
}
