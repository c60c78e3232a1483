package bootparam_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/kjump/kjump/bootparam"
)

func validParams() bootparam.Params {
	return bootparam.Params{
		CmdlineAddr: 0x10ff1000,
		CmdlineSize: 100,
		InitrdAddr:  0x10000000,
		InitrdSize:  0x123456,
		E820: []bootparam.E820Entry{
			{Addr: 0, Size: 0x9fc00, Type: bootparam.E820RAM},
			{Addr: 0x9fc00, Size: 0x400, Type: bootparam.E820Reserved},
			{Addr: 0x100000, Size: 0x3fee0000, Type: bootparam.E820RAM},
			{Addr: 0x3ffe0000, Size: 0x20000, Type: bootparam.E820ACPI},
			{Addr: 0xfffc0000, Size: 0x40000, Type: bootparam.E820Reserved},
		},
		ACPIRSDP: 0xf5a40,
	}
}

// decoded is the zero page read back with offsets written out from
// zero-page.rst and boot.rst, independently of the package's tables.
type decoded struct {
	cmdline, initrd, initrdSize, rsdp uint64
	typeOfLoader, loadFlags           byte
	setupData                         uint64
	e820                              []bootparam.E820Entry
	sentinel                          byte
}

func decode(zp []byte) decoded {
	le := binary.LittleEndian
	d := decoded{
		cmdline:      uint64(le.Uint32(zp[0x228:])) | uint64(le.Uint32(zp[0x0c8:]))<<32,
		initrd:       uint64(le.Uint32(zp[0x218:])) | uint64(le.Uint32(zp[0x0c0:]))<<32,
		initrdSize:   uint64(le.Uint32(zp[0x21c:])) | uint64(le.Uint32(zp[0x0c4:]))<<32,
		rsdp:         le.Uint64(zp[0x070:]),
		typeOfLoader: zp[0x210],
		loadFlags:    zp[0x211],
		setupData:    le.Uint64(zp[0x250:]),
		sentinel:     zp[0x1ef],
	}
	for i := 0; i < int(zp[0x1e8]); i++ {
		e := zp[0x2d0+20*i:]
		d.e820 = append(d.e820, bootparam.E820Entry{Addr: le.Uint64(e), Size: le.Uint64(e[8:]), Type: le.Uint32(e[16:])})
	}
	return d
}

// checkZeroPage checks everything BootParams promises about zp.
func checkZeroPage(t *testing.T, b *bootparam.BzImage, zp []byte, p bootparam.Params) {
	t.Helper()
	if len(zp) != 4096 {
		t.Fatalf("zero page is %d bytes", len(zp))
	}
	d := decode(zp)
	if d.cmdline != p.CmdlineAddr || d.initrd != p.InitrdAddr || d.initrdSize != p.InitrdSize || d.rsdp != p.ACPIRSDP {
		t.Errorf("pointers: %+v, params %+v", d, p)
	}
	if len(d.e820) != len(p.E820) {
		t.Fatalf("%d e820 entries, want %d", len(d.e820), len(p.E820))
	}
	for i := range d.e820 {
		if d.e820[i] != p.E820[i] {
			t.Errorf("e820[%d] = %+v, want %+v", i, d.e820[i], p.E820[i])
		}
	}
	if d.typeOfLoader != 0xff {
		t.Errorf("type_of_loader %#x, want 0xff", d.typeOfLoader)
	}
	if d.loadFlags&0x01 == 0 || d.loadFlags&0x80 != 0 || d.loadFlags&0x02 != 0 {
		t.Errorf("loadflags %#x: want LOADED_HIGH, no CAN_USE_HEAP, no KASLR_FLAG", d.loadFlags)
	}
	if d.setupData != 0 || d.sentinel != 0 {
		t.Errorf("setup_data %#x, sentinel %#x; want 0", d.setupData, d.sentinel)
	}
	// The setup header is the image's, except the fields the loader writes.
	end := 0x202 + int(b.Setup[0x201])
	written := map[int]bool{0x210: true, 0x211: true, 0x226: true, 0x227: true}
	for i := 0x218; i < 0x220; i++ { // ramdisk_image, ramdisk_size
		written[i] = true
	}
	for i := 0x228; i < 0x22c; i++ { // cmd_line_ptr
		written[i] = true
	}
	for i := 0x250; i < 0x258; i++ { // setup_data
		written[i] = true
	}
	for i := 0x1f1; i < end; i++ {
		if !written[i] && zp[i] != b.Setup[i] {
			t.Errorf("setup header byte %#x = %#x, image has %#x", i, zp[i], b.Setup[i])
		}
	}
	// Everything else is zero.
	known := func(i int) bool {
		switch {
		case i >= 0x1f1 && i < end,
			i >= 0x070 && i < 0x078,
			i >= 0x0c0 && i < 0x0cc,
			i == 0x1e8,
			i >= 0x2d0 && i < 0x2d0+20*len(p.E820):
			return true
		}
		return false
	}
	for i, c := range zp {
		if c != 0 && !known(i) {
			t.Fatalf("byte %#x = %#x outside the fields BootParams writes", i, c)
		}
	}
}

func TestBootParamsRoundTrip(t *testing.T) {
	b, err := bootparam.Parse(defaultFake().bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*bootparam.Params)
	}{
		{"typical", func(*bootparam.Params) {}},
		{"no initrd, no rsdp", func(p *bootparam.Params) { p.InitrdAddr, p.InitrdSize, p.ACPIRSDP = 0, 0, 0 }},
		{"above 4 GiB", func(p *bootparam.Params) {
			p.CmdlineAddr = 0x1_2345_6000
			p.InitrdAddr, p.InitrdSize = 0x2_0000_0000, 0x1_0000_0001
		}},
		{"empty command line", func(p *bootparam.Params) { p.CmdlineSize = 0 }},
		{"longest command line", func(p *bootparam.Params) { p.CmdlineSize = 2047 }},
		{"128 e820 entries", func(p *bootparam.Params) {
			p.E820 = nil
			for i := range 128 {
				p.E820 = append(p.E820, bootparam.E820Entry{Addr: uint64(i) << 30, Size: 1 << 30, Type: uint32(1 + i%5)})
			}
		}},
		{"unknown e820 type", func(p *bootparam.Params) { p.E820[1].Type = 12 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validParams()
			tc.mod(&p)
			zp, err := b.BootParams(p)
			if err != nil {
				t.Fatal(err)
			}
			checkZeroPage(t, b, zp, p)
		})
	}
}

func TestBootParamsDoesNotModifyImage(t *testing.T) {
	data := defaultFake().bytes()
	orig := bytes.Clone(data)
	b, err := bootparam.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.BootParams(validParams()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, orig) {
		t.Fatal("BootParams modified the image")
	}
}

func TestBootParamsErrors(t *testing.T) {
	b, err := bootparam.Parse(defaultFake().bytes())
	if err != nil {
		t.Fatal(err)
	}
	low := defaultFake()
	low.xloadFlags = bootparam.XLFKernel64 // not loadable above 4 GiB
	b32, err := bootparam.Parse(low.bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		img  *bootparam.BzImage
		mod  func(*bootparam.Params)
		says string
	}{
		{"no command line", b, func(p *bootparam.Params) { p.CmdlineAddr = 0 }, "CmdlineAddr is 0"},
		{"command line too long", b, func(p *bootparam.Params) { p.CmdlineSize = 2048 }, "at most 2047"},
		{"command line wraps", b, func(p *bootparam.Params) { p.CmdlineAddr = ^uint64(0) - 10 }, "wraps"},
		{"command line above 4G", b32, func(p *bootparam.Params) { p.CmdlineAddr = 0xffffff00; p.CmdlineSize = 0x100 }, "above 4 GiB"},
		{"initrd without size", b, func(p *bootparam.Params) { p.InitrdSize = 0 }, "both or neither"},
		{"initrd size without address", b, func(p *bootparam.Params) { p.InitrdAddr = 0 }, "both or neither"},
		{"initrd wraps", b, func(p *bootparam.Params) { p.InitrdAddr = ^uint64(0) - 10 }, "wraps"},
		{"initrd above initrd_addr_max", b32, func(p *bootparam.Params) { p.InitrdAddr = 0x7fff0000; p.InitrdSize = 0x10001 }, "initrd_addr_max"},
		{"129 e820 entries", b, func(p *bootparam.Params) { p.E820 = make([]bootparam.E820Entry, 129) }, "129 e820 entries"},
		{"1 e820 entry", b, func(p *bootparam.Params) { p.E820 = p.E820[:1] }, "fewer than 2"},
		{"e820 wraps", b, func(p *bootparam.Params) { p.E820[2].Addr = ^uint64(0) - 0x1000 }, "wraps"},
		{"zero BzImage", &bootparam.BzImage{}, func(*bootparam.Params) {}, "not made by Parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validParams()
			tc.mod(&p)
			zp, err := tc.img.BootParams(p)
			if !errors.Is(err, bootparam.ErrInvalidParams) {
				t.Fatalf("err = %v, want ErrInvalidParams", err)
			}
			if zp != nil {
				t.Fatal("zero page returned with an error")
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("message %q does not say %q", err, tc.says)
			}
		})
	}
	// The edges that are still fine.
	for _, tc := range []struct {
		name string
		mod  func(*bootparam.Params)
	}{
		{"command line ends just below 4G", func(p *bootparam.Params) { p.CmdlineAddr = 0xffffff00; p.CmdlineSize = 0xff }},
		{"initrd ends at initrd_addr_max", func(p *bootparam.Params) { p.InitrdAddr = 0x7fff0000; p.InitrdSize = 0x10000 }},
		{"2 e820 entries", func(p *bootparam.Params) { p.E820 = p.E820[:2] }},
		{"zero-size e820 entry at the top", func(p *bootparam.Params) { p.E820[2] = bootparam.E820Entry{Addr: ^uint64(0), Size: 0} }},
		{"e820 entry ending at 2^64", func(p *bootparam.Params) { p.E820[2] = bootparam.E820Entry{Addr: ^uint64(0) - 0xfff, Size: 0x1000} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validParams()
			tc.mod(&p)
			if _, err := b32.BootParams(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEntryAndSizes(t *testing.T) {
	f := defaultFake()
	b, err := bootparam.Parse(f.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Entry64(0x1000000); got != 0x1000200 {
		t.Errorf("Entry64 = %#x", got)
	}
	if got := b.MemSize(); got != 0x1800000 {
		t.Errorf("MemSize = %#x, want init_size 0x1800000", got)
	}
	// A kernel bigger than init_size (not real, but MemSize must cover it).
	f.initSize = 100
	f.syssize = 0x1001 // 64 KiB + 16 bytes
	b, err = bootparam.Parse(f.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := b.MemSize(); got != 0x11000 {
		t.Errorf("MemSize = %#x, want len(Kernel) 0x10010 rounded up to 0x11000", got)
	}
	b, _ = bootparam.Parse(defaultFake().bytes())
	for _, tc := range []struct{ load, start uint64 }{
		{0x1000000, 0x1000000}, // at pref_address
		{0x200000, 0x1000000},  // below pref_address: moves up
		{0x10000000, 0x10000000},
		{0x10000001, 0x10200000}, // unaligned: rounds up to kernel_alignment
	} {
		start, size := b.RuntimeWindow(tc.load)
		if start != tc.start || size != 0x1800000 {
			t.Errorf("RuntimeWindow(%#x) = %#x, %#x; want %#x, 0x1800000", tc.load, start, size, tc.start)
		}
	}
}
