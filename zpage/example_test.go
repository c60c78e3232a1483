package zpage_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"log"

	"github.com/kjump/kjump/zpage"
)

// Compress a page and read it back with Go's own zlib.
func Example() {
	page := bytes.Repeat([]byte("struct page "), 4096/12+1)[:4096]
	var c zpage.Compressor // reuse it across pages
	out := c.Compress(nil, page)

	r, err := zlib.NewReader(bytes.NewReader(out))
	if err != nil {
		log.Fatal(err)
	}
	back, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes → %d; back equal: %v\n", len(page), len(out), bytes.Equal(back, page))
	// Output:
	// 4096 bytes → 57; back equal: true
}
