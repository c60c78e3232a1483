// Command pattern is a lab guest tool (built by the lab, not part of kjump): it
// fills memory with pages that name themselves, reports which of them lie in a
// physical range, and holds the memory until killed.
//
//	pattern MIB START END
//
// Each page starts with "KJPATTERN" and the page's index (8 bytes, little
// endian); the rest is the index repeated. For up to 64 pages whose frame lies
// in [START, END) it prints "pattern: phys 0x… index N", then "pattern: ready".
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

const page = 4096

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: pattern MIB START END")
		os.Exit(2)
	}
	mib, _ := strconv.ParseUint(os.Args[1], 0, 64)
	start, _ := strconv.ParseUint(os.Args[2], 0, 64)
	end, _ := strconv.ParseUint(os.Args[3], 0, 64)
	mem, err := syscall.Mmap(-1, 0, int(mib<<20), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pattern:", err)
		os.Exit(1)
	}
	n := len(mem) / page
	for i := 0; i < n; i++ {
		p := mem[i*page : (i+1)*page]
		for off := 16; off < page; off += 8 {
			binary.LittleEndian.PutUint64(p[off:], uint64(i))
		}
		copy(p, "KJPATTERN")
		binary.LittleEndian.PutUint64(p[8:], uint64(i))
	}
	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pattern:", err)
		os.Exit(1)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	buf := make([]byte, 8*n)
	if _, err := pm.ReadAt(buf, int64(base/page*8)); err != nil {
		fmt.Fprintln(os.Stderr, "pattern:", err)
		os.Exit(1)
	}
	found := 0
	for i := 0; i < n && found < 64; i++ {
		e := binary.LittleEndian.Uint64(buf[i*8:])
		phys := (e & (1<<55 - 1)) * page
		if e&(1<<63) != 0 && phys >= start && phys < end {
			fmt.Printf("pattern: phys %#x index %d\n", phys, i)
			found++
		}
	}
	fmt.Printf("pattern: ready: %d MiB, %d of its pages in [%#x, %#x)\n", mib, found, start, end)
	for {
		time.Sleep(time.Hour)
	}
}
