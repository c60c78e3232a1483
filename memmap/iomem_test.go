package memmap

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// A QEMU guest with 1 GiB, booted with crashkernel=256M@512M.
const guestIomem = `00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-3ffdffff : System RAM
  01000000-01c031d0 : Kernel code
  01e00000-0228dfff : Kernel rodata
  02400000-0262a7ff : Kernel data
  02b8a000-02ffffff : Kernel bss
  20000000-2fffffff : Crash kernel
3ffe0000-3fffffff : Reserved
40000000-febfffff : PCI Bus 0000:00
  fd000000-fdffffff : 0000:00:02.0
    fd000000-fdffffff : bochs-drm
fec00000-fec003ff : IOAPIC 0
fffc0000-ffffffff : Reserved
100000000-17fffffff : PCI Bus 0000:00
`

// flatten returns "depth start-last name" for every resource.
func flatten(tree []*Resource) []string {
	var out []string
	Walk(tree, func(r *Resource) {
		out = append(out, fmt.Sprintf("%d %x-%x %s", r.Depth, r.Start, r.Last(), r.Name))
	})
	return out
}

func TestParseIomem(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      string
		want    []string
		wantErr error
	}{
		{name: "empty", in: "", want: nil},
		{
			name: "nested three levels",
			in:   "00100000-3ffdffff : System RAM\n  01000000-01c031d0 : Kernel code\n40000000-febfffff : PCI Bus 0000:00\n  fd000000-fdffffff : 0000:00:02.0\n    fd000000-fdffffff : bochs-drm\n  fe000000-fe003fff : 0000:00:03.0\n100000000-17fffffff : System RAM\n",
			want: []string{
				"0 100000-3ffdffff System RAM",
				"1 1000000-1c031d0 Kernel code",
				"0 40000000-febfffff PCI Bus 0000:00",
				"1 fd000000-fdffffff 0000:00:02.0",
				"2 fd000000-fdffffff bochs-drm",
				"1 fe000000-fe003fff 0000:00:03.0",
				"0 100000000-17fffffff System RAM",
			},
		},
		{
			name: "malformed lines ignored",
			in: "00001000-0009fbff : System RAM\n" +
				"garbage\n" +
				"\n" +
				"00100000-3ffdffff System RAM\n" + // no " : "
				"0010000g-3ffdffff : bad hex\n" +
				"3ffdffff-00100000 : end before start\n" +
				"00100000- : no end\n" +
				"-3ffdffff : no start\n" +
				"0x100000-0x3ffdffff : 0x prefix\n" +
				"00100000-3ffdffff : \n" + // no name
				"   01000000-01c031d0 : odd indent\n" +
				"00000000-ffffffffffffffff : whole space\n" +
				"00000000-1ffffffffffffffff : too wide\n" +
				"00100000-3ffdffff : System RAM\r\n" +
				"      02000000-02000fff : three levels under a top-level entry\n" +
				"  01000000-01c031d0 : Kernel code\n",
			want: []string{
				"0 1000-9fbff System RAM",
				"0 100000-3ffdffff System RAM",
				"1 1000000-1c031d0 Kernel code",
			},
		},
		{
			name: "name containing colons",
			in:   "eec00000-eecfffff : PCI ECAM 0000 [bus 00-00]\n  eec00000-eecfffff : PCI Bus 0000:00\n",
			want: []string{"0 eec00000-eecfffff PCI ECAM 0000 [bus 00-00]", "1 eec00000-eecfffff PCI Bus 0000:00"},
		},
		{
			name:    "hidden from non-root",
			in:      "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n  00000000-00000000 : Kernel code\n",
			wantErr: ErrIomemHidden,
		},
		{
			name: "one zero line among real ones is a real 1-byte resource",
			in:   "00000000-00000000 : tiny\n00001000-0009fbff : System RAM\n",
			want: []string{"0 0-0 tiny", "0 1000-9fbff System RAM"},
		},
		{
			name: "orphan child before any parent",
			in:   "  01000000-01c031d0 : Kernel code\n00100000-3ffdffff : System RAM\n",
			want: []string{"0 100000-3ffdffff System RAM"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := ParseIomem(strings.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || tree != nil {
					t.Fatalf("ParseIomem = %v, %v; want nil, %v", tree, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := flatten(tree); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseIomem:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFindIomem(t *testing.T) {
	tree, err := ParseIomem(strings.NewReader(guestIomem))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want []Range
	}{
		{"Crash kernel", []Range{{0x20000000, 0x10000000}}},
		{"Kernel code", []Range{{0x1000000, 0xc031d1}}},
		{"bochs-drm", []Range{{0xfd000000, 0x1000000}}},
		{"PCI Bus 0000:00", []Range{{0xa0000, 0x20000}, {0x40000000, 0xbec00000}, {0x100000000, 0x80000000}}},
		{"Reserved", []Range{{0, 0x1000}, {0x9fc00, 0x400}, {0xf0000, 0x10000}, {0x3ffe0000, 0x20000}, {0xfffc0000, 0x40000}}},
		{"kernel code", nil},
		{"Kernel", nil},
	} {
		if got := FindIomem(tree, tt.name); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("FindIomem(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestIomemRAM(t *testing.T) {
	tree, err := ParseIomem(strings.NewReader(guestIomem))
	if err != nil {
		t.Fatal(err)
	}
	want := Map{{Range{0x1000, 0x9ec00}, RAM}, {Range{0x100000, 0x3fee0000}, RAM}}
	if got := IomemRAM(tree); !reflect.DeepEqual(got, want) {
		t.Errorf("IomemRAM = %v, want %v", got, want)
	}
	// Nested "System RAM" (e.g. under a device) is not top-level RAM.
	nested, _ := ParseIomem(strings.NewReader("40000000-7fffffff : Persistent Memory\n  40000000-7fffffff : System RAM\n"))
	if got := IomemRAM(nested); len(got) != 0 {
		t.Errorf("IomemRAM(nested) = %v", got)
	}
}

func TestParseIomemRealMachine(t *testing.T) {
	f, err := os.Open("/proc/iomem")
	if err != nil {
		t.Skipf("no /proc/iomem: %v", err)
	}
	defer f.Close()
	tree, err := ParseIomem(f)
	if errors.Is(err, ErrIomemHidden) {
		t.Skip("not root: /proc/iomem addresses are hidden")
	}
	if err != nil {
		t.Fatal(err)
	}
	if IomemRAM(tree).TotalRAM() == 0 {
		t.Errorf("no System RAM in /proc/iomem: %q", flatten(tree))
	}
	if len(FindIomem(tree, "Kernel code")) != 1 {
		t.Errorf("want exactly one Kernel code resource, tree %q", flatten(tree))
	}
}
