package memmap

import (
	"fmt"
	"sort"
)

// Range is a span of physical addresses [Start, Start+Size).
type Range struct {
	Start uint64 `json:"start"`
	Size  uint64 `json:"size"`
}

// RangeFromLast returns the range [start, last], with last inclusive as the
// kernel prints it. It reports false if last < start or the range would
// cover the whole 64-bit address space (its size does not fit in a uint64).
func RangeFromLast(start, last uint64) (Range, bool) {
	if last < start || start == 0 && last == ^uint64(0) {
		return Range{}, false
	}
	return Range{Start: start, Size: last - start + 1}, true
}

// End returns the first address after r. It is 0 (wrapped) for a range that
// ends at the top of the address space; use Last for comparisons.
func (r Range) End() uint64 { return r.Start + r.Size }

// Last returns the last address in r. It is meaningless for an empty range.
func (r Range) Last() uint64 { return r.Start + r.Size - 1 }

// Contains reports whether addr is in r.
func (r Range) Contains(addr uint64) bool {
	return addr >= r.Start && addr-r.Start < r.Size
}

// ContainsRange reports whether o lies entirely inside r. An empty o is
// contained in r if its start is.
func (r Range) ContainsRange(o Range) bool {
	if o.Size == 0 {
		return r.Contains(o.Start)
	}
	return r.Size != 0 && o.Start >= r.Start && o.Last() <= r.Last()
}

// Overlaps reports whether r and o share at least one address.
func (r Range) Overlaps(o Range) bool {
	return r.Size != 0 && o.Size != 0 && r.Start <= o.Last() && o.Start <= r.Last()
}

// Intersect returns the addresses r and o share. Its Size is 0 when they do
// not overlap.
func (r Range) Intersect(o Range) Range {
	if !r.Overlaps(o) {
		return Range{}
	}
	start := max(r.Start, o.Start)
	return Range{Start: start, Size: min(r.Last(), o.Last()) - start + 1}
}

// String formats r as "[0xSTART-0xLAST]", both ends inclusive like
// /proc/iomem, or "[0xSTART-empty]".
func (r Range) String() string {
	if r.Size == 0 {
		return fmt.Sprintf("[%#x-empty]", r.Start)
	}
	return fmt.Sprintf("[%#x-%#x]", r.Start, r.Last())
}

// Type is the kernel's name for a kind of physical memory, as it appears in
// /sys/firmware/memmap/N/type and /proc/iomem.
type Type string

// The names arch/x86/kernel/e820.c gives to e820 entry types.
const (
	RAM          Type = "System RAM"
	Reserved     Type = "Reserved"
	ACPI         Type = "ACPI Tables"
	NVS          Type = "ACPI Non-volatile Storage"
	Unusable     Type = "Unusable memory"
	PMem         Type = "Persistent Memory"
	LegacyPMem   Type = "Persistent Memory (legacy)"
	SoftReserved Type = "Soft Reserved"
)

// Entry is a typed range of a memory map.
type Entry struct {
	Range
	Type Type `json:"type"`
}

func (e Entry) String() string { return fmt.Sprintf("%v %s", e.Range, e.Type) }

// Map is a physical memory map sorted by Start.
type Map []Entry

func (m Map) sort() {
	sort.SliceStable(m, func(i, j int) bool { return m[i].Start < m[j].Start })
}

// RAM returns the ranges of type System RAM, in address order.
func (m Map) RAM() []Range {
	var out []Range
	for _, e := range m {
		if e.Type == RAM {
			out = append(out, e.Range)
		}
	}
	return out
}

// TotalRAM returns the sum of the sizes of the System RAM entries.
func (m Map) TotalRAM() uint64 {
	var total uint64
	for _, r := range m.RAM() {
		total += r.Size
	}
	return total
}
