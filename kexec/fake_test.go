package kexec

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/bootparam"
)

// fakeKernel describes a synthetic bzImage: a valid 2.15 setup header and a
// few KiB of "protected-mode kernel", not a kernel.
type fakeKernel struct {
	kernelLen   int    // bytes of protected-mode part (a multiple of 16)
	initSize    uint32 // init_size
	cmdlineSize uint32 // cmdline_size
	prefAddress uint64 // pref_address
	alignment   uint32 // kernel_alignment
	xloadFlags  uint16
}

func defaultFakeKernel() fakeKernel {
	return fakeKernel{
		kernelLen:   8 << 10,
		initSize:    0x1800000,
		cmdlineSize: 2047,
		prefAddress: 0x1000000,
		alignment:   0x200000,
		xloadFlags:  bootparam.XLFKernel64 | bootparam.XLFCanBeLoadedAbove4G,
	}
}

func (f fakeKernel) bytes() []byte {
	const setupSects = 3
	setup := (setupSects + 1) * 512
	b := make([]byte, setup+f.kernelLen)
	le := binary.LittleEndian
	b[0x1f1] = setupSects
	le.PutUint32(b[0x1f4:], uint32(f.kernelLen/16)) // syssize
	le.PutUint16(b[0x1fe:], 0xaa55)
	b[0x200], b[0x201] = 0xeb, 0x6a // header ends at 0x26c
	copy(b[0x202:], "HdrS")
	le.PutUint16(b[0x206:], 0x020f)
	b[0x211] = bootparam.LoadedHigh
	le.PutUint32(b[0x22c:], 0x7fffffff) // initrd_addr_max
	le.PutUint32(b[0x230:], f.alignment)
	b[0x234] = 1 // relocatable_kernel
	b[0x235] = 21
	le.PutUint16(b[0x236:], f.xloadFlags)
	le.PutUint32(b[0x238:], f.cmdlineSize)
	le.PutUint64(b[0x258:], f.prefAddress)
	le.PutUint32(b[0x260:], f.initSize)
	for i := setup; i < len(b); i++ {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func (f fakeKernel) parse(t testing.TB) *bootparam.BzImage {
	t.Helper()
	k, err := bootparam.Parse(f.bytes())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// labKernel returns a real bzImage: $KJUMP_TEST_BZIMAGE, the lab's cached
// build (~/.cache/kjump/kernel/*/bzImage) or /boot/vmlinuz-*; it skips the
// test when there is none.
func labKernel(t testing.TB) (*bootparam.BzImage, string) {
	t.Helper()
	var paths []string
	if p := os.Getenv("KJUMP_TEST_BZIMAGE"); p != "" {
		paths = append(paths, p)
	}
	if home, err := os.UserHomeDir(); err == nil {
		g, _ := filepath.Glob(filepath.Join(home, ".cache/kjump/kernel/*/bzImage"))
		paths = append(paths, g...)
	}
	g, _ := filepath.Glob("/boot/vmlinuz-*")
	paths = append(paths, g...)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		k, err := bootparam.Parse(data)
		if err != nil {
			t.Logf("%s: %v (skipped)", p, err)
			continue
		}
		return k, p
	}
	t.Skip("no bzImage: build the lab kernel (kjump lab build) or set KJUMP_TEST_BZIMAGE")
	return nil, ""
}

// fakeRoot writes files (path relative to the root → contents) under a new
// temporary directory and returns it, the root to explain errors under.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
