// Package blockdev names block devices the way the two kernels of a jump can
// share them: by device number ("MAJOR:MINOR"), which both kernels agree on when
// they run the same drivers, resolved to a /dev node through sysfs
// (/sys/dev/block/MAJOR:MINOR/uevent, DEVNAME=).
package blockdev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotBlock means a path is not a block device.
var ErrNotBlock = errors.New("not a block device")

// Number returns "MAJOR:MINOR" of the block device at path.
func Number(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return "", fmt.Errorf("%s: %w", path, ErrNotBlock)
	}
	return fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))), nil
}

// Node finds /dev/NAME for "MAJOR:MINOR" through sysfs under root.
func Node(root, dev string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "sys/dev/block", dev, "uevent"))
	if err != nil {
		return "", fmt.Errorf("block device %s: %w", dev, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "DEVNAME="); ok {
			return filepath.Join(root, "dev", name), nil
		}
	}
	return "", fmt.Errorf("block device %s: no DEVNAME in its uevent", dev)
}

// DropCache makes this kernel forget cached blocks of the device at path, which
// the other kernel wrote behind its back.
func DropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.BLKFLSBUF, 0); err != nil {
		return fmt.Errorf("dropping the page cache of %s: %w", path, err)
	}
	return nil
}
