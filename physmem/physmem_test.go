package physmem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/internal/errs"
)

// A regular file stands in for /dev/mem: mapped the same way.
func fakeMemory(t *testing.T) (string, []byte) {
	t.Helper()
	mem := make([]byte, 64<<10)
	for i := range mem {
		mem[i] = byte(i / pageSize)
	}
	p := filepath.Join(t.TempDir(), "mem")
	if err := os.WriteFile(p, mem, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, mem
}

func TestReadPhys(t *testing.T) {
	path, mem := fakeMemory(t)
	for _, c := range []struct{ phys, n uint64 }{{0, 16}, {4090, 12}, {8192, 3 * pageSize}, {100, 10000}} {
		buf := make([]byte, c.n)
		if err := Read(path, c.phys, buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, mem[c.phys:c.phys+c.n]) {
			t.Errorf("Read(%#x, %d) differs", c.phys, c.n)
		}
	}
}

func TestFill(t *testing.T) {
	path, _ := fakeMemory(t)
	m, err := OpenWritable(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Fill(2*pageSize, 2*pageSize, func(b []byte) { clear(b) }); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got[2*pageSize:4*pageSize], make([]byte, 2*pageSize)) || got[4*pageSize] != 4 {
		t.Error("Fill did not clear exactly its pages")
	}
	if _, err := m.Map(100, pageSize); err == nil {
		t.Error("an unaligned Map succeeded")
	}
	ro, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Fill(0, pageSize, func(b []byte) {}); !errors.Is(err, unix.EACCES) {
		t.Errorf("a writable map of a read-only device: %v, want EACCES", err)
	}
}

func TestErrors(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "no-mem"))
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, os.ErrNotExist) || !errors.Is(err, errs.ErrNotSupported) || !strings.Contains(err.Error(), "CONFIG_DEVMEM") {
		t.Errorf("a missing device: %v", err)
	}
	if h := hint("mapping", unix.EPERM); !strings.Contains(h, "IO_STRICT_DEVMEM") {
		t.Errorf("EPERM mapping hint %q", h)
	}
}

// TestKcoreVmcoreinfo reads the running kernel's VMCOREINFO note, whose
// physical address /sys/kernel/vmcoreinfo gives, through /proc/kcore: the
// note's name must be there (it fails with the segment arithmetic off by
// anything, or with kcore's virtual addresses taken for physical ones).
func TestKcoreVmcoreinfo(t *testing.T) {
	note, err := elfcore.ReadVmcoreinfoNote("/")
	if err != nil {
		t.Skipf("no VMCOREINFO here: %v", err)
	}
	k, err := OpenKcore(KcorePath)
	if err != nil {
		t.Skipf("no /proc/kcore here (needs root): %v", err)
	}
	defer k.Close()
	if !k.Covers(note.Phys) {
		t.Fatalf("kcore does not cover the VMCOREINFO note at %#x", note.Phys)
	}
	b := make([]byte, 12+12)
	if _, err := k.ReadPhys(b, note.Phys); err != nil {
		t.Fatal(err)
	}
	if string(b[12:22]) != "VMCOREINFO" {
		t.Fatalf("the note at %#x starts %q, want the name VMCOREINFO", note.Phys, b)
	}
	if k.Covers(1 << 51) {
		t.Error("kcore claims to cover physical 2^51")
	}
	if _, err := k.ReadPhys(b, 1<<51); err == nil {
		t.Error("reading physical 2^51 worked")
	}
}

// TestKcoreFile reads physical addresses through a file laid out like
// /proc/kcore (direct-map PT_LOADs with p_paddr): each 8 bytes hold their
// own physical address, so an offset error shows.
func TestKcoreFile(t *testing.T) {
	const po = 0xffff888000000000
	var buf bytes.Buffer
	_, err := elfcore.WriteCore(&buf, elfcore.CoreFile{Loads: []elfcore.Load{
		{Phys: 0x1000, Size: 0x9000, Virt: po + 0x1000},
		{Phys: 0x100000, Size: 0x10000, Virt: po + 0x100000},
	}}, func(phys uint64, b []byte) error {
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], phys+uint64(i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kcore")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := OpenKcore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, phys := range []uint64{0x1000, 0x9ff8, 0x100000, 0x10fff8} {
		var b [8]byte
		if _, err := k.ReadPhys(b[:], phys); err != nil {
			t.Fatalf("%#x: %v", phys, err)
		}
		if got := binary.LittleEndian.Uint64(b[:]); got != phys {
			t.Errorf("%#x reads %#x", phys, got)
		}
	}
	if k.Covers(0xa000) || k.Covers(0) {
		t.Error("covers a hole")
	}
	b := make([]byte, 16)
	if _, err := k.ReadPhys(b, 0x9ff8); err == nil {
		t.Error("a read running off the end of RAM into a hole worked")
	}
}
