package hibernate

import (
	"reflect"
	"testing"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/image"
)

func TestBuildRuns(t *testing.T) {
	// Page contents by letter: 'd' data, 'z' all zero, '-' not kept,
	// 'n' kept but page returns nil (no PT_LOAD holds it).
	for _, tt := range []struct {
		name  string
		pages string
		want  []image.Run
	}{
		{name: "nothing kept", pages: "----"},
		{name: "one data page", pages: "d", want: []image.Run{{PFN: 0, Count: 1}}},
		{name: "one zero page", pages: "--z", want: []image.Run{{PFN: 2, Count: 1, Zero: true}}},
		{name: "adjacent data pages merge", pages: "dddd", want: []image.Run{{PFN: 0, Count: 4}}},
		{name: "adjacent zero pages merge", pages: "-zzz-", want: []image.Run{{PFN: 1, Count: 3, Zero: true}}},
		{
			name:  "zero and data pages alternate",
			pages: "dzdz",
			want: []image.Run{
				{PFN: 0, Count: 1}, {PFN: 1, Count: 1, Zero: true},
				{PFN: 2, Count: 1}, {PFN: 3, Count: 1, Zero: true},
			},
		},
		{
			name:  "groups",
			pages: "ddzzzd",
			want:  []image.Run{{PFN: 0, Count: 2}, {PFN: 2, Count: 3, Zero: true}, {PFN: 5, Count: 1}},
		},
		{
			name:  "a gap in the bitmap splits data",
			pages: "dd-dd",
			want:  []image.Run{{PFN: 0, Count: 2}, {PFN: 3, Count: 2}},
		},
		{
			name:  "a gap in the bitmap splits zeros",
			pages: "z--zz",
			want:  []image.Run{{PFN: 0, Count: 1, Zero: true}, {PFN: 3, Count: 2, Zero: true}},
		},
		{
			name:  "a page without contents is skipped and splits",
			pages: "ddndd",
			want:  []image.Run{{PFN: 0, Count: 2}, {PFN: 3, Count: 2}},
		},
		{
			name:  "only pages without contents",
			pages: "nnn",
		},
		{
			name:  "a run across 64-bit words of the bitmap",
			pages: "--------------------------------------------------------------dddd" + "zz",
			want:  []image.Run{{PFN: 62, Count: 4}, {PFN: 66, Count: 2, Zero: true}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keep := dumpfile.NewBitmap(uint64(len(tt.pages)))
			for pfn, c := range tt.pages {
				if c != '-' {
					keep.Set(uint64(pfn))
				}
			}
			var asked []uint64
			page := func(pfn uint64) []byte {
				asked = append(asked, pfn)
				switch tt.pages[pfn] {
				case 'd':
					p := make([]byte, image.PageSize)
					p[pfn%image.PageSize] = byte(pfn) | 1
					return p
				case 'z':
					return make([]byte, image.PageSize)
				case 'n':
					return nil
				}
				t.Fatalf("page(%d) asked for a page frame that is not kept", pfn)
				return nil
			}
			got := buildRuns(keep, page)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("runs %+v, want %+v", got, tt.want)
			}
			var want []uint64
			for pfn, c := range tt.pages {
				if c != '-' {
					want = append(want, uint64(pfn))
				}
			}
			if !reflect.DeepEqual(asked, want) {
				t.Errorf("page asked for %v, want each kept frame once in order: %v", asked, want)
			}
		})
	}
}
