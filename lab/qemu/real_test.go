package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tests that run the real qemu-system-x86_64. No kernel is needed: either the
// firmware finds nothing to boot and the serial console stays silent, or it boots
// a hand-assembled boot sector.

func realQEMU(t *testing.T) Config {
	t.Helper()
	if _, err := exec.LookPath(defaultBinary); err != nil {
		t.Skipf("%s not installed: %v", defaultBinary, err)
	}
	return Config{Log: filepath.Join(t.TempDir(), "console.log"), MemoryMiB: 64}
}

func TestRealQEMUTimeout(t *testing.T) {
	vm := start(t, realQEMU(t))
	_, _, err := vm.Expect(3*time.Second, `never-printed-marker`)
	t.Logf("as expected: %v", err)
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("Expect = %v, want *TimeoutError", err)
	}
	if !strings.Contains(err.Error(), vm.LogPath()) {
		t.Errorf("error %q does not name the log %s", err, vm.LogPath())
	}
	assertGone(t, vm)
	log, err := os.ReadFile(vm.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(log), "\n"); !strings.Contains(first, "-machine pc,accel=tcg") {
		t.Errorf("log starts with %q, not the command line", first)
	}
}

// waitOpen waits until QEMU has path open, so the test knows QEMU got as far as
// its disks.
func waitOpen(t *testing.T, vm *VM, path string) {
	t.Helper()
	fds := "/proc/" + strconv.Itoa(vm.Pid()) + "/fd"
	deadline := time.Now().Add(long)
	for time.Now().Before(deadline) {
		ents, err := os.ReadDir(fds)
		if err != nil {
			t.Fatalf("QEMU is gone before opening %s: %v\n%s", path, err, vm.Console())
		}
		for _, e := range ents {
			if target, _ := os.Readlink(filepath.Join(fds, e.Name())); target == path {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("QEMU did not open %s within %v", path, long)
}

func TestRealQEMUSequentialBootsOfOneDisk(t *testing.T) {
	cfg := realQEMU(t)
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Disks = []Disk{{Path: img}}
	boot := func(name string) *VM {
		c := cfg
		c.Log = filepath.Join(filepath.Dir(cfg.Log), name+".log")
		return start(t, c)
	}

	first := boot("first")
	waitOpen(t, first, img)

	// While the first QEMU runs, a second one must be refused the image: this
	// shows the lock exists, so the third boot below tests something.
	second := boot("second")
	err := second.Wait(long)
	var ee *ExitedError
	if !errors.As(err, &ee) || !strings.Contains(strings.Join(ee.Stderr, "\n"), "lock") {
		t.Fatalf("second QEMU on a disk in use: Wait = %v, want an exit about the image lock", err)
	}
	t.Logf("second QEMU, as expected: %v", err)

	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, first)

	third := boot("third")
	waitOpen(t, third, img)
	// A leftover lock would make QEMU exit right after opening the image.
	var te *TimeoutError
	if err := third.Wait(2 * time.Second); !errors.As(err, &te) {
		t.Fatalf("third QEMU after the first was killed: Wait = %v, want it still running", err)
	}
	assertGone(t, third)
	if te.Elapsed < 2*time.Second {
		t.Errorf("TimeoutError.Elapsed = %v, less than the timeout", te.Elapsed)
	}
}

// bootSector is a 16-bit real-mode program, loaded by the firmware at 0x7c00 from
// the first disk. It writes a line and a prompt to COM1, then powers the machine
// off through the ACPI PM1a control register that SeaBIOS sets up at 0x604.
var bootSector = []byte("" +
	"\x31\xc0" + //     xor  ax, ax
	"\x8e\xd8" + //     mov  ds, ax
	"\xfc" + //         cld
	"\xba\xf8\x03" + // mov  dx, 0x3f8      ; COM1 data port
	"\xbe\x1d\x7c" + // mov  si, 0x7c1d     ; msg
	"\xac" + //         next: lodsb
	"\x84\xc0" + //     test al, al
	"\x74\x03" + //     jz   off
	"\xee" + //         out  dx, al
	"\xeb\xf8" + //     jmp  next
	"\xba\x04\x06" + // off:  mov dx, 0x604
	"\xb8\x00\x20" + // mov  ax, 0x2000     ; SLP_EN, sleep type 0: soft off
	"\xef" + //         out  dx, ax
	"\xf4" + //         halt: hlt
	"\xeb\xfd" + //     jmp  halt
	"kjump-boot-sector\r\nprompt> \x00") // msg, at offset 0x1d

// TestRealQEMUBootSectorTwice boots the same disk twice, each boot ending in a
// guest power-off, as hibernation and resume do.
func TestRealQEMUBootSectorTwice(t *testing.T) {
	cfg := realQEMU(t)
	img := make([]byte, 1<<20)
	copy(img, bootSector)
	img[510], img[511] = 0x55, 0xaa // boot signature
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, img, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Disks = []Disk{{Path: disk}}
	for boot := range 2 {
		c := cfg
		c.Log = filepath.Join(filepath.Dir(cfg.Log), fmt.Sprintf("boot%d.log", boot))
		vm := start(t, c)
		if _, line, err := vm.Expect(long, `kjump-boot`); err != nil || line != "kjump-boot-sector" {
			t.Fatalf("boot %d: Expect = %q, %v", boot, line, err)
		}
		if _, line, err := vm.Expect(long, `prompt> $`); err != nil || line != "prompt> " {
			t.Fatalf("boot %d: Expect(prompt) = %q, %v", boot, line, err)
		}
		if err := vm.Wait(long); err != nil {
			t.Fatalf("boot %d: Wait = %v", boot, err)
		}
		assertGone(t, vm)
		if got, want := vm.Console(), "kjump-boot-sector\nprompt> "; got != want {
			t.Errorf("boot %d: Console() = %q, want %q", boot, got, want)
		}
	}
}
