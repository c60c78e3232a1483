package dump

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageclass/pageclasstest"
)

// fixedTime makes Kdump files comparable byte for byte.
var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeKernel is a synthetic kernel with one page of each class:
//
//	256-511  free block (order 8): 256 pages, so an ELF output splits there
//	512-519  free block (order 3)
//	520      page cache, 521 page cache with private data, 522 anonymous
//	523      all zero (a kernel page)
//	528-535  page cache folio (order 3)
//	others   kernel data
//
// Every page but the zero ones and 0-15 holds bytes that name it.
func fakeKernel(vmemmap bool) *pageclasstest.Kernel {
	k := pageclasstest.New(1024, vmemmap)
	for pfn := pageclasstest.FirstFree(k.MaxPFN); pfn < k.MaxPFN; pfn++ {
		if pfn != 523 {
			k.WritePage(pfn, pageBytes(pfn))
		}
	}
	k.SetFree(512, 3)
	k.SetPage(520, pageclasstest.CachePage)
	k.SetPage(521, pageclasstest.CachePrivatePage)
	k.SetPage(522, pageclasstest.AnonPage)
	k.SetCompound(528, 3, pageclasstest.CachePage)
	k.SetFree(256, 8)
	return k
}

// pageBytes are contents that compress and name pfn.
func pageBytes(pfn uint64) []byte {
	return []byte(strings.Repeat(string(rune('a'+pfn%26))+"page "+string(rune('0'+pfn%10)), 100))
}

// fakeClass is the class each page frame of fakeKernel has.
func fakeClass(pfn uint64) pageclass.Class {
	switch {
	case pfn >= 256 && pfn < 520:
		return pageclass.Free
	case pfn == 520, pfn >= 528 && pfn < 536:
		return pageclass.Cache
	case pfn == 521:
		return pageclass.CachePrivate
	case pfn == 522:
		return pageclass.User
	}
	return pageclass.Kept
}

// fakeKept reports whether level keeps pfn of fakeKernel (zero pages
// aside).
func fakeKept(pfn uint64, level pageclass.Level) bool {
	switch fakeClass(pfn) {
	case pageclass.Free:
		return level&pageclass.ExcludeFree == 0
	case pageclass.Cache:
		return level&(pageclass.ExcludeCache|pageclass.ExcludeCachePrivate) == 0
	case pageclass.CachePrivate:
		return level&pageclass.ExcludeCachePrivate == 0
	case pageclass.User:
		return level&pageclass.ExcludeUser == 0
	}
	return true
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noTempFiles fails if dir holds a leftover DST.tmp-* file.
func noTempFiles(t testing.TB, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func openKdump(t testing.TB, path string) *dumpfile.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	d, err := dumpfile.Open(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func openELF(t testing.TB, path string) *elfcore.File {
	t.Helper()
	f, err := elfcore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// memPages is physical memory made of whole pages at chosen addresses,
// for Options.Extra.
type memPages map[uint64][]byte

func (m memPages) ReadPhys(p []byte, phys uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := phys + uint64(n)
		pg, ok := m[a&^(pageSize-1)]
		if !ok {
			return n, os.ErrNotExist
		}
		n += copy(p[n:], pg[a%pageSize:])
	}
	return n, nil
}

func readAll(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isZero(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }
