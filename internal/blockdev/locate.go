package blockdev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A Locator names a block device by where it sits in the machine rather than
// by its number: the sysfs path of the device that holds the disk (its PCI
// function and bus position, "devices/pci0000:00/0000:00:05.0/virtio3") and
// a partition number (0 for the whole disk). A dynamic major number (virtio
// disks get 254, 253, … in the order drivers register) and a disk's name (vda,
// vdb, … in probe order) may differ in another kernel that loads its drivers
// as modules; the path of the hardware does not.
type Locator struct {
	Parent    string `json:"parent"`              // under /sys, without the leading "/sys/"
	Partition int    `json:"partition,omitempty"` // 0: the whole disk
}

// ErrNotFound means no block device matches a Locator (yet).
var ErrNotFound = errors.New("no block device there")

func (l Locator) String() string {
	s := "/sys/" + l.Parent
	if l.Partition > 0 {
		s += fmt.Sprintf(" partition %d", l.Partition)
	}
	return s
}

// Locate returns the Locator of block device "MAJOR:MINOR", from sysfs under
// root.
func Locate(root, dev string) (Locator, error) {
	sys := filepath.Join(root, "sys")
	dir, err := filepath.EvalSymlinks(filepath.Join(sys, "dev/block", dev))
	if err != nil {
		return Locator{}, fmt.Errorf("block device %s: %w", dev, err)
	}
	var l Locator
	if b, err := os.ReadFile(filepath.Join(dir, "partition")); err == nil {
		if l.Partition, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || l.Partition <= 0 {
			return Locator{}, fmt.Errorf("block device %s: partition number %q", dev, strings.TrimSpace(string(b)))
		}
		dir = filepath.Dir(dir)
	}
	// dir is .../PARENT/block/DISK.
	if filepath.Base(filepath.Dir(dir)) != "block" {
		return Locator{}, fmt.Errorf("block device %s: %s is not PARENT/block/DISK: a virtual device without hardware behind it", dev, dir)
	}
	parent, err := filepath.Rel(sys, filepath.Dir(filepath.Dir(dir)))
	if err != nil || !strings.HasPrefix(parent, "devices/") || parent == "devices/virtual" {
		return Locator{}, fmt.Errorf("block device %s: %s is not a disk of the machine's hardware (a virtual device: loop, dm, zram?)", dev, dir)
	}
	l.Parent = filepath.ToSlash(parent)
	return l, nil
}

// Resolve returns "MAJOR:MINOR" of the block device l names, from sysfs under
// root. It fails with ErrNotFound while the device is not there.
func Resolve(root string, l Locator) (string, error) {
	if l.Parent == "" || strings.Contains(l.Parent, "..") || l.Partition < 0 {
		return "", fmt.Errorf("block device locator %q partition %d: invalid", l.Parent, l.Partition)
	}
	disks, err := os.ReadDir(filepath.Join(root, "sys", l.Parent, "block"))
	if err != nil || len(disks) == 0 {
		return "", fmt.Errorf("%w: %s has no disk", ErrNotFound, l)
	}
	if len(disks) > 1 {
		return "", fmt.Errorf("block device %s: it holds %d disks; cannot tell which", l, len(disks))
	}
	dir := filepath.Join(root, "sys", l.Parent, "block", disks[0].Name())
	if l.Partition > 0 {
		parts, _ := os.ReadDir(dir)
		found := ""
		for _, p := range parts {
			b, err := os.ReadFile(filepath.Join(dir, p.Name(), "partition"))
			if err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(l.Partition) {
				found = filepath.Join(dir, p.Name())
			}
		}
		if found == "" {
			return "", fmt.Errorf("%w: %s: disk %s has no partition %d", ErrNotFound, l, disks[0].Name(), l.Partition)
		}
		dir = found
	}
	b, err := os.ReadFile(filepath.Join(dir, "dev"))
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrNotFound, l, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Wait resolves l to a /dev node, waiting up to timeout for the device to
// appear (a driver loaded as a module probes it in the background). It also
// waits for the node, which devtmpfs creates right after.
func Wait(root string, l Locator, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		dev, err := Resolve(root, l)
		if err == nil {
			node, err := Node(root, dev)
			if err == nil {
				if _, serr := os.Stat(node); serr == nil {
					return node, nil
				}
				err = fmt.Errorf("%w: %s (%s) has no %s yet", ErrNotFound, l, dev, node)
			}
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
				return "", err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return "", err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("waited %s: %w (its driver is missing in this kernel?)", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Names maps device numbers of one kernel ("MAJOR:MINOR") to their Locators,
// so that another kernel on the same machine finds the same devices.
type Names map[string]Locator

// NameAll returns the Locators of devs under root; a device without one (a
// virtual device) is left out, and the other kernel falls back to its number.
func NameAll(root string, devs ...string) Names {
	n := Names{}
	for _, d := range devs {
		if l, err := Locate(root, d); err == nil {
			n[d] = l
		}
	}
	return n
}

// DeviceWait bounds how long a kernel waits for a disk whose driver it has
// just loaded.
const DeviceWait = 30 * time.Second

// Node returns the /dev node, in the kernel whose sysfs is under root, of the
// device the first kernel numbered dev: by its Locator when n has one (waiting
// up to DeviceWait for it to appear), else by number.
func (n Names) Node(root, dev string) (string, error) {
	l, ok := n[dev]
	if !ok {
		return Node(root, dev)
	}
	node, err := Wait(root, l, DeviceWait)
	if err != nil {
		return "", fmt.Errorf("block device %s of the first kernel: %w", dev, err)
	}
	return node, nil
}
