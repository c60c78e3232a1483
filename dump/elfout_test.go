package dump

import (
	"reflect"
	"testing"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/pageset"
)

func TestLayoutELF(t *testing.T) {
	const p = pageSize
	bits := func(n uint64, keep ...[2]uint64) *pageset.Set {
		b := pageset.New(n)
		for _, r := range keep {
			b.SetRange(r[0], r[1])
		}
		return b
	}
	tests := []struct {
		name    string
		regions []region
		dumped  *pageset.Set
		segs    []outSeg
		jobs    []copyJob
	}{
		{"all kept", []region{{phys: 0, size: 4 * p, virt: 0x1000000}}, bits(4, [2]uint64{0, 4}),
			[]outSeg{{phys: 0, virt: 0x1000000, filesz: 4 * p, memsz: 4 * p}},
			[]copyJob{{phys: 0, n: 4 * p, off: 0, pages: 4}}},
		{"all left out", []region{{phys: 0, size: 4 * p}}, bits(4),
			[]outSeg{{phys: 0, filesz: 0, memsz: 4 * p}}, nil},
		{"short run left out stays as zeros", []region{{phys: 0, size: 12 * p}}, bits(12, [2]uint64{0, 1}, [2]uint64{11, 12}),
			[]outSeg{{phys: 0, filesz: 12 * p, memsz: 12 * p}},
			[]copyJob{{phys: 0, n: p, off: 0, pages: 1}, {n: 10 * p, off: p, zero: true}, {phys: 11 * p, n: p, off: 11 * p, pages: 1}}},
		{"long leading run: an empty segment first", []region{{phys: 0, size: 300 * p, virt: 0x10000000}}, bits(300, [2]uint64{256, 300}),
			[]outSeg{{phys: 0, virt: 0x10000000, filesz: 0, memsz: 256 * p}, {phys: 256 * p, virt: 0x10000000 + 256*p, filesz: 44 * p, memsz: 44 * p}},
			[]copyJob{{phys: 256 * p, n: 44 * p, off: 0, pages: 44}}},
		{"long run in the middle splits", []region{{phys: 0, size: 258 * p}}, bits(258, [2]uint64{0, 1}, [2]uint64{257, 258}),
			[]outSeg{{phys: 0, filesz: p, memsz: 257 * p}, {phys: 257 * p, off: p, filesz: p, memsz: p}},
			[]copyJob{{phys: 0, n: p, off: 0, pages: 1}, {phys: 257 * p, n: p, off: p, pages: 1}}},
		{"trailing run is memory only", []region{{phys: 0, size: 5 * p}}, bits(5, [2]uint64{0, 2}),
			[]outSeg{{phys: 0, filesz: 2 * p, memsz: 5 * p}},
			[]copyJob{{phys: 0, n: 2 * p, off: 0, pages: 2}}},
		{"partial last page", []region{{phys: 0x60000, size: 0x3fc00}}, bits(0xa0, [2]uint64{0x60, 0xa0}),
			[]outSeg{{phys: 0x60000, filesz: 0x3fc00, memsz: 0x3fc00}},
			[]copyJob{{phys: 0x60000, n: 0x3fc00, off: 0, pages: 64}}},
		{"partial first page", []region{{phys: 0xc00, size: 0x1400}}, bits(2, [2]uint64{0, 2}),
			[]outSeg{{phys: 0xc00, filesz: 0x1400, memsz: 0x1400}},
			[]copyJob{{phys: 0xc00, n: 0x1400, off: 0, pages: 2}}},
		{"two regions", []region{{phys: 0, size: 2 * p}, {phys: 8 * p, size: 2 * p}}, bits(10, [2]uint64{0, 10}),
			[]outSeg{{phys: 0, filesz: 2 * p, memsz: 2 * p}, {phys: 8 * p, off: 2 * p, filesz: 2 * p, memsz: 2 * p}},
			[]copyJob{{phys: 0, n: 2 * p, off: 0, pages: 2}, {phys: 8 * p, n: 2 * p, off: 2 * p, pages: 2}}},
		{"copies of at most 1 MiB", []region{{phys: 0, size: 300 * p}}, bits(300, [2]uint64{0, 300}),
			[]outSeg{{phys: 0, filesz: 300 * p, memsz: 300 * p}},
			[]copyJob{{phys: 0, n: maxCopy, off: 0, pages: 256}, {phys: maxCopy, n: 44 * p, off: maxCopy, pages: 44}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, jobs := layoutELF(tt.regions, tt.dumped)
			if !reflect.DeepEqual(segs, tt.segs) {
				t.Errorf("segments\n got %+v\nwant %+v", segs, tt.segs)
			}
			if !reflect.DeepEqual(jobs, tt.jobs) {
				t.Errorf("copies\n got %+v\nwant %+v", jobs, tt.jobs)
			}
		})
	}
}

func TestPageOffsetOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		virt []uint64 // p_vaddr for physical 0, 1 MiB, ...
		want uint64
	}{
		{"agree", []uint64{0xffff888000000000, 0xffff888000100000}, 0xffff888000000000},
		{"kernel text ignored", []uint64{0xffffffff81000000, 0xffff888000100000}, 0xffff888000000000},
		{"unknown", []uint64{0, 0}, 0},
		{"disagree", []uint64{0xffff888000000000, 0xffff999000100000}, 0},
	} {
		var loads []elfcore.Segment
		for i, v := range tt.virt {
			loads = append(loads, elfcore.Segment{Phys: uint64(i) << 20, Virt: v})
		}
		if got := pageOffsetOf(loads); got != tt.want {
			t.Errorf("%s: %#x, want %#x", tt.name, got, tt.want)
		}
	}
}
