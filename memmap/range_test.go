package memmap

import "testing"

func TestRange(t *testing.T) {
	r := Range{Start: 0x1000, Size: 0x1000}
	if r.End() != 0x2000 || r.Last() != 0x1fff {
		t.Errorf("End, Last = %#x, %#x", r.End(), r.Last())
	}
	for _, tt := range []struct {
		addr uint64
		want bool
	}{{0xfff, false}, {0x1000, true}, {0x1fff, true}, {0x2000, false}, {0, false}, {^uint64(0), false}} {
		if got := r.Contains(tt.addr); got != tt.want {
			t.Errorf("%v.Contains(%#x) = %v", r, tt.addr, got)
		}
	}
	top := Range{Start: ^uint64(0) - 0xfff, Size: 0x1000}
	if !top.Contains(^uint64(0)) || top.Last() != ^uint64(0) {
		t.Errorf("range at the top of the address space: Contains(max)=%v Last=%#x", top.Contains(^uint64(0)), top.Last())
	}
	if (Range{Start: 5}).Contains(5) {
		t.Error("empty range contains its start")
	}
}

func TestOverlapIntersect(t *testing.T) {
	a := Range{Start: 0x1000, Size: 0x1000} // [0x1000-0x1fff]
	for _, tt := range []struct {
		name string
		b    Range
		want Range // Size 0: no overlap
	}{
		{"same", a, a},
		{"before, touching", Range{0, 0x1000}, Range{}},
		{"after, touching", Range{0x2000, 0x10}, Range{}},
		{"left edge", Range{0x800, 0x801}, Range{0x1000, 1}},
		{"right edge", Range{0x1fff, 0x10}, Range{0x1fff, 1}},
		{"inside", Range{0x1100, 0x100}, Range{0x1100, 0x100}},
		{"superset", Range{0, 0x10000}, a},
		{"empty inside", Range{0x1100, 0}, Range{}},
		{"top of address space", Range{^uint64(0) - 0xff, 0x100}, Range{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Overlaps(tt.b); got != (tt.want.Size != 0) {
				t.Errorf("%v.Overlaps(%v) = %v", a, tt.b, got)
			}
			if got := tt.b.Overlaps(a); got != (tt.want.Size != 0) {
				t.Errorf("%v.Overlaps(%v) = %v (not symmetric)", tt.b, a, got)
			}
			if got := a.Intersect(tt.b); got != tt.want {
				t.Errorf("%v.Intersect(%v) = %v, want %v", a, tt.b, got, tt.want)
			}
		})
	}
}

func TestContainsRange(t *testing.T) {
	a := Range{Start: 0x1000, Size: 0x1000}
	for _, tt := range []struct {
		b    Range
		want bool
	}{
		{a, true}, {Range{0x1000, 1}, true}, {Range{0x1fff, 1}, true}, {Range{0x1fff, 2}, false},
		{Range{0xfff, 2}, false}, {Range{0x1800, 0}, true}, {Range{0x2000, 0}, false},
	} {
		if got := a.ContainsRange(tt.b); got != tt.want {
			t.Errorf("%v.ContainsRange(%v) = %v", a, tt.b, got)
		}
	}
}

func TestRangeFromLast(t *testing.T) {
	for _, tt := range []struct {
		start, last uint64
		want        Range
		ok          bool
	}{
		{0, 0, Range{0, 1}, true},
		{0x100000, 0x3ffdffff, Range{0x100000, 0x3fee0000}, true},
		{2, 1, Range{}, false},
		{0, ^uint64(0), Range{}, false},
		{1, ^uint64(0), Range{1, ^uint64(0)}, true},
	} {
		got, ok := RangeFromLast(tt.start, tt.last)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RangeFromLast(%#x, %#x) = %v, %v; want %v, %v", tt.start, tt.last, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRangeString(t *testing.T) {
	for r, want := range map[Range]string{
		{0x1000000, 0x10000000}: "[0x1000000-0x10ffffff]",
		{0, 1}:                  "[0x0-0x0]",
		{0x1000, 0}:             "[0x1000-empty]",
	} {
		if got := r.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestMapRAM(t *testing.T) {
	m := Map{
		{Range{0, 0x9fc00}, RAM},
		{Range{0x9fc00, 0x60400}, Reserved},
		{Range{0x100000, 0x3fee0000}, RAM},
		{Range{0xfeffc000, 0x4000}, Reserved},
	}
	ram := m.RAM()
	if len(ram) != 2 || ram[0] != m[0].Range || ram[1] != m[2].Range {
		t.Errorf("RAM() = %v", ram)
	}
	if got, want := m.TotalRAM(), uint64(0x9fc00+0x3fee0000); got != want {
		t.Errorf("TotalRAM() = %#x, want %#x", got, want)
	}
	if (Map{}).TotalRAM() != 0 || Map(nil).RAM() != nil {
		t.Error("empty map has RAM")
	}
}
