package jump

import (
	"reflect"
	"testing"

	"github.com/kjump/kjump/memmap"
)

func TestSubtract(t *testing.T) {
	r := func(a, b uint64) memmap.Range { return memmap.Range{Start: a, Size: b - a} }
	tests := []struct {
		name   string
		rs, ex []memmap.Range
		want   []memmap.Range
	}{
		{"disjoint", []memmap.Range{r(0, 0x1000)}, []memmap.Range{r(0x2000, 0x3000)}, []memmap.Range{r(0, 0x1000)}},
		{"hole in the middle", []memmap.Range{r(0, 0x10000)}, []memmap.Range{r(0x2000, 0x3000)}, []memmap.Range{r(0, 0x2000), r(0x3000, 0x10000)}},
		{"low range and region", []memmap.Range{r(0, 0x9fc00), r(0x100000, 0x40000000)},
			[]memmap.Range{r(0x20000, 0x60000), r(0x2c000000, 0x3c000000)},
			[]memmap.Range{r(0, 0x20000), r(0x60000, 0x9fc00), r(0x100000, 0x2c000000), r(0x3c000000, 0x40000000)}},
		{"covers all", []memmap.Range{r(0x1000, 0x2000)}, []memmap.Range{r(0, 0x10000)}, nil},
		{"touching edges", []memmap.Range{r(0, 0x1000), r(0x2000, 0x3000)}, []memmap.Range{r(0x1000, 0x2000)}, []memmap.Range{r(0, 0x1000), r(0x2000, 0x3000)}},
	}
	for _, tt := range tests {
		if got := subtract(tt.rs, tt.ex); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
