package pageclass_test

import (
	"fmt"
	"log"

	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageclass/pageclasstest"
	"github.com/kjump/kjump/pageset"
)

// Classify the page frames of a small synthetic kernel: a free block of
// 8 pages, a page cache page and an anonymous page among kernel pages.
// With a real vmcore, mem is the *elfcore.File and info its parsed
// VMCOREINFO note.
func Example() {
	k := pageclasstest.New(1024, true) // SPARSEMEM_VMEMMAP: struct pages through page tables
	k.SetFree(512, 3)
	k.SetPage(520, pageclasstest.CachePage)
	k.SetPage(521, pageclasstest.AnonPage)

	c, err := pageclass.New(k.Info(), k, pageclass.Config{MaxPFN: k.MaxPFN})
	if err != nil {
		log.Fatal(err)
	}
	present := pageset.New(k.MaxPFN)
	present.SetRange(0, k.MaxPFN)

	level := pageclass.ExcludeFree | pageclass.ExcludeCache
	kept, st, err := c.Exclude(level, present)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("level %v: kept %d of %d page frames; left out %d free, %d cache\n", level, kept.Count(), present.Count(), st.Free, st.Cache)
	for _, pfn := range []uint64{100, 515, 520, 521} {
		class, _ := c.Classify(pfn)
		fmt.Printf("page frame %d: %v\n", pfn, class)
	}
	// Output:
	// level 18 (cache|free): kept 1015 of 1024 page frames; left out 8 free, 1 cache
	// page frame 100: kept
	// page frame 515: free
	// page frame 520: cache
	// page frame 521: user
}
