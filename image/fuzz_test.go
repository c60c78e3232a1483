package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/kjump/kjump/internal/imagetest"
)

// FuzzOpen feeds arbitrary bytes to Open, Verify, Pages, Inspect and
// MarkConsumed. Invariants: no panic; every failure wraps a sentinel and
// leaves no half-built Image; an opened image's runs are sorted, disjoint,
// non-empty and add up to Header().Pages and ZeroPages, and its filesystem
// devices are MAJOR:MINOR; an image that passes Verify delivers exactly
// Header().Pages pages from Pages, all inside data runs; a valid summary
// marshals to JSON.
//
// Seeds are whole images of 20-40 KiB; minimizing such inputs is slow, so run
// with a bounded minimization: go test -fuzz=FuzzOpen -fuzzminimizetime=100x
func FuzzOpen(f *testing.F) {
	key := mustRawKey(f, testRawKey)
	plain := writeImage(f, smallRuns, WriteOptions{PagesPerChunk: 2})
	raw := writeImage(f, []Run{{PFN: 3, Count: 2}}, WriteOptions{PagesPerChunk: 1, Compression: None})
	zeroOnly := writeImage(f, []Run{{PFN: 0, Count: 9, Zero: true}, {PFN: 9, Count: 1, Zero: true}}, WriteOptions{})
	bare := testHeader()
	bare.Filesystems, bare.Mailbox = nil, 0
	noFS := writeImageHeader(f, bare, []Run{{PFN: 1, Count: 1, Zero: true}, {PFN: 2, Count: 1}}, WriteOptions{PagesPerChunk: 1})
	full := writeImageHeader(f, fullHeader(), smallRuns, WriteOptions{PagesPerChunk: 3, Compression: None})
	enc := writeImage(f, smallRuns, WriteOptions{PagesPerChunk: 3, Key: key})
	consumed := bytes.Clone(plain)
	if err := MarkConsumed(&memFile{b: consumed}, int64(len(consumed)), uuidOf(consumed)); err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{plain, raw, enc, zeroOnly, noFS, full, consumed, plain[:len(plain)-BlockSize], plain[:BlockSize], beginMarker(), nil, []byte("KJHIBER1")} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, withKey bool) {
		k := Key{}
		if withKey {
			k = key
		}
		checkReader(t, data, k)
	})
}

// insideDataRun reports whether pages [pfn, pfn+n) lie inside one data run.
func insideDataRun(runs []Run, pfn, n uint64) bool {
	for _, r := range runs {
		if !r.Zero && pfn >= r.PFN && pfn+n <= r.PFN+r.Count {
			return true
		}
	}
	return false
}

// checkReader asserts what every reader entry point promises on any bytes:
// errors wrap a sentinel, an opened image's runs match its header, Pages
// delivers only inside data runs, CheckChunks never passes what Verify
// refuses, MarkConsumed leaves an image Open calls consumed.
func checkReader(t *testing.T, data []byte, k Key) {
	size := int64(len(data))
	im, err := Open(&memFile{b: data}, size, k)
	if err != nil {
		if im != nil {
			t.Fatalf("Open returned an Image with error %v", err)
		}
		if !isSentinel(err) {
			t.Fatalf("Open error wraps no sentinel: %v", err)
		}
	} else {
		h := im.Header()
		runs := im.Runs()
		if _, p, z, err := validateRuns(runs); err != nil || p != h.Pages || z != h.ZeroPages {
			t.Fatalf("opened image: runs %v (%v) hold %d+%d pages, header says %d+%d", runs, err, p, z, h.Pages, h.ZeroPages)
		}
		if err := h.checkVar(); err != nil || h.Mailbox%PageSize != 0 {
			t.Fatalf("opened image has a header Write refuses: %v (mailbox %#x)", err, h.Mailbox)
		}
		verr := im.Verify()
		if verr != nil && !isSentinel(verr) {
			t.Fatalf("Verify error wraps no sentinel: %v", verr)
		}
		if cerr := im.CheckChunks(); cerr == nil && verr != nil {
			t.Fatalf("CheckChunks passed an image Verify refuses: %v", verr)
		}
		var pages uint64
		perr := im.Pages(func(pfn uint64, d []byte) error {
			n := uint64(len(d) / PageSize)
			if !insideDataRun(runs, pfn, n) {
				t.Fatalf("Pages delivered %d pages at pfn %#x, not inside one data run of %v", n, pfn, runs)
			}
			pages += n
			return nil
		})
		if verr == nil && (perr != nil || pages != h.Pages) {
			t.Fatalf("verified image: Pages = %v, %d pages, header says %d", perr, pages, h.Pages)
		}
	}
	s, ierr := Inspect(&memFile{b: data}, size)
	if (s == nil) == (ierr == nil) {
		t.Fatalf("Inspect = %v, %v: want exactly one of summary and error", s, ierr)
	}
	if err == nil && s.State != "valid" {
		t.Fatalf("Open accepted an image Inspect calls %q", s.State)
	}
	if s != nil {
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("summary does not marshal: %v", err)
		}
	}
	cp := &memFile{b: bytes.Clone(data)}
	if merr := MarkConsumed(cp, size, uuidOf(data)); merr == nil {
		if _, err := Open(cp, size, k); !errors.Is(err, ErrConsumed) && !errors.Is(err, ErrKey) {
			t.Fatalf("Open after MarkConsumed = %v", err)
		}
	} else if !isSentinel(merr) {
		t.Fatalf("MarkConsumed error wraps no sentinel: %v", merr)
	}
}

// FuzzOpenResealed mutates valid images and reseals every unkeyed checksum
// (chunk CRCs, map and header SHA-256, commit digest), so the structural
// checks of the map, the chunk headers and the decoders are reached rather
// than stopped at a checksum.
func FuzzOpenResealed(f *testing.F) {
	seeds := [][]byte{
		writeImage(f, smallRuns, WriteOptions{PagesPerChunk: 2}),
		writeImage(f, []Run{{PFN: 0, Count: 40}}, WriteOptions{PagesPerChunk: 8, Compression: LZ4}),
		writeImage(f, []Run{{PFN: 3, Count: 2}, {PFN: 5, Count: 3, Zero: true}}, WriteOptions{PagesPerChunk: 1, Compression: None}),
	}
	for i := range seeds {
		f.Add(uint8(i), uint32(4096+8), []byte{0xff})
		f.Add(uint8(i), uint32(128), []byte{1, 0, 0, 0})
		f.Add(uint8(i), uint32(4096), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff})
	}
	f.Fuzz(func(t *testing.T, which uint8, off uint32, patch []byte) {
		b := bytes.Clone(seeds[int(which)%len(seeds)])
		copy(b[int(off)%len(b):], patch)
		if imagetest.Reseal(b) != nil {
			return
		}
		checkReader(t, b, Key{})
		if im, err := OpenLimited(&memFile{b: b}, int64(len(b)), Key{}, Limits{Memory: 8 << 20}); err == nil {
			if im.workers < 1 || uint64(im.workers)*WorkerMemory(im.h.PagesPerChunk)+im.h.mapLen > 8<<20 {
				t.Fatalf("OpenLimited allowed %d workers of %d pages per chunk in 8 MiB", im.workers, im.h.PagesPerChunk)
			}
		} else if !isSentinel(err) && !errors.Is(err, ErrLimit) {
			t.Fatalf("OpenLimited error wraps no sentinel: %v", err)
		}
	})
}
