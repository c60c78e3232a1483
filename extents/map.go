package extents

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Extent is a run of a file's bytes that lies contiguously on the block
// device: file bytes [Logical, Logical+Length) are device bytes
// [Physical, Physical+Length).
type Extent struct {
	Logical  uint64 `json:"logical"`
	Physical uint64 `json:"physical"`
	Length   uint64 `json:"length"`
}

func (e Extent) String() string {
	return fmt.Sprintf("file [%#x, %#x) -> device [%#x, %#x)", e.Logical, e.Logical+e.Length, e.Physical, e.Physical+e.Length)
}

// Map says where a file's bytes are on a block device. Extents are sorted by
// Logical and cover [0, Size) exactly, with no hole and no overlap.
type Map struct {
	// Device is "MAJOR:MINOR" of the block device that holds the file (the
	// file's st_dev), in decimal, as in /sys/dev/block.
	Device  string   `json:"device"`
	Size    int64    `json:"size"`
	Extents []Extent `json:"extents"`
}

// Major and minor device numbers have 12 and 20 bits (the kernel's
// new_encode_dev).
const (
	maxMajor = 1<<12 - 1
	maxMinor = 1<<20 - 1
)

// parseDevice parses "MAJOR:MINOR" in canonical decimal form.
func parseDevice(s string) (major, minor uint32, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("device %q is not MAJOR:MINOR", s)
	}
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil || strconv.FormatUint(ma, 10) != a || strconv.FormatUint(mi, 10) != b {
		return 0, 0, fmt.Errorf("device %q is not MAJOR:MINOR in decimal", s)
	}
	if ma > maxMajor || mi > maxMinor {
		return 0, 0, fmt.Errorf("device %q: major or minor out of range", s)
	}
	return uint32(ma), uint32(mi), nil
}

func formatDevice(major, minor uint32) string {
	return strconv.FormatUint(uint64(major), 10) + ":" + strconv.FormatUint(uint64(minor), 10)
}

// Validate checks the rules a Map must follow: Device is MAJOR:MINOR; every
// extent has a length; extents are sorted by Logical, each starts where the
// previous ended and the last ends at Size; no two extents share device bytes;
// no offset overflows an int64. It reports the first broken rule, wrapping
// ErrInvalidMap.
func (m *Map) Validate() error {
	if _, _, err := parseDevice(m.Device); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidMap, err)
	}
	if m.Size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrInvalidMap, m.Size)
	}
	var next uint64
	for i, e := range m.Extents {
		switch {
		case e.Length == 0:
			return fmt.Errorf("%w: extent %d (%v) is empty", ErrInvalidMap, i, e)
		case e.Logical != next:
			if e.Logical < next {
				return fmt.Errorf("%w: extent %d (%v) overlaps or is out of order (expected logical offset %#x)", ErrInvalidMap, i, e, next)
			}
			return fmt.Errorf("%w: hole [%#x, %#x) before extent %d", ErrInvalidMap, next, e.Logical, i)
		case e.Logical > math.MaxInt64 || e.Physical > math.MaxInt64 || e.Length > math.MaxInt64-e.Logical || e.Length > math.MaxInt64-e.Physical:
			return fmt.Errorf("%w: extent %d (logical %#x, physical %#x, length %#x) ends beyond 2^63-1", ErrInvalidMap, i, e.Logical, e.Physical, e.Length)
		}
		next = e.Logical + e.Length
		if next > uint64(m.Size) {
			return fmt.Errorf("%w: extent %d (%v) ends beyond the size %#x", ErrInvalidMap, i, e, m.Size)
		}
	}
	if next != uint64(m.Size) {
		return fmt.Errorf("%w: the extents cover [0, %#x), the size is %#x", ErrInvalidMap, next, m.Size)
	}
	byPhys := slices.Clone(m.Extents)
	slices.SortFunc(byPhys, func(a, b Extent) int {
		switch {
		case a.Physical < b.Physical:
			return -1
		case a.Physical > b.Physical:
			return 1
		}
		return 0
	})
	for i := 1; i < len(byPhys); i++ {
		if a, b := byPhys[i-1], byPhys[i]; a.Physical+a.Length > b.Physical {
			return fmt.Errorf("%w: extents %v and %v share device bytes", ErrInvalidMap, a, b)
		}
	}
	return nil
}

// Equal reports whether m and o describe the same file at the same place.
func (m *Map) Equal(o *Map) bool {
	return m.Device == o.Device && m.Size == o.Size && slices.Equal(m.Extents, o.Extents)
}

// diff describes the first difference between an old and a new map.
func diff(old, cur *Map) string {
	switch {
	case old.Device != cur.Device:
		return fmt.Sprintf("device %s, now %s", old.Device, cur.Device)
	case old.Size != cur.Size:
		return fmt.Sprintf("size %d, now %d", old.Size, cur.Size)
	}
	for i := range max(len(old.Extents), len(cur.Extents)) {
		switch {
		case i >= len(old.Extents):
			return fmt.Sprintf("%d extents, now %d: new %v", len(old.Extents), len(cur.Extents), cur.Extents[i])
		case i >= len(cur.Extents):
			return fmt.Sprintf("%d extents, now %d: %v is gone", len(old.Extents), len(cur.Extents), old.Extents[i])
		case old.Extents[i] != cur.Extents[i]:
			return fmt.Sprintf("extent %d was %v, now %v", i, old.Extents[i], cur.Extents[i])
		}
	}
	return "no difference"
}

// String summarises the map in one line.
func (m *Map) String() string {
	return fmt.Sprintf("%d bytes on device %s in %d extents", m.Size, m.Device, len(m.Extents))
}
