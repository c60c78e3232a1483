package physmem

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

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
