package pageclass

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kjump/kjump/vmcoreinfo"
)

// sparseMem is physical memory made of the pages a test writes; reading
// anything else fails.
type sparseMem map[uint64][]byte // page-aligned address → page

func (m sparseMem) page(phys uint64) []byte {
	base := phys &^ (pageSize - 1)
	if m[base] == nil {
		m[base] = make([]byte, pageSize)
	}
	return m[base]
}

func (m sparseMem) put64(phys, v uint64) {
	binary.LittleEndian.PutUint64(m.page(phys)[phys%pageSize:], v)
}

func (m sparseMem) ReadPhys(p []byte, phys uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := phys + uint64(n)
		pg, ok := m[a&^(pageSize-1)]
		if !ok {
			return n, fmt.Errorf("no memory at %#x", a)
		}
		n += copy(p[n:], pg[a%pageSize:])
	}
	return n, nil
}

// tableInfo is VMCOREINFO for a kernel whose init_top_pgt is at physical
// pgd: _text at StartKernelMap+16 MiB is physical 0, so phys_base is
// -16 MiB.
func tableInfo(t *testing.T, pgd uint64, extra string) *vmcoreinfo.Info {
	t.Helper()
	text := fmt.Sprintf("PAGESIZE=4096\nNUMBER(phys_base)=%d\nSYMBOL(init_top_pgt)=%x\nNUMBER(MAX_PHYSMEM_BITS)=46\n%s",
		-(16 << 20), StartKernelMap+16<<20+pgd, extra)
	info, err := vmcoreinfo.Parse([]byte(strings.TrimSpace(text) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestAddressSpace(t *testing.T) {
	const (
		present = 1
		ps      = 0x80
		pgd     = 0x1000
		pud     = 0x2000
		pmd     = 0x3000
		pte     = 0x4000
		pud5    = 0x5000 // the 5-level table's level 4 (p4d)
		sme     = uint64(1) << 47
	)
	idx := func(v uint64, level uint) uint64 { return (v >> (12 + 9*(level-1))) & 511 }
	const (
		gig    = 0xffffea0040000000 // mapped by a 1 GiB page at 0x40000000
		mib2   = 0xffffea0000000000 // a 2 MiB page at 0x600000
		kib4   = 0xffffea0000200000 // a 4 KiB page at 0x7000, through pte
		absent = 0xffffea0000201000 // pte entry not present
	)
	four := sparseMem{}
	four.put64(pgd+8*idx(gig, 4), pud|present)
	four.put64(pud+8*idx(gig, 3), 0x40000000|present|ps)
	four.put64(pgd+8*idx(mib2, 4), pud|present)
	four.put64(pud+8*idx(mib2, 3), pmd|present)
	four.put64(pmd+8*idx(mib2, 2), 0x600000|present|ps|sme)
	four.put64(pmd+8*idx(kib4, 2), pte|present)
	four.put64(pte+8*idx(kib4, 1), 0x7000|present)
	four.put64(pte+8*idx(absent, 1), 0x8000) // not present

	tests := []struct {
		name    string
		mem     sparseMem
		extra   string
		po      uint64
		virt    uint64
		want    uint64
		wantErr error
	}{
		{"kernel image", four, "", 0, StartKernelMap + 16<<20 + 0x1234, 0x1234, nil},
		{"kernel image below _text", four, "", 0, StartKernelMap + 0x5000, 0x5000 + ^uint64(16<<20-1), nil},
		{"direct map by base", four, "", 0xffff888000000000, 0xffff888012345678, 0x12345678, nil},
		{"1 GiB page", four, "", 0, gig + 0x12345678, 0x40000000 + 0x12345678, nil},
		{"2 MiB page", four, "NUMBER(sme_mask)=140737488355328", 0, mib2 + 0x1abcd, 0x600000 + 0x1abcd, nil},
		{"4 KiB page", four, "", 0, kib4 + 0x10, 0x7010, nil},
		{"entry not present", four, "", 0, absent, 0, ErrNotMapped},
		{"top-level entry not present", four, "", 0, 0xffffffff00000000 - 1<<39, 0, ErrNotMapped},
		{"user address", four, "", 0, 0x400000, 0, ErrNotMapped},
		{"beyond the image", four, "NUMBER(KERNEL_IMAGE_SIZE)=536870912", 0, StartKernelMap + 1<<30, 0, ErrNotMapped},
	}
	// 5-level paging: one more level on top.
	five := sparseMem{}
	v5 := uint64(0xff11000000000000)
	five.put64(pgd+8*idx(v5, 5), pud5|present)
	five.put64(pud5+8*idx(v5, 4), pud|present)
	five.put64(pud+8*idx(v5, 3), 0x80000000|present|ps)
	tests = append(tests, struct {
		name    string
		mem     sparseMem
		extra   string
		po      uint64
		virt    uint64
		want    uint64
		wantErr error
	}{"5-level 1 GiB page", five, "NUMBER(pgtable_l5_enabled)=1", 0, v5 + 0x42, 0x80000042, nil})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := NewAddressSpace(tableInfo(t, pgd, tt.extra), tt.mem, tt.po)
			if err != nil {
				t.Fatal(err)
			}
			got, err := as.Phys(tt.virt)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Phys(%#x) = %#x, %v; want %v", tt.virt, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Phys(%#x) = %#x, %v; want %#x", tt.virt, got, err, tt.want)
			}
		})
	}
}

// TestReadVirtAcrossMappings reads bytes spanning two 4 KiB pages that
// are not physically contiguous.
func TestReadVirtAcrossMappings(t *testing.T) {
	m := sparseMem{}
	const present, pgd, pud, pmd, pte = 1, 0x1000, 0x2000, 0x3000, 0x4000
	v := uint64(0xffffea0000000000)
	idx := func(v uint64, level uint) uint64 { return (v >> (12 + 9*(level-1))) & 511 }
	m.put64(pgd+8*idx(v, 4), pud|present)
	m.put64(pud+8*idx(v, 3), pmd|present)
	m.put64(pmd+8*idx(v, 2), pte|present)
	m.put64(pte+8*idx(v, 1), 0x9000|present)
	m.put64(pte+8*idx(v+pageSize, 1), 0x6000|present)
	copy(m.page(0x9000)[pageSize-3:], "abc")
	copy(m.page(0x6000), "def")
	as, err := NewAddressSpace(tableInfo(t, pgd, ""), m, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	if err := as.ReadVirt(b, v+pageSize-3); err != nil || string(b) != "abcdef" {
		t.Fatalf("ReadVirt = %q, %v", b, err)
	}
	// Unreadable physical memory behind a mapping.
	m.put64(pte+8*idx(v+2*pageSize, 1), 0x77000|present)
	var ae *AddrError
	if err := as.ReadVirt(b, v+2*pageSize); !errors.As(err, &ae) || ae.Virt != v+2*pageSize {
		t.Fatalf("ReadVirt of missing memory: %v", err)
	}
}

func TestAddressSpaceNoTables(t *testing.T) {
	info, _ := vmcoreinfo.Parse([]byte("PAGESIZE=4096\n"))
	as, err := NewAddressSpace(info, sparseMem{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.Phys(0xffffea0000000000); !errors.Is(err, ErrNotMapped) {
		t.Errorf("no page tables: %v", err)
	}
	if _, err := NewAddressSpace(info, sparseMem{}, 0x1000); !errors.Is(err, ErrBadValue) {
		t.Errorf("user-space page offset accepted: %v", err)
	}
}
