package memmap

import (
	"errors"
	"fmt"
)

// Source says where a region for the second kernel came from.
type Source string

const (
	FromCrashkernel Source = "crashkernel" // the "Crash kernel" reservation (crashkernel=)
	FromMemmap      Source = "memmap"      // a memmap=SIZE$ADDR reservation
	FromAuto        Source = "auto"        // chosen in System RAM by ChooseRegion
	FromUser        Source = "user"        // given explicitly by the user
)

// Region is the physical memory the second kernel will own.
type Region struct {
	Range
	Source Source `json:"source"`
	// Reserved is true when the kernel set the region aside at boot, so it
	// holds nothing of the running system and need not be swapped out and
	// back at each jump.
	Reserved bool `json:"reserved"`
}

func (r Region) String() string {
	how := "not reserved"
	if r.Reserved {
		how = "reserved at boot"
	}
	return fmt.Sprintf("%v %s (%s, %s)", r.Range, FormatSize(r.Size), r.Source, how)
}

// Options constrain ChooseRegion.
type Options struct {
	// Size of an automatic region; 0 means DefaultSize. Rounded up to a
	// multiple of RegionAlign.
	Size uint64
	// Min and Max bound the region like kexec-tools' --mem-min and
	// --mem-max: it must start at or above Min and its last byte must be
	// at or below Max. 0 means unbounded.
	Min, Max uint64
	// Reserved are memmap=SIZE$ADDR reservations from the kernel command line
	// (CmdlineReservations): used, like a crashkernel= one, when one lies
	// within Min/Max and is RAM (the largest wins), since nothing of the running
	// kernel's is there.
	Reserved []Range
}

const (
	DefaultSize uint64 = 256 * MiB
	// RegionAlign is the alignment of an automatic region's start and size.
	RegionAlign uint64 = 16 * MiB
	// EndAlign is the boundary an automatic region's end should fall on:
	// the kernel adds a busy "RAM buffer" resource from the end of the last
	// RAM range up to the next 64 MiB boundary, which IO_STRICT_DEVMEM
	// then refuses to map.
	EndAlign uint64 = 64 * MiB
	// LowLimit and HighLimit bound an automatic region.
	LowLimit  uint64 = 16 * MiB
	HighLimit uint64 = 4 * GiB
)

var (
	// ErrRegionTooLarge means the region asked for is more than half of
	// RAM, which kexec_load refuses with EINVAL.
	ErrRegionTooLarge = errors.New("memmap: region larger than half of RAM")
	// ErrNoRegion means no window satisfies the rules.
	ErrNoRegion = errors.New("memmap: no region for the second kernel")
)

// ChooseRegion picks the physical memory for the second kernel from the
// RAM map (ReadFirmwareMemmap or IomemRAM) and the /proc/iomem tree (which
// may be nil when unavailable, but then the running kernel's image cannot be
// avoided). The rules are in the package documentation.
func ChooseRegion(ram Map, iomem []*Resource, opt Options) (Region, error) {
	if r, ok := crashRegion(iomem, opt); ok {
		return Region{Range: r, Source: FromCrashkernel, Reserved: true}, nil
	}
	if r, ok := memmapRegion(ram, opt); ok {
		return Region{Range: r, Source: FromMemmap, Reserved: true}, nil
	}

	size := opt.Size
	if size == 0 {
		size = DefaultSize
	}
	if size > ^uint64(0)-RegionAlign {
		return Region{}, fmt.Errorf("%w: size %#x is absurd", ErrRegionTooLarge, size)
	}
	size = alignUp(size, RegionAlign)

	total := ram.TotalRAM()
	if total == 0 {
		return Region{}, fmt.Errorf("%w: the memory map has no System RAM", ErrNoRegion)
	}
	if size > total/2 {
		return Region{}, fmt.Errorf("%w: %s asked for, but the machine has %s of RAM and kexec_load refuses more than half (%s): choose a smaller size, or reserve a region at boot with crashkernel=SIZE",
			ErrRegionTooLarge, FormatSize(size), FormatSize(total), FormatSize(total/2))
	}

	lo := max(LowLimit, opt.Min)
	hi := HighLimit // exclusive
	if opt.Max != 0 && opt.Max < HighLimit-1 {
		hi = opt.Max + 1
	}
	free := freeSpans(ram, iomem, lo, hi)

	var best Range
	bestAligned := false
	for _, s := range free {
		start := alignUp(s.Start, RegionAlign)
		end := s.End() // s lies below HighLimit, so this does not wrap
		if start >= end || end-start < size {
			continue
		}
		if e := alignDown(end, EndAlign); e >= size && e-size >= start {
			if c := (Range{Start: e - size, Size: size}); !bestAligned || c.Start > best.Start {
				best, bestAligned = c, true
			}
			continue
		}
		if bestAligned {
			continue
		}
		if c := (Range{Start: alignDown(end-size, RegionAlign), Size: size}); c.Start > best.Start || best.Size == 0 {
			best = c
		}
	}
	if best.Size != 0 {
		return Region{Range: best, Source: FromAuto}, nil
	}

	why := "no free System RAM there"
	var largest Range
	for _, s := range free {
		if s.Size > largest.Size {
			largest = s
		}
	}
	if largest.Size != 0 {
		why = fmt.Sprintf("the largest free span is %s at %v", FormatSize(largest.Size), largest)
	}
	if hi <= lo {
		return Region{}, fmt.Errorf("%w: no room for %s between %#x and %#x (the limits Min=%#x, Max=%#x, and %s..%s)",
			ErrNoRegion, FormatSize(size), lo, hi, opt.Min, opt.Max, FormatSize(LowLimit), FormatSize(HighLimit))
	}
	return Region{}, fmt.Errorf("%w: no %s window aligned to %s in System RAM within %v, outside the running kernel's image and other resources: %s",
		ErrNoRegion, FormatSize(size), FormatSize(RegionAlign), Range{Start: lo, Size: hi - lo}, why)
}

// crashRegion returns the largest "Crash kernel" reservation inside
// [opt.Min, opt.Max] (the lowest one among equals).
func crashRegion(iomem []*Resource, opt Options) (Range, bool) {
	var best Range
	for _, r := range FindIomem(iomem, "Crash kernel") {
		if r.Start < opt.Min || opt.Max != 0 && r.Last() > opt.Max {
			continue
		}
		if r.Size > best.Size {
			best = r
		}
	}
	return best, best.Size != 0
}

// freeSpans returns the parts of [lo, hi) that are System RAM in ram and,
// if iomem lists System RAM, top-level System RAM there too, minus every
// iomem resource that is not System RAM (the kernel image, "Crash kernel",
// memmap= and firmware reservations, device windows).
func freeSpans(ram Map, iomem []*Resource, lo, hi uint64) []Range {
	if hi <= lo {
		return nil
	}
	limit := Range{Start: lo, Size: hi - lo}
	var spans []Range
	for _, r := range ram.RAM() {
		if i := r.Intersect(limit); i.Size != 0 {
			spans = append(spans, i)
		}
	}
	if iomemRAM := IomemRAM(iomem).RAM(); len(iomemRAM) != 0 {
		var both []Range
		for _, s := range spans {
			for _, r := range iomemRAM {
				if i := s.Intersect(r); i.Size != 0 {
					both = append(both, i)
				}
			}
		}
		spans = both
	}
	Walk(iomem, func(r *Resource) {
		if Type(r.Name) != RAM {
			spans = subtract(spans, r.Range)
		}
	})
	return spans
}

// subtract removes cut from every range of spans.
func subtract(spans []Range, cut Range) []Range {
	var out []Range
	for _, s := range spans {
		if !s.Overlaps(cut) {
			out = append(out, s)
			continue
		}
		if cut.Start > s.Start {
			out = append(out, Range{Start: s.Start, Size: cut.Start - s.Start})
		}
		if cut.Last() < s.Last() {
			out = append(out, Range{Start: cut.Last() + 1, Size: s.Last() - cut.Last()})
		}
	}
	return out
}

func alignUp(v, a uint64) uint64   { return (v + a - 1) &^ (a - 1) }
func alignDown(v, a uint64) uint64 { return v &^ (a - 1) }

// memmapRegion picks the largest memmap=SIZE$ADDR reservation that lies within
// opt.Min/opt.Max, inside one RAM range, and starts on RegionAlign (a second
// kernel loads at the region start).
func memmapRegion(ram Map, opt Options) (Range, bool) {
	var best Range
	for _, r := range opt.Reserved {
		if r.Size == 0 || r.Start%RegionAlign != 0 || r.Start < LowLimit || r.Start < opt.Min || (opt.Max != 0 && r.Last() > opt.Max) {
			continue
		}
		inRAM := false
		for _, e := range ram {
			if e.Type == RAM && e.Range.ContainsRange(r) {
				inRAM = true
			}
		}
		if inRAM && r.Size > best.Size {
			best = r
		}
	}
	return best, best.Size > 0
}
