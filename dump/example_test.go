package dump_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/pageclass/pageclasstest"
)

// Dump a synthetic 4 MiB vmcore at level 31 with zlib, as
// 'kjump dump /proc/vmcore DST' does with the real one, then open the
// result.
func Example() {
	dir, err := os.MkdirTemp("", "kjump-dump-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	k := pageclasstest.New(1024, true)
	k.SetFree(512, 8) // 256 free pages
	k.SetPage(900, pageclasstest.CachePage)
	k.WritePage(901, []byte("kernel data"))
	src := filepath.Join(dir, "vmcore")
	if err := os.WriteFile(src, k.ELF(nil, true), 0o600); err != nil {
		log.Fatal(err)
	}

	dst := filepath.Join(dir, "vmcore.kdump")
	sum, err := dump.Run(src, dst, dump.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d pages: %d free, %d cache and %d zero pages left out, %d written\n",
		sum.PagesTotal, sum.Excluded.Free, sum.Excluded.Cache, sum.Excluded.Zero, sum.PagesWritten)

	f, err := os.Open(dst)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	d, err := dumpfile.Open(f, st.Size())
	if err != nil {
		log.Fatal(err)
	}
	page := make([]byte, 4096)
	if err := d.ReadPage(901, page); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s, page 901: %q\n", d.Header.Utsname.Release, d.Header.Compression, page[:11])
	// Output:
	// 1024 pages: 256 free, 1 cache and 741 zero pages left out, 26 written
	// 6.12.0-fake zlib, page 901: "kernel data"
}
