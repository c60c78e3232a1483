package image

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open, Verify, Pages, Inspect and
// MarkConsumed. Invariants: no panic; every failure wraps a sentinel and
// leaves no half-built Image; an image that passes Verify delivers exactly
// Header().Pages pages from Pages.
//
// Seeds are whole images of 20-40 KiB; minimizing such inputs is slow, so run
// with a bounded minimization: go test -fuzz=FuzzOpen -fuzzminimizetime=100x
func FuzzOpen(f *testing.F) {
	key := mustRawKey(f, testRawKey)
	plain := writeImage(f, smallRuns, WriteOptions{PagesPerChunk: 2})
	raw := writeImage(f, []Run{{PFN: 3, Count: 2}}, WriteOptions{PagesPerChunk: 1, Compression: None})
	enc := writeImage(f, smallRuns, WriteOptions{PagesPerChunk: 3, Key: key})
	consumed := bytes.Clone(plain)
	if err := MarkConsumed(&memFile{b: consumed}, int64(len(consumed))); err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{plain, raw, enc, consumed, plain[:len(plain)-BlockSize], plain[:BlockSize], beginMarker(), nil, []byte("KJHIBER1")} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, withKey bool) {
		k := Key{}
		if withKey {
			k = key
		}
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
			verr := im.Verify()
			if verr != nil && !isSentinel(verr) {
				t.Fatalf("Verify error wraps no sentinel: %v", verr)
			}
			var pages uint64
			perr := im.Pages(func(pfn uint64, d []byte) error {
				pages += uint64(len(d) / PageSize)
				return nil
			})
			if verr == nil && (perr != nil || pages != im.Header().Pages) {
				t.Fatalf("verified image: Pages = %v, %d pages, header says %d", perr, pages, im.Header().Pages)
			}
		}
		s, ierr := Inspect(&memFile{b: data}, size)
		if (s == nil) == (ierr == nil) {
			t.Fatalf("Inspect = %v, %v: want exactly one of summary and error", s, ierr)
		}
		if err == nil && s.State != "valid" {
			t.Fatalf("Open accepted an image Inspect calls %q", s.State)
		}
		cp := &memFile{b: bytes.Clone(data)}
		if merr := MarkConsumed(cp, size); merr == nil {
			if _, err := Open(cp, size, k); !errors.Is(err, ErrConsumed) && !errors.Is(err, ErrKey) {
				t.Fatalf("Open after MarkConsumed = %v", err)
			}
		} else if !isSentinel(merr) {
			t.Fatalf("MarkConsumed error wraps no sentinel: %v", merr)
		}
	})
}
