package extents

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Fixed block major numbers (the kernel's include/uapi/linux/major.h).
const (
	ramdiskMajor = 1
	loopMajor    = 7
)

// checkDevice refuses a device the other kernel could not read and write at
// the offsets FIEMAP gives: a number that is no block device at all (btrfs,
// overlayfs, network and FUSE filesystems use anonymous device numbers), and
// block devices that are mappings onto others (device-mapper: LVM, dm-crypt;
// loop; md RAID; anything with slaves) or live in the first kernel's RAM
// (zram, brd). A partition is checked together with its disk. sys is where
// sysfs is mounted ("/sys"; tests build a fake tree).
func checkDevice(sys string, major, minor uint32, path string) error {
	dev := formatDevice(major, minor)
	refuse := func(what string, err error) error {
		return &Error{Path: path, Err: ErrNotOneDevice, Cause: err,
			Detail: fmt.Sprintf("file %s is on device %s, %s", path, dev, what),
			Hint:   "put the file on a filesystem on a plain disk or partition (ext4, xfs), or give a raw device"}
	}
	if _, err := os.Stat(filepath.Join(sys, "dev/block")); err != nil {
		return &Error{Path: path, Err: ErrNotOneDevice, Cause: err,
			Detail: fmt.Sprintf("cannot tell what device %s holding file %s is", dev, path), Hint: "mount sysfs on /sys"}
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(sys, "dev/block", dev))
	if errors.Is(err, fs.ErrNotExist) {
		return refuse("which is not a block device (a network, FUSE, overlay or multi-device filesystem has a device number of its own)", nil)
	} else if err != nil {
		return refuse("which cannot be looked up in sysfs", err)
	}
	dirs := []string{dir}
	if exists(filepath.Join(dir, "partition")) {
		dirs = append(dirs, filepath.Dir(dir))
	}
	for _, d := range dirs {
		name := devName(d)
		switch {
		case exists(filepath.Join(d, "dm")):
			dmName := strings.TrimSpace(readString(filepath.Join(d, "dm/name")))
			return refuse(fmt.Sprintf("%s, a device-mapper device (named %q: LVM, dm-crypt, ...): its offsets are not offsets on a disk the other kernel can open, and dm-crypt would be bypassed", name, dmName), nil)
		case exists(filepath.Join(d, "loop")) || (d == dir && major == loopMajor):
			backing := strings.TrimSpace(readString(filepath.Join(d, "loop/backing_file")))
			return refuse(fmt.Sprintf("%s, a loop device (backed by %q) the other kernel does not have", name, backing), nil)
		case exists(filepath.Join(d, "md")):
			return refuse(fmt.Sprintf("%s, an md RAID device that spreads blocks over several disks", name), nil)
		case strings.HasPrefix(name, "zram") || (d == dir && major == ramdiskMajor):
			return refuse(fmt.Sprintf("%s, a RAM disk that exists only in this kernel's memory", name), nil)
		}
		if slaves, err := os.ReadDir(filepath.Join(d, "slaves")); err == nil && len(slaves) > 0 {
			return refuse(fmt.Sprintf("%s, which is stacked on %s", name, slaves[0].Name()), nil)
		}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// devName is DEVNAME from the device's uevent, or the sysfs directory's name.
func devName(dir string) string {
	s := bufio.NewScanner(bytes.NewReader([]byte(readString(filepath.Join(dir, "uevent")))))
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "DEVNAME="); ok {
			return v
		}
	}
	return filepath.Base(dir)
}
