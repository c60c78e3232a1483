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

// TestWriteBack: a new dump file written through writeBack (which starts
// the write-back every writeBackEvery bytes) holds what was written, in
// whatever order, and writeAtomically gives its size.
func TestWriteBack(t *testing.T) {
	const chunk = 1 << 20
	n := 2*writeBackEvery/chunk + 3 // past two requests, and some
	dst := filepath.Join(t.TempDir(), "dump")
	var wb *writeBack
	size, err := writeAtomically(dst, func(o output) error {
		wb = o.(*writeBack)
		for _, i := range []int{1, 0} { // the first chunk last, as a header
			for ; i < n; i += 2 {
				if _, err := o.WriteAt(bytes.Repeat([]byte{byte(i)}, chunk), int64(i)*chunk); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil || size != int64(n)*chunk {
		t.Fatalf("writeAtomically = %d, %v; want %d bytes", size, err, n*chunk)
	}
	if wb.pending >= writeBackEvery {
		t.Errorf("%d bytes pending: no write-back was started", wb.pending)
	}
	got := readAll(t, dst)
	for i := range n {
		if c := got[i*chunk : (i+1)*chunk]; !bytes.Equal(c, bytes.Repeat([]byte{byte(i)}, chunk)) {
			t.Fatalf("chunk %d holds %x…", i, c[:4])
		}
	}
}
