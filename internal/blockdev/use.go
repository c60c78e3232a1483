package blockdev

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrInUse means a block device, or a partition of it, is in use: mounted,
// active swap, or held by a device-mapper, md or LVM device built on it.
var ErrInUse = errors.New("the block device is in use")

// ErrNoDevice means a path under /dev names no device.
var ErrNoDevice = errors.New("no such device")

// Unused checks that the block device at path may be overwritten by another
// kernel: neither it nor a partition of it is mounted (mounts, from Mounted),
// active swap (root/proc/swaps), or held by another block device
// (root/sys/class/block/NAME/holders: dm-crypt, LVM, md). It returns the
// device's "MAJOR:MINOR". A path that is not a block device gives
// ErrNotBlock, or fs.ErrNotExist (the caller may then treat it as a file),
// except under /dev, where a missing path is ErrNoDevice.
func Unused(root, path string, mounts []Mount) (string, error) {
	dev, err := Number(path)
	if errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(filepath.Clean(path), "/dev/") {
		return "", fmt.Errorf("%s: %w (is the disk attached? lsblk lists the disks)", path, ErrNoDevice)
	}
	if err != nil {
		return "", err
	}
	sysdir, _ := filepath.EvalSymlinks(filepath.Join(root, "sys/dev/block", dev))
	// within reports whether device number d is the target or one of its partitions.
	within := func(d string) bool {
		if d == dev {
			return true
		}
		dir, _ := filepath.EvalSymlinks(filepath.Join(root, "sys/dev/block", d))
		return sysdir != "" && strings.HasPrefix(dir, sysdir+"/")
	}
	for _, m := range mounts {
		if within(m.Device) {
			return "", fmt.Errorf("%w: %s holds a mounted filesystem (%s): writing it would destroy that filesystem; unmount it or choose another device", ErrInUse, path, m.Name)
		}
	}
	if swaps, err := os.ReadFile(filepath.Join(root, "proc/swaps")); err == nil {
		for _, line := range strings.Split(string(swaps), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			if f[0] == path {
				return "", fmt.Errorf("%w: %s is active swap; swapoff %s first or choose another device", ErrInUse, path, path)
			}
			if d, err := Number(filepath.Join(root, f[0])); err == nil && within(d) {
				return "", fmt.Errorf("%w: %s holds active swap (%s); swapoff it first or choose another device", ErrInUse, path, f[0])
			}
		}
	}
	if sysdir != "" {
		if h := holders(sysdir); len(h) > 0 {
			return "", fmt.Errorf("%w: %s is held by %s (device-mapper, LVM or md built on it): writing it would destroy that device; choose another device", ErrInUse, path, strings.Join(h, ", "))
		}
	}
	return dev, nil
}

// holders lists the devices holding the block device at sysfs directory dir
// or one of its partitions.
func holders(dir string) []string {
	var out []string
	add := func(d string) {
		es, _ := os.ReadDir(filepath.Join(d, "holders"))
		for _, e := range es {
			out = append(out, filepath.Base(d)+" by "+e.Name())
		}
	}
	add(dir)
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "partition")); err == nil {
			add(filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// Size returns the size in bytes of the block device or file at path.
func Size(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return st.Size, nil
	}
	return f.Seek(0, 2)
}
