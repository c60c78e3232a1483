package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDisks: the "disk drivers" row on a Debian-like guest, whose virtio_blk
// is a module, and on the lab's kernel, where it is built in.
func TestDisks(t *testing.T) {
	const debianDep = "kernel/drivers/block/virtio_blk.ko.xz:\n"
	for _, tt := range []struct {
		name   string
		module bool   // virtio_blk is a module
		dep    string // modules.dep
		config string // /boot/config
		status Status
		detail string
	}{
		{"built in", false, "", allOptions, OK, "built in: vda"},
		{"Debian: xz module, MODULE_DECOMPRESS", true, debianDep, allOptions + "CONFIG_MODULE_DECOMPRESS=y\n", OK, "put into the second kernel's initramfs with their dependencies: vda (virtio_blk)"},
		{"xz module, no MODULE_DECOMPRESS", true, debianDep, allOptions, Warn, "xz-compressed module and the kernel lacks CONFIG_MODULE_DECOMPRESS"},
		{"module not in modules.dep", true, "kernel/drivers/ata/ahci.ko:\n", allOptions, Warn, "virtio_blk is not in modules.dep"},
		{"no modules.dep", true, "", allOptions, Warn, "run depmod"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := guest()
			m.procConfig, m.bootConfig = "", tt.config
			root := m.build(t)
			sys := filepath.Join(root, "sys")
			mkdir := func(p string) {
				if err := os.MkdirAll(filepath.Join(sys, p), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			link := func(target, name string) {
				mkdir(filepath.Dir(name))
				rel, _ := filepath.Rel(filepath.Dir(filepath.Join(sys, name)), filepath.Join(sys, target))
				if err := os.Symlink(rel, filepath.Join(sys, name)); err != nil {
					t.Fatal(err)
				}
			}
			virtio := "devices/pci0000:00/0000:00:04.0/virtio2"
			mkdir(virtio + "/block/vda")
			os.WriteFile(filepath.Join(sys, virtio, "block/vda/dev"), []byte("254:0\n"), 0o644)
			link(virtio+"/block/vda", "dev/block/254:0")
			link(virtio+"/block/vda", "block/vda")
			link(virtio, virtio+"/block/vda/device")
			mkdir("bus/virtio/drivers/virtio_blk")
			link("bus/virtio/drivers/virtio_blk", virtio+"/driver")
			// virtio_pci is built in, with a /sys/module entry for its
			// parameters (no initstate), as on Debian's kernel.
			mkdir("bus/pci/drivers/virtio-pci")
			mkdir("module/virtio_pci/parameters")
			link("module/virtio_pci", "bus/pci/drivers/virtio-pci/module")
			link("bus/pci/drivers/virtio-pci", "devices/pci0000:00/0000:00:04.0/driver")
			if tt.module {
				mkdir("module/virtio_blk")
				os.WriteFile(filepath.Join(sys, "module/virtio_blk/initstate"), []byte("live\n"), 0o644)
				link("module/virtio_blk", "bus/virtio/drivers/virtio_blk/module")
			}
			mkdir("devices/virtual/block/loop0")
			link("devices/virtual/block/loop0", "block/loop0")
			if tt.dep != "" {
				p := filepath.Join(root, "lib/modules", release, "modules.dep")
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(tt.dep), 0o644)
			}
			var row *Check
			rep := Run(root)
			for i, c := range rep.Checks {
				if c.Name == "disk drivers" {
					row = &rep.Checks[i]
				}
			}
			if row == nil || row.Status != tt.status || !strings.Contains(row.Detail, tt.detail) {
				t.Fatalf("disk drivers row = %+v; want %s with %q", row, tt.status, tt.detail)
			}
			if strings.Contains(row.Detail, "loop0") {
				t.Errorf("a virtual device is listed: %s", row.Detail)
			}
		})
	}
}
