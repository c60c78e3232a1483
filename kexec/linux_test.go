package kexec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kjump/kjump/bootparam"
	"github.com/kjump/kjump/internal/cmdline"
	"github.com/kjump/kjump/internal/purgatory"
	"github.com/kjump/kjump/memmap"
)

// zeroPage is what the tests read back from a boot_params page; offsets from
// Documentation/arch/x86/zero-page.rst and boot.rst.
type zeroPage struct {
	magic       string // "HdrS" at 0x202: the setup header was copied
	cmdlinePtr  uint64 // cmd_line_ptr 0x228 | ext_cmd_line_ptr 0x0c8 << 32
	initrdAddr  uint64 // ramdisk_image 0x218 | ext_ramdisk_image 0x0c0 << 32
	initrdSize  uint64 // ramdisk_size 0x21c | ext_ramdisk_size 0x0c4 << 32
	acpiRSDP    uint64 // acpi_rsdp_addr 0x070
	e820        []bootparam.E820Entry
	typeOfLoadr byte // 0x210
}

func decodeZeroPage(t testing.TB, zp []byte) zeroPage {
	t.Helper()
	if len(zp) < bootparam.ZeroPageSize {
		t.Fatalf("boot_params is %d bytes", len(zp))
	}
	le := binary.LittleEndian
	z := zeroPage{
		magic:       string(zp[0x202:0x206]),
		cmdlinePtr:  uint64(le.Uint32(zp[0x228:])) | uint64(le.Uint32(zp[0x0c8:]))<<32,
		initrdAddr:  uint64(le.Uint32(zp[0x218:])) | uint64(le.Uint32(zp[0x0c0:]))<<32,
		initrdSize:  uint64(le.Uint32(zp[0x21c:])) | uint64(le.Uint32(zp[0x0c4:]))<<32,
		acpiRSDP:    le.Uint64(zp[0x070:]),
		typeOfLoadr: zp[0x210],
	}
	n := int(zp[0x1e8])
	if n > bootparam.E820MaxEntries {
		t.Fatalf("e820_entries = %d", n)
	}
	for i := range n {
		e := zp[0x2d0+20*i:]
		z.e820 = append(z.e820, bootparam.E820Entry{Addr: le.Uint64(e), Size: le.Uint64(e[8:]), Type: le.Uint32(e[16:])})
	}
	return z
}

// memAt returns the n bytes the plan puts at physical address addr (zero
// beyond a segment's data), or false if they are not inside one segment.
func memAt(p *Plan, addr, n uint64) ([]byte, bool) {
	for _, s := range p.Segments {
		if addr < s.Mem.Start || addr-s.Mem.Start > s.Mem.Size || n > s.Mem.Size-(addr-s.Mem.Start) {
			continue
		}
		out := make([]byte, n)
		off := addr - s.Mem.Start
		if off < uint64(len(s.Data)) {
			copy(out, s.Data[off:])
		}
		return out, true
	}
	return nil, false
}

// kernelParams returns the parameters the kernel parses itself: those before
// "--" (kernel/params.c parse_args; the rest goes to init). It splits with
// the one tokenizer, internal/cmdline, whose own tests are literal cases of the
// kernel's rules (lib/cmdline.c next_arg): this file checks plans, not the
// tokenizer.
func kernelParams(s string) []string {
	params := cmdline.Split(s)
	for i, p := range params {
		if cmdline.IsDoubleDash(p) {
			return params[:i]
		}
	}
	return params
}

// confinement is what PlanLinux must add to every second kernel's command line.
func confinement(r memmap.Range) []string {
	return []string{"nokaslr", "iomem=relaxed", "memmap=exactmap", "memmap=256K@128K",
		fmt.Sprintf("memmap=%dM@%dM", (r.Size-TopSize)>>20, r.Start>>20),
		fmt.Sprintf("kjump.gate=%#x", r.End()-TopSize+purgatory.OffsetGate), purgatory.JumpBackPlaceholder}
}

// checkPlan asserts every invariant of a plan PlanLinux returned for l.
func checkPlan(t testing.TB, l Linux, p *Plan) {
	t.Helper()
	r := l.Region
	top := r.End() - TopSize
	k := l.Kernel

	if p.Entry != top {
		t.Errorf("Entry %#x, want the region's top 1 MiB at %#x", p.Entry, top)
	}
	if p.KernelAddr != r.Start {
		t.Errorf("KernelAddr %#x, want the region start %#x", p.KernelAddr, r.Start)
	}
	wantRAM := []memmap.Range{{Start: LowStart, Size: LowSize}, {Start: r.Start, Size: r.Size - TopSize}}
	if fmt.Sprint(p.RAM) != fmt.Sprint(wantRAM) {
		t.Errorf("RAM %v, want %v", p.RAM, wantRAM)
	}

	// Segments: page aligned, sorted, not overlapping, exactly the low range
	// and the whole region.
	if err := Validate(p.Segments, 0); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if !sort.SliceIsSorted(p.Segments, func(i, j int) bool { return p.Segments[i].Mem.Start < p.Segments[j].Mem.Start }) {
		t.Errorf("segments not sorted: %v", p.Segments)
	}
	var covered []memmap.Range
	for i, s := range p.Segments {
		if s.Mem.Start%PageSize != 0 || s.Mem.Size%PageSize != 0 || s.Mem.Size == 0 {
			t.Errorf("segment %v is not whole pages", s)
		}
		if uint64(len(s.Data)) > s.Mem.Size {
			t.Errorf("segment %v has more data than memory", s)
		}
		if i > 0 && p.Segments[i-1].Mem.End() > s.Mem.Start {
			t.Errorf("segment %v overlaps %v", s, p.Segments[i-1])
		}
		if n := len(covered); n > 0 && covered[n-1].End() == s.Mem.Start {
			covered[n-1].Size += s.Mem.Size
		} else {
			covered = append(covered, s.Mem)
		}
	}
	if l.Reserved {
		// The low range, the kernel's memory from the region's start, the
		// initrd and the top area; nothing of the free part between them.
		var free uint64
		for _, s := range p.Segments {
			if s.Name == "free" {
				t.Errorf("reserved region has a free segment %v", s)
			}
		}
		for _, c := range covered[1:] {
			free += c.Size
		}
		if covered[0] != (memmap.Range{Start: LowStart, Size: LowSize}) || covered[1].Start != r.Start || free >= r.Size {
			t.Errorf("reserved region: segments cover %v", covered)
		}
		if k := p.Segments[1]; k.Name != "kernel" || k.Mem.Size < l.Kernel.MemSize() {
			t.Errorf("kernel segment %v does not cover its init_size %d (the decompressor moves itself there)", k, l.Kernel.MemSize())
		}
	} else if want := []memmap.Range{{Start: LowStart, Size: LowSize}, {Start: r.Start, Size: r.Size - PageSize}}; fmt.Sprint(covered) != fmt.Sprint(want) {
		t.Errorf("segments cover %v, want exactly %v (the region but its park page)", covered, want)
	}
	// The park page: in no segment (the jump never swaps it), not the second
	// kernel's RAM.
	park := memmap.Range{Start: ParkPage(r), Size: PageSize}
	for _, s := range p.Segments {
		if s.Mem.Overlaps(park) {
			t.Errorf("segment %v covers the park page %v", s, park)
		}
	}
	for _, ram := range p.RAM {
		if ram.Overlaps(park) {
			t.Errorf("the second kernel's RAM %v holds the park page %v", ram, park)
		}
	}
	if len(p.Segments) == 0 {
		t.Fatal("no segments")
	}
	last := p.Segments[len(p.Segments)-1]
	if last.Mem.Start != p.Entry || last.Mem.Size != TopSize-PageSize {
		t.Fatalf("last segment %v, want the purgatory's 1 MiB but the park page at the entry %#x", last, p.Entry)
	}

	// The kernel at the region start, the initrd just below the top.
	if b, ok := memAt(p, r.Start, uint64(len(k.Kernel))); !ok || !bytes.Equal(b, k.Kernel) {
		t.Errorf("the kernel's bytes are not at the region start")
	}
	if len(l.Initrd) > 0 {
		if want := top - pageUp(uint64(len(l.Initrd))); p.InitrdAddr != want {
			t.Errorf("InitrdAddr %#x, want %#x (just below the top 1 MiB)", p.InitrdAddr, want)
		}
		if p.InitrdAddr < r.Start+k.MemSize() {
			t.Errorf("initrd at %#x overlaps the kernel's init_size window ending at %#x", p.InitrdAddr, r.Start+k.MemSize())
		}
		if b, ok := memAt(p, p.InitrdAddr, uint64(len(l.Initrd))); !ok || !bytes.Equal(b, l.Initrd) {
			t.Errorf("the initrd's bytes are not at %#x", p.InitrdAddr)
		}
	} else if p.InitrdAddr != 0 {
		t.Errorf("InitrdAddr %#x without an initrd", p.InitrdAddr)
	}

	// The command line: the caller's kernel parameters, then the confinement and
	// the placeholder, all before any "--" (after which the kernel hands the
	// rest to init), then the caller's init arguments unchanged.
	user := cmdline.Split(l.Cmdline)
	var want []string
	if i := slices.IndexFunc(user, cmdline.IsDoubleDash); i >= 0 {
		want = append(append(append(slices.Clone(user[:i]), confinement(r)...), "--"), user[i+1:]...)
	} else {
		want = append(slices.Clone(user), confinement(r)...)
	}
	if got := cmdline.Split(p.Cmdline); !slices.Equal(got, want) {
		t.Errorf("Cmdline\n got %q\nwant %q", got, want)
	}
	if uint64(len(p.Cmdline)) > uint64(k.Header.CmdlineSize) {
		t.Errorf("command line of %d bytes, the kernel takes %d", len(p.Cmdline), k.Header.CmdlineSize)
	}
	params := kernelParams(p.Cmdline)
	for _, c := range confinement(r) {
		n := 0
		for _, q := range params {
			if q == c {
				n++
			}
		}
		if n == 0 {
			t.Errorf("the kernel would not see %q in %q", c, p.Cmdline)
		}
	}
	cmdlineAddr := top + cmdlineOffset
	if b, ok := memAt(p, cmdlineAddr, uint64(len(p.Cmdline))+1); !ok || string(b) != p.Cmdline+"\x00" {
		t.Errorf("the NUL-terminated command line is not at %#x", cmdlineAddr)
	}

	// boot_params.
	zpBytes, ok := memAt(p, top+bootParamsOffset, bootparam.ZeroPageSize)
	if !ok {
		t.Fatal("no boot_params in the segments")
	}
	zp := decodeZeroPage(t, zpBytes)
	if zp.magic != "HdrS" || zp.typeOfLoadr != 0xff {
		t.Errorf("boot_params lacks the setup header (magic %q, type_of_loader %#x)", zp.magic, zp.typeOfLoadr)
	}
	if zp.cmdlinePtr != cmdlineAddr {
		t.Errorf("cmd_line_ptr %#x, want %#x", zp.cmdlinePtr, cmdlineAddr)
	}
	if zp.initrdAddr != p.InitrdAddr || zp.initrdSize != uint64(len(l.Initrd)) {
		t.Errorf("ramdisk %#x+%d, want %#x+%d", zp.initrdAddr, zp.initrdSize, p.InitrdAddr, len(l.Initrd))
	}
	if zp.acpiRSDP != l.ACPIRSDP {
		t.Errorf("acpi_rsdp_addr %#x, want %#x", zp.acpiRSDP, l.ACPIRSDP)
	}
	checkE820(t, l, p, zp.e820)

	// The purgatory.
	blob := last.Data
	le := binary.LittleEndian
	if len(blob) < purgatory.HeaderSize || string(blob[purgatory.OffsetMagic:][:len(purgatory.Magic)]) != purgatory.Magic {
		t.Fatal("no purgatory at the entry")
	}
	if got := le.Uint64(blob[purgatory.OffsetEntry64:]); got != r.Start+0x200 {
		t.Errorf("purgatory entry64 %#x, want %#x", got, r.Start+0x200)
	}
	if got := le.Uint64(blob[purgatory.OffsetBootParams:]); got != top+bootParamsOffset {
		t.Errorf("purgatory boot_params %#x, want %#x", got, top+bootParamsOffset)
	}
	hex := le.Uint64(blob[purgatory.OffsetCmdlineHexAddr:])
	if b, ok := memAt(p, hex, 16); !ok || string(b) != strings.Repeat("0", 16) {
		t.Errorf("purgatory cmdline_hex_addr %#x does not point at the placeholder's 16 zeros", hex)
	} else if b, _ := memAt(p, hex-uint64(len(purgatory.JumpBackParam)), uint64(len(purgatory.JumpBackParam))); string(b) != purgatory.JumpBackParam {
		t.Errorf("purgatory cmdline_hex_addr %#x is not after %q", hex, purgatory.JumpBackParam)
	}
	// What the second kernel reads back once the purgatory filled in the digits.
	if off := hex - cmdlineAddr; off < uint64(len(p.Cmdline)) && off+16 <= uint64(len(p.Cmdline)) {
		filled := p.Cmdline[:off] + "00000000deadb000" + p.Cmdline[off+16:]
		if e, err := purgatory.ParseJumpBack(filled); err != nil || e != 0xdeadb000 {
			t.Errorf("after the purgatory writes 0xdeadb000, ParseJumpBack reads %#x, %v", e, err)
		}
	}
	// The gate: inside the purgatory's first page (the one page the second
	// kernel's jump-back helper maps), named on the command line.
	if p.Gate != top+purgatory.OffsetGate || p.Gate/PageSize != top/PageSize {
		t.Errorf("Gate %#x, want %#x in the purgatory's first page", p.Gate, top+purgatory.OffsetGate)
	}
	if g, found, err := purgatory.ParseGate(p.Cmdline); err != nil || !found || g != p.Gate {
		t.Errorf("the second kernel reads the gate as %#x, %v, %v; want %#x", g, found, err, p.Gate)
	}
	if len(purgatory.Blob) > PageSize {
		t.Errorf("purgatory of %d bytes: its gate stack would leave the page the jump-back helper maps", len(purgatory.Blob))
	}
	type verify struct{ addr, len uint64 }
	var wantVerify []verify
	if !l.NoVerify {
		wantVerify = append(wantVerify, verify{r.Start, uint64(len(k.Kernel))})
		if len(l.Initrd) > 0 {
			wantVerify = append(wantVerify, verify{p.InitrdAddr, uint64(len(l.Initrd))})
		}
		wantVerify = append(wantVerify, verify{top + bootParamsOffset, bootparam.ZeroPageSize})
	}
	n := int(le.Uint32(blob[purgatory.OffsetNumSegments:]))
	if n != len(wantVerify) {
		t.Fatalf("purgatory verifies %d segments, want %d", n, len(wantVerify))
	}
	for i, w := range wantVerify {
		e := blob[purgatory.OffsetSegments+i*purgatory.SegmentEntrySize:]
		addr, size, sum := le.Uint64(e), le.Uint64(e[8:]), le.Uint64(e[16:])
		if addr != w.addr || size != w.len {
			t.Errorf("purgatory segment %d: %#x+%#x, want %#x+%#x", i, addr, size, w.addr, w.len)
			continue
		}
		b, ok := memAt(p, addr, size)
		if !ok {
			t.Errorf("purgatory segment %d %#x+%#x is not inside one kexec segment", i, addr, size)
		} else if got := purgatory.Checksum(b); got != sum {
			t.Errorf("purgatory segment %d at %#x: checksum %#x, the bytes loaded there sum to %#x", i, addr, sum, got)
		}
	}
}

// checkE820 asserts the second kernel's memory map: its RAM (exactly
// p.RAM), the top 1 MiB reserved, and the firmware's non-RAM entries.
func checkE820(t testing.TB, l Linux, p *Plan, e820 []bootparam.E820Entry) {
	t.Helper()
	var ram []memmap.Range
	reservedTop := false
	for i, e := range e820 {
		if i > 0 && e820[i-1].Addr > e.Addr {
			t.Errorf("e820 not sorted: %+v", e820)
		}
		switch {
		case e.Type == bootparam.E820RAM:
			ram = append(ram, memmap.Range{Start: e.Addr, Size: e.Size})
		case e.Addr == p.Entry && e.Size == TopSize && e.Type == bootparam.E820Reserved:
			reservedTop = true
		}
	}
	if fmt.Sprint(ram) != fmt.Sprint(p.RAM) {
		t.Errorf("e820 RAM %v, want the plan's RAM %v", ram, p.RAM)
	}
	if !reservedTop {
		t.Errorf("e820 (%d entries) lacks the top 1 MiB [%#x+%#x] as reserved", len(e820), p.Entry, TopSize)
	}
	want := 0
	for _, e := range l.Firmware {
		if e.Type != memmap.RAM {
			want++
		}
	}
	want = min(want, bootparam.E820MaxEntries-len(p.RAM)-1) // what fits beside the second kernel's own entries
	if got := len(e820) - len(ram) - 1; got != want {
		t.Errorf("e820 has %d firmware entries, want %d of the firmware's non-RAM entries", got, want)
	}
}

// qemuFirmware is the firmware map of a 1 GiB QEMU pc machine.
var qemuFirmware = memmap.Map{
	{Range: memmap.Range{Start: 0, Size: 0x9fc00}, Type: memmap.RAM},
	{Range: memmap.Range{Start: 0x9fc00, Size: 0x400}, Type: memmap.Reserved},
	{Range: memmap.Range{Start: 0xf0000, Size: 0x10000}, Type: memmap.Reserved},
	{Range: memmap.Range{Start: 0x100000, Size: 0x3fee0000}, Type: memmap.RAM},
	{Range: memmap.Range{Start: 0x3ffe0000, Size: 0x20000}, Type: memmap.Reserved},
	{Range: memmap.Range{Start: 0xfeffc000, Size: 0x4000}, Type: memmap.Reserved},
	{Range: memmap.Range{Start: 0xfffc0000, Size: 0x40000}, Type: memmap.Reserved},
}

func TestPlanLinux(t *testing.T) {
	fake := defaultFakeKernel().parse(t)
	initrd := bytes.Repeat([]byte("070701 initramfs "), 1000) // 17000 bytes: not whole pages
	for _, tc := range []struct {
		name string
		l    Linux
	}{
		{"initrd", Linux{Kernel: fake, Initrd: initrd, Cmdline: "console=ttyS0", Region: memmap.Range{Start: 256 << 20, Size: 256 << 20}, Firmware: qemuFirmware}},
		{"no initrd", Linux{Kernel: fake, Cmdline: "console=ttyS0 quiet", Region: memmap.Range{Start: 256 << 20, Size: 64 << 20}, Firmware: qemuFirmware}},
		{"no verify", Linux{Kernel: fake, Initrd: initrd, Region: memmap.Range{Start: 16 << 20, Size: 254 << 20}, NoVerify: true}},
		{"empty cmdline, padded", Linux{Kernel: fake, Initrd: []byte{1}, Cmdline: "  \t", Region: memmap.Range{Start: 32 << 20, Size: 100 << 20}}},
		{"quoted value", Linux{Kernel: fake, Cmdline: `dyndbg="file x.c +p" console=ttyS0`, Region: memmap.Range{Start: 48 << 20, Size: 64 << 20}}},
		{"ACPI RSDP", Linux{Kernel: fake, Region: memmap.Range{Start: 256 << 20, Size: 256 << 20}, ACPIRSDP: 0x7fb7e014, Firmware: memmap.Map{
			{Range: memmap.Range{Start: 0x7fb00000, Size: 0x100000}, Type: memmap.ACPI},
			{Range: memmap.Range{Start: 0x7fc00000, Size: 0x100000}, Type: memmap.NVS},
		}}},
		{"above 4 GiB", Linux{Kernel: fake, Initrd: initrd, Region: memmap.Range{Start: 5 << 30, Size: 256 << 20}}},
		{"smallest region", Linux{Kernel: fake, Region: memmap.Range{Start: 16 << 20, Size: 57 << 20}}}, // 24 MiB init_size + 32 MiB working RAM + 1 MiB top
		{"reserved", Linux{Kernel: fake, Initrd: initrd, Region: memmap.Range{Start: 16 << 20, Size: 240 << 20}, Reserved: true}},
		{"reserved no initrd", Linux{Kernel: fake, Region: memmap.Range{Start: 16 << 20, Size: 240 << 20}, Reserved: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanLinux(tc.l)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, tc.l, p)
		})
	}
}

func TestPlanLinuxLabKernel(t *testing.T) {
	k, path := labKernel(t)
	initrd := bytes.Repeat([]byte{0x5a}, 3<<20+123)
	for _, l := range []Linux{
		{Kernel: k, Initrd: initrd, Cmdline: "console=ttyS0 panic=-1", Region: memmap.Range{Start: 256 << 20, Size: 256 << 20}, Firmware: qemuFirmware},
		{Kernel: k, Cmdline: "console=ttyS0", Region: memmap.Range{Start: 16 << 20, Size: 240 << 20}, Firmware: qemuFirmware},
	} {
		t.Run(fmt.Sprint(l.Region), func(t *testing.T) {
			p, err := PlanLinux(l)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			checkPlan(t, l, p)
		})
	}
}

func TestPlanLinuxErrors(t *testing.T) {
	fake := defaultFakeKernel().parse(t)
	smallCmdline := defaultFakeKernel()
	smallCmdline.cmdlineSize = 255
	pref := defaultFakeKernel()
	pref.prefAddress = 0x4000000 // 64 MiB
	ok := memmap.Range{Start: 256 << 20, Size: 256 << 20}
	for _, tc := range []struct {
		name string
		l    Linux
		err  error
		says string
	}{
		{"region start not on 16 MiB", Linux{Kernel: fake, Region: memmap.Range{Start: 258 << 20, Size: 256 << 20}}, ErrBadSegments, "16 MiB"},
		{"region start on a page", Linux{Kernel: fake, Region: memmap.Range{Start: 256<<20 + 4096, Size: 256 << 20}}, ErrBadSegments, "16 MiB"},
		{"region size not whole MiB", Linux{Kernel: fake, Region: memmap.Range{Start: 256 << 20, Size: 256<<20 + 4096}}, ErrBadSegments, "whole MiB"},
		{"no kernel", Linux{Region: ok}, ErrBadSegments, "no kernel"},
		{"below pref_address", Linux{Kernel: pref.parse(t), Region: memmap.Range{Start: 16 << 20, Size: 256 << 20}}, ErrBadSegments, "region start"},
		{"region at 0", Linux{Kernel: fake, Region: memmap.Range{Start: 0, Size: 256 << 20}}, ErrBadSegments, "region start"},
		{"too small", Linux{Kernel: fake, Region: memmap.Range{Start: 16 << 20, Size: 56 << 20}}, ErrRegionTooSmall, "--mem-size"},
		{"too small for the initrd", Linux{Kernel: fake, Initrd: make([]byte, 40<<20), Region: memmap.Range{Start: 16 << 20, Size: 64 << 20}}, ErrRegionTooSmall, "initrd"},
		{"empty region", Linux{Kernel: fake, Region: memmap.Range{Start: 16 << 20}}, ErrRegionTooSmall, ""},
		{"command line too long", Linux{Kernel: smallCmdline.parse(t), Cmdline: strings.Repeat("x", 200), Region: ok}, ErrBadSegments, "at most 255"},
		{"command line too long for the kernel", Linux{Kernel: fake, Cmdline: strings.Repeat("quiet ", 330), Region: ok}, ErrBadSegments, "at most 2047"},
		{"placeholder given twice", Linux{Kernel: fake, Cmdline: purgatory.JumpBackPlaceholder, Region: ok}, purgatory.ErrNoPlaceholder, ""},
		{"unbalanced quote swallows the confinement", Linux{Kernel: fake, Cmdline: `foo="bar`, Region: ok}, purgatory.ErrNoPlaceholder, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanLinux(tc.l)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if p != nil {
				t.Errorf("a plan with an error: %+v", p)
			}
			if !strings.Contains(fmt.Sprint(err), tc.says) {
				t.Errorf("%q does not say %q", err, tc.says)
			}
		})
	}
}

// TestPlanLinuxLongestCmdline: a command line of exactly cmdline_size bytes
// fits, one more does not.
func TestPlanLinuxLongestCmdline(t *testing.T) {
	fake := defaultFakeKernel().parse(t)
	r := memmap.Range{Start: 256 << 20, Size: 256 << 20}
	suffix := len(" " + strings.Join(confinement(r), " "))
	user := strings.Repeat("y", int(fake.Header.CmdlineSize)-suffix)
	l := Linux{Kernel: fake, Cmdline: user, Region: r}
	p, err := PlanLinux(l)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, l, p)
	if len(p.Cmdline) != int(fake.Header.CmdlineSize) {
		t.Fatalf("command line is %d bytes, want %d", len(p.Cmdline), fake.Header.CmdlineSize)
	}
	l.Cmdline += "y"
	if p, err := PlanLinux(l); !errors.Is(err, ErrBadSegments) || p != nil {
		t.Fatalf("one byte over: %v", err)
	}
}

// TestPlanLinuxConfinementBeforeDoubleDash: the kernel stops parsing its
// parameters at "--" (kernel/params.c parse_args; the rest goes to init), so
// the confinement must come before a "--" in the caller's command line. A
// first kernel's /proc/cmdline may hold one, and jump.Cmdline keeps it.
func TestPlanLinuxConfinementBeforeDoubleDash(t *testing.T) {
	l := Linux{Kernel: defaultFakeKernel().parse(t), Cmdline: "console=ttyS0 -- single", Region: memmap.Range{Start: 256 << 20, Size: 256 << 20}}
	p, err := PlanLinux(l)
	if err != nil {
		t.Fatal(err)
	}
	params := kernelParams(p.Cmdline)
	for _, c := range confinement(l.Region)[:5] {
		found := false
		for _, q := range params {
			found = found || q == c
		}
		if !found {
			t.Errorf("the kernel does not parse %q in %q", c, p.Cmdline)
		}
	}
}

// TestPlanLinuxCmdlineNUL: the kernel reads its command line up to the first
// NUL, so a NUL in the caller's part would hide the confinement.
func TestPlanLinuxCmdlineNUL(t *testing.T) {
	l := Linux{Kernel: defaultFakeKernel().parse(t), Cmdline: "console=ttyS0\x00", Region: memmap.Range{Start: 256 << 20, Size: 256 << 20}}
	if p, err := PlanLinux(l); err == nil {
		t.Fatalf("accepted; the kernel would see only %q", kernelParams(p.Cmdline))
	}
}

// TestPlanLinuxManyFirmwareEntries: boot_params holds 128 e820 entries. With
// more firmware entries than fit, the second kernel's own RAM must survive
// the cut (the firmware entries are what can be dropped).
func TestPlanLinuxManyFirmwareEntries(t *testing.T) {
	var fw memmap.Map
	for i := range 200 {
		fw = append(fw, memmap.Entry{Range: memmap.Range{Start: 0x100000 + uint64(i)*0x2000, Size: 0x1000}, Type: memmap.Reserved})
	}
	l := Linux{Kernel: defaultFakeKernel().parse(t), Region: memmap.Range{Start: 256 << 20, Size: 256 << 20}, Firmware: fw}
	p, err := PlanLinux(l)
	if err != nil {
		t.Fatal(err)
	}
	zp, _ := memAt(p, p.Entry+bootParamsOffset, bootparam.ZeroPageSize)
	checkE820(t, l, p, decodeZeroPage(t, zp).e820)
}

// TestPlanLinuxRegionWraps: a region whose end wraps around the 64-bit
// address space gives an error, not a plan with wrapped sizes.
func TestPlanLinuxRegionWraps(t *testing.T) {
	fake := defaultFakeKernel().parse(t)
	for _, size := range []uint64{32 << 20, 64 << 20, 1 << 30} { // too small, or refused by bootparam (a wrapping e820 entry)
		l := Linux{Kernel: fake, Region: memmap.Range{Start: ^uint64(0) &^ (16<<20 - 1), Size: size}}
		if p, err := PlanLinux(l); err == nil || p != nil {
			t.Errorf("region %#x+%#x: plan %v, err %v", l.Region.Start, size, p, err)
		}
	}
}

// TestPlanLinuxRegionWrapsToZero is the case FuzzPlanLinux found: a region
// 1 MiB longer than the space left below 2^64, so that its top 1 MiB wraps
// to physical address 0.
func TestPlanLinuxRegionWrapsToZero(t *testing.T) {
	l := Linux{Kernel: defaultFakeKernel().parse(t), Region: memmap.Range{Start: 0xfffffffffc000000, Size: 65 << 20}}
	if p, err := PlanLinux(l); err == nil {
		t.Fatalf("accepted a region that wraps: entry %#x, segments %v", p.Entry, p.Segments)
	}
}

func TestSecondE820Types(t *testing.T) {
	fw := memmap.Map{
		{Range: memmap.Range{Start: 0x1000, Size: 0x1000}, Type: memmap.ACPI},
		{Range: memmap.Range{Start: 0x2000, Size: 0x1000}, Type: memmap.NVS},
		{Range: memmap.Range{Start: 0x3000, Size: 0x1000}, Type: memmap.Unusable},
		{Range: memmap.Range{Start: 0x4000, Size: 0x1000}, Type: memmap.PMem},
		{Range: memmap.Range{Start: 0x5000, Size: 0x1000}, Type: memmap.Reserved},
		{Range: memmap.Range{Start: 0x6000, Size: 0x1000}, Type: memmap.SoftReserved},
		{Range: memmap.Range{Start: 0x7000, Size: 0x1000}, Type: memmap.RAM}, // dropped: not the second kernel's
	}
	ram := []memmap.Range{{Start: LowStart, Size: LowSize}, {Start: 16 << 20, Size: 63 << 20}}
	got := secondE820(fw, ram, memmap.Range{Start: 79 << 20, Size: TopSize})
	want := []bootparam.E820Entry{
		{Addr: 0x1000, Size: 0x1000, Type: bootparam.E820ACPI},
		{Addr: 0x2000, Size: 0x1000, Type: bootparam.E820NVS},
		{Addr: 0x3000, Size: 0x1000, Type: bootparam.E820Unusable},
		{Addr: 0x4000, Size: 0x1000, Type: bootparam.E820PMEM},
		{Addr: 0x5000, Size: 0x1000, Type: bootparam.E820Reserved},
		{Addr: 0x6000, Size: 0x1000, Type: bootparam.E820Reserved},
		{Addr: LowStart, Size: LowSize, Type: bootparam.E820RAM},
		{Addr: 16 << 20, Size: 63 << 20, Type: bootparam.E820RAM},
		{Addr: 79 << 20, Size: TopSize, Type: bootparam.E820Reserved},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
