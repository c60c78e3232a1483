package purgatory_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/bootparam"
	"github.com/kjump/kjump/internal/purgatory"
)

// findBzImage returns a real x86_64 kernel to boot, or "".
func findBzImage() string {
	var paths []string
	if p := os.Getenv("KJUMP_TEST_BZIMAGE"); p != "" {
		paths = append(paths, p)
	}
	if home, err := os.UserHomeDir(); err == nil {
		g, _ := filepath.Glob(filepath.Join(home, ".cache/kjump/build/*/arch/x86/boot/bzImage"))
		paths = append(paths, g...)
	}
	g, _ := filepath.Glob("/boot/vmlinuz-*")
	paths = append(paths, g...)
	for _, p := range paths {
		if f, err := os.Open(p); err == nil {
			f.Close()
			return p
		}
	}
	return ""
}

// TestQEMUKernel starts a real Linux kernel through the purgatory and a
// zero page from package bootparam, entered like a kexec jump, and checks
// that the kernel sees the command line with the jump-back entry filled in.
func TestQEMUKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel in QEMU; skipped with -short")
	}
	path := findBzImage()
	if path == "" {
		t.Skip("no bzImage ($KJUMP_TEST_BZIMAGE, the lab's build cache, /boot/vmlinuz-*)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := bootparam.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	h := buildHarness(t)

	const (
		kernelAddr = 0x1000000 // 16 MiB: pref_address of a default build, 2 MiB aligned
		ramEnd     = 0xf000000 // 240 MiB of the guest's 256 MiB, clear of SeaBIOS's ACPI tables
	)
	if start, size := img.RuntimeWindow(kernelAddr); start != kernelAddr || start+size > ramEnd {
		t.Skipf("%s would run at [%#x, +%#x), not at %#x inside the test's RAM", path, start, size, uint64(kernelAddr))
	}
	cmdline := "console=ttyS0 earlyprintk=serial,ttyS0 nokaslr panic=-1 " + purgatory.JumpBackPlaceholder + " kjump.test=1"
	zp, err := img.BootParams(bootparam.Params{
		CmdlineAddr: qemuCmdline,
		CmdlineSize: uint32(len(cmdline)),
		E820: []bootparam.E820Entry{
			{Addr: 0, Size: 0x9fc00, Type: bootparam.E820RAM},
			{Addr: 0x9fc00, Size: 0x400, Type: bootparam.E820Reserved},
			{Addr: 0xf0000, Size: 0x10000, Type: bootparam.E820Reserved},
			{Addr: 0x100000, Size: ramEnd - 0x100000, Type: bootparam.E820RAM},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	bp := make([]byte, 0x2000) // zero page, then the command line
	copy(bp, zp)
	copy(bp[qemuCmdline-qemuBootParams:], cmdline)
	hexAddr, err := purgatory.PlaceholderAddr(cmdline, qemuCmdline)
	if err != nil {
		t.Fatal(err)
	}
	segs := [][]byte{img.Kernel, bp}
	blob, err := purgatory.Build(purgatory.Config{
		Entry64:        img.Entry64(kernelAddr),
		BootParams:     qemuBootParams,
		CmdlineHexAddr: hexAddr,
		Verify: []purgatory.Segment{
			{Addr: kernelAddr, Len: uint64(len(img.Kernel))},
			{Addr: qemuBootParams, Len: uint64(len(bp))},
		},
	}, func(i int) []byte { return segs[i] })
	if err != nil {
		t.Fatal(err)
	}
	if le := binary.LittleEndian; le.Uint32(bp[0x228:]) != qemuCmdline {
		t.Fatal("cmd_line_ptr not set")
	}
	files := []file{{kernelAddr, img.Kernel}, {qemuBootParams, bp}, {h.purgatory, blob}}
	out := h.runMem(t, "kernel", "Kernel command line:", "256M", files)
	want := strings.Replace(cmdline, purgatory.JumpBackPlaceholder, fmt.Sprintf("%s%016x", purgatory.JumpBackParam, h.jumpBack), 1)
	var got string
	for _, line := range strings.Split(out, "\n") {
		if _, c, ok := strings.Cut(line, "Kernel command line: "); ok {
			got = c
		}
	}
	if got != want {
		t.Fatalf("kernel command line\n got %q\nwant %q\noutput:\n%s", got, want, out)
	}
	if v, err := purgatory.ParseJumpBack(got); err != nil || v != h.jumpBack {
		t.Fatalf("ParseJumpBack = %#x, %v; want %#x", v, err, h.jumpBack)
	}
	t.Logf("%s booted through the purgatory; kernel command line: %s", path, got)
}
