//go:build linux

package extents

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DropCache makes this kernel forget the cached pages of path, so that reads
// after the other kernel wrote the file's blocks come from the disk. It syncs
// the file, asks the kernel to drop its pages (posix_fadvise
// POSIX_FADV_DONTNEED), then counts the pages still cached (cachestat(2), or
// mincore(2) where cachestat is missing) and fails with ErrStillCached if any
// remain.
//
// The kernel drops only clean pages that no process maps or locks. Dirty pages
// cannot be dropped and would be written back over the other kernel's data;
// Prepare and Verify sync the file, so there are none unless something wrote
// the file after Verify. A process that has the file mapped keeps its pages:
// stop it first, or read the file with O_DIRECT.
func DropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("extents: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("extents: fsync %s: %w", path, err)
	}
	fd := int(f.Fd())
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); errors.Is(err, unix.ENOSYS) {
		// A kernel without CONFIG_ADVISE_SYSCALLS: drop every clean cached
		// page instead (the file was just synced, so its pages are clean).
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("1\n"), 0); err != nil {
			return fmt.Errorf("extents: no posix_fadvise (CONFIG_ADVISE_SYSCALLS) and %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("extents: posix_fadvise %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("extents: %w", err)
	}
	cached, err := cachedPages(fd, fi.Size())
	if err != nil {
		return fmt.Errorf("extents: counting cached pages of %s: %w", path, err)
	}
	if cached > 0 {
		return &Error{Path: path, Err: ErrStillCached,
			Detail: fmt.Sprintf("%d pages of file %s are still in the page cache after POSIX_FADV_DONTNEED (a process maps or locks them, or wrote them again)", cached, path),
			Hint:   "stop the processes that map the file (fuser " + path + ") and call DropCache again, or read the file with O_DIRECT"}
	}
	return nil
}

// cachedPages counts the pages of fd's first size bytes in the page cache,
// with cachestat(2) (Linux 6.5) or, where it is missing or not allowed,
// mincore(2).
func cachedPages(fd int, size int64) (uint64, error) {
	var cs unix.Cachestat_t
	err := unix.Cachestat(uint(fd), &unix.CachestatRange{Off: 0, Len: uint64(size)}, &cs, 0)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return mincorePages(fd, size)
	}
	if err != nil {
		return 0, fmt.Errorf("cachestat: %w", err)
	}
	return cs.Cache, nil
}

// mincoreChunk bounds the mapping mincorePages makes at a time.
const mincoreChunk = 1 << 30

// mincorePages counts cached pages with mincore(2) over a read-only shared
// mapping of the file, a chunk at a time. The kernel reports page cache
// residency only to the file's owner or a caller allowed to write it.
func mincorePages(fd int, size int64) (uint64, error) {
	page := int64(os.Getpagesize())
	var n uint64
	for off := int64(0); off < size; off += mincoreChunk {
		length := min(size-off, mincoreChunk)
		mem, err := unix.Mmap(fd, off, int(length), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return 0, fmt.Errorf("mmap: %w", err)
		}
		vec := make([]byte, (length+page-1)/page)
		_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(length), uintptr(unsafe.Pointer(&vec[0])))
		if err := unix.Munmap(mem); err != nil {
			return 0, fmt.Errorf("munmap: %w", err)
		}
		if e != 0 {
			return 0, fmt.Errorf("mincore: %w", e)
		}
		for _, v := range vec {
			n += uint64(v & 1)
		}
	}
	return n, nil
}
