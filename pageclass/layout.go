package pageclass

import (
	"encoding/binary"
	"fmt"

	"github.com/kjump/kjump/vmcoreinfo"
)

// pageLayout is what VMCOREINFO says about struct page, and how to tell the
// classes apart from its fields.
type pageLayout struct {
	size                                   uint64
	flags, mapcount, mapping, private, ch  uint64 // member offsets; ch = compound_head
	haveCH                                 bool
	lru, privateBit, swapCache, swapBacked int // flag bit numbers; -1 when absent
	slab, hwpoison, buddyBit, hugetlbBit   int
	headMask                               uint64 // PG_head_mask; 0 when absent

	// page_type values (in _mapcount's place) of typed pages.
	buddy, slabType, hugetlb, offline, unaccepted                uint32
	haveBuddy, haveSlabType, haveHugetlb, haveOffline, haveUnacc bool

	// Before Linux 6.6: compound order and destructor in page[1].
	orderOff, dtorOff uint64
	haveOrder         bool
	haveDtor          bool
	hugetlbDtor       int64 // NUMBER(HUGETLB_PAGE_DTOR)
	haveDtorNum       bool

	maxOrder uint64 // LENGTH(zone.free_area): free block orders are below it; 0 when absent
}

func missing(key string) error { return &VmcoreinfoError{Key: key, Err: ErrMissing} }
func bad(key, format string, args ...any) error {
	return &VmcoreinfoError{Key: key, Detail: fmt.Sprintf(format, args...), Err: ErrBadValue}
}

// newPageLayout reads struct page's layout from VMCOREINFO and checks that
// every member lies inside the struct, so that later reads cannot go out of
// bounds whatever the text said.
func newPageLayout(info *vmcoreinfo.Info) (*pageLayout, error) {
	l := &pageLayout{}
	size, ok := info.Size("page")
	if !ok {
		return nil, missing("SIZE(page)")
	}
	if size < 32 || size > 1024 || size%8 != 0 {
		return nil, bad("SIZE(page)", "%d is not a struct page size", size)
	}
	l.size = uint64(size)
	member := func(name string, width uint64, required bool) (uint64, bool, error) {
		key := "OFFSET(page." + name + ")"
		off, ok := info.Offset("page." + name)
		if !ok {
			if required {
				return 0, false, missing(key)
			}
			return 0, false, nil
		}
		if off < 0 || uint64(off)+width > l.size {
			return 0, false, bad(key, "%d is outside a %d-byte struct page", off, l.size)
		}
		return uint64(off), true, nil
	}
	var err error
	if l.flags, _, err = member("flags", 8, true); err != nil {
		return nil, err
	}
	if l.mapping, _, err = member("mapping", 8, true); err != nil {
		return nil, err
	}
	if l.private, _, err = member("private", 8, true); err != nil {
		return nil, err
	}
	if l.mapcount, _, err = member("_mapcount", 4, true); err != nil {
		return nil, err
	}
	if l.ch, l.haveCH, err = member("compound_head", 8, false); err != nil {
		return nil, err
	}
	if l.orderOff, l.haveOrder, err = member("compound_order", 1, false); err != nil {
		return nil, err
	}
	if l.dtorOff, l.haveDtor, err = member("compound_dtor", 1, false); err != nil {
		return nil, err
	}
	bit := func(name string, required bool) (int, error) {
		n, ok := info.Number(name)
		if !ok {
			if required {
				return -1, missing("NUMBER(" + name + ")")
			}
			return -1, nil
		}
		if n < 0 || n > 63 {
			return -1, bad("NUMBER("+name+")", "%d is not a page flag bit", n)
		}
		return int(n), nil
	}
	for _, b := range []struct {
		name     string
		required bool
		dst      *int
	}{
		{"PG_lru", true, &l.lru},
		{"PG_private", true, &l.privateBit},
		{"PG_swapcache", true, &l.swapCache},
		{"PG_swapbacked", false, &l.swapBacked},
		{"PG_slab", false, &l.slab},
		{"PG_hwpoison", false, &l.hwpoison},
		{"PG_buddy", false, &l.buddyBit},
		{"PG_hugetlb", false, &l.hugetlbBit},
	} {
		if *b.dst, err = bit(b.name, b.required); err != nil {
			return nil, err
		}
	}
	if n, ok := info.Number("PG_head_mask"); ok {
		l.headMask = uint64(n)
	}
	typeValue := func(name string, dst *uint32, have *bool) {
		if n, ok := info.Number(name); ok {
			*dst, *have = uint32(n), true
		}
	}
	typeValue("PAGE_BUDDY_MAPCOUNT_VALUE", &l.buddy, &l.haveBuddy)
	typeValue("PAGE_SLAB_MAPCOUNT_VALUE", &l.slabType, &l.haveSlabType)
	typeValue("PAGE_HUGETLB_MAPCOUNT_VALUE", &l.hugetlb, &l.haveHugetlb)
	typeValue("PAGE_OFFLINE_MAPCOUNT_VALUE", &l.offline, &l.haveOffline)
	typeValue("PAGE_UNACCEPTED_MAPCOUNT_VALUE", &l.unaccepted, &l.haveUnacc)
	if n, ok := info.Number("HUGETLB_PAGE_DTOR"); ok {
		l.hugetlbDtor, l.haveDtorNum = n, true
	}
	if n, ok := info.Length("zone.free_area"); ok {
		if n < 1 || n > 64 {
			return nil, bad("LENGTH(zone.free_area)", "%d is not a number of free page orders", n)
		}
		l.maxOrder = uint64(n)
	}
	if !l.haveBuddy && l.buddyBit < 0 {
		// Without a way to see buddy pages, free pages are all kept:
		// say so rather than silently keeping them.
		return nil, missing("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)")
	}
	return l, nil
}

// page is one struct page's fields that matter here.
type page struct {
	flags        uint64
	mapcount     uint32 // page_type for typed pages
	mapping      uint64
	private      uint64
	compoundHead uint64
}

// read decodes the struct page at the start of b, which is at least
// l.size bytes long.
func (l *pageLayout) read(b []byte) page {
	p := page{
		flags:    binary.LittleEndian.Uint64(b[l.flags:]),
		mapcount: binary.LittleEndian.Uint32(b[l.mapcount:]),
		mapping:  binary.LittleEndian.Uint64(b[l.mapping:]),
		private:  binary.LittleEndian.Uint64(b[l.private:]),
	}
	if l.haveCH {
		p.compoundHead = binary.LittleEndian.Uint64(b[l.ch:])
	}
	return p
}

func testBit(flags uint64, bit int) bool { return bit >= 0 && flags&(1<<uint(bit)) != 0 }

func (l *pageLayout) isSlab(p page) bool {
	return (l.haveSlabType && p.mapcount == l.slabType) || testBit(p.flags, l.slab)
}

func (l *pageLayout) isBuddy(p page) bool {
	if l.haveBuddy {
		return !l.isSlab(p) && p.mapcount == l.buddy
	}
	return testBit(p.flags, l.buddyBit)
}

func (l *pageLayout) isAnon(p page) bool {
	return p.mapping&1 != 0 && !l.isSlab(p) // PAGE_MAPPING_ANON
}

// isCache: on an LRU list, or in the swap cache (PG_swapcache means that
// only together with PG_swapbacked, when the kernel has that flag).
func (l *pageLayout) isCache(p page) bool {
	if testBit(p.flags, l.lru) {
		return true
	}
	return (l.swapBacked < 0 || testBit(p.flags, l.swapBacked)) && testBit(p.flags, l.swapCache)
}

// compound returns the order of the compound page whose head is p (next
// is the struct page after it, or nil when it could not be read) and
// whether it is a hugetlbfs page. Order 0 means "not a compound head", and
// so does an order the page frame number is not aligned to.
func (l *pageLayout) compound(p page, next []byte, pfn uint64) (order uint64, hugetlb bool) {
	if l.headMask == 0 || p.flags&l.headMask == 0 || next == nil {
		return 0, false
	}
	switch {
	case l.haveHugetlb: // Linux 6.9 and later: hugetlb is a page type
		order = binary.LittleEndian.Uint64(next[l.flags:]) & 0xff // folio._flags_1
		hugetlb = p.mapcount == l.hugetlb
	case l.hugetlbBit >= 0: // Linux 6.6 to 6.8: PG_hugetlb in folio._flags_1
		f1 := binary.LittleEndian.Uint64(next[l.flags:])
		order, hugetlb = f1&0xff, testBit(f1, l.hugetlbBit)
	default: // Linux 4.16 to 6.5: compound_order and compound_dtor in page[1]
		if l.haveOrder {
			order = uint64(next[l.orderOff])
		}
		if l.haveDtor && l.haveDtorNum {
			hugetlb = int64(next[l.dtorOff]) == l.hugetlbDtor
		}
	}
	if order >= 64 || pfn&(1<<order-1) != 0 {
		order = 0
	}
	return order, hugetlb
}

// decide classifies the struct page of pfn for a dump at level, the way
// makedumpfile's __exclude_unnecessary_pages does, and returns how many
// page frames from pfn on the answer covers (a free block or a compound
// page, 1 otherwise). next is the following struct page, or nil. A
// compound tail page gives (Kept, 0): its head decides for it.
func (l *pageLayout) decide(p page, next []byte, pfn uint64, level Level, st *Stats) (Class, uint64) {
	order, hugetlb := l.compound(p, next, pfn)
	n := uint64(1) << order
	if l.haveCH && p.compoundHead&1 != 0 {
		return Kept, 0
	}
	if level&ExcludeFree != 0 && l.isBuddy(p) {
		if l.maxOrder != 0 && p.private >= l.maxOrder {
			st.BadOrder++
			return Kept, 1
		}
		if p.private >= 64 {
			st.BadOrder++
			return Kept, 1
		}
		return Free, 1 << p.private
	}
	if level&ExcludeFree != 0 && l.haveUnacc && p.mapcount == l.unaccepted && l.maxOrder != 0 {
		// Unaccepted memory sits on its list in blocks of the largest order.
		return Free, 1 << (l.maxOrder - 1)
	}
	cache, anon := l.isCache(p), l.isAnon(p)
	private := testBit(p.flags, l.privateBit)
	switch {
	case level&ExcludeCache != 0 && cache && !private && !anon:
		return Cache, n
	case level&ExcludeCachePrivate != 0 && cache && !anon:
		if private {
			return CachePrivate, n
		}
		return Cache, n
	case level&ExcludeUser != 0 && (anon || hugetlb):
		return User, n
	case testBit(p.flags, l.hwpoison):
		return HWPoison, n
	case l.haveOffline && !l.isSlab(p) && p.mapcount == l.offline:
		return Offline, n
	}
	return Kept, 1
}
