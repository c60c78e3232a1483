package memmap

import (
	"errors"
	"strings"
	"testing"
)

// qemu1G is /sys/firmware/memmap of a QEMU pc guest with -m 1G.
var qemu1G = Map{
	{Range{0, 0x9fc00}, RAM},
	{Range{0x9fc00, 0x400}, Reserved},
	{Range{0xf0000, 0x10000}, Reserved},
	{Range{0x100000, 0x3fee0000}, RAM}, // up to 0x3ffdffff
	{Range{0x3ffe0000, 0x20000}, Reserved},
	{Range{0xfffc0000, 0x40000}, Reserved},
}

// qemu1GIomem is the matching /proc/iomem with the kernel at 16 MiB.
const qemu1GIomem = `00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000f0000-000fffff : Reserved
00100000-3ffdffff : System RAM
  01000000-01c031d0 : Kernel code
  01e00000-0228dfff : Kernel rodata
  02400000-0262a7ff : Kernel data
  02b8a000-02ffffff : Kernel bss
3ffe0000-3fffffff : Reserved
40000000-febfffff : PCI Bus 0000:00
fffc0000-ffffffff : Reserved
`

func ram(ranges ...Range) Map {
	var m Map
	for _, r := range ranges {
		m = append(m, Entry{r, RAM})
	}
	return m
}

func TestChooseRegion(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ram     Map
		iomem   string
		opt     Options
		want    Region
		wantErr error
		errHas  []string
	}{
		{
			name:  "QEMU 1G default: highest window ending on 64 MiB",
			ram:   qemu1G,
			iomem: qemu1GIomem,
			// RAM ends at 0x3ffe0000; 0x2f000000-0x3effffff would be higher
			// but ends 16 MiB short of a 64 MiB boundary.
			want: Region{Range: Range{0x2c000000, 256 * MiB}, Source: FromAuto},
		},
		{
			name:  "crashkernel reservation wins, its size over opt.Size",
			ram:   qemu1G,
			iomem: qemu1GIomem + "  20000000-2fdfffff : Crash kernel\n",
			opt:   Options{Size: 64 * MiB},
			want:  Region{Range: Range{0x20000000, 0xfe00000}, Source: FromCrashkernel, Reserved: true},
		},
		{
			name: "largest of two crash kernel reservations (crashkernel=,high and ,low)",
			ram:  ram(Range{0x100000, 0xbff00000}, Range{0x100000000, 0x100000000}),
			iomem: "00100000-bfffffff : System RAM\n  01000000-01ffffff : Kernel code\n  b0000000-b7ffffff : Crash kernel\n" +
				"100000000-1ffffffff : System RAM\n  1e0000000-1ffffffff : Crash kernel\n",
			want: Region{Range: Range{0x1e0000000, 512 * MiB}, Source: FromCrashkernel, Reserved: true},
		},
		{
			name:  "crashkernel above Max: automatic, and the window avoids it",
			ram:   qemu1G,
			iomem: qemu1GIomem + "  30000000-3fdfffff : Crash kernel\n",
			opt:   Options{Size: 128 * MiB, Max: 0x2fffffff},
			want:  Region{Range: Range{0x28000000, 128 * MiB}, Source: FromAuto},
		},
		{
			name:  "crashkernel below Min: automatic, the window does not overlap it",
			ram:   qemu1G,
			iomem: qemu1GIomem + "  30000000-3bffffff : Crash kernel\n",
			opt:   Options{Size: 128 * MiB, Min: 0x31000000},
			// Free above Min: none (crash kernel up to 0x3c000000, then only
			// 0x3c000000-0x3ffdffff, 63.9 MiB).
			wantErr: ErrNoRegion,
		},
		{
			name:  "crashkernel below Min, room above the reservation elsewhere",
			ram:   ram(Range{0x100000, 0x7ff00000}),
			iomem: "00100000-7fffffff : System RAM\n  01000000-01ffffff : Kernel code\n  04000000-0bffffff : Crash kernel\n",
			opt:   Options{Min: 0x10000000},
			want:  Region{Range: Range{0x70000000, 256 * MiB}, Source: FromAuto},
		},
		{
			name:    "size more than half of RAM",
			ram:     qemu1G,
			iomem:   qemu1GIomem,
			opt:     Options{Size: 768 * MiB},
			wantErr: ErrRegionTooLarge,
			errHas:  []string{"768 MiB", "1023.4 MiB", "crashkernel=SIZE", "smaller"},
		},
		{
			name:    "default size on a 384 MiB machine",
			ram:     ram(Range{0x100000, 0x17f00000}),
			wantErr: ErrRegionTooLarge,
		},
		{
			name:  "kernel image in the way (KASLR put it high)",
			ram:   qemu1G,
			iomem: "00100000-3ffdffff : System RAM\n  3a000000-3ac031d0 : Kernel code\n  3ae00000-3b28dfff : Kernel rodata\n  3b400000-3b62a7ff : Kernel data\n  3bb8a000-3bffffff : Kernel bss\n",
			// Above the image: 0x3c000000-0x3ffdffff (64 MiB - 128 KiB) is too
			// small; below it, the highest window ends at 0x3a000000 (not
			// 64 MiB aligned), the highest 64 MiB-aligned end is 0x38000000.
			want: Region{Range: Range{0x28000000, 256 * MiB}, Source: FromAuto},
		},
		{
			name: "RAM split in several ranges, high RAM ignored",
			ram: Map{
				{Range{0x100000, 0x0ff00000}, RAM}, // to 256 MiB
				{Range{0x10000000, 0x01000000}, Reserved},
				{Range{0x11000000, 0x1f000000}, RAM}, // 272 MiB .. 768 MiB
				{Range{0x30000000, 0x10000000}, ACPI},
				{Range{0x40000000, 0x08000000}, RAM}, // 1 GiB .. 1152 MiB: 128 MiB only
				{Range{0x100000000, 0x100000000}, RAM},
			},
			opt:  Options{Size: 192 * MiB},
			want: Region{Range: Range{0x24000000, 192 * MiB}, Source: FromAuto},
		},
		{
			name: "window may not span two adjacent RAM ranges split by a resource",
			ram:  ram(Range{0x100000, 0x3ff00000}),
			iomem: "00100000-27ffffff : System RAM\n  01000000-01ffffff : Kernel code\n" +
				"28000000-28000fff : Reserved\n" + // e.g. memmap=4K$640M
				"28001000-3fffffff : System RAM\n",
			// 0x28000000-0x3fffffff would fit 384 MiB if the 4 KiB were RAM.
			opt:  Options{Size: 384 * MiB},
			want: Region{Range: Range{0x10000000, 384 * MiB}, Source: FromAuto},
		},
		{
			name:  "iomem RAM smaller than the firmware map (mem=512M)",
			ram:   qemu1G,
			iomem: "00100000-1fffffff : System RAM\n  01000000-01ffffff : Kernel code\n",
			want:  Region{Range: Range{0x10000000, 256 * MiB}, Source: FromAuto},
		},
		{
			name: "no 64 MiB aligned end possible: highest 16 MiB aligned window",
			ram:  ram(Range{0x100000, 0x02f00000}), // to 48 MiB
			opt:  Options{Size: 16 * MiB},
			want: Region{Range: Range{0x02000000, 16 * MiB}, Source: FromAuto},
		},
		{
			name: "size rounded up to 16 MiB",
			ram:  ram(Range{0x100000, 0x7ff00000}),
			opt:  Options{Size: 100 * MiB},
			want: Region{Range: Range{0x79000000, 112 * MiB}, Source: FromAuto},
		},
		{
			name: "nothing below 4 GiB",
			ram:  ram(Range{0x1000, 0x9e000}, Range{0x100000000, 0x100000000}),
			opt:  Options{Size: 64 * MiB},
			// 4 GiB of RAM above 4 GiB is plenty but out of reach.
			wantErr: ErrNoRegion,
			errHas:  []string{"no free System RAM"},
		},
		{
			name:    "fragmented: nothing fits",
			ram:     qemu1G,
			iomem:   qemu1GIomem + "  10000000-100fffff : Reserved\n  20000000-200fffff : Reserved\n  30000000-300fffff : Reserved\n",
			wantErr: ErrNoRegion,
			errHas:  []string{"256 MiB", "largest free span is 255 MiB"},
		},
		{
			name:    "RAM not inside any iomem System RAM",
			ram:     qemu1G,
			iomem:   "00000000-3fffffff : Reserved\n",
			opt:     Options{Size: 16 * MiB},
			wantErr: ErrNoRegion,
		},
		{
			name: "Max lowers the window",
			ram:  qemu1G, iomem: qemu1GIomem,
			opt:  Options{Max: 0x1fffffff},
			want: Region{Range: Range{0x10000000, 256 * MiB}, Source: FromAuto},
		},
		{
			name: "Min above everything",
			ram:  qemu1G, iomem: qemu1GIomem,
			opt:     Options{Min: 0x100000000},
			wantErr: ErrNoRegion,
			errHas:  []string{"no room"},
		},
		{
			name: "Min and Max leave exactly one window",
			ram:  qemu1G, iomem: qemu1GIomem,
			opt:  Options{Size: 64 * MiB, Min: 0x05000000, Max: 0x08ffffff},
			want: Region{Range: Range{0x05000000, 64 * MiB}, Source: FromAuto},
		},
		{
			name: "unaligned Min rounds up",
			ram:  qemu1G, iomem: qemu1GIomem,
			opt:     Options{Size: 64 * MiB, Min: 0x05000001, Max: 0x08ffffff},
			wantErr: ErrNoRegion,
		},
		{
			name: "Max beyond 4 GiB is capped",
			ram:  ram(Range{0x100000, 0x1fff00000}),
			opt:  Options{Max: ^uint64(0)},
			want: Region{Range: Range{0xf0000000, 256 * MiB}, Source: FromAuto},
		},
		{
			name:    "empty map",
			ram:     nil,
			wantErr: ErrNoRegion,
		},
		{
			name:    "absurd size",
			ram:     qemu1G,
			opt:     Options{Size: ^uint64(0)},
			wantErr: ErrRegionTooLarge,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var tree []*Resource
			if tt.iomem != "" {
				var err error
				if tree, err = ParseIomem(strings.NewReader(tt.iomem)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ChooseRegion(tt.ram, tree, tt.opt)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ChooseRegion = %v, %v; want error %v", got, err, tt.wantErr)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				if got != (Region{}) {
					t.Errorf("ChooseRegion returned %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ChooseRegion = %v, want %v", got, tt.want)
			}
			checkRegion(t, got, tt.ram, tree, tt.opt)
		})
	}
}

// checkRegion asserts the rules of an automatic region independently of
// how ChooseRegion found it.
func checkRegion(t *testing.T, r Region, m Map, tree []*Resource, opt Options) {
	t.Helper()
	if r.Source != FromAuto {
		return
	}
	if r.Start%RegionAlign != 0 || r.Size%RegionAlign != 0 || r.Start < LowLimit || r.End() > HighLimit {
		t.Errorf("%v breaks alignment or limits", r)
	}
	if r.Start < opt.Min || opt.Max != 0 && r.Last() > opt.Max {
		t.Errorf("%v outside Min %#x Max %#x", r, opt.Min, opt.Max)
	}
	inRAM := false
	for _, e := range m.RAM() {
		inRAM = inRAM || e.ContainsRange(r.Range)
	}
	if !inRAM {
		t.Errorf("%v not inside one System RAM range of %v", r, m)
	}
	Walk(tree, func(res *Resource) {
		if res.Name != string(RAM) && res.Overlaps(r.Range) {
			t.Errorf("%v overlaps %v", r, res)
		}
	})
}

func TestChooseRegionRealMachine(t *testing.T) {
	m, err := ReadFirmwareMemmap("/")
	if err != nil {
		t.Skipf("no firmware memmap: %v", err)
	}
	tree, err := ReadIomem("/")
	if err != nil {
		t.Skipf("cannot read /proc/iomem: %v", err)
	}
	r, err := ChooseRegion(m, tree, Options{})
	if errors.Is(err, ErrRegionTooLarge) || errors.Is(err, ErrNoRegion) {
		t.Skipf("this machine has no room: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkRegion(t, r, m, tree, Options{})
	for _, k := range FindIomem(tree, "Kernel code") {
		if r.Overlaps(k) {
			t.Errorf("region %v overlaps the kernel code %v", r, k)
		}
	}
}

func TestChooseRegionMemmapReservation(t *testing.T) {
	ram := Map{{Range: Range{Start: 0, Size: 0x9fc00}, Type: RAM}, {Range: Range{Start: 1 << 20, Size: 1<<30 - 1<<20}, Type: RAM}}
	res := Range{Start: 512 << 20, Size: 256 << 20}
	tests := []struct {
		name string
		opt  Options
		want Region
	}{
		{"used", Options{Reserved: []Range{res}}, Region{Range: res, Source: FromMemmap, Reserved: true}},
		{"largest wins", Options{Reserved: []Range{{Start: 256 << 20, Size: 64 << 20}, res}}, Region{Range: res, Source: FromMemmap, Reserved: true}},
		{"outside --mem-max", Options{Reserved: []Range{res}, Max: 600 << 20}, Region{}},
		{"not aligned", Options{Reserved: []Range{{Start: 520 << 20, Size: 256 << 20}}}, Region{}},
		{"not RAM", Options{Reserved: []Range{{Start: 2 << 30, Size: 256 << 20}}}, Region{}},
	}
	for _, tt := range tests {
		got, err := ChooseRegion(ram, nil, tt.opt)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if tt.want.Size != 0 && got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		if tt.want.Size == 0 && got.Source == FromMemmap {
			t.Errorf("%s: used the reservation %v", tt.name, got)
		}
	}
}
