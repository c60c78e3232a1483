package hibernate

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/internal/blockdev"
)

func TestReadKey(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, data)
		return p
	}
	key := bytes.Repeat([]byte{0x5a}, 32)
	keyFile := file("key", key)
	short := file("short", key[:31])
	long := file("long", append(bytes.Clone(key), '\n'))
	pass := file("pass", []byte("correct horse battery staple\n"))
	passCRLF := file("pass-crlf", []byte("  spaced out \r\n"))
	passNoNL := file("pass-nonl", []byte("hunter2"))
	emptyPass := file("pass-empty", nil)
	newlinePass := file("pass-newline", []byte("\n\n"))
	missing := filepath.Join(dir, "missing")

	for _, tt := range []struct {
		name           string
		keyFile, pass  string
		wantKey        []byte
		wantPassphrase string
		wantErr        string // in the message; "" for none
		wantIs         error
	}{
		{name: "neither"},
		{name: "a 32-byte key", keyFile: keyFile, wantKey: key},
		{name: "a 31-byte key", keyFile: short, wantErr: "has 31 bytes; a key is 32 random bytes (head -c 32 /dev/urandom > " + short + ")"},
		{name: "a key with a newline", keyFile: long, wantErr: "has 33 bytes"},
		{name: "a missing key file", keyFile: missing, wantIs: fs.ErrNotExist},
		{name: "a passphrase", pass: pass, wantPassphrase: "correct horse battery staple"},
		{name: "a passphrase ending in CRLF keeps its spaces", pass: passCRLF, wantPassphrase: "  spaced out "},
		{name: "a passphrase without a newline", pass: passNoNL, wantPassphrase: "hunter2"},
		{name: "an empty passphrase file", pass: emptyPass, wantErr: "passphrase file " + emptyPass + " is empty"},
		{name: "a passphrase of newlines", pass: newlinePass, wantErr: "is empty"},
		{name: "a missing passphrase file", pass: missing, wantIs: fs.ErrNotExist},
		{name: "both", keyFile: keyFile, pass: pass, wantErr: "either a key file or a passphrase file, not both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var req Request
			err := readKey(&req, tt.keyFile, tt.pass)
			if tt.wantErr != "" || tt.wantIs != nil {
				if err == nil {
					t.Fatal("readKey succeeded")
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %q is not %v", err, tt.wantIs)
				}
				if req.Key != nil || req.Passphrase != "" {
					t.Errorf("a key was set with the error: %+v", req)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(req.Key, tt.wantKey) || req.Passphrase != tt.wantPassphrase {
				t.Errorf("key %x passphrase %q, want %x %q", req.Key, req.Passphrase, tt.wantKey, tt.wantPassphrase)
			}
			wantKDF := uint32(0)
			if tt.wantPassphrase != "" {
				wantKDF = KDFMemoryMiB
			}
			if req.KDFMemoryMi != wantKDF {
				t.Errorf("KDFMemoryMi = %d, want %d", req.KDFMemoryMi, wantKDF)
			}
		})
	}
}

func TestOpenKey(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	writeFile(t, short, make([]byte, 16))
	if _, err := openKey(short, ""); err == nil || !strings.Contains(err.Error(), "has 16 bytes") {
		t.Errorf("openKey with a 16-byte key: %v", err)
	}
	keyFile := filepath.Join(dir, "key")
	writeFile(t, keyFile, make([]byte, 32))
	if _, err := openKey(keyFile, ""); err != nil {
		t.Errorf("openKey with a 32-byte key: %v", err)
	}
	if _, err := openKey(keyFile, keyFile); err == nil {
		t.Error("openKey with both a key and a passphrase succeeded")
	}
}

// TestTargetDeviceNotBlock: a file (or a path not there yet) is not refused
// but reported as such, so Hibernate preallocates it as an image file.
func TestTargetDeviceNotBlock(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "image")
	writeFile(t, file, make([]byte, 4096))
	if _, err := targetDevice(root, file, nil); !errors.Is(err, blockdev.ErrNotBlock) {
		t.Errorf("targetDevice(%s) = %v, want ErrNotBlock", file, err)
	}
	missing := filepath.Join(root, "missing")
	if _, err := targetDevice(root, missing, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("targetDevice(%s) = %v, want ErrNotExist", missing, err)
	}
}

// TestTargetDevice uses this machine's /dev/loop0 (only its device number:
// nothing is opened) with a fake root's sysfs, swaps and mounts.
func TestTargetDevice(t *testing.T) {
	const target = "/dev/loop0"
	dev, err := blockdev.Number(target)
	if err != nil {
		t.Skipf("needs the block device %s: %v", target, err)
	}
	// sysfs: the target disk, a partition of it, and a disk whose name
	// starts with the target's.
	sysfs := func(t *testing.T) string {
		root := t.TempDir()
		for _, d := range []string{"loop0/loop0p1", "loop00"} {
			if err := os.MkdirAll(filepath.Join(root, "sys/devices/virtual/block", d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(filepath.Join(root, "sys/dev/block"), 0o755); err != nil {
			t.Fatal(err)
		}
		for num, d := range map[string]string{
			dev:     "loop0",
			"259:0": "loop0/loop0p1",
			"259:9": "loop00",
		} {
			if err := os.Symlink("../../devices/virtual/block/"+d, filepath.Join(root, "sys/dev/block", num)); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	rootMount := Mount{Device: "254:0", Name: "/dev/vda on / (ext4)"}
	for _, tt := range []struct {
		name   string
		mounts []Mount
		swaps  string
		want   string // in the error; "" for none
	}{
		{name: "free", mounts: []Mount{rootMount}},
		{
			name:   "mounted",
			mounts: []Mount{rootMount, {Device: dev, Name: target + " on /mnt (ext4)"}},
			want:   target + " holds a mounted filesystem (" + target + " on /mnt (ext4)): the image would overwrite it",
		},
		{
			name:   "a partition of it mounted",
			mounts: []Mount{rootMount, {Device: "259:0", Name: "/dev/loop0p1 on /boot (vfat)"}},
			want:   "holds a mounted filesystem (/dev/loop0p1 on /boot (vfat))",
		},
		{
			name:   "a disk of a similar name mounted",
			mounts: []Mount{rootMount, {Device: "259:9", Name: "/dev/loop00 on /srv (xfs)"}},
		},
		{
			name:  "an active swap device",
			swaps: "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n" + target + "                              partition\t1048572\t\t0\t\t-2\n",
			want:  target + " is an active swap device",
		},
		{
			name:  "other swap",
			swaps: "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t1048572\t\t0\t\t-2\n",
		},
		{
			name:  "only the header of swaps names it",
			swaps: target + " Type Size Used Priority\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := sysfs(t)
			if tt.swaps != "" {
				writeFile(t, filepath.Join(root, "proc/swaps"), []byte(tt.swaps))
			}
			got, err := targetDevice(root, target, tt.mounts)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got != dev {
					t.Errorf("targetDevice = %q, want %q", got, dev)
				}
				return
			}
			if !errors.Is(err, ErrTarget) {
				t.Fatalf("targetDevice = %q, %v; want ErrTarget", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}

	// Without sysfs, a mount of the device itself is still found.
	_, err = targetDevice(t.TempDir(), target, []Mount{{Device: dev, Name: "x"}})
	if !errors.Is(err, ErrTarget) || !strings.Contains(err.Error(), "holds a mounted filesystem") {
		t.Errorf("without sysfs: %v", err)
	}
}
