//go:build linux

package extents

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func cached(t *testing.T, path string) (cachestat, mincore uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	cachestat, err = cachedPages(int(f.Fd()), fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	mincore, err = mincorePages(int(f.Fd()), fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	return cachestat, mincore
}

func TestDropCache(t *testing.T) {
	dir := diskDir(t)
	const size = 2 << 20
	path := filepath.Join(dir, "image")
	if _, err := Prepare(path, size); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if cs, mc := cached(t, path); cs == 0 || cs != mc {
		t.Fatalf("after reading the file: cachestat counts %d cached pages, mincore %d; want the same, above 0", cs, mc)
	}
	if err := DropCache(path); err != nil {
		t.Fatal(err)
	}
	if cs, mc := cached(t, path); cs != 0 || mc != 0 {
		t.Fatalf("after DropCache: cachestat counts %d cached pages, mincore %d", cs, mc)
	}

	// A page another mapping holds cannot be dropped, and DropCache says so.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if mem[5*PageSize] != 0 { // fault the page in
		t.Fatal("the prepared file is not zero")
	}
	err = DropCache(path)
	if !errors.Is(err, ErrStillCached) || !strings.Contains(err.Error(), "fuser") {
		t.Fatalf("DropCache with a mapped page = %v, want ErrStillCached", err)
	}
	unix.Munmap(mem)
	if err := DropCache(path); err != nil {
		t.Fatalf("DropCache after unmapping: %v", err)
	}
}

// tmpfs pages live only in the page cache: DropCache cannot drop them.
func TestDropCacheTmpfs(t *testing.T) {
	path := filepath.Join(shmDir(t), "f")
	if err := os.WriteFile(path, make([]byte, 3*PageSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := DropCache(path); !errors.Is(err, ErrStillCached) || !strings.Contains(err.Error(), "3 pages") {
		t.Fatalf("DropCache on tmpfs = %v, want ErrStillCached for 3 pages", err)
	}
}

func TestDropCacheMissing(t *testing.T) {
	if err := DropCache(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("DropCache of a missing file = %v", err)
	}
}
