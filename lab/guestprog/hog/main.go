// Command hog is a lab guest tool (built by the lab, not part of kjump): it takes
// memory until PERCENT of RAM is in use, fills every page with data derived from
// its index (half pseudo-random, half zero, so it compresses about 2:1 like real
// memory), and holds it. On SIGUSR1 it checks every page and prints the result.
//
//	hog PERCENT
//
// Prints "hog: holding N MiB: X% of RAM in use", and on SIGUSR1
// "hog: verified N MiB" or "hog: CORRUPT page I".
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

const page = 4096

func meminfo() (total, avail uint64) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hog:", err)
		os.Exit(1)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(fs[1], 10, 64)
		switch fs[0] {
		case "MemTotal:":
			total = v << 10
		case "MemAvailable:":
			avail = v << 10
		}
	}
	return total, avail
}

func fill(p []byte, i uint64) {
	x := i*0x9e3779b97f4a7c15 + 1
	for off := 0; off < page/2; off += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(p[off:], x)
	}
	binary.LittleEndian.PutUint64(p[page-8:], i)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hog PERCENT")
		os.Exit(2)
	}
	pct, _ := strconv.ParseUint(os.Args[1], 10, 64)
	total, avail := meminfo()
	keep := total * (100 - pct) / 100
	if avail <= keep {
		fmt.Fprintln(os.Stderr, "hog: already that much in use")
		os.Exit(1)
	}
	size := (avail - keep) &^ (page - 1)
	mem, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hog:", err)
		os.Exit(1)
	}
	n := uint64(len(mem) / page)
	for i := uint64(0); i < n; i++ {
		fill(mem[i*page:(i+1)*page], i)
	}
	_, after := meminfo()
	fmt.Printf("hog: holding %d MiB: %d%% of RAM in use (MemTotal %d MiB, MemAvailable %d MiB)\n",
		size>>20, (total-after)*100/total, total>>20, after>>20)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	want := make([]byte, page)
	for range sig {
		bad := false
		for i := uint64(0); i < n; i++ {
			fill(want, i)
			if string(mem[i*page:(i+1)*page]) != string(want) {
				fmt.Printf("hog: CORRUPT page %d\n", i)
				bad = true
				break
			}
		}
		if !bad {
			fmt.Printf("hog: verified %d MiB\n", size>>20)
		}
	}
}
