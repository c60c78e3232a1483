package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/memmap"
)

const po = 0xffff888000000000

// fakeKernels lays out a parked second kernel the way Linux 6.12 leaves it:
// the first kernel's RAM (a file laid out like /proc/kcore) holds its control
// page, a page list and the two pages the jump moved (second-kernel pages
// 0x200000 and 0x201000, now at 0x12000 and 0x13000); the third page,
// 0x202000, stayed put (a file standing in for /dev/mem), and holds the
// second kernel's VMCOREINFO note.
func fakeKernels(t *testing.T) (jump.BackNote, string, string) {
	t.Helper()
	ram := make([]byte, 0x20000) // the first kernel's RAM, 0 to 0x20000
	le := binary.LittleEndian
	le.PutUint64(ram[0x10000+2048+0x30:], 0x11000|2) // control page: the list, an indirection
	list := ram[0x11000:]
	le.PutUint64(list[0:], 0x200000|1) // destination
	le.PutUint64(list[8:], 0x12000|8)  // source
	le.PutUint64(list[16:], 0x13000|8) // source
	le.PutUint64(list[24:], 4)         // done
	copy(ram[0x12000:], "page 0x200000")
	copy(ram[0x13000:], "page 0x201000")
	copy(ram[0x13ffc:], "END1")
	var kc bytes.Buffer
	if _, err := elfcore.WriteCore(&kc, elfcore.CoreFile{Loads: []elfcore.Load{{Phys: 0, Size: uint64(len(ram)), Virt: po}}},
		func(phys uint64, b []byte) error { copy(b, ram[phys:]); return nil }); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kcore := filepath.Join(dir, "kcore")
	if err := os.WriteFile(kcore, kc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	mem := make([]byte, 0x203000)
	copy(mem[0x202000:], "page 0x202000")
	note := elfcore.AppendNote(nil, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte("OSRELEASE=6.12.0-second\n")})
	copy(mem[0x202100:], note)
	devmem := filepath.Join(dir, "mem")
	if err := os.WriteFile(devmem, mem, 0o600); err != nil {
		t.Fatal(err)
	}
	rec := jump.BackNote{
		Release:    "6.12.0-second",
		Entry:      0x10000 + 0x1d0,
		Vmcoreinfo: elfcore.Note{Phys: 0x202100, Size: 0x100},
		RAM:        []memmap.Range{{Start: 0x200000, Size: 0x3000}},
		PageOffset: po,
	}
	return rec, kcore, devmem
}

func TestWrite(t *testing.T) {
	rec, kcore, devmem := fakeKernels(t)
	k, err := open(rec, kcore, devmem)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	var out bytes.Buffer
	res, err := k.Write(&out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != 3 || res.Moved != 2 {
		t.Errorf("%d pages, %d moved; want 3 and 2", res.Pages, res.Moved)
	}
	f, err := elfcore.NewFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := f.VMCOREINFO(); !ok || string(info) != "OSRELEASE=6.12.0-second\n" {
		t.Errorf("VMCOREINFO %q, %v", info, ok)
	}
	for _, phys := range []uint64{0x200000, 0x201000, 0x202000} {
		b := make([]byte, 13)
		if _, err := f.ReadPhys(b, phys); err != nil {
			t.Fatal(err)
		}
		if want := []byte(fmt.Sprintf("page %#x", phys)); !bytes.Equal(b, want) {
			t.Errorf("the core's page %#x starts %q, want %q", phys, b, want)
		}
	}
	end := make([]byte, 8)
	if _, err := f.ReadPhys(end, 0x201ffc); err != nil || string(end) != "END1page" {
		t.Errorf("across the moved and the staying page: %q, %v; want \"END1page\"", end, err)
	}
	if f.Loads[0].Virt != po+0x200000 {
		t.Errorf("virtual address %#x, want the direct map's", f.Loads[0].Virt)
	}
}

func TestPoke(t *testing.T) {
	rec, kcore, devmem := fakeKernels(t)
	k, err := open(rec, kcore, devmem)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	// A page that stayed put is written where it is; one the jump moved,
	// where it went (here the stand-in device maps it: no STRICT_DEVMEM).
	if err := k.Poke(0x202ffc, []byte("poke"), devmem); err != nil {
		t.Fatal(err)
	}
	if err := k.Poke(0x200ffe, []byte("ABCD"), devmem); err != nil { // across two moved pages
		t.Fatal(err)
	}
	mem, _ := os.ReadFile(devmem)
	if string(mem[0x202ffc:0x203000]) != "poke" || string(mem[0x12ffe:0x13000]) != "AB" || string(mem[0x13000:0x13002]) != "CD" {
		t.Errorf("pokes landed wrong: %q %q %q", mem[0x202ffc:0x203000], mem[0x12ffe:0x13000], mem[0x13000:0x13002])
	}
	for _, c := range []struct {
		addr uint64
		n    int
	}{{0x1ff000, 4}, {0x202ffe, 4}, {0x203000, 1}, {0x200000, 0}} {
		if err := k.Poke(c.addr, make([]byte, c.n), devmem); !errors.Is(err, ErrOutside) {
			t.Errorf("poke %#x+%d: %v, want ErrOutside", c.addr, c.n, err)
		}
	}
}

// TestStale: a note that does not fit the loaded image (another kernel
// loaded since without 'kjump load', so the note page kept an old note) is
// refused, not read.
func TestStale(t *testing.T) {
	for name, change := range map[string]func(*jump.BackNote){
		"lowest page not moved": func(n *jump.BackNote) { n.RAM = []memmap.Range{{Start: 0x202000, Size: 0x1000}} },
		"no RAM":                func(n *jump.BackNote) { n.RAM = nil },
		"no page list":          func(n *jump.BackNote) { n.Entry = 0x11000 },
	} {
		rec, kcore, devmem := fakeKernels(t)
		change(&rec)
		if k, err := open(rec, kcore, devmem); !errors.Is(err, ErrStale) {
			if k != nil {
				k.Close()
			}
			t.Errorf("%s: %v, want ErrStale", name, err)
		}
	}
	rec, kcore, devmem := fakeKernels(t)
	rec.Release = "6.1.0-other"
	k, err := open(rec, kcore, devmem)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Vmcoreinfo(); !errors.Is(err, ErrStale) {
		t.Errorf("another release's VMCOREINFO: %v, want ErrStale", err)
	}
}
