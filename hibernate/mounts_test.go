package hibernate

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// Superblock fields of ext2/3/4, from the start of the superblock (which is at
// byte 1024 of the device).
const (
	extMtimeOff      = 0x2c
	extMountCountOff = 0x34
	extMagicOff      = 0x38
)

// extDevice returns a size-byte device holding an ext4 superblock with the
// given mount count and last mount time, and some other bytes set inside and
// outside the superblock.
func extDevice(size int, mountCount uint16, mtime uint32) []byte {
	b := make([]byte, size)
	sb := b[1024:2048]
	binary.LittleEndian.PutUint32(sb[0x00:], 65536)  // inode count
	binary.LittleEndian.PutUint32(sb[0x04:], 262144) // block count
	binary.LittleEndian.PutUint32(sb[0x18:], 2)      // log block size: 4 KiB
	binary.LittleEndian.PutUint32(sb[extMtimeOff:], mtime)
	binary.LittleEndian.PutUint16(sb[extMountCountOff:], mountCount)
	binary.LittleEndian.PutUint16(sb[0x36:], 0xffff) // max mount count
	binary.LittleEndian.PutUint16(sb[extMagicOff:], 0xef53)
	copy(sb[0x68:], "0123456789abcdef") // UUID
	copy(sb[0x78:], "rootfs")           // volume name
	for i := 4096; i < size; i += 4096 {
		b[i] = byte(i >> 12) // block group descriptors, inodes, ...
	}
	return b
}

func TestFingerprintExt(t *testing.T) {
	const mtime = 1700000000 // 2023-11-14T22:13:20Z
	dev := extDevice(1<<20, 3, mtime)
	sum, detail, err := Fingerprint(bytes.NewReader(dev))
	if err != nil {
		t.Fatal(err)
	}
	if want := "ext2/3/4, mount count 3, last mounted 2023-11-14T22:13:20Z"; detail != want {
		t.Errorf("detail %q, want %q", detail, want)
	}
	if sum != sha256.Sum256(dev[1024:2048]) {
		t.Error("the sum is not that of the superblock")
	}

	for _, tt := range []struct {
		name    string
		change  func([]byte)
		changed bool
	}{
		{"mount count", func(b []byte) { binary.LittleEndian.PutUint16(b[1024+extMountCountOff:], 4) }, true},
		{"mount time", func(b []byte) { binary.LittleEndian.PutUint32(b[1024+extMtimeOff:], mtime+60) }, true},
		{"a byte in the superblock", func(b []byte) { b[1024+0x200] ^= 1 }, true},
		{"the superblock's last byte", func(b []byte) { b[2047] ^= 1 }, true},
		{"the boot block", func(b []byte) { b[0] ^= 1; b[1023] ^= 1 }, false},
		{"the byte after the superblock", func(b []byte) { b[2048] ^= 1 }, false},
		{"a block past the superblock", func(b []byte) { b[4096] ^= 0xff; b[64<<10] = 7 }, false},
		{"a byte past 128 KiB", func(b []byte) { b[200<<10] = 7 }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(dev)
			tt.change(b)
			got, _, err := Fingerprint(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if changed := got != sum; changed != tt.changed {
				t.Errorf("fingerprint changed: %v, want %v", changed, tt.changed)
			}
		})
	}

	_, detail, err = Fingerprint(bytes.NewReader(extDevice(1<<20, 4, mtime)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "mount count 4") {
		t.Errorf("detail %q does not say mount count 4", detail)
	}
}

func TestFingerprintOther(t *testing.T) {
	dev := make([]byte, 1<<20)
	for i := range dev {
		dev[i] = byte(i * 7)
	}
	dev[1024+extMagicOff], dev[1024+extMagicOff+1] = 0x53, 0xee // almost ext
	sum, detail, err := Fingerprint(bytes.NewReader(dev))
	if err != nil {
		t.Fatal(err)
	}
	if detail != "first 128 KiB" {
		t.Errorf("detail %q", detail)
	}
	if sum != sha256.Sum256(dev[:128<<10]) {
		t.Error("the sum is not that of the first 128 KiB")
	}
	for _, tt := range []struct {
		off     int
		changed bool
	}{
		{0, true},
		{1024 + extMountCountOff, true},
		{64 << 10, true}, // a btrfs superblock
		{128<<10 - 1, true},
		{128 << 10, false},
		{1<<20 - 1, false},
	} {
		b := bytes.Clone(dev)
		b[tt.off] ^= 0x80
		got, _, err := Fingerprint(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if changed := got != sum; changed != tt.changed {
			t.Errorf("byte %#x changed: fingerprint changed %v, want %v", tt.off, changed, tt.changed)
		}
	}
}

func TestFingerprintSizes(t *testing.T) {
	for _, tt := range []struct {
		name    string
		dev     []byte
		detail  string // "" for an error
		sumOver []byte
	}{
		{name: "empty", dev: nil},
		{name: "1 KiB", dev: make([]byte, 1024)},
		{name: "2047 bytes", dev: make([]byte, 2047)},
		{name: "ext superblock cut short", dev: extDevice(4096, 1, 0)[:2047]},
		{name: "2048 bytes of ext", dev: extDevice(2048, 1, 0), detail: "ext2/3/4, mount count 1, last mounted 1970-01-01T00:00:00Z"},
		{name: "4 KiB of zeros", dev: make([]byte, 4096), detail: "first 4 KiB"},
		{name: "2048 bytes of zeros", dev: make([]byte, 2048), detail: "first 2 KiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum, detail, err := Fingerprint(bytes.NewReader(tt.dev))
			if tt.detail == "" {
				if err == nil {
					t.Fatalf("Fingerprint = %x, %q; want an error", sum, detail)
				}
				if !strings.Contains(err.Error(), "reading the superblock") || !errors.Is(err, io.EOF) {
					t.Errorf("error %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if detail != tt.detail {
				t.Errorf("detail %q, want %q", detail, tt.detail)
			}
			if strings.HasPrefix(detail, "first") && sum != sha256.Sum256(tt.dev) {
				t.Error("the sum is not that of the whole device")
			}
		})
	}
}

// errAfter is a device whose reads past n bytes fail.
type errAfter struct {
	data []byte
	n    int64
	err  error
}

func (d errAfter) ReadAt(p []byte, off int64) (int, error) {
	if off >= d.n {
		return 0, d.err
	}
	k := copy(p, d.data[off:min(d.n, int64(len(d.data)))])
	if k < len(p) {
		return k, d.err
	}
	return k, nil
}

func TestFingerprintReadError(t *testing.T) {
	eio := errors.New("input/output error")
	// The superblock is unreadable.
	if _, _, err := Fingerprint(errAfter{data: extDevice(8192, 1, 0), n: 1500, err: eio}); !errors.Is(err, eio) {
		t.Errorf("error %v, want the device's", err)
	}
	// The superblock is readable: an ext filesystem needs no more.
	dev := extDevice(1<<20, 1, 0)
	sum, _, err := Fingerprint(errAfter{data: dev, n: 8192, err: eio})
	if err != nil {
		t.Fatal(err)
	}
	if want, _, _ := Fingerprint(bytes.NewReader(dev)); sum != want {
		t.Error("an error past the superblock changed an ext fingerprint")
	}
}

func FuzzFingerprint(f *testing.F) {
	f.Add(extDevice(4096, 3, 1700000000))
	f.Add(make([]byte, 2048))
	f.Add(make([]byte, 2047))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, dev []byte) {
		sum, detail, err := Fingerprint(bytes.NewReader(dev))
		if len(dev) < 2048 {
			if err == nil {
				t.Fatalf("a %d-byte device: no error", len(dev))
			}
			return
		}
		if err != nil {
			t.Fatalf("a %d-byte device: %v", len(dev), err)
		}
		again, detail2, _ := Fingerprint(bytes.NewReader(bytes.Clone(dev)))
		if again != sum || detail2 != detail {
			t.Fatal("two fingerprints of the same bytes differ")
		}
		isExt := binary.LittleEndian.Uint16(dev[1024+extMagicOff:]) == 0xef53
		if isExt != strings.HasPrefix(detail, "ext2/3/4") {
			t.Fatalf("detail %q for a device with magic %v", detail, isExt)
		}
	})
}
