package blockdev

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeDisk adds a disk (and its partitions) under parent to a fake sysfs at
// root, with /sys/dev/block links and /dev nodes (plain files) as the kernel
// and devtmpfs make them.
func fakeDisk(t *testing.T, root, parent, name string, major, minor int, parts ...int) {
	t.Helper()
	add := func(dir, devname, dev string, part int) {
		must(t, os.MkdirAll(dir, 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "dev"), []byte(dev+"\n"), 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "uevent"), []byte("DEVNAME="+devname+"\n"), 0o644))
		if part > 0 {
			must(t, os.WriteFile(filepath.Join(dir, "partition"), []byte(itoa(part)+"\n"), 0o644))
		}
		link := filepath.Join(root, "sys/dev/block", dev)
		must(t, os.MkdirAll(filepath.Dir(link), 0o755))
		rel, err := filepath.Rel(filepath.Dir(link), dir)
		must(t, err)
		must(t, os.Symlink(rel, link))
		must(t, os.MkdirAll(filepath.Join(root, "dev"), 0o755))
		must(t, os.WriteFile(filepath.Join(root, "dev", devname), nil, 0o644))
	}
	disk := filepath.Join(root, "sys", parent, "block", name)
	add(disk, name, itoa(major)+":"+itoa(minor), 0)
	for _, p := range parts {
		add(filepath.Join(disk, name+itoa(p)), name+itoa(p), itoa(major)+":"+itoa(minor+p), p)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestLocateResolve(t *testing.T) {
	first := t.TempDir()
	const vdb = "devices/pci0000:00/0000:00:05.0/virtio3"
	fakeDisk(t, first, "devices/pci0000:00/0000:00:04.0/virtio2", "vda", 254, 0, 1)
	fakeDisk(t, first, vdb, "vdb", 254, 16, 1, 2)
	fakeDisk(t, first, "devices/virtual", "loop0", 7, 0)

	// The other kernel loaded its drivers in another order: other major,
	// other names, the same hardware.
	second := t.TempDir()
	fakeDisk(t, second, vdb, "vda", 253, 0, 1, 2)
	fakeDisk(t, second, "devices/pci0000:00/0000:00:04.0/virtio2", "vdb", 253, 16, 1)

	tests := []struct {
		dev       string
		want      Locator
		wantNode  string // in the second kernel
		wantError string
	}{
		{"254:16", Locator{Parent: vdb}, "vda", ""},
		{"254:18", Locator{Parent: vdb, Partition: 2}, "vda2", ""},
		{"254:1", Locator{Parent: "devices/pci0000:00/0000:00:04.0/virtio2", Partition: 1}, "vdb1", ""},
		{"7:0", Locator{}, "", "virtual device"},
		{"8:0", Locator{}, "", "block device 8:0"},
	}
	for _, tt := range tests {
		l, err := Locate(first, tt.dev)
		if tt.wantError != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("Locate(%s) = %v, %v; want error %q", tt.dev, l, err, tt.wantError)
			}
			continue
		}
		if err != nil || l != tt.want {
			t.Errorf("Locate(%s) = %+v, %v; want %+v", tt.dev, l, err, tt.want)
			continue
		}
		node, err := Wait(second, l, time.Second)
		if err != nil || node != filepath.Join(second, "dev", tt.wantNode) {
			t.Errorf("Wait(%v) = %q, %v; want /dev/%s", l, node, err, tt.wantNode)
		}
	}
}

func TestResolveRefuses(t *testing.T) {
	root := t.TempDir()
	const p = "devices/pci0000:00/0000:00:05.0/virtio3"
	fakeDisk(t, root, p, "vda", 254, 0, 1)
	for _, tt := range []struct {
		l        Locator
		notFound bool
		want     string
	}{
		{Locator{Parent: p, Partition: 3}, true, "no partition 3"},
		{Locator{Parent: "devices/pci0000:00/0000:00:06.0/virtio4"}, true, "has no disk"},
		{Locator{Parent: "devices/../../etc"}, false, "invalid"},
		{Locator{}, false, "invalid"},
	} {
		_, err := Resolve(root, tt.l)
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrNotFound) != tt.notFound {
			t.Errorf("Resolve(%+v) = %v; want %q (not found: %v)", tt.l, err, tt.want, tt.notFound)
		}
	}
}

func TestWaitForLateDevice(t *testing.T) {
	root := t.TempDir()
	const p = "devices/pci0000:00/0000:00:05.0/virtio3"
	l := Locator{Parent: p, Partition: 1}
	if _, err := Wait(root, l, 100*time.Millisecond); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "waited") {
		t.Fatalf("no device: %v", err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		fakeDisk(t, root, p, "vda", 254, 0, 1)
	}()
	node, err := Wait(root, l, 10*time.Second)
	if err != nil || node != filepath.Join(root, "dev/vda1") {
		t.Fatalf("late device: %q, %v", node, err)
	}
}

func TestNamesNode(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	const p = "devices/pci0000:00/0000:00:05.0/virtio3"
	fakeDisk(t, first, p, "vdb", 254, 16)
	fakeDisk(t, first, "devices/virtual", "loop0", 7, 0)
	fakeDisk(t, second, p, "vda", 253, 0)
	fakeDisk(t, second, "devices/virtual", "loop0", 7, 0)
	n := NameAll(first, "254:16", "7:0")
	if len(n) != 1 {
		t.Fatalf("NameAll = %v; want only the disk", n)
	}
	if node, err := n.Node(second, "254:16"); err != nil || node != filepath.Join(second, "dev/vda") {
		t.Errorf("by locator: %q, %v", node, err)
	}
	if node, err := n.Node(second, "7:0"); err != nil || node != filepath.Join(second, "dev/loop0") {
		t.Errorf("by number: %q, %v", node, err)
	}
}
