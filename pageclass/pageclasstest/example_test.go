package pageclasstest_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/pageclass/pageclasstest"
)

// Build a kernel with one free block and read its ELF vmcore back.
func Example() {
	k := pageclasstest.New(1024, false)
	k.SetFree(512, 2)
	k.WritePage(600, []byte("hello"))
	vmcore := k.ELF(nil, true)

	f, err := elfcore.NewFile(bytes.NewReader(vmcore), int64(len(vmcore)))
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := f.ReadPhys(buf, 600*pageclasstest.PageSize); err != nil {
		log.Fatal(err)
	}
	text, _ := f.VMCOREINFO()
	fmt.Printf("%d PT_LOAD, page 600 says %q, VMCOREINFO of %d bytes\n", len(f.Loads), buf, len(text))
	// Output:
	// 1 PT_LOAD, page 600 says "hello", VMCOREINFO of 1053 bytes
}
