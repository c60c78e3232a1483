package cpio_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/kjump/kjump/cpio"
)

func Example() {
	var buf bytes.Buffer
	w := cpio.NewWriter(&buf)
	entries := []struct {
		hdr  cpio.Header
		data string
	}{
		{cpio.Header{Name: "bin", Mode: cpio.TypeDir | 0o755, NLink: 2}, ""},
		{cpio.Header{Name: "bin/hello", Mode: cpio.TypeReg | 0o755, NLink: 1, Size: 21}, "#!/bin/sh\necho hello\n"},
		{cpio.Header{Name: "bin/hi", Mode: cpio.TypeSymlink | 0o777, NLink: 1, Size: 5}, "hello"},
		{cpio.Header{Name: "dev/console", Mode: cpio.TypeCharDev | 0o600, NLink: 1, RDevMajor: 5, RDevMinor: 1}, ""},
	}
	for _, e := range entries {
		if err := w.WriteHeader(&e.hdr); err != nil {
			log.Fatal(err)
		}
		if _, err := io.WriteString(w, e.data); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("archive bytes:", buf.Len())

	r := cpio.NewReader(&buf)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d %06o %-12s %d,%d %q\n", h.Ino, h.Mode, h.Name, h.RDevMajor, h.RDevMinor, data)
	}
	// Output:
	// archive bytes: 1024
	// 0 040755 bin          0,0 ""
	// 1 100755 bin/hello    0,0 "#!/bin/sh\necho hello\n"
	// 2 120777 bin/hi       0,0 "hello"
	// 3 020600 dev/console  5,1 ""
}
