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
