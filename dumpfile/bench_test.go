package dumpfile

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/kjump/kjump/pageset"
)

// discardAt is an io.WriterAt that drops everything.
type discardAt struct{}

func (discardAt) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }

// pagesSource serves pages made in advance, so the benchmark measures the
// writer and not the making of pages.
type pagesSource [][]byte

func (s pagesSource) ReadPage(pfn uint64, buf []byte) error {
	copy(buf, s[pfn])
	return nil
}

// BenchmarkWrite writes 64 MiB of mixed pages (2/7 zero, 2/7 text, 1/7
// random, 2/7 sparse) with each compression at 1 and NumCPU threads.
// MB/s is of page frames dumped.
func BenchmarkWrite(b *testing.B) {
	const maxPFN = 16384
	src := make(pagesSource, maxPFN)
	for pfn := range src {
		src[pfn] = make([]byte, PageSize)
		fillPage(src[pfn], uint64(pfn), mixedKind(uint64(pfn)))
	}
	all := pageset.New(maxPFN)
	all.SetRange(0, maxPFN)
	threads := []int{1}
	if n := runtime.NumCPU(); n > 1 {
		threads = append(threads, n)
	}
	for _, c := range writeCompressions {
		for _, n := range threads {
			b.Run(fmt.Sprintf("%v/threads=%d", c, n), func(b *testing.B) {
				h := Header{NrCPUs: 1, MaxPFN: maxPFN, Compression: c}
				b.SetBytes(maxPFN * PageSize)
				var st Stats
				for b.Loop() {
					var err error
					if st, err = Write(discardAt{}, h, all, all, src, Options{Threads: n}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(st.Size)/float64(maxPFN*PageSize), "ratio")
			})
		}
	}
}

// BenchmarkReadPage reads every page of a zstd dump.
func BenchmarkReadPage(b *testing.B) {
	d := newTestDump(Zstd, 4096)
	f := openBytes(b, mustWrite(b, d, 0))
	buf := make([]byte, PageSize)
	b.SetBytes(int64(f.Layout.Pages) * PageSize)
	for b.Loop() {
		for pfn, ok := f.Dumped.Next(0); ok; pfn, ok = f.Dumped.Next(pfn + 1) {
			if err := f.ReadPage(pfn, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}
