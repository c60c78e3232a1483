package kexec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// fakeMem is physical memory made of pages.
type fakeMem map[uint64][]byte

func (m fakeMem) read(phys uint64, buf []byte) error {
	p, ok := m[phys]
	if !ok {
		return fmt.Errorf("no page at %#x", phys)
	}
	copy(buf, p)
	return nil
}

func (m fakeMem) list(addr uint64, entries ...uint64) {
	p := make([]byte, PageSize)
	for i, e := range entries {
		binary.LittleEndian.PutUint64(p[i*8:], e)
	}
	m[addr] = p
}

func TestReadSwapMap(t *testing.T) {
	const control, entry = 0x600000, 0x6000f2
	mem := fakeMem{}
	cp := make([]byte, PageSize)
	binary.LittleEndian.PutUint64(cp[controlPageListOffset:], 0x700000|indIndirection)
	mem[control] = cp
	// Two destinations: a low range of 2 pages and a region of 3, the list
	// continued on a second list page, as kimage builds it.
	mem.list(0x700000,
		0x20000|indDestination, 0x900000|indSource, 0x901000|indSource,
		0x2c000000|indDestination, 0x902000|indSource,
		0x710000|indIndirection)
	mem.list(0x710000, 0x903000|indSource, 0x904000|indSource, indDone)
	got, err := ReadSwapMap(mem.read, entry)
	if err != nil {
		t.Fatal(err)
	}
	want := SwapMap{0x20000: 0x900000, 0x21000: 0x901000, 0x2c000000: 0x902000, 0x2c001000: 0x903000, 0x2c002000: 0x904000}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestReadSwapMapErrors(t *testing.T) {
	const control, entry = 0x600000, 0x600010
	tests := []struct {
		name  string
		setup func(fakeMem)
	}{
		{"unreadable control page", func(m fakeMem) {}},
		{"no list in the control page", func(m fakeMem) { m[control] = make([]byte, PageSize) }},
		{"source before destination", func(m fakeMem) {
			m.list(control)
			binary.LittleEndian.PutUint64(m[control][controlPageListOffset:], 0x700000|indIndirection)
			m.list(0x700000, 0x900000|indSource, indDone)
		}},
		{"list without done", func(m fakeMem) {
			m.list(control)
			binary.LittleEndian.PutUint64(m[control][controlPageListOffset:], 0x700000|indIndirection)
			m.list(0x700000, 0x20000|indDestination)
		}},
		{"loop", func(m fakeMem) {
			m.list(control)
			binary.LittleEndian.PutUint64(m[control][controlPageListOffset:], 0x700000|indIndirection)
			m.list(0x700000, 0x700000|indIndirection)
		}},
	}
	for _, tt := range tests {
		mem := fakeMem{}
		tt.setup(mem)
		if _, err := ReadSwapMap(mem.read, entry); !errors.Is(err, ErrSwapMap) {
			t.Errorf("%s: err = %v, want ErrSwapMap", tt.name, err)
		}
	}
}

func TestReadJumpState(t *testing.T) {
	const control, entry = 0x600000, 0x6000f2
	saved := func(rsp, cr0, cr3, cr4 uint64) fakeMem {
		cp := make([]byte, PageSize)
		for i, v := range []uint64{rsp, cr0, cr3, cr4} {
			binary.LittleEndian.PutUint64(cp[controlPageData+8*i:], v)
		}
		return fakeMem{control: cp}
	}
	tests := []struct {
		name    string
		mem     fakeMem
		want    JumpState
		wantErr bool
	}{
		{"saved by relocate_kernel", saved(0xffffc90000013d50, 0x80050033, 0x3a1c000, 0x3506f0),
			JumpState{RSP: 0xffffc90000013d50, CR0: 0x80050033, CR3: 0x3a1c000, CR4: 0x3506f0}, false},
		{"unreadable control page", fakeMem{}, JumpState{}, true},
		{"zero control page", saved(0, 0, 0, 0), JumpState{}, true},
		{"user-space rsp", saved(0x7ffd0000, 0x80050033, 0x3a1c000, 0x3506f0), JumpState{}, true},
		{"protected mode off", saved(0xffffc90000013d50, 0x10, 0x3a1c000, 0x3506f0), JumpState{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadJumpState(tc.mem.read, entry)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrSwapMap) {
				t.Errorf("%v does not match ErrSwapMap", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
