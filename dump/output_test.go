package dump

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/pageclass"
)

// A plain file filled with 0xaa stands for a disk with an old dump on it.
func staleDisk(t *testing.T, size int) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "disk", bytes.Repeat([]byte{0xaa}, size))
}

// TestWriteDevice: the first block reaches the device last, and is
// zeroed when the dump fails.
func TestWriteDevice(t *testing.T) {
	disk := staleDisk(t, 64<<10)
	size, err := writeDevice(disk, func(o output) error {
		if _, err := o.WriteAt(bytes.Repeat([]byte{1}, 6000), 0); err != nil {
			return err
		}
		if _, err := o.WriteAt([]byte{2, 2}, 10000); err != nil {
			return err
		}
		on := readAll(t, disk)
		if on[0] != 0xaa || on[4095] != 0xaa || on[4096] != 1 || on[5999] != 1 || on[10000] != 2 {
			t.Errorf("while writing, the device holds %x … %x %x … %x", on[0], on[4095], on[4096], on[10000])
		}
		return nil
	})
	if err != nil || size != 10002 {
		t.Fatalf("writeDevice = %d, %v", size, err)
	}
	if on := readAll(t, disk); on[0] != 1 || on[4095] != 1 || on[6000] != 0xaa {
		t.Errorf("after writing, the device holds %x %x %x", on[0], on[4095], on[6000])
	}

	boom := errors.New("boom")
	_, err = writeDevice(disk, func(o output) error {
		o.WriteAt([]byte("KDUMP   "), 0)
		o.WriteAt([]byte{3}, 8192)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if on := readAll(t, disk); !isZero(on[:4096]) {
		t.Errorf("a failed dump left a first block of %q…", on[:8])
	}
	_, err = writeDevice(disk, func(o output) error {
		_, err := o.WriteAt([]byte{1}, 64<<10)
		return err
	})
	if err == nil {
		t.Error("a write past the device's end succeeded")
	}
}

// TestRunOnDevice: dumps written in place over a stale device read back
// right in both formats (the ELF's zero runs and padding are written, not
// left to file holes).
func TestRunOnDevice(t *testing.T) {
	k := fakeKernel(false)
	src := writeFile(t, t.TempDir(), "vmcore", k.ELF(nil, true))
	for _, format := range []Format{Kdump, ELF} {
		disk := staleDisk(t, 8<<20)
		for _, level := range []pageclass.Level{31, 2} { // 2: short runs of left-out pages
			sum, err := run(context.Background(), src, disk, Options{Level: level, Format: format, Compression: dumpfile.Zstd, Timestamp: fixedTime}, writeDevice)
			if err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(img, readAll(t, disk)[:sum.OutputBytes], 0o600); err != nil {
				t.Fatal(err)
			}
			if format == Kdump {
				checkKdump(t, img, k, level, dumpfile.Zstd)
			} else {
				checkELF(t, img, k, level, -1)
			}
		}
	}
}

// TestRunToDevNull: a character device is written in place, not
// replaced.
func TestRunToDevNull(t *testing.T) {
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Skip("no /dev/null character device")
	}
	k := fakeKernel(false)
	src := writeFile(t, t.TempDir(), "vmcore", k.ELF(nil, true))
	sum, err := Run(src, os.DevNull, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null replaced: %v %v", fi.Mode(), err)
	}
	if sum.OutputBytes <= 0 {
		t.Errorf("output bytes %d", sum.OutputBytes)
	}
}
