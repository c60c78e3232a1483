package pageclass

import (
	"testing"

	"github.com/kjump/kjump/pageclass/pageclasstest"
	"github.com/kjump/kjump/vmcoreinfo"
)

// checkExclude runs Exclude and Classify on c and checks what must hold
// whatever the memory says: the kept page frames are a subset of the
// input, the input is unchanged, and kept + left out = input.
func checkExclude(t *testing.T, c *Classifier, n uint64) {
	present := allPresent(n)
	for _, level := range []Level{MaxLevel, ExcludeFree, ExcludeCachePrivate | ExcludeUser} {
		kept, st, err := c.Exclude(level, present)
		if err != nil {
			t.Fatal(err)
		}
		if present.Count() != n {
			t.Fatal("Exclude changed its input")
		}
		if kept.Len() != present.Len() {
			t.Fatalf("kept covers %d page frames, input %d", kept.Len(), present.Len())
		}
		if kept.Count()+st.Excluded() != n {
			t.Fatalf("level %v: kept %d + left out %d != %d (%+v)", level, kept.Count(), st.Excluded(), n, st)
		}
		if level&ExcludeFree == 0 && st.Free != 0 {
			t.Fatalf("level %v left out free pages", level)
		}
	}
	for pfn := uint64(0); pfn < n; pfn += 37 {
		if cl, err := c.Classify(pfn); cl > Unknown || (err != nil && cl != Unknown) {
			t.Fatalf("Classify(%#x) = %v, %v", pfn, cl, err)
		}
	}
}

// FuzzStructPages: well-formed tables, struct pages of arbitrary bytes.
func FuzzStructPages(f *testing.F) {
	k := pageclasstest.New(fakePages, false)
	k.SetFree(512, 3)
	k.SetCompound(528, 2, pageclasstest.CachePage)
	k.SetPage(540, pageclasstest.AnonPage)
	mm := k.Bytes()[16*pageSize : pageclasstest.FirstFree(k.MaxPFN)*pageSize]
	f.Add(append([]byte(nil), mm[512*64:600*64]...), uint16(512))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint16(0))
	f.Add(make([]byte, 64), uint16(1000))
	f.Fuzz(func(t *testing.T, data []byte, at uint16) {
		k := pageclasstest.New(fakePages, false)
		mm := k.Bytes()[16*pageSize : pageclasstest.FirstFree(k.MaxPFN)*pageSize]
		off := int(at) * 64 % len(mm)
		copy(mm[off:], data)
		c, err := New(k.Info(), k, Config{MaxPFN: k.MaxPFN})
		if err != nil {
			t.Fatal(err) // the tables are intact
		}
		checkExclude(t, c, k.MaxPFN)
	})
}

// garbageMem is memory of arbitrary bytes: data repeated, mixed with the
// address; reads above 4 GiB fail.
type garbageMem []byte

func (g garbageMem) ReadPhys(p []byte, phys uint64) (int, error) {
	if phys >= 1<<32 {
		return 0, ErrNotMapped
	}
	for i := range p {
		a := phys + uint64(i)
		var d byte
		if len(g) > 0 {
			d = g[a%uint64(len(g))]
		}
		p[i] = d ^ byte(a>>12)
	}
	return len(p), nil
}

// FuzzGarbageMemory: a valid VMCOREINFO over memory of garbage, with and
// without a direct-map base: New fails or everything holds.
func FuzzGarbageMemory(f *testing.F) {
	k := pageclasstest.New(fakePages, true)
	f.Add(k.Bytes()[:2*pageSize], false)
	f.Add([]byte{0}, true)
	f.Add([]byte{0xff, 0x00, 0x88, 0xff, 0xff, 0xff, 0xff, 0x13}, true)
	info := k.Info()
	f.Fuzz(func(t *testing.T, data []byte, po bool) {
		cfg := Config{MaxPFN: fakePages}
		if po {
			cfg.PageOffset = pageclasstest.PageOffset
		}
		c, err := New(info, garbageMem(data), cfg)
		if err != nil {
			if c != nil {
				t.Fatal("New returned a Classifier and an error")
			}
			return
		}
		checkExclude(t, c, fakePages)
	})
}

// FuzzVmcoreinfo: arbitrary VMCOREINFO text over a real-looking memory
// image.
func FuzzVmcoreinfo(f *testing.F) {
	k := pageclasstest.New(fakePages, true)
	f.Add(k.VMCOREINFO())
	f.Add([]byte(set("SIZE(page)=", "4096")(string(k.VMCOREINFO()))))
	f.Add([]byte(set("NUMBER(SECTION_SIZE_BITS)=", "13")(string(k.VMCOREINFO()))))
	f.Add([]byte(set("LENGTH(mem_section)=", "1")(string(k.VMCOREINFO()))))
	f.Fuzz(func(t *testing.T, text []byte) {
		info, err := vmcoreinfo.Parse(text)
		if err != nil {
			return
		}
		c, err := New(info, k, Config{MaxPFN: fakePages})
		if err != nil {
			if c != nil {
				t.Fatal("New returned a Classifier and an error")
			}
			return
		}
		checkExclude(t, c, fakePages)
	})
}
