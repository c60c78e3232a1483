package image_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/kjump/kjump/image"
)

// device is an in-memory stand-in for the raw block device.
type device struct{ b []byte }

func (d *device) WriteAt(p []byte, off int64) (int, error) {
	if end := int(off) + len(p); end > len(d.b) {
		d.b = append(d.b, make([]byte, end-len(d.b))...)
	}
	return copy(d.b[off:], p), nil
}

func (d *device) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(d.b)) {
		return 0, io.EOF
	}
	n := copy(p, d.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// memory pretends to be physical memory: every byte of page pfn is byte(pfn).
type memory struct{}

func (memory) ReadPages(pfn uint64, n int, buf []byte) error {
	for i := 0; i < n; i++ {
		copy(buf[i*image.PageSize:(i+1)*image.PageSize], bytes.Repeat([]byte{byte(pfn + uint64(i))}, image.PageSize))
	}
	return nil
}

func Example() {
	dev := &device{}
	h := image.Header{
		Release:  "6.12.0",
		Identity: "BUILD-ID=0123abcd",
		RAMSize:  1 << 30,
		CPUs:     2,
		JumpBack: 0x1234000,
		Created:  time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
	}
	// Pages 0x103 and 0x104 are all zeros: a zero run records them without
	// storing (or reading) them.
	runs := []image.Run{{PFN: 0x100, Count: 3}, {PFN: 0x103, Count: 2, Zero: true}, {PFN: 0x800, Count: 2}}

	// Second kernel: save memory.
	if _, err := image.Write(dev, h, runs, memory{}, image.WriteOptions{PagesPerChunk: 2}); err != nil {
		log.Fatal(err)
	}

	// Resume kernel: open within a memory budget, restore while checking and
	// decoding each chunk once, and mark the image consumed only when every
	// page is back (any failure before that leaves the image resumable).
	im, err := image.OpenLimited(dev, int64(len(dev.b)), image.Key{}, image.Limits{Memory: 64 << 20})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("release %s, %d pages in %d chunks, %d zero pages, jump back to %#x\n",
		im.Header().Release, im.Header().Pages, im.Header().Chunks, im.Header().ZeroPages, im.Header().JumpBack)
	for _, r := range im.Runs() {
		if r.Zero {
			fmt.Printf("clear %d pages at pfn %#x\n", r.Count, r.PFN)
		}
	}
	err = im.Pages(func(pfn uint64, data []byte) error {
		fmt.Printf("restore %d pages at pfn %#x (first byte %#x)\n", len(data)/image.PageSize, pfn, data[0])
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := image.MarkConsumed(dev, int64(len(dev.b)), im.Header().UUID); err != nil {
		log.Fatal(err)
	}

	// A second resume from the same image is refused.
	_, err = image.Open(dev, int64(len(dev.b)), image.Key{})
	fmt.Println(errors.Is(err, image.ErrConsumed))
	// Output:
	// release 6.12.0, 5 pages in 3 chunks, 2 zero pages, jump back to 0x1234000
	// clear 2 pages at pfn 0x103
	// restore 2 pages at pfn 0x100 (first byte 0x0)
	// restore 1 pages at pfn 0x102 (first byte 0x2)
	// restore 1 pages at pfn 0x800 (first byte 0x0)
	// restore 1 pages at pfn 0x801 (first byte 0x1)
	// true
}
