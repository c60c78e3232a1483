package dump

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/pageclass/pageclasstest"
	"github.com/kjump/kjump/pageset"
)

// mappedRSS returns the resident KiB of the mapping that holds addr, from
// /proc/self/smaps.
func mappedRSS(t *testing.T, addr uintptr) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := strings.Cut(strings.Fields(line)[0], "-"); ok && !strings.HasSuffix(line, ":") && strings.Count(line, " ") > 3 {
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && uint64(addr) >= a && uint64(addr) < b
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			var kb int
			fmt.Sscanf(strings.TrimPrefix(line, "Rss:"), "%d", &kb)
			return kb
		}
	}
	t.Fatalf("no mapping at %#x in /proc/self/smaps", addr)
	return 0
}

// TestReleaseKeepsRSSFlat: the pages of a vmcore file that the kdump
// writer has read leave the process's memory (they used to stay mapped,
// so a dump's RSS grew by every page it wrote: 137 MB for a 767 MiB lab
// vmcore against makedumpfile's 36 MB).
func TestReleaseKeepsRSSFlat(t *testing.T) {
	k := pageclasstest.New(8192, true) // 32 MiB
	for pfn := pageclasstest.FirstFree(k.MaxPFN); pfn < k.MaxPFN; pfn++ {
		k.WritePage(pfn, pageBytes(pfn))
	}
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))

	s, err := openSource(src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if s.mapped == nil || !s.releasable {
		t.Fatalf("a vmcore file in %s is not mapped and releasable", dir)
	}
	addr := uintptr(unsafe.Pointer(&s.mapped[0]))
	buf := make([]byte, pageSize)
	for pfn := uint64(0); pfn < k.MaxPFN; pfn++ {
		if err := s.ReadPage(pfn, buf); err != nil {
			t.Fatal(err)
		}
	}
	read := mappedRSS(t, addr)
	if read < 16<<10 {
		t.Fatalf("%d KiB resident after reading 32 MiB through the mapping: the test cannot tell", read)
	}
	s.release(0, k.MaxPFN-1)
	// The ELF headers' page stays (it holds no page frame).
	if after := mappedRSS(t, addr); after > 64 {
		t.Errorf("%d KiB of the vmcore still resident after release (%d KiB before)", after, read)
	}

	// The kdump writer releases every page frame it writes, in spans.
	rec := &recordingSource{ctxSource: ctxSource{context.Background(), s}}
	present := s.present()
	h := dumpfile.Header{NrCPUs: 1, Compression: dumpfile.LZO}
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := dumpfile.Write(out, h, present, present, rec, dumpfile.Options{Threads: 2}); err != nil {
		t.Fatal(err)
	}
	if after := mappedRSS(t, addr); after > 64 {
		t.Errorf("%d KiB of the vmcore resident after Write", after)
	}
	if rec.released.Count() != present.Count() {
		t.Errorf("Write released %d page frames, wrote %d", rec.released.Count(), present.Count())
	}
}

// recordingSource records the page frames released through it.
type recordingSource struct {
	ctxSource
	mu       sync.Mutex
	released *pageset.Set
}

func (r *recordingSource) ReleasePages(first, last uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released == nil {
		r.released = pageset.New(1 << 20)
	}
	r.released.SetRange(first, last+1)
	r.ctxSource.ReleasePages(first, last)
}

// mappedRSSOf returns the resident KiB of the mappings of path, from
// /proc/self/smaps.
func mappedRSSOf(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	kb, in := 0, false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = strings.HasSuffix(line, " "+path)
			continue
		}
		if in && len(f) >= 2 && f[0] == "Rss:" {
			n, _ := strconv.Atoi(f[1])
			kb += n
		}
	}
	return kb
}

// TestRunRSSFlat: when Run has written the last page, in either format,
// the vmcore's pages it mapped are no longer resident (the ELF writer kept
// them all: 135 MB on the lab vmcore).
func TestRunRSSFlat(t *testing.T) {
	k := pageclasstest.New(8192, true) // 32 MiB
	for pfn := pageclasstest.FirstFree(k.MaxPFN); pfn < k.MaxPFN; pfn++ {
		k.WritePage(pfn, pageBytes(pfn))
	}
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))
	for _, format := range []Format{Kdump, ELF} {
		t.Run(format.String(), func(t *testing.T) {
			opt := Options{Level: 1, Format: format, Compression: dumpfile.LZO, Threads: 2}
			rss := -1
			opt.Progress = func(done, total uint64) {
				if done == total {
					rss = mappedRSSOf(t, src)
				}
			}
			if _, err := Run(src, filepath.Join(dir, "out-"+format.String()), opt); err != nil {
				t.Fatal(err)
			}
			if rss < 0 || rss > 64 {
				t.Errorf("%d KiB of the 32 MiB vmcore resident when the last page was written", rss)
			}
		})
	}
}
