package pageclass

import (
	"fmt"
	"strconv"
	"strings"
)

// Level is makedumpfile's dump level (-d): a set of bits, each naming a
// class of pages a dump may leave out. 0 keeps every page, 31 leaves out all
// five classes.
type Level uint8

// The dump level bits, as makedumpfile numbers them.
const (
	ExcludeZero         Level = 1 << iota // 1: pages whose bytes are all zero
	ExcludeCache                          // 2: page cache without private data
	ExcludeCachePrivate                   // 4: page cache, with or without private data
	ExcludeUser                           // 8: user process data (anonymous and hugetlbfs pages)
	ExcludeFree                           // 16: free pages (the buddy allocator's)

	// MaxLevel has every bit set.
	MaxLevel Level = 31
)

var levelNames = []string{"zero", "cache", "private", "user", "free"}

// ParseLevel parses a dump level: a number from 0 to 31 (decimal, or 0x…
// hexadecimal).
func ParseLevel(s string) (Level, error) {
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil || n > uint64(MaxLevel) {
		return 0, fmt.Errorf("pageclass: dump level %q: want a number from 0 to 31", s)
	}
	return Level(n), nil
}

// String names the level's bits: "31 (zero|cache|private|user|free)", "0".
func (l Level) String() string {
	var names []string
	for i, n := range levelNames {
		if l&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return strconv.Itoa(int(l))
	}
	return fmt.Sprintf("%d (%s)", int(l), strings.Join(names, "|"))
}

// Class is what a page frame holds, as far as a dump cares: the classes a
// dump level can leave out, and Kept for everything else (kernel data, page
// tables, slab, reserved pages).
type Class uint8

// Page classes. Zero is not among them: it depends on a page's contents,
// not on its struct page, and dump writers test it as they copy.
const (
	Kept         Class = iota // nothing a dump may leave out
	Cache                     // page cache (LRU or swap cache) without private data
	CachePrivate              // page cache with private data (buffer heads, ...)
	User                      // anonymous or hugetlbfs pages of user processes
	Free                      // free pages in the buddy allocator (and unaccepted memory)
	HWPoison                  // hardware-poisoned pages: reading them may machine-check
	Offline                   // logically offline pages (balloon drivers, memory hot-unplug)
	Unknown                   // the struct page could not be read: kept
)

var classNames = [...]string{"kept", "cache", "cache-private", "user", "free", "hwpoison", "offline", "unknown"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Stats counts the page frames Exclude left out, by class; only page frames
// that were in its input count. Unknown counts page frames kept because
// their struct page could not be read, BadOrder free blocks with an
// impossible order (their pages are kept).
type Stats struct {
	Cache, CachePrivate, User, Free, HWPoison, Offline uint64
	Unknown, BadOrder                                  uint64
}

// Excluded is the number of page frames left out.
func (s Stats) Excluded() uint64 {
	return s.Cache + s.CachePrivate + s.User + s.Free + s.HWPoison + s.Offline
}

func (s *Stats) add(c Class, n uint64) {
	switch c {
	case Cache:
		s.Cache += n
	case CachePrivate:
		s.CachePrivate += n
	case User:
		s.User += n
	case Free:
		s.Free += n
	case HWPoison:
		s.HWPoison += n
	case Offline:
		s.Offline += n
	case Unknown:
		s.Unknown += n
	}
}
