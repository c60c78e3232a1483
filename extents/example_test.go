package extents_test

import (
	"fmt"
	"log"

	"github.com/kjump/kjump/extents"
)

// memDevice is a block device in memory.
type memDevice []byte

func (d memDevice) ReadAt(p []byte, off int64) (int, error)  { return copy(p, d[off:]), nil }
func (d memDevice) WriteAt(p []byte, off int64) (int, error) { return copy(d[off:], p), nil }

// The other kernel reads and writes the file through its map: a write that
// crosses from one extent into the next lands in two places on the device.
func ExampleNewFile() {
	dev := make(memDevice, 64<<10)
	m := &extents.Map{Device: "254:0", Size: 12288, Extents: []extents.Extent{
		{Logical: 0, Physical: 40960, Length: 8192},
		{Logical: 8192, Physical: 16384, Length: 4096},
	}}
	f, err := extents.NewFile(dev, m)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("hello, first kernel"), 8192-5); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("device at 40960+8187: %q\n", dev[40960+8187:40960+8192])
	fmt.Printf("device at 16384:      %q\n", dev[16384:16384+14])

	buf := make([]byte, 19)
	if _, err := f.ReadAt(buf, 8192-5); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("file at 8187:         %q\n", buf)

	_, err = f.WriteAt([]byte("x"), f.Size())
	fmt.Println(err)
	// Output:
	// device at 40960+8187: "hello"
	// device at 16384:      ", first kernel"
	// file at 8187:         "hello, first kernel"
	// access outside the mapped file: write of 1 bytes at offset 12288, the file has 12288
}

// A map crosses to the other kernel in a few bytes, checked on arrival.
func ExampleMap_MarshalBinary() {
	m := &extents.Map{Device: "254:0", Size: 12288, Extents: []extents.Extent{
		{Logical: 0, Physical: 40960, Length: 8192},
		{Logical: 8192, Physical: 16384, Length: 4096},
	}}
	b, err := m.MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes, starting %q\n", len(b), b[:8])

	var got extents.Map
	if err := got.UnmarshalBinary(b); err != nil {
		log.Fatal(err)
	}
	fmt.Println(&got)

	b[40] ^= 1 // a flipped bit
	fmt.Println(got.UnmarshalBinary(b))
	// Output:
	// 89 bytes, starting "KJEXTMAP"
	// 12288 bytes on device 254:0 in 2 extents
	// invalid extent map: checksum 0x1657a6bb, the data sums to 0x78c7820a
}
