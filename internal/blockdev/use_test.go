package blockdev

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnusedNotBlock: a file (or a path not there yet) is not refused
// but reported as such, so Hibernate preallocates it as an image file.
func TestUnusedNotBlock(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "image")
	writeFile(t, file, make([]byte, 4096))
	if _, err := Unused(root, file, nil); !errors.Is(err, ErrNotBlock) {
		t.Errorf("Unused(%s) = %v, want ErrNotBlock", file, err)
	}
	if _, err := Unused(root, "/dev/kjump-no-such-disk", nil); !errors.Is(err, ErrNoDevice) {
		t.Errorf("Unused(/dev/kjump-no-such-disk) = %v, want ErrNoDevice", err)
	}
	missing := filepath.Join(root, "missing")
	if _, err := Unused(root, missing, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Unused(%s) = %v, want ErrNotExist", missing, err)
	}
}

// TestTargetDevice uses this machine's /dev/loop0 (only its device number:
// nothing is opened) with a fake root's sysfs, swaps and mounts.
func TestUnused(t *testing.T) {
	const target = "/dev/loop0"
	dev, err := Number(target)
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
		name    string
		mounts  []Mount
		swaps   string
		holders []string // sysfs holders/ entries to make, relative to the disk
		want    string   // in the error; "" for none
	}{
		{name: "free", mounts: []Mount{rootMount}},
		{
			name:   "mounted",
			mounts: []Mount{rootMount, {Device: dev, Name: target + " on /mnt (ext4)"}},
			want:   target + " holds a mounted filesystem (" + target + " on /mnt (ext4)): writing it would destroy that filesystem",
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
			want:  target + " is active swap",
		},
		{
			name:  "other swap",
			swaps: "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t1048572\t\t0\t\t-2\n",
		},
		{
			name:  "only the header of swaps names it",
			swaps: target + " Type Size Used Priority\n",
		},
		{
			name:  "swap on a partition of it",
			swaps: "Filename Type Size Used Priority\n/dev/loop0p1 partition 1048572 0 -2\n",
			want:  "holds active swap (/dev/loop0p1)",
		},
		{name: "held by dm", holders: []string{"holders/dm-0"}, want: "is held by loop0 by dm-0"},
		{name: "a partition held by md", holders: []string{"loop0p1/partition", "loop0p1/holders/md127"}, want: "is held by loop0p1 by md127"},
		{name: "a partition without holders", holders: []string{"loop0p1/partition", "loop0p1/holders"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := sysfs(t)
			if tt.swaps != "" {
				writeFile(t, filepath.Join(root, "proc/swaps"), []byte(tt.swaps))
				// The swap's node under root: the partition's device number.
				if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := unix.Mknod(filepath.Join(root, "dev/loop0p1"), unix.S_IFBLK|0o600, int(unix.Mkdev(259, 0))); err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatal(err)
				}
			}
			for _, h := range tt.holders {
				p := filepath.Join(root, "sys/devices/virtual/block/loop0", h)
				if filepath.Base(h) == "partition" {
					writeFile(t, p, []byte("1\n"))
				} else if err := os.MkdirAll(p, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Unused(root, target, tt.mounts)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got != dev {
					t.Errorf("Unused = %q, want %q", got, dev)
				}
				return
			}
			if !errors.Is(err, ErrInUse) {
				t.Fatalf("Unused = %q, %v; want ErrInUse", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}

	// Without sysfs, a mount of the device itself is still found.
	_, err = Unused(t.TempDir(), target, []Mount{{Device: dev, Name: "x"}})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "holds a mounted filesystem") {
		t.Errorf("without sysfs: %v", err)
	}
}
