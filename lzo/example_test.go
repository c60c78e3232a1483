package lzo_test

import (
	"bytes"
	"fmt"
	"log"

	golzo "github.com/anchore/go-lzo"

	"github.com/kjump/kjump/lzo"
)

// Compress a page and read it back with anchore/go-lzo, as kjump reads the
// LZO pages of a kdump file.
func Example() {
	page := bytes.Repeat([]byte("struct page "), 4096/12+1)[:4096]
	var c lzo.Compressor // reuse it: it keeps its table
	out := c.Compress(nil, page)

	back := make([]byte, len(page))
	n, err := golzo.Decompress(out, back)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes → %d; back %d bytes, equal: %v\n", len(page), len(out), n, bytes.Equal(back, page))
	// Output:
	// 4096 bytes → 35; back 4096 bytes, equal: true
}
