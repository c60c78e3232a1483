package pageclass

import (
	"encoding/binary"
	"fmt"

	"github.com/kjump/kjump/vmcoreinfo"
)

// Memory is physical memory of the dumped kernel: an *elfcore.File, or
// anything else that reads bytes by physical address. A short read must
// come with an error.
type Memory interface {
	ReadPhys(p []byte, phys uint64) (int, error)
}

// x86_64 virtual memory layout constants (arch/x86/include/asm).
const (
	// StartKernelMap is __START_KERNEL_map: the kernel image is mapped at
	// StartKernelMap + (phys - phys_base).
	StartKernelMap uint64 = 0xffffffff80000000
	// kernelHalf is the lowest kernel address with 4-level paging
	// (5-level paging starts lower, at 0xff00000000000000).
	kernelHalf uint64 = 0xff00000000000000

	defaultKernelImageSize uint64 = 1 << 30
	pageShift                     = 12
	pageSize                      = 1 << pageShift
	pteAddrMask            uint64 = 0x000ffffffffff000 // bits 12-51
	ptePresent             uint64 = 1 << 0
	ptePSE                 uint64 = 1 << 7 // a 1 GiB (PUD) or 2 MiB (PMD) page
)

// AddressSpace translates the dumped kernel's virtual addresses to physical
// ones, the way makedumpfile does on x86_64: kernel-image addresses through
// phys_base, direct-map addresses through the direct-map base when it is
// known, and everything else (vmemmap, and the direct map when its base is
// not known) by walking the kernel's page tables from init_top_pgt.
type AddressSpace struct {
	mem        Memory
	pageOffset uint64 // direct-map base; 0 when unknown
	directSize uint64 // bytes of physical address space the direct map covers
	physBase   uint64
	imageSize  uint64
	havePB     bool
	pgd        uint64 // physical address of init_top_pgt; 0 when unknown
	levels     int    // 4 or 5
	smeMask    uint64

	// A one-entry cache of the last page-table translation.
	tlbVirt, tlbPhys, tlbSize uint64
}

// NewAddressSpace prepares translations for the kernel VMCOREINFO info
// describes. pageOffset is the direct-map base (page_offset_base), or 0
// when not known: elfcore.PageOffset finds it in /proc/kcore, and the
// PT_LOADs of a vmcore whose p_vaddr is set give it as p_vaddr - p_paddr.
func NewAddressSpace(info *vmcoreinfo.Info, mem Memory, pageOffset uint64) (*AddressSpace, error) {
	a := &AddressSpace{mem: mem, pageOffset: pageOffset, imageSize: defaultKernelImageSize, levels: 4}
	if pageOffset != 0 && pageOffset < kernelHalf {
		return nil, fmt.Errorf("pageclass: direct-map base %#x is not a kernel address: %w", pageOffset, ErrBadValue)
	}
	if n, ok := info.Number("phys_base"); ok {
		a.physBase, a.havePB = uint64(n), true
	}
	if n, ok := info.Number("KERNEL_IMAGE_SIZE"); ok && n > 0 && uint64(n) <= 1<<31 {
		a.imageSize = uint64(n)
	}
	if n, ok := info.Number("pgtable_l5_enabled"); ok && n != 0 {
		a.levels = 5
	}
	if n, ok := info.Number("sme_mask"); ok {
		a.smeMask = uint64(n)
	}
	physBits := int64(46)
	if a.levels == 5 {
		physBits = 52
	}
	if n, ok := info.Number("MAX_PHYSMEM_BITS"); ok && n > 0 && n <= 52 {
		physBits = n
	}
	a.directSize = 1 << physBits
	if v, ok := info.Symbol("init_top_pgt"); ok && a.havePB {
		if p, ok := a.imagePhys(v); ok && p%pageSize == 0 {
			a.pgd = p
		}
	}
	return a, nil
}

// imagePhys translates a kernel-image address.
func (a *AddressSpace) imagePhys(virt uint64) (uint64, bool) {
	if !a.havePB || virt < StartKernelMap || virt-StartKernelMap >= a.imageSize {
		return 0, false
	}
	return virt - StartKernelMap + a.physBase, true
}

// Phys returns the physical address of virt.
func (a *AddressSpace) Phys(virt uint64) (uint64, error) {
	p, _, err := a.translate(virt)
	return p, err
}

// translate returns virt's physical address and how many bytes from virt on
// are physically contiguous with it (to the end of its mapping).
func (a *AddressSpace) translate(virt uint64) (phys, span uint64, err error) {
	if p, ok := a.imagePhys(virt); ok {
		return p, a.imageSize - (virt - StartKernelMap), nil
	}
	if a.pageOffset != 0 && virt >= a.pageOffset && virt-a.pageOffset < a.directSize {
		return virt - a.pageOffset, a.directSize - (virt - a.pageOffset), nil
	}
	if a.tlbSize != 0 && virt >= a.tlbVirt && virt-a.tlbVirt < a.tlbSize {
		off := virt - a.tlbVirt
		return a.tlbPhys + off, a.tlbSize - off, nil
	}
	return a.walk(virt)
}

// walk translates virt through the page tables. x86_64 tables have 512
// 8-byte entries per level; bit 0 is "present", bit 7 at the PUD and PMD
// levels makes the entry a 1 GiB or 2 MiB page, bits 12-51 hold the next
// table's or the page's physical address (less the SME encryption bit).
func (a *AddressSpace) walk(virt uint64) (uint64, uint64, error) {
	if a.pgd == 0 {
		return 0, 0, &AddrError{Virt: virt, Detail: "outside the direct map and the kernel image, and no page tables (SYMBOL(init_top_pgt), NUMBER(phys_base)) to walk", Err: ErrNotMapped}
	}
	lowest := uint64(0xffff800000000000)
	if a.levels == 5 {
		lowest = kernelHalf
	}
	if virt < lowest {
		return 0, 0, &AddrError{Virt: virt, Detail: "not a kernel address", Err: ErrNotMapped}
	}
	table := a.pgd
	var buf [8]byte
	for level := a.levels; level >= 1; level-- {
		shift := uint(pageShift + 9*(level-1))
		idx := (virt >> shift) & 511
		if _, err := a.mem.ReadPhys(buf[:], table+idx*8); err != nil {
			return 0, 0, &AddrError{Virt: virt, Detail: fmt.Sprintf("reading level-%d page table entry at physical %#x: %v", level, table+idx*8, err), Err: err}
		}
		e := binary.LittleEndian.Uint64(buf[:])
		if e&ptePresent == 0 {
			return 0, 0, &AddrError{Virt: virt, Detail: fmt.Sprintf("level-%d page table entry %#x not present", level, e), Err: ErrNotMapped}
		}
		addr := e & pteAddrMask &^ a.smeMask
		if level == 1 || (level <= 3 && e&ptePSE != 0) {
			size := uint64(1) << shift
			base := addr &^ (size - 1)
			a.tlbVirt, a.tlbPhys, a.tlbSize = virt&^(size-1), base, size
			off := virt & (size - 1)
			return base + off, size - off, nil
		}
		table = addr
	}
	panic("unreachable")
}

// ReadVirt fills p with the bytes at kernel virtual address virt.
func (a *AddressSpace) ReadVirt(p []byte, virt uint64) error {
	for len(p) > 0 {
		phys, span, err := a.translate(virt)
		if err != nil {
			return err
		}
		n := uint64(len(p))
		if span < n {
			n = span
		}
		if _, err := a.mem.ReadPhys(p[:n], phys); err != nil {
			return &AddrError{Virt: virt, Detail: fmt.Sprintf("reading physical %#x: %v", phys, err), Err: err}
		}
		p = p[n:]
		virt += n
	}
	return nil
}

func (a *AddressSpace) readU64(virt uint64) (uint64, error) {
	var b [8]byte
	if err := a.ReadVirt(b[:], virt); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}
