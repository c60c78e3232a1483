package elfcore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/kjump/kjump/elfcore"
)

// fakePhys is physical memory where every 8 bytes hold their own address.
func fakePhys(phys uint64, buf []byte) error {
	for i := 0; i+8 <= len(buf); i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], phys+uint64(i))
	}
	return nil
}

func TestWriteCore(t *testing.T) {
	const po = 0xffff888000000000
	info := []byte("OSRELEASE=6.12.0\nPAGESIZE=4096\n")
	c := elfcore.CoreFile{
		Notes: []elfcore.RawNote{{Name: "VMCOREINFO", Desc: info}},
		Loads: []elfcore.Load{
			{Phys: 0x20000, Size: 0x40000, Virt: po + 0x20000},
			{Phys: 0x1000000, Size: 0x300000, Virt: po + 0x1000000},
		},
		KernelText: &elfcore.Load{Phys: 0x1000000, Size: 0x200000, Virt: 0xffffffff81000000},
	}
	var out bytes.Buffer
	n, err := elfcore.WriteCore(&out, c, fakePhys)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(out.Len()) {
		t.Errorf("WriteCore says %d bytes, wrote %d", n, out.Len())
	}
	f, err := elfcore.NewFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := f.VMCOREINFO(); !ok || !bytes.Equal(got, info) {
		t.Errorf("VMCOREINFO %q, %v; want %q", got, ok, info)
	}
	if len(f.Loads) != 3 || f.Loads[0].Virt != 0xffffffff81000000 || f.Loads[0].FileOff != f.Loads[2].FileOff {
		t.Errorf("loads %+v: want the kernel text first, sharing the second range's bytes", f.Loads)
	}
	for _, phys := range []uint64{0x20000, 0x5fff8, 0x1000000, 0x1234568, 0x12ffff8} {
		var b [8]byte
		if _, err := f.ReadPhys(b[:], phys); err != nil {
			t.Fatalf("%#x: %v", phys, err)
		}
		if got := binary.LittleEndian.Uint64(b[:]); got != phys {
			t.Errorf("physical %#x reads %#x", phys, got)
		}
	}
	// The same file read as /proc/kcore: its direct-map segments, the
	// kernel text left out.
	segs, err := elfcore.KcoreRAM(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || segs[0].Phys != 0x20000 || segs[1].Phys != 0x1000000 {
		t.Errorf("KcoreRAM %+v, want the two direct-map ranges", segs)
	}
}

func TestWriteCoreRefuses(t *testing.T) {
	for name, c := range map[string]elfcore.CoreFile{
		"unaligned":   {Loads: []elfcore.Load{{Phys: 0x20010, Size: 0x1000}}},
		"wraps":       {Loads: []elfcore.Load{{Phys: 0xfffffffffffff000, Size: 0x2000}}},
		"overlapping": {Loads: []elfcore.Load{{Phys: 0x20000, Size: 0x2000}, {Phys: 0x21000, Size: 0x1000}}},
		"text outside": {Loads: []elfcore.Load{{Phys: 0x20000, Size: 0x2000}},
			KernelText: &elfcore.Load{Phys: 0x21000, Size: 0x2000}},
	} {
		var out bytes.Buffer
		_, err := elfcore.WriteCore(&out, c, fakePhys)
		if !errors.Is(err, elfcore.ErrInvalidHeader) {
			t.Errorf("%s: %v, want ErrInvalidHeader", name, err)
		}
		if out.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before refusing", name, out.Len())
		}
	}
}

// FuzzWriteCore: whatever ranges and kernel text a note from the other kernel
// names, WriteCore either refuses before writing a byte or writes a file
// NewFile reads back, every range's bytes where it says.
func FuzzWriteCore(f *testing.F) {
	f.Add(uint64(0x20000), uint64(0x40000), uint64(0x1000000), uint64(0x300000), uint64(0x1000000), uint64(0x200000))
	f.Add(uint64(0x1000), uint64(0x1000), uint64(0x1000), uint64(0x1000), uint64(0), uint64(0))
	f.Add(uint64(0xfffffffffffff000), uint64(0x2000), uint64(0), uint64(0), uint64(1), uint64(1))
	f.Fuzz(func(t *testing.T, p1, s1, p2, s2, kp, ks uint64) {
		if s1 > 1<<20 || s2 > 1<<20 {
			return // keep the output small
		}
		c := elfcore.CoreFile{Loads: []elfcore.Load{{Phys: p1, Size: s1}, {Phys: p2, Size: s2}}}
		if kp != 0 || ks != 0 {
			c.KernelText = &elfcore.Load{Phys: kp, Size: ks, Virt: 0xffffffff81000000}
		}
		var out bytes.Buffer
		n, err := elfcore.WriteCore(&out, c, fakePhys)
		if err != nil {
			if out.Len() != 0 {
				t.Fatalf("refused (%v) after writing %d bytes", err, out.Len())
			}
			return
		}
		if n != int64(out.Len()) {
			t.Fatalf("says %d bytes, wrote %d", n, out.Len())
		}
		core, err := elfcore.NewFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("written core does not read back: %v", err)
		}
		for _, l := range c.Loads {
			var b [8]byte
			if _, err := core.ReadPhys(b[:], l.Phys+l.Size-8); err != nil || binary.LittleEndian.Uint64(b[:]) != l.Phys+l.Size-8 {
				t.Fatalf("range %#x+%#x: last word %#x, %v", l.Phys, l.Size, b, err)
			}
		}
	})
}
