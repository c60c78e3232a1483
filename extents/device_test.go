package extents

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSys builds a sysfs tree: files maps paths under devices/ to contents
// (a name ending in "/" is a directory), links maps dev/block/MAJ:MIN to a
// directory under devices/.
func fakeSys(t *testing.T, files map[string]string, links map[string]string) string {
	t.Helper()
	sys := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(sys, "dev/block"), 0o755))
	for p, c := range files {
		full := filepath.Join(sys, "devices", p)
		if strings.HasSuffix(p, "/") {
			must(os.MkdirAll(full, 0o755))
			continue
		}
		must(os.MkdirAll(filepath.Dir(full), 0o755))
		must(os.WriteFile(full, []byte(c), 0o644))
	}
	for dev, dir := range links {
		must(os.Symlink(filepath.Join("../../devices", dir), filepath.Join(sys, "dev/block", dev)))
	}
	return sys
}

func TestCheckDevice(t *testing.T) {
	files := map[string]string{
		"vda/uevent":              "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n",
		"vda/slaves/":             "",
		"vda/vda1/uevent":         "MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\n",
		"vda/vda1/partition":      "1\n",
		"dm-0/uevent":             "DEVNAME=dm-0\n",
		"dm-0/dm/name":            "vg-root\n",
		"dm-0/slaves/vda2/":       "",
		"loop0/uevent":            "DEVNAME=loop0\n",
		"loop0/loop/backing_file": "/var/disk.img\n",
		"loop0/loop0p1/uevent":    "DEVNAME=loop0p1\n",
		"loop0/loop0p1/partition": "1\n",
		"loop1/uevent":            "DEVNAME=loop1\n",
		"md0/uevent":              "DEVNAME=md0\n",
		"md0/md/level":            "raid1\n",
		"zram0/uevent":            "DEVNAME=zram0\n",
		"ram0/uevent":             "DEVNAME=ram0\n",
		"bcache0/uevent":          "DEVNAME=bcache0\n",
		"bcache0/slaves/sdb/":     "",
	}
	links := map[string]string{
		"254:0": "vda", "254:1": "vda/vda1", "253:0": "dm-0", "7:0": "loop0", "259:0": "loop0/loop0p1",
		"7:1": "loop1", "9:0": "md0", "252:0": "zram0", "1:0": "ram0", "250:0": "bcache0",
	}
	sys := fakeSys(t, files, links)
	tests := []struct {
		dev  string
		want string // "" for accepted
	}{
		{"254:0", ""},
		{"254:1", ""},
		{"0:45", "not a block device"},
		{"253:0", `device-mapper device (named "vg-root"`},
		{"7:0", `loop device (backed by "/var/disk.img")`},
		{"259:0", "loop0, a loop device"},
		{"7:1", "loop1, a loop device"},
		{"9:0", "md0, an md RAID device"},
		{"252:0", "zram0, a RAM disk"},
		{"1:0", "ram0, a RAM disk"},
		{"250:0", "bcache0, which is stacked on sdb"},
	}
	for _, tt := range tests {
		t.Run(tt.dev, func(t *testing.T) {
			major, minor, err := parseDevice(tt.dev)
			if err != nil {
				t.Fatal(err)
			}
			err = checkDevice(sys, major, minor, "/f")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("checkDevice: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotOneDevice) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("checkDevice = %v; want ErrNotOneDevice containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckDeviceWithoutSysfs(t *testing.T) {
	err := checkDevice(t.TempDir(), 8, 0, "/f")
	if !errors.Is(err, ErrNotOneDevice) || !strings.Contains(err.Error(), "mount sysfs") {
		t.Fatalf("checkDevice without /sys/dev/block = %v", err)
	}
}
