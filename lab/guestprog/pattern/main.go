// Command pattern is a lab guest tool (built by the lab, not part of kjump): it
// fills memory with pages that name themselves, reports which of them lie in a
// physical range, and holds the memory until killed.
//
//	pattern MIB [STRIDE]
//
// Each page starts with "KJPATTERN" and the page's index (8 bytes, little
// endian); the rest is the index repeated. It ranks the 256 MiB windows
// (16 MiB aligned, above 16 MiB) by how many of its pages they hold and, for the
// best three, prints "pattern: window 0x… pages N" and up to 64 lines
// "pattern: phys 0x… index N window 0x…"; with STRIDE, also "pattern: phys
// 0x… index N" for every STRIDE-th page; then "pattern: ready".
//
// On SIGUSR1 it checks every page: for each page that no longer holds its
// pattern it prints "pattern: changed index N: " and the page's first 16
// bytes (quoted), then "pattern: checked N changed" and writes the same line
// to /tmp/pattern.checked.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"syscall"
	"unsafe"
)

const page = 4096

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pattern MIB [STRIDE]")
		os.Exit(2)
	}
	mib, _ := strconv.ParseUint(os.Args[1], 0, 64)
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
	const window, align = 256 << 20, 16 << 20
	phys := make([]uint64, n)
	perSlot := map[uint64]int{} // pages per 16 MiB slot
	for i := 0; i < n; i++ {
		e := binary.LittleEndian.Uint64(buf[i*8:])
		if e&(1<<63) != 0 {
			phys[i] = (e & (1<<55 - 1)) * page
			perSlot[phys[i]/align]++
		}
	}
	type win struct {
		start uint64
		pages int
	}
	var wins []win
	for s := uint64(1); s < 4<<30/align; s++ {
		c := 0
		for k := s; k < s+window/align; k++ {
			c += perSlot[k]
		}
		if c > 0 {
			wins = append(wins, win{s * align, c})
		}
	}
	sort.Slice(wins, func(a, b int) bool { return wins[a].pages > wins[b].pages })
	for w := 0; w < len(wins) && w < 3; w++ {
		fmt.Printf("pattern: window %#x pages %d\n", wins[w].start, wins[w].pages)
		found := 0
		for i := 0; i < n && found < 64; i++ {
			if phys[i] >= wins[w].start && phys[i] < wins[w].start+window {
				fmt.Printf("pattern: phys %#x index %d window %#x\n", phys[i], i, wins[w].start)
				found++
			}
		}
	}
	if len(os.Args) == 3 {
		stride, _ := strconv.Atoi(os.Args[2])
		for i := 0; stride > 0 && i < n; i += stride {
			fmt.Printf("pattern: phys %#x index %d\n", phys[i], i)
		}
	}
	fmt.Printf("pattern: ready: %d MiB\n", mib)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	for range usr1 {
		changed := 0
		for i := 0; i < n; i++ {
			p := mem[i*page : (i+1)*page]
			ok := string(p[:8]) == "KJPATTER"
			for off := 8; ok && off < page; off += 8 {
				ok = binary.LittleEndian.Uint64(p[off:]) == uint64(i)
			}
			if !ok {
				changed++
				fmt.Printf("pattern: changed index %d: %q\n", i, p[:16])
			}
		}
		line := fmt.Sprintf("pattern: checked %d changed\n", changed)
		fmt.Print(line)
		os.WriteFile("/tmp/pattern.checked", []byte(line), 0o644)
	}
}
