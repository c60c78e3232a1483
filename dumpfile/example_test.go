package dumpfile_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/pageset"
)

// memory is a PageSource: a few pages of a pretend machine.
type memory map[uint64]string

func (m memory) ReadPage(pfn uint64, buf []byte) error {
	clear(buf)
	copy(buf, m[pfn])
	return nil
}

func Example() {
	dir, err := os.MkdirTemp("", "dumpfile-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "dump.kdump")

	// A machine of 16 page frames, of which 0-7 exist; save 1, 2 and 3.
	mem := memory{
		1: strings.Repeat("hello from page 1. ", 100),
		2: "", // all zero
		3: strings.Repeat("and from page 3! ", 100),
	}
	present, dumped := pageset.New(16), pageset.New(16)
	present.SetRange(0, 8)
	dumped.SetRange(1, 4)
	h := dumpfile.Header{
		Utsname:     dumpfile.Utsname{Sysname: "Linux", Release: "6.12.0", Machine: "x86_64"},
		NrCPUs:      1,
		Compression: dumpfile.Zstd,
		VMCOREINFO:  []byte("OSRELEASE=6.12.0\nPAGESIZE=4096\n"),
	}

	out, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	st, err := dumpfile.Write(out, h, present, dumped, mem, dumpfile.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d pages, %d of them zero\n", st.Pages, st.ZeroPages)

	in, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	f, err := dumpfile.Open(in, st.Size)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s, %v, page frames 0-%d\n", f.Header.Utsname.Release, f.Header.Utsname.Machine, f.Header.Compression, f.Header.MaxPFN-1)
	page := make([]byte, f.Layout.BlockSize)
	for _, pfn := range []uint64{3, 4} {
		if err := f.ReadPage(pfn, page); errors.Is(err, dumpfile.ErrNotDumped) {
			fmt.Printf("pfn %d: not in the dump\n", pfn)
		} else if err != nil {
			log.Fatal(err)
		} else {
			fmt.Printf("pfn %d: %s\n", pfn, page[:16])
		}
	}
	fmt.Println("verify:", f.Verify())
	// Output:
	// wrote 3 pages, 1 of them zero
	// 6.12.0 x86_64, zstd, page frames 0-15
	// pfn 3: and from page 3!
	// pfn 4: not in the dump
	// verify: <nil>
}
