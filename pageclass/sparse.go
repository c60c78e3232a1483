package pageclass

import (
	"encoding/binary"
	"fmt"

	"github.com/kjump/kjump/vmcoreinfo"
)

// sectionMapMask clears the flag bits of mem_section.section_mem_map:
// SECTION_MARKED_PRESENT (bit 0), SECTION_HAS_MEM_MAP, SECTION_IS_ONLINE,
// SECTION_IS_EARLY and, with ZONE_DEVICE, SECTION_TAINT_ZONE_DEVICE
// (include/linux/mmzone.h, Linux 6.12). The encoded pointer is aligned far
// beyond these bits, so clearing five is right for older kernels too.
const (
	sectionMapMask       = ^uint64(1<<5 - 1)
	sectionMarkedPresent = 1
)

// sparseMaps finds each memory section's struct pages. A section covers
// 2^(SECTION_SIZE_BITS-PAGE_SHIFT) page frames; memMaps[nr] is section
// nr's decoded section_mem_map, so that page frame pfn's struct page is at
// memMaps[nr] + pfn*SIZE(page), or 0 when the section has none.
type sparseMaps struct {
	shift   uint // PFN_SECTION_SHIFT
	memMaps []uint64
}

func (s *sparseMaps) memMap(pfn uint64) (uint64, bool) {
	nr := pfn >> s.shift
	if nr >= uint64(len(s.memMaps)) || s.memMaps[nr] == 0 {
		return 0, false
	}
	return s.memMaps[nr], true
}

// readSparse walks mem_section for the sections that cover page frames
// [0, maxPFN).
//
// With SPARSEMEM_EXTREME (every x86_64 distribution kernel) mem_section
// is a pointer to NR_SECTION_ROOTS = LENGTH(mem_section) pointers, each to
// a page of PAGE_SIZE/SIZE(mem_section) struct mem_section, or NULL; the
// kernel writes the pointer's value as SYMBOL(mem_section). Without it,
// mem_section is a static array of NR_MEM_SECTIONS structs. Each struct's
// section_mem_map holds flag bits and, above them, the section's mem_map
// minus its first page frame number (in struct page units), so that
// mem_map + pfn is pfn's struct page whatever section it is in
// (sparse_encode_mem_map in mm/sparse.c). With SPARSEMEM_VMEMMAP all
// sections decode to the same base, vmemmap_base; without it each
// section's mem_map is a direct-map allocation.
func readSparse(info *vmcoreinfo.Info, as *AddressSpace, pageSz, pageStructSize, maxPFN uint64) (*sparseMaps, error) {
	sym, ok := info.Symbol("mem_section")
	if !ok {
		return nil, fmt.Errorf("pageclass: VMCOREINFO has no SYMBOL(mem_section), so the kernel is not SPARSEMEM: %w", ErrUnsupported)
	}
	roots, ok := info.Length("mem_section")
	if !ok {
		return nil, missing("LENGTH(mem_section)")
	}
	msSize, ok := info.Size("mem_section")
	if !ok {
		return nil, missing("SIZE(mem_section)")
	}
	mapOff, ok := info.Offset("mem_section.section_mem_map")
	if !ok {
		return nil, missing("OFFSET(mem_section.section_mem_map)")
	}
	secBits, ok := info.Number("SECTION_SIZE_BITS")
	if !ok {
		return nil, missing("NUMBER(SECTION_SIZE_BITS)")
	}
	physBits, ok := info.Number("MAX_PHYSMEM_BITS")
	if !ok {
		return nil, missing("NUMBER(MAX_PHYSMEM_BITS)")
	}
	if msSize < 8 || uint64(msSize) > pageSz {
		return nil, bad("SIZE(mem_section)", "%d", msSize)
	}
	if mapOff < 0 || mapOff+8 > msSize {
		return nil, bad("OFFSET(mem_section.section_mem_map)", "%d is outside a %d-byte struct mem_section", mapOff, msSize)
	}
	if secBits <= pageShift || physBits < secBits || physBits > 64 || physBits-secBits > 40 {
		return nil, bad("NUMBER(SECTION_SIZE_BITS)", "%d with MAX_PHYSMEM_BITS %d", secBits, physBits)
	}
	nrSections := uint64(1) << uint(physBits-secBits)
	perRootExtreme := pageSz / uint64(msSize)
	var perRoot uint64
	switch uint64(roots) {
	case (nrSections + perRootExtreme - 1) / perRootExtreme:
		perRoot = perRootExtreme
	case nrSections:
		perRoot = 1
	default:
		return nil, bad("LENGTH(mem_section)", "%d roots fit neither SPARSEMEM_EXTREME (%d) nor SPARSEMEM (%d)", roots, (nrSections+perRootExtreme-1)/perRootExtreme, nrSections)
	}
	s := &sparseMaps{shift: uint(secBits) - pageShift}
	want := (maxPFN + 1<<s.shift - 1) >> s.shift
	want = min(want, nrSections)
	s.memMaps = make([]uint64, want)
	if want == 0 {
		return s, nil
	}
	g := sparseGeometry{msSize: uint64(msSize), mapOff: uint64(mapOff), perRoot: perRoot, pageStruct: pageStructSize, shift: s.shift}
	if perRoot == 1 {
		// A static array: the symbol is the array itself.
		if err := g.readStatic(as, sym, s.memMaps); err != nil {
			return nil, err
		}
		return s, nil
	}
	// SYMBOL(mem_section) is the pointer's value since Linux 4.15 (commit
	// a0b1280368d1); a kernel that wrote the pointer's address instead
	// shows no valid section at the value, so try once more through it.
	n, err := g.readExtreme(as, sym, s.memMaps)
	if err == nil && n > 0 {
		return s, nil
	}
	if ptr, perr := as.readU64(sym); perr == nil && ptr != 0 {
		clear(s.memMaps)
		if n2, err2 := g.readExtreme(as, ptr, s.memMaps); err2 == nil && n2 > 0 {
			return s, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("pageclass: mem_section at %#x holds no present section below page frame %#x: %w", sym, maxPFN, ErrNoMemMap)
}

type sparseGeometry struct {
	msSize, mapOff, perRoot, pageStruct uint64
	shift                               uint
}

// decode turns a section_mem_map value into the base that page frame
// numbers index (mem_map minus the section's first page frame), or 0 for
// a section without struct pages. A present section whose first struct
// page is not at a kernel address makes the whole reading invalid (ok
// false).
func (g sparseGeometry) decode(nr, v uint64) (uint64, bool) {
	if v&sectionMarkedPresent == 0 {
		return 0, true
	}
	coded := v & sectionMapMask
	first := coded + (nr<<g.shift)*g.pageStruct
	return coded, first >= kernelHalf && coded != 0
}

func (g sparseGeometry) readExtreme(as *AddressSpace, rootsAddr uint64, out []uint64) (present int, err error) {
	nroots := (uint64(len(out)) + g.perRoot - 1) / g.perRoot
	rootBuf := make([]byte, 8*nroots)
	if err := as.ReadVirt(rootBuf, rootsAddr); err != nil {
		return 0, fmt.Errorf("pageclass: reading the mem_section roots: %w", err)
	}
	secBuf := make([]byte, g.perRoot*g.msSize)
	for r := range nroots {
		root := binary.LittleEndian.Uint64(rootBuf[8*r:])
		if root == 0 {
			continue
		}
		if err := as.ReadVirt(secBuf, root); err != nil {
			return 0, fmt.Errorf("pageclass: reading mem_section root %d: %w", r, err)
		}
		for i := range g.perRoot {
			nr := r*g.perRoot + i
			if nr >= uint64(len(out)) {
				break
			}
			m, ok := g.decode(nr, binary.LittleEndian.Uint64(secBuf[i*g.msSize+g.mapOff:]))
			if !ok {
				return 0, nil
			}
			if m != 0 {
				out[nr] = m
				present++
			}
		}
	}
	return present, nil
}

func (g sparseGeometry) readStatic(as *AddressSpace, arr uint64, out []uint64) error {
	buf := make([]byte, uint64(len(out))*g.msSize)
	if err := as.ReadVirt(buf, arr); err != nil {
		return fmt.Errorf("pageclass: reading mem_section: %w", err)
	}
	for nr := range uint64(len(out)) {
		m, ok := g.decode(nr, binary.LittleEndian.Uint64(buf[nr*g.msSize+g.mapOff:]))
		if !ok {
			return fmt.Errorf("pageclass: mem_section[%d] decodes to mem_map %#x, not a kernel address: %w", nr, m+(nr<<g.shift)*g.pageStruct, ErrBadValue)
		}
		out[nr] = m
	}
	return nil
}
