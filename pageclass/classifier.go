package pageclass

import (
	"errors"
	"fmt"

	"github.com/kjump/kjump/pageset"
	"github.com/kjump/kjump/vmcoreinfo"
)

// Config says what New cannot learn from VMCOREINFO.
type Config struct {
	// PageOffset is the direct-map base (page_offset_base), or 0 when not
	// known; then direct-map addresses are translated through the page
	// tables.
	PageOffset uint64
	// MaxPFN bounds the page frames to classify: [0, MaxPFN). Use the
	// length of the bitmap Exclude will get.
	MaxPFN uint64
}

// Classifier classifies the page frames of one dumped kernel from its
// struct pages. It is not safe for concurrent use.
type Classifier struct {
	as     *AddressSpace
	layout *pageLayout
	sparse *sparseMaps
	maxPFN uint64
	// walkAlways: the kernel has PG_hwpoison, so makedumpfile walks the
	// struct pages at every dump level to leave poisoned pages out.
	walkAlways bool
}

// chunkPages is how many struct pages Exclude reads at once.
const chunkPages = 512

// New prepares a Classifier for the kernel VMCOREINFO info describes,
// whose physical memory mem reads. It reads the mem_section tables at
// once; struct pages are read by Exclude and Classify.
func New(info *vmcoreinfo.Info, mem Memory, cfg Config) (*Classifier, error) {
	ps, ok := info.PageSize()
	if !ok {
		return nil, missing("PAGESIZE")
	}
	if ps != pageSize {
		return nil, fmt.Errorf("pageclass: PAGESIZE %d: only %d-byte pages (x86_64) are handled: %w", ps, pageSize, ErrUnsupported)
	}
	layout, err := newPageLayout(info)
	if err != nil {
		return nil, err
	}
	as, err := NewAddressSpace(info, mem, cfg.PageOffset)
	if err != nil {
		return nil, err
	}
	sp, err := readSparse(info, as, ps, layout.size, cfg.MaxPFN)
	if err != nil {
		return nil, err
	}
	return &Classifier{as: as, layout: layout, sparse: sp, maxPFN: cfg.MaxPFN, walkAlways: layout.hwpoison >= 0}, nil
}

// AddressSpace returns the translator the Classifier reads struct pages
// through, for reading other kernel variables.
func (c *Classifier) AddressSpace() *AddressSpace { return c.as }

// Walks reports whether Exclude reads struct pages at level: when level
// asks for cache, user or free pages to be left out, or when the kernel
// has PG_hwpoison (poisoned and offline pages are then left out at every
// level, as makedumpfile does).
func (c *Classifier) Walks(level Level) bool {
	return level&(ExcludeCache|ExcludeCachePrivate|ExcludeUser|ExcludeFree) != 0 || c.walkAlways
}

// Exclude returns the page frames of present that a dump at level keeps,
// and how many of each class it left out. The zero-page bit of level is
// ignored: zero pages are found by their contents while copying.
//
// It visits the struct pages of present page frames in order, as
// makedumpfile does: a free block's head page (page_type buddy, order in
// page.private) leaves out the whole block, a compound page's head (page
// cache folio, anonymous folio, hugetlbfs page) its tail pages with it; a
// tail page whose head is kept is kept. Page frames whose struct page
// cannot be read are kept and counted in Stats.Unknown.
func (c *Classifier) Exclude(level Level, present *pageset.Set) (*pageset.Set, Stats, error) {
	var st Stats
	if present == nil {
		return nil, st, errors.New("pageclass: Exclude: nil bitmap")
	}
	kept := present.Clone()
	if !c.Walks(level) {
		return kept, st, nil
	}
	end := min(present.Len(), c.maxPFN)
	sz := c.layout.size
	buf := make([]byte, (chunkPages+1)*sz)
	skip := uint64(0) // page frames below skip belong to a range already decided
	for pfn, ok := present.Next(0); ok && pfn < end; {
		base, has := c.sparse.memMap(pfn)
		// A chunk never crosses a section: base is this section's.
		secStart := pfn >> c.sparse.shift << c.sparse.shift
		chunk := max(pfn&^(chunkPages-1), secStart)
		chunkEnd := min(chunk+chunkPages, secStart+1<<c.sparse.shift, end)
		if !has {
			st.Unknown += countRange(present, max(pfn, skip), chunkEnd)
			pfn, ok = present.Next(chunkEnd)
			continue
		}
		// The chunk's struct pages, and the one after for page[1] of a
		// compound head at the chunk's end.
		n := chunkEnd - chunk
		addr := base + chunk*sz
		withNext := true
		if err := c.as.ReadVirt(buf[:(n+1)*sz], addr); err != nil {
			withNext = false
			if err := c.as.ReadVirt(buf[:n*sz], addr); err != nil {
				st.Unknown += countRange(present, max(pfn, skip), chunkEnd)
				pfn, ok = present.Next(chunkEnd)
				continue
			}
		}
		for ; ok && pfn < chunkEnd; pfn, ok = present.Next(pfn + 1) {
			if pfn < skip {
				continue
			}
			i := pfn - chunk
			var next []byte
			if i+1 < n || withNext {
				next = buf[(i+1)*sz : (i+2)*sz]
			}
			class, span := c.layout.decide(c.layout.read(buf[i*sz:]), next, pfn, level, &st)
			if class == Kept {
				continue
			}
			last := min(pfn+span, kept.Len())
			for q := pfn; q < last; q++ {
				if kept.Test(q) {
					kept.Clear(q)
					st.add(class, 1)
				}
			}
			skip = pfn + span
		}
	}
	return kept, st, nil
}

// Classify returns the class of page frame pfn as Exclude at MaxLevel
// would decide it: a compound tail page takes its head's class, a page
// inside a free block the block's.
func (c *Classifier) Classify(pfn uint64) (Class, error) {
	var st Stats
	p, next, err := c.readPage(pfn)
	if err != nil {
		return Unknown, err
	}
	l := c.layout
	if l.haveCH && p.compoundHead&1 != 0 {
		head, ok := c.pfnOf(pfn, p.compoundHead-1)
		if !ok {
			return Kept, nil
		}
		hp, hnext, err := c.readPage(head)
		if err != nil {
			return Unknown, err
		}
		class, span := l.decide(hp, hnext, head, MaxLevel, &st)
		if class != Kept && pfn < head+span {
			return class, nil
		}
		return Kept, nil
	}
	if class, _ := l.decide(p, next, pfn, MaxLevel, &st); class != Kept {
		return class, nil
	}
	// Inside a free block? Its head is the page frame aligned to the
	// block's order, with page_type buddy and an order that reaches pfn.
	maxOrder := l.maxOrder
	if maxOrder == 0 {
		maxOrder = 11
	}
	for order := uint64(1); order < maxOrder; order++ {
		head := pfn &^ (1<<order - 1)
		if head == pfn {
			continue
		}
		hp, _, err := c.readPage(head)
		if err != nil {
			break
		}
		if l.isBuddy(hp) && hp.private < maxOrder && pfn < head+1<<hp.private {
			return Free, nil
		}
	}
	return Kept, nil
}

// readPage reads pfn's struct page and, when it can, the next one.
func (c *Classifier) readPage(pfn uint64) (page, []byte, error) {
	base, ok := c.sparse.memMap(pfn)
	if !ok {
		return page{}, nil, fmt.Errorf("pageclass: page frame %#x: %w", pfn, ErrNoMemMap)
	}
	sz := c.layout.size
	buf := make([]byte, 2*sz)
	addr := base + pfn*sz
	if err := c.as.ReadVirt(buf, addr); err != nil {
		if err := c.as.ReadVirt(buf[:sz], addr); err != nil {
			return page{}, nil, fmt.Errorf("pageclass: struct page of page frame %#x: %w", pfn, err)
		}
		return c.layout.read(buf), nil, nil
	}
	return c.layout.read(buf), buf[sz:], nil
}

// pfnOf returns the page frame whose struct page is at virtual address
// sp, looking in pfn's section (without SPARSEMEM_VMEMMAP, compound pages
// do not cross sections).
func (c *Classifier) pfnOf(pfn, sp uint64) (uint64, bool) {
	base, ok := c.sparse.memMap(pfn)
	sz := c.layout.size
	if !ok || sp < base || (sp-base)%sz != 0 {
		return 0, false
	}
	head := (sp - base) / sz
	if head > pfn || head>>c.sparse.shift != pfn>>c.sparse.shift {
		return 0, false
	}
	return head, true
}

// countRange counts the page frames of b in [start, end).
func countRange(b *pageset.Set, start, end uint64) uint64 {
	n := uint64(0)
	for pfn, ok := b.Next(start); ok && pfn < end; pfn, ok = b.Next(pfn + 1) {
		n++
	}
	return n
}
