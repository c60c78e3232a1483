package hibernate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/kjump/kjump/cpio"
)

// debianInitrd writes a zstd-compressed initramfs holding names, as
// update-initramfs makes it.
func debianInitrd(t *testing.T, names ...string) string { return debianInitrdSized(t, 0, names...) }

// debianInitrdSized is debianInitrd with files of size bytes (zeros).
func debianInitrdSized(t *testing.T, size int, names ...string) string {
	var raw bytes.Buffer
	w := cpio.NewWriter(&raw)
	for _, n := range names {
		if err := w.WriteHeader(&cpio.Header{Name: n, Mode: cpio.TypeReg | 0o644, NLink: 1, Size: int64(size)}); err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, size))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	enc, _ := zstd.NewWriter(&z)
	enc.Write(raw.Bytes())
	enc.Close()
	p := filepath.Join(t.TempDir(), "initrd.img-6.12.118")
	if err := os.WriteFile(p, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckResumeInitrd(t *testing.T) {
	const rel = "6.12.118"
	complete := []string{"usr/sbin/kjump", "scripts/local-premount/kjump", "etc/kjump/image.key",
		"usr/lib/modules/6.12.118/kernel/drivers/block/virtio_blk.ko.xz", "usr/lib/modules/6.12.118/kernel/drivers/ata/ahci.ko.xz"}
	for _, tt := range []struct {
		name  string
		files []string
		mods  []string
		key   string
		want  string // "" for no error
	}{
		{"complete", complete, []string{"virtio_blk", "ahci"}, "/etc/kjump/image.key", ""},
		{"built-in driver", complete[:2], nil, "", ""},
		{"no kjump", complete[1:], []string{"virtio_blk"}, "", "lacks kjump"},
		{"no hook script", []string{"usr/sbin/kjump", complete[3]}, []string{"virtio_blk"}, "", "scripts/local-premount/kjump"},
		{"the image disk's driver missing (MODULES=dep)", complete[:4], []string{"virtio_blk", "nvme"}, "", "module nvme"},
		{"modules of another kernel", []string{"usr/sbin/kjump", "scripts/local-premount/kjump", "usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko"}, []string{"virtio_blk"}, "", "module virtio_blk"},
		{"no key", complete[:2], nil, "/etc/kjump/image.key", "/etc/kjump/image.key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResumeInitrd(debianInitrd(t, tt.files...), rel, tt.mods, tt.key, "", 200<<20)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrResumePath) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want ErrResumePath naming %q", err, tt.want)
			}
		})
	}
	if err := CheckResumeInitrd(filepath.Join(t.TempDir(), "none"), rel, nil, "", "", 200<<20); !errors.Is(err, ErrResumePath) || !strings.Contains(err.Error(), "update-initramfs") {
		t.Errorf("no initramfs: %v", err)
	}
	// Too large for the region: Debian's MODULES=most initramfs of the stock
	// kernel (137 MiB unpacked) in the 240 MiB region.
	big := make([]string, 0, 40)
	for i := 0; i < 40; i++ {
		big = append(big, fmt.Sprintf("usr/lib/modules/6.12.118/kernel/m%d.ko", i))
	}
	err := CheckResumeInitrd(debianInitrdSized(t, 1<<20, append(complete[:2], big...)...), rel, nil, "", "", 120<<20)
	if !errors.Is(err, ErrResumePath) || !strings.Contains(err.Error(), "MODULES=dep") {
		t.Errorf("an initramfs of 40 MiB unpacked, 24 MiB of room: %v", err)
	}
	if err := CheckResumeInitrd(debianInitrdSized(t, 1<<20, append(complete[:2], big...)...), rel, nil, "", "", 160<<20); err != nil {
		t.Errorf("40 MiB unpacked with 64 MiB of room: %v", err)
	}
}
