package pageset_test

import (
	"fmt"

	"github.com/kjump/kjump/pageset"
)

func Example() {
	b := pageset.New(1 << 20) // 4 GiB of 4 KiB pages
	b.SetRange(0x100, 0x200)
	b.Set(0x1000)
	fmt.Println(b.Count(), b.Test(0x1ff), b.Test(0x200))
	for pfn, ok := b.Next(0x1ff); ok; pfn, ok = b.Next(pfn + 1) {
		fmt.Printf("%#x ", pfn)
	}
	fmt.Println()
	// Output:
	// 257 true false
	// 0x1ff 0x1000
}
