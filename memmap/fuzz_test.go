package memmap

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// formatIomem writes a tree back in /proc/iomem syntax.
func formatIomem(tree []*Resource) string {
	var b strings.Builder
	Walk(tree, func(r *Resource) {
		fmt.Fprintf(&b, "%*s%08x-%08x : %s\n", 2*r.Depth, "", r.Start, r.Last(), r.Name)
	})
	return b.String()
}

func checkTree(t *testing.T, tree []*Resource, depth int) {
	for _, r := range tree {
		if r.Depth != depth {
			t.Fatalf("%v at depth %d in the tree", r, depth)
		}
		if r.Size == 0 || r.Last() < r.Start || r.Name == "" || strings.ContainsAny(r.Name, "\n") {
			t.Fatalf("bad resource %+v", r)
		}
		checkTree(t, r.Children, depth+1)
	}
}

func FuzzParseIomem(f *testing.F) {
	f.Add(guestIomem)
	f.Add(qemu1GIomem)
	f.Add("00000000-00000000 : Reserved\n  00000000-00000000 : Kernel code\n")
	f.Add("00100000-3ffdffff : System RAM\n   01000000-01c031d0 : odd\n      x-y : z\n")
	f.Add("ffffffff00000000-ffffffffffffffff : top\n0-0 : a\n")
	f.Fuzz(func(t *testing.T, in string) {
		tree, err := ParseIomem(strings.NewReader(in))
		if err != nil {
			if tree != nil {
				t.Fatalf("ParseIomem returned a tree and error %v", err)
			}
			return
		}
		checkTree(t, tree, 0)
		// Round trip through the kernel's format.
		out := formatIomem(tree)
		tree2, err := ParseIomem(strings.NewReader(out))
		if err != nil {
			t.Fatalf("reparsing %q: %v", out, err)
		}
		if !reflect.DeepEqual(tree, tree2) {
			t.Fatalf("round trip changed the tree:\n%s\n%s", out, formatIomem(tree2))
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"256M", "1G", "0x1000", "4096", "010", "0x", "16E", "1k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err != nil {
			if v != 0 {
				t.Fatalf("ParseSize(%q) = %d with error %v", s, v, err)
			}
			return
		}
		for _, form := range []string{strconv.FormatUint(v, 10), "0x" + strconv.FormatUint(v, 16)} {
			if v2, err := ParseSize(form); err != nil || v2 != v {
				t.Fatalf("ParseSize(%q) = %d, but ParseSize(%q) = %d, %v", s, v, form, v2, err)
			}
		}
	})
}

// FuzzChooseRegion checks the rules on arbitrary iomem trees: whatever
// ChooseRegion returns satisfies them.
func FuzzChooseRegion(f *testing.F) {
	f.Add(qemu1GIomem, uint64(0), uint64(0), uint64(0))
	f.Add(qemu1GIomem+"  20000000-2fffffff : Crash kernel\n", uint64(0), uint64(0x21000000), uint64(0))
	f.Add(guestIomem, uint64(64*MiB), uint64(0), uint64(0x1fffffff))
	f.Fuzz(func(t *testing.T, iomem string, size, lo, hi uint64) {
		tree, err := ParseIomem(strings.NewReader(iomem))
		if err != nil {
			return
		}
		opt := Options{Size: size, Min: lo, Max: hi}
		ram := IomemRAM(tree)
		r, err := ChooseRegion(ram, tree, opt)
		if err != nil {
			if r != (Region{}) {
				t.Fatalf("ChooseRegion returned %v with error %v", r, err)
			}
			return
		}
		switch r.Source {
		case FromCrashkernel:
			found := false
			for _, c := range FindIomem(tree, "Crash kernel") {
				found = found || c == r.Range
			}
			if !found || !r.Reserved || r.Start < lo || hi != 0 && r.Last() > hi {
				t.Fatalf("crashkernel region %v not a reservation within [%#x, %#x]", r, lo, hi)
			}
		case FromAuto:
			if r.Reserved || r.Size < size || 2*r.Size > ram.TotalRAM() {
				t.Fatalf("auto region %v for size %#x, RAM %#x", r, size, ram.TotalRAM())
			}
			checkRegion(t, r, ram, tree, opt)
		default:
			t.Fatalf("region %v has source %q", r, r.Source)
		}
	})
}
