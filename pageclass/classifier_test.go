package pageclass

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kjump/kjump/pageclass/pageclasstest"
	"github.com/kjump/kjump/pageset"
	"github.com/kjump/kjump/vmcoreinfo"
)

const fakePages = 1024 // 4 sections of 256 page frames

// scenario sets up struct pages from base on and says which class each
// page frame must get at MaxLevel.
type scenario struct {
	name  string
	setup func(k *pageclasstest.Kernel, base uint64)
	want  map[uint64]Class // offset from base → class; others Kept
}

var scenarios = []scenario{
	{"kernel pages", func(k *pageclasstest.Kernel, b uint64) {}, nil},
	{"free order 0", func(k *pageclasstest.Kernel, b uint64) { k.SetFree(b, 0) }, map[uint64]Class{0: Free}},
	{"free order 3", func(k *pageclasstest.Kernel, b uint64) { k.SetFree(b, 3) }, classes(0, 8, Free)},
	{"cache", func(k *pageclasstest.Kernel, b uint64) { k.SetPage(b, pageclasstest.CachePage) }, map[uint64]Class{0: Cache}},
	{"swap cache", func(k *pageclasstest.Kernel, b uint64) { k.SetPage(b, pageclasstest.SwapCachePage) }, map[uint64]Class{0: Cache}},
	{"swapcache without swapbacked is not cache", func(k *pageclasstest.Kernel, b uint64) {
		k.SetPage(b, pageclasstest.Page{Flags: 1 << pageclasstest.PGSwapCache, Mapcount: pageclasstest.NoType})
	}, nil},
	{"cache with private", func(k *pageclasstest.Kernel, b uint64) { k.SetPage(b, pageclasstest.CachePrivatePage) }, map[uint64]Class{0: CachePrivate}},
	{"anonymous", func(k *pageclasstest.Kernel, b uint64) { k.SetPage(b, pageclasstest.AnonPage) }, map[uint64]Class{0: User}},
	{"slab with odd mapping is not anonymous", func(k *pageclasstest.Kernel, b uint64) { k.SetPage(b, pageclasstest.SlabPage) }, nil},
	{"offline", func(k *pageclasstest.Kernel, b uint64) { k.SetPage(b, pageclasstest.OfflinePage) }, map[uint64]Class{0: Offline}},
	{"hwpoison", func(k *pageclasstest.Kernel, b uint64) { k.SetPage(b, pageclasstest.PoisonedPage) }, map[uint64]Class{0: HWPoison}},
	{"compound cache folio order 2", func(k *pageclasstest.Kernel, b uint64) { k.SetCompound(b, 2, pageclasstest.CachePage) }, classes(0, 4, Cache)},
	{"compound anonymous folio order 4", func(k *pageclasstest.Kernel, b uint64) { k.SetCompound(b, 4, pageclasstest.AnonPage) }, classes(0, 16, User)},
	{"hugetlb order 3", func(k *pageclasstest.Kernel, b uint64) { k.SetCompound(b, 3, pageclasstest.HugetlbHead) }, classes(0, 8, User)},
	{"kernel compound page keeps its tails", func(k *pageclasstest.Kernel, b uint64) {
		k.SetCompound(b, 2, pageclasstest.Page{Mapcount: pageclasstest.NoType})
	}, nil},
	{"misaligned compound head counts as one page", func(k *pageclasstest.Kernel, b uint64) {
		k.SetCompound(b+1, 1, pageclasstest.CachePage)
	}, map[uint64]Class{1: Cache}},
	{"free order beyond zone.free_area is kept", func(k *pageclasstest.Kernel, b uint64) {
		k.SetPage(b, pageclasstest.Page{Mapcount: pageclasstest.TypeBuddy, Private: 11})
	}, nil},
	{"a mix", func(k *pageclasstest.Kernel, b uint64) {
		k.SetFree(b, 2)
		k.SetPage(b+4, pageclasstest.CachePage)
		k.SetPage(b+5, pageclasstest.AnonPage)
		k.SetFree(b+8, 3)
		k.SetCompound(b+16, 3, pageclasstest.CachePrivatePage)
	}, merge(classes(0, 4, Free), map[uint64]Class{4: Cache, 5: User}, classes(8, 16, Free), classes(16, 24, CachePrivate))},
}

func classes(from, to uint64, c Class) map[uint64]Class {
	m := map[uint64]Class{}
	for i := from; i < to; i++ {
		m[i] = c
	}
	return m
}

func merge(ms ...map[uint64]Class) map[uint64]Class {
	out := map[uint64]Class{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// levelKeeps reports whether a page of class c stays at level l.
func levelKeeps(c Class, l Level) bool {
	switch c {
	case Cache:
		return l&(ExcludeCache|ExcludeCachePrivate) == 0
	case CachePrivate:
		return l&ExcludeCachePrivate == 0
	case User:
		return l&ExcludeUser == 0
	case Free:
		return l&ExcludeFree == 0
	}
	return c == Kept // hwpoison and offline go at every level: the fake kernel has PG_hwpoison
}

func allPresent(n uint64) *pageset.Set {
	b := pageset.New(n)
	b.SetRange(0, n)
	return b
}

func TestExclude(t *testing.T) {
	for _, vmemmap := range []bool{false, true} {
		for _, po := range []uint64{pageclasstest.PageOffset, 0} {
			for _, sc := range scenarios {
				t.Run(fmt.Sprintf("vmemmap=%v/po=%#x/%s", vmemmap, po, sc.name), func(t *testing.T) {
					k := pageclasstest.New(fakePages, vmemmap)
					base := uint64(512) // section 2: 256-aligned
					sc.setup(k, base)
					want := map[uint64]Class{}
					for off, c := range sc.want {
						want[base+off] = c
					}
					c, err := New(k.Info(), k, Config{PageOffset: po, MaxPFN: k.MaxPFN})
					if err != nil {
						t.Fatal(err)
					}
					for _, level := range []Level{0, ExcludeZero, ExcludeCache, ExcludeCachePrivate, ExcludeUser, ExcludeFree, ExcludeCache | ExcludeUser, MaxLevel} {
						present := allPresent(k.MaxPFN)
						kept, st, err := c.Exclude(level, present)
						if err != nil {
							t.Fatal(err)
						}
						var wantSt Stats
						for pfn := range k.MaxPFN {
							cl := want[pfn]
							// hwpoison and offline go at every level (the
							// kernel has PG_hwpoison, so struct pages are read).
							keep := levelKeeps(cl, level)
							if kept.Test(pfn) != keep {
								t.Errorf("level %v: page frame %#x (%v) kept %v, want %v", level, pfn, cl, kept.Test(pfn), keep)
							}
							if !keep {
								wantSt.add(cl, 1)
							}
							if !present.Test(pfn) {
								t.Fatalf("Exclude changed its input at %#x", pfn)
							}
						}
						st.BadOrder = 0
						if st != wantSt {
							t.Errorf("level %v: stats %+v, want %+v", level, st, wantSt)
						}
					}
					for pfn := range k.MaxPFN {
						got, err := c.Classify(pfn)
						if err != nil {
							t.Fatalf("Classify(%#x): %v", pfn, err)
						}
						if got != want[pfn] {
							t.Errorf("Classify(%#x) = %v, want %v", pfn, got, want[pfn])
						}
					}
				})
			}
		}
	}
}

// TestExcludeBigFreeBlock: a free block of 1024 page frames spans four
// sections; its head decides for all of them.
func TestExcludeBigFreeBlock(t *testing.T) {
	k := pageclasstest.New(2048, true)
	k.SetFree(1024, 10)
	c, err := New(k.Info(), k, Config{MaxPFN: k.MaxPFN})
	if err != nil {
		t.Fatal(err)
	}
	kept, st, err := c.Exclude(ExcludeFree, allPresent(k.MaxPFN))
	if err != nil {
		t.Fatal(err)
	}
	if st.Free != 1024 || kept.Count() != 1024 || kept.Test(1024) || kept.Test(2047) || !kept.Test(1023) {
		t.Errorf("free %d, kept %d", st.Free, kept.Count())
	}
	if got, _ := c.Classify(1500); got != Free {
		t.Errorf("Classify(1500) = %v, want free", got)
	}
}

// TestExcludeCountsOnlyPresent: page frames outside the input bitmap are
// neither kept nor counted, even inside a free block.
func TestExcludeCountsOnlyPresent(t *testing.T) {
	k := pageclasstest.New(fakePages, false)
	k.SetFree(512, 4)
	c, err := New(k.Info(), k, Config{MaxPFN: k.MaxPFN})
	if err != nil {
		t.Fatal(err)
	}
	present := allPresent(k.MaxPFN)
	for pfn := uint64(520); pfn < 528; pfn++ {
		present.Clear(pfn)
	}
	kept, st, _ := c.Exclude(MaxLevel, present)
	if st.Free != 8 {
		t.Errorf("free %d, want 8", st.Free)
	}
	if kept.Count() != present.Count()-8 {
		t.Errorf("kept %d of %d", kept.Count(), present.Count())
	}
}

// TestHole: a section without memory has no struct pages; its page
// frames, if given as present, are kept as unknown.
func TestHole(t *testing.T) {
	k := pageclasstest.New(fakePages, false)
	k.Hole(1)
	k.SetFree(256, 2) // in the hole: never read
	k.SetFree(512, 2)
	c, err := New(k.Info(), k, Config{MaxPFN: k.MaxPFN})
	if err != nil {
		t.Fatal(err)
	}
	kept, st, _ := c.Exclude(MaxLevel, allPresent(k.MaxPFN))
	if st.Unknown != 256 || st.Free != 4 || !kept.Test(256) {
		t.Errorf("stats %+v", st)
	}
	if _, err := c.Classify(300); !errors.Is(err, ErrNoMemMap) {
		t.Errorf("Classify in a hole: %v, want ErrNoMemMap", err)
	}
}

// TestUnreadableStructPages: struct pages the memory cannot supply keep
// their page frames.
func TestUnreadableStructPages(t *testing.T) {
	k := pageclasstest.New(fakePages, false)
	k.SetFree(512, 2)
	mem := &failingMemory{k, pageclasstest.PageSize * (16 + 512*64/4096)} // the page holding pfn 512's struct page
	c, err := New(k.Info(), mem, Config{PageOffset: pageclasstest.PageOffset, MaxPFN: k.MaxPFN})
	if err != nil {
		t.Fatal(err)
	}
	kept, st, _ := c.Exclude(MaxLevel, allPresent(k.MaxPFN))
	if st.Free != 0 || st.Unknown == 0 || !kept.Test(512) {
		t.Errorf("stats %+v", st)
	}
}

type failingMemory struct {
	m    Memory
	page uint64 // reads touching this physical page fail
}

func (f *failingMemory) ReadPhys(p []byte, phys uint64) (int, error) {
	if phys < f.page+pageclasstest.PageSize && phys+uint64(len(p)) > f.page {
		return 0, errors.New("unreadable")
	}
	return f.m.ReadPhys(p, phys)
}

func TestNewErrors(t *testing.T) {
	k := pageclasstest.New(fakePages, false)
	base := string(k.VMCOREINFO())
	tests := []struct {
		name string
		edit func(string) string
		want error
	}{
		{"no SIZE(page)", drop("SIZE(page)="), ErrMissing},
		{"no OFFSET(page.flags)", drop("OFFSET(page.flags)="), ErrMissing},
		{"no PG_lru", drop("NUMBER(PG_lru)="), ErrMissing},
		{"no buddy value", drop("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)="), ErrMissing},
		{"no PAGESIZE", drop("PAGESIZE="), ErrMissing},
		{"no mem_section", drop("SYMBOL(mem_section)="), ErrUnsupported},
		{"no LENGTH(mem_section)", drop("LENGTH(mem_section)="), ErrMissing},
		{"no SECTION_SIZE_BITS", drop("NUMBER(SECTION_SIZE_BITS)="), ErrMissing},
		{"page size 16K", set("PAGESIZE=", "16384"), ErrUnsupported},
		{"struct page too small", set("SIZE(page)=", "16"), ErrBadValue},
		{"member past struct", set("OFFSET(page.private)=", "60"), ErrBadValue},
		{"flag bit 64", set("NUMBER(PG_lru)=", "64"), ErrBadValue},
		{"offset past struct", set("OFFSET(page.mapping)=", "4096"), ErrBadValue},
		{"zone.free_area 0", set("LENGTH(zone.free_area)=", "0"), ErrBadValue},
		{"roots fit no model", set("LENGTH(mem_section)=", "7"), ErrBadValue},
		{"section bits above physmem", set("NUMBER(SECTION_SIZE_BITS)=", "50"), ErrBadValue},
		{"mem_section unmapped", set("SYMBOL(mem_section)=", "1000"), ErrNotMapped},
		{"no present section", set("SYMBOL(mem_section)=", fmt.Sprintf("%x", pageclasstest.PageOffset)), ErrNoMemMap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := vmcoreinfo.Parse([]byte(tt.edit(base)))
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(info, k, Config{MaxPFN: k.MaxPFN})
			if !errors.Is(err, tt.want) || c != nil {
				t.Errorf("New = %v, %v; want %v", c, err, tt.want)
			}
		})
	}
}

func drop(prefix string) func(string) string {
	return func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, prefix) {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
}

func set(prefix, value string) func(string) string {
	return func(s string) string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				lines[i] = prefix + value
			}
		}
		return strings.Join(lines, "\n")
	}
}

func TestWalks(t *testing.T) {
	k := pageclasstest.New(fakePages, false)
	c, err := New(k.Info(), k, Config{MaxPFN: k.MaxPFN})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Walks(0) {
		t.Error("a kernel with PG_hwpoison: struct pages are read at level 0")
	}
	info, _ := vmcoreinfo.Parse([]byte(drop("NUMBER(PG_hwpoison)=")(string(k.VMCOREINFO()))))
	c, err = New(info, k, Config{MaxPFN: k.MaxPFN})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		l    Level
		want bool
	}{{0, false}, {ExcludeZero, false}, {ExcludeCache, true}, {ExcludeCachePrivate, true}, {ExcludeUser, true}, {ExcludeFree, true}, {MaxLevel, true}} {
		if got := c.Walks(tt.l); got != tt.want {
			t.Errorf("Walks(%v) = %v, want %v", tt.l, got, tt.want)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Level
		ok   bool
		str  string
	}{
		{"31", 31, true, "31 (zero|cache|private|user|free)"},
		{"0", 0, true, "0"},
		{"1", 1, true, "1 (zero)"},
		{"0x11", 17, true, "17 (zero|free)"},
		{"32", 0, false, ""},
		{"-1", 0, false, ""},
		{"free", 0, false, ""},
		{"", 0, false, ""},
	} {
		got, err := ParseLevel(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok && got.String() != tt.str {
			t.Errorf("String() = %q, want %q", got.String(), tt.str)
		}
	}
	for c := Kept; c <= Unknown; c++ {
		if strings.HasPrefix(c.String(), "Class(") {
			t.Errorf("class %d has no name", c)
		}
	}
	if Class(99).String() != "Class(99)" {
		t.Error(Class(99).String())
	}
}
