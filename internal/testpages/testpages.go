// Package testpages loads the pages of a real dump for the page
// compressors' tests and benchmarks (lzo, zpage): the file named by
// $KJUMP_TEST_PAGES, a sequence of 4 KiB pages such as the page data of
// a `kjump dump --compress none` file (its last PagesWritten × 4096
// bytes; see the README's "kjump dump" section).
package testpages

import (
	"os"
	"testing"
)

// Size is the size of a page.
const Size = 4096

// Env names the file of pages.
const Env = "KJUMP_TEST_PAGES"

// Load returns the pages of $KJUMP_TEST_PAGES, or skips tb when it is not
// set. A trailing partial page is left out.
func Load(tb testing.TB) [][]byte {
	tb.Helper()
	path := os.Getenv(Env)
	if path == "" {
		tb.Skipf("$%s not set (a file of 4 KiB pages from a real dump)", Env)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	pages := make([][]byte, 0, len(b)/Size)
	for len(b) >= Size {
		pages = append(pages, b[:Size:Size])
		b = b[Size:]
	}
	if len(pages) == 0 {
		tb.Fatalf("%s: no whole page", path)
	}
	return pages
}

// Compress is a page compressor's Compress: it appends src compressed to dst.
type Compress func(dst, src []byte) []byte

// Ratio compresses every page of $KJUMP_TEST_PAGES with roundTrip (which
// checks that the result decompresses to the page) and logs the total ratio.
func Ratio(t *testing.T, roundTrip func(page []byte) []byte) {
	t.Helper()
	var in, out int
	for _, p := range Load(t) {
		in += len(p)
		out += len(roundTrip(p))
	}
	t.Logf("%d bytes → %d bytes (%.2f%%)", in, out, 100*float64(out)/float64(in))
}

// Bench compresses the pages of $KJUMP_TEST_PAGES, one op a page; the
// out_bytes metric is their total size as a dump stores them (a page that
// does not shrink is stored as it is).
func Bench(b *testing.B, compress Compress) {
	pages := Load(b)
	out := make([]byte, 0, 2*Size)
	i := 0
	b.SetBytes(Size)
	for b.Loop() {
		out = compress(out[:0], pages[i])
		i++
		if i == len(pages) {
			i = 0
		}
	}
	total := 0
	for _, p := range pages {
		total += min(len(compress(out[:0], p)), len(p))
	}
	b.ReportMetric(float64(total), "out_bytes")
}
