package image

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestZeroRuns(t *testing.T) {
	key := mustRawKey(t, testRawKey)
	tests := []struct {
		name       string
		runs       []Run
		opt        WriteOptions
		key        Key
		wantChunks uint64
	}{
		{"zero only", []Run{{PFN: 0, Count: 5, Zero: true}, {PFN: 100, Count: 1, Zero: true}}, WriteOptions{PagesPerChunk: 2}, Key{}, 0},
		{"zero only encrypted", []Run{{PFN: 7, Count: 300, Zero: true}}, WriteOptions{Key: key}, key, 0},
		{"zero first", []Run{{PFN: 0, Count: 4, Zero: true}, {PFN: 4, Count: 3}}, WriteOptions{PagesPerChunk: 2}, Key{}, 2},
		{"zero last", []Run{{PFN: 0, Count: 3}, {PFN: 3, Count: 4, Zero: true}}, WriteOptions{PagesPerChunk: 2}, Key{}, 2},
		{"zero between, one chunk", []Run{{PFN: 0, Count: 1}, {PFN: 1, Count: 1, Zero: true}, {PFN: 2, Count: 1}}, WriteOptions{PagesPerChunk: 4}, Key{}, 1},
		{"adjacent zero runs", []Run{{PFN: 0, Count: 2, Zero: true}, {PFN: 2, Count: 2, Zero: true}, {PFN: 4, Count: 2}, {PFN: 6, Count: 2}}, WriteOptions{PagesPerChunk: 3}, Key{}, 2},
		{"zero runs split chunks", smallRuns, WriteOptions{PagesPerChunk: 3, Compression: None}, Key{}, 3},
		{"zero runs encrypted", smallRuns, WriteOptions{PagesPerChunk: 2, Key: key}, key, 4},
		{"huge zero run", []Run{{PFN: 1, Count: 1<<52 - 2, Zero: true}, {PFN: 1<<52 - 1, Count: 1}}, WriteOptions{}, Key{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := writeImage(t, tt.runs, tt.opt)
			im, err := Open(&memFile{b: b}, int64(len(b)), tt.key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := im.Verify(); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			h := im.Header()
			pages, zero := dataPages(tt.runs)
			if h.Pages != pages || h.ZeroPages != zero || h.Chunks != tt.wantChunks || h.Runs != uint64(len(tt.runs)) {
				t.Errorf("Pages %d ZeroPages %d Chunks %d Runs %d, want %d %d %d %d",
					h.Pages, h.ZeroPages, h.Chunks, h.Runs, pages, zero, tt.wantChunks, len(tt.runs))
			}
			if got := im.Runs(); !slices.Equal(got, tt.runs) {
				t.Errorf("Runs() = %+v, want %+v", got, tt.runs)
			}
			if pages == 0 && h.dataLen != 0 {
				t.Errorf("image without data pages has %d data bytes", h.dataLen)
			}
			checkPages(t, im, tt.runs)
			s, err := Inspect(&memFile{b: b}, int64(len(b)))
			if err != nil || s.State != "valid" || s.ZeroPages != zero || s.Pages != pages || s.RawBytes != pages*PageSize {
				t.Errorf("Inspect = %+v, %v", s, err)
			}
		})
	}
}

// TestZeroRunsNotRead checks that Write never asks the page source for a
// page of a zero run, and asks for every data page exactly once.
func TestZeroRunsNotRead(t *testing.T) {
	runs := []Run{{PFN: 0, Count: 3}, {PFN: 3, Count: 5, Zero: true}, {PFN: 8, Count: 2}, {PFN: 20, Count: 9, Zero: true}}
	asked := map[uint64]int{}
	src := sourceFunc(func(pfn uint64, n int, buf []byte) error {
		for i := range uint64(n) {
			asked[pfn+i]++
		}
		return patternSource{}.ReadPages(pfn, n, buf)
	})
	if _, err := Write(&memFile{}, testHeader(), runs, src, WriteOptions{PagesPerChunk: 2, Rand: detRand(4)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		for p := r.PFN; p < r.PFN+r.Count; p++ {
			want := 1
			if r.Zero {
				want = 0
			}
			if asked[p] != want {
				t.Errorf("page %#x (zero %v) read %d times, want %d", p, r.Zero, asked[p], want)
			}
		}
	}
}

type sourceFunc func(pfn uint64, n int, buf []byte) error

func (f sourceFunc) ReadPages(pfn uint64, n int, buf []byte) error { return f(pfn, n, buf) }

// TestMapRejects edits page map entries and reseals every checksum, so the
// map's structural checks alone must reject the image.
func TestMapRejects(t *testing.T) {
	orig := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2})
	intact := bytes.Clone(orig)
	reseal(intact)
	if !bytes.Equal(intact, orig) {
		t.Fatal("reseal changed an intact image")
	}
	entry := func(i int) int { return BlockSize + i*16 }
	tests := []struct {
		name   string
		edit   func(b []byte)
		detail string
	}{
		{"zero bit on zero count", func(b []byte) { le.PutUint64(b[entry(1)+8:], zeroRunBit) }, "zero true) is empty"},
		{"zero count without zero bit", func(b []byte) { le.PutUint64(b[entry(1)+8:], 0) }, "zero false) is empty"},
		{"zero run overflows", func(b []byte) { le.PutUint64(b[entry(3)+8:], zeroRunBit|1<<52) }, "overflows"},
		{"zero run pfn overflows", func(b []byte) { le.PutUint64(b[entry(3):], ^uint64(0)-2) }, "overflows"},
		{"zero run overlaps next", func(b []byte) { le.PutUint64(b[entry(1)+8:], zeroRunBit|0x100) }, "overlaps"},
		{"zero run overlaps previous", func(b []byte) { le.PutUint64(b[entry(1):], 0x12) }, "overlaps"},
		{"data run turned zero", func(b []byte) { le.PutUint64(b[entry(2)+8:], zeroRunBit|1) }, "header says"},
		{"zero run turned data", func(b []byte) { le.PutUint64(b[entry(1)+8:], 2) }, "header says"},
		{"zero run longer", func(b []byte) { le.PutUint64(b[entry(3)+8:], zeroRunBit|8) }, "header says"},
		{"header zero pages off by one", func(b []byte) { le.PutUint64(b[offZeroPages:], 8) }, "header says"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(orig)
			tt.edit(b)
			reseal(b)
			im, err := Open(&memFile{b: b}, int64(len(b)), Key{})
			var fe *FormatError
			if im != nil || !errors.Is(err, ErrCorrupt) || !errors.As(err, &fe) || fe.Where != "map" || !strings.Contains(fe.Detail, tt.detail) {
				t.Fatalf("Open = %v, %v; want a map ErrCorrupt saying %q", im, err, tt.detail)
			}
			if s, err := Inspect(&memFile{b: b}, int64(len(b))); err != nil || s.State != "corrupt" {
				t.Errorf("Inspect = %+v, %v; want state corrupt", s, err)
			}
		})
	}
}
