package modules

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(link), 0o755))
	rel, err := filepath.Rel(filepath.Dir(link), target)
	must(t, err)
	must(t, os.Symlink(rel, link))
}

// fakeSys builds the sysfs of a q35 guest: a virtio disk (virtio_blk a module,
// virtio_pci built in) with a partition, and a SATA disk behind AHCI (sd_mod
// and ahci modules).
func fakeSys(t *testing.T) string {
	root := t.TempDir()
	sys := filepath.Join(root, "sys")
	driver := func(dev, bus, name string, module bool) {
		d := filepath.Join(sys, "bus", bus, "drivers", name)
		must(t, os.MkdirAll(d, 0o755))
		// Built-in drivers with module parameters have a /sys/module entry
		// too, without an initstate.
		must(t, os.MkdirAll(filepath.Join(sys, "module", name), 0o755))
		symlink(t, filepath.Join(sys, "module", name), filepath.Join(d, "module"))
		if module {
			must(t, os.WriteFile(filepath.Join(sys, "module", name, "initstate"), []byte("live\n"), 0o644))
		}
		symlink(t, d, filepath.Join(sys, dev, "driver"))
	}
	block := func(disk, dev string) {
		must(t, os.MkdirAll(filepath.Join(sys, disk), 0o755))
		symlink(t, filepath.Join(sys, disk), filepath.Join(sys, "dev/block", dev))
	}
	pci := "devices/pci0000:00/0000:00:05.0"
	driver(pci, "pci", "virtio-pci", false)
	driver(pci+"/virtio3", "virtio", "virtio_blk", true)
	block(pci+"/virtio3/block/vdb", "254:16")
	block(pci+"/virtio3/block/vdb/vdb1", "254:17")
	sata := "devices/pci0000:00/0000:00:1f.2"
	driver(sata, "pci", "ahci", true)
	driver(sata+"/ata1/host0/target0:0:0/0:0:0:0", "scsi", "sd", false)
	// sd's module link lives on the driver: make sd a module too.
	must(t, os.MkdirAll(filepath.Join(sys, "module/sd_mod"), 0o755))
	must(t, os.WriteFile(filepath.Join(sys, "module/sd_mod/initstate"), []byte("live\n"), 0o644))
	os.Remove(filepath.Join(sys, "bus/scsi/drivers/sd/module"))
	symlink(t, filepath.Join(sys, "module/sd_mod"), filepath.Join(sys, "bus/scsi/drivers/sd/module"))
	block(sata+"/ata1/host0/target0:0:0/0:0:0:0/block/sda", "8:0")
	block("devices/virtual/block/loop0", "7:0")
	return root
}

func TestForDevice(t *testing.T) {
	root := fakeSys(t)
	for _, tt := range []struct {
		dev  string
		want []string
		err  string
	}{
		{"254:16", []string{"virtio_blk"}, ""},
		{"254:17", []string{"virtio_blk"}, ""},
		{"8:0", []string{"sd_mod", "ahci"}, ""},
		{"7:0", nil, ""},
		{"9:9", nil, "block device 9:9"},
	} {
		got, err := ForDevice(root, tt.dev)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %v, %v; want error %q", tt.dev, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.dev, got, err, tt.want)
		}
	}
}

const debianDep = `kernel/drivers/block/virtio_blk.ko.xz:
kernel/drivers/scsi/sd_mod.ko.xz: kernel/drivers/scsi/scsi_mod.ko.xz kernel/drivers/scsi/scsi_common.ko.xz kernel/lib/crc64-rocksoft.ko.xz
kernel/drivers/ata/ahci.ko.xz: kernel/drivers/ata/libahci.ko.xz kernel/drivers/ata/libata.ko.xz kernel/drivers/scsi/scsi_mod.ko.xz kernel/drivers/scsi/scsi_common.ko.xz
kernel/drivers/ata/libahci.ko.xz: kernel/drivers/ata/libata.ko.xz kernel/drivers/scsi/scsi_mod.ko.xz kernel/drivers/scsi/scsi_common.ko.xz
kernel/drivers/ata/libata.ko.xz: kernel/drivers/scsi/scsi_mod.ko.xz kernel/drivers/scsi/scsi_common.ko.xz
kernel/drivers/scsi/scsi_mod.ko.xz: kernel/drivers/scsi/scsi_common.ko.xz
kernel/drivers/scsi/scsi_common.ko.xz:
kernel/lib/crc64-rocksoft.ko.xz:
kernel/drivers/nvme/host/nvme.ko.xz: kernel/drivers/nvme/host/nvme-core.ko.xz
`

func TestOrder(t *testing.T) {
	d, err := ParseDep(strings.NewReader(debianDep))
	must(t, err)
	for _, tt := range []struct {
		names []string
		want  []string
		err   error
	}{
		{[]string{"virtio_blk"}, []string{"kernel/drivers/block/virtio_blk.ko.xz"}, nil},
		{[]string{"sd_mod", "ahci"}, []string{
			"kernel/drivers/scsi/scsi_common.ko.xz", "kernel/drivers/scsi/scsi_mod.ko.xz",
			"kernel/lib/crc64-rocksoft.ko.xz", "kernel/drivers/scsi/sd_mod.ko.xz",
			"kernel/drivers/ata/libata.ko.xz", "kernel/drivers/ata/libahci.ko.xz", "kernel/drivers/ata/ahci.ko.xz"}, nil},
		{[]string{"crc64-rocksoft"}, []string{"kernel/lib/crc64-rocksoft.ko.xz"}, nil},
		{[]string{"e1000"}, nil, ErrNoModule},
		{[]string{"nvme"}, nil, ErrNoModule}, // nvme_core is missing from this file
		{nil, nil, nil},
	} {
		got, err := d.Order(tt.names)
		if !errors.Is(err, tt.err) || !slices.Equal(got, tt.want) {
			t.Errorf("Order(%v) = %v, %v; want %v, %v", tt.names, got, err, tt.want, tt.err)
		}
	}
}

func TestOrderCycle(t *testing.T) {
	d, err := ParseDep(strings.NewReader("a.ko: b.ko\nb.ko: a.ko\n"))
	must(t, err)
	if _, err := d.Order([]string{"a"}); err == nil || !strings.Contains(err.Error(), "depends on itself") {
		t.Errorf("cycle: %v", err)
	}
}

func TestParseDepRefuses(t *testing.T) {
	for _, in := range []string{
		"no colon here\n",
		"/abs/path.ko:\n",
		"kernel/a.ko: ../../etc/shadow.ko\n",
		"not a module: x.ko\n",
	} {
		if _, err := ParseDep(strings.NewReader(in)); err == nil {
			t.Errorf("ParseDep(%q) accepted", in)
		}
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/lib/crc64-rocksoft.ko.xz": "crc64_rocksoft",
		"virtio_blk.ko":                   "virtio_blk",
		"a/b/nvme-core.ko.zst":            "nvme_core",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	payload := []byte("\x7fELF a module")
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(payload)
	zw.Close()
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(payload)
	enc.Close()
	write := func(rel string, b []byte) {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, rel), b, 0o644))
	}
	write("kernel/a.ko", payload)
	write("kernel/b.ko.gz", gz.Bytes())
	write("kernel/c.ko.zst", zs.Bytes())
	write("kernel/d.ko.xz", []byte("\xfd7zXZ\x00..."))

	files, list, err := Files(dir, "6.12.118", []string{"kernel/a.ko", "kernel/b.ko.gz", "kernel/c.ko.zst"}, false)
	must(t, err)
	want := []string{"/lib/modules/6.12.118/kernel/a.ko", "/lib/modules/6.12.118/kernel/b.ko", "/lib/modules/6.12.118/kernel/c.ko"}
	if got := strings.Fields(string(list)); !slices.Equal(got, want) {
		t.Errorf("list = %v, want %v", got, want)
	}
	for _, p := range want {
		if !bytes.Equal(files[p], payload) {
			t.Errorf("%s = %q, want the decompressed module", p, files[p])
		}
	}
	if _, _, err := Files(dir, "6.12.118", []string{"kernel/d.ko.xz"}, false); !errors.Is(err, ErrCompressed) || !strings.Contains(err.Error(), "CONFIG_MODULE_DECOMPRESS") {
		t.Errorf("xz without CONFIG_MODULE_DECOMPRESS: %v", err)
	}
	files, list, err = Files(dir, "6.12.118", []string{"kernel/d.ko.xz", "kernel/b.ko.gz"}, true)
	must(t, err)
	if string(list) != "/lib/modules/6.12.118/kernel/d.ko.xz\n/lib/modules/6.12.118/kernel/b.ko.gz\n" || !bytes.Equal(files["/lib/modules/6.12.118/kernel/b.ko.gz"], gz.Bytes()) {
		t.Errorf("the kernel decompresses: list %q; want the files as they are", list)
	}
	if _, _, err := Files(dir, "6.12.118", []string{"kernel/missing.ko"}, false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadListMissingIsNoWork(t *testing.T) {
	if err := LoadList(filepath.Join(t.TempDir(), "none"), t.Logf); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "modules")
	must(t, os.WriteFile(list, []byte("/nonexistent/x.ko\n"), 0o644))
	if err := LoadList(list, t.Logf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a listed module that is missing: %v", err)
	}
}

func FuzzParseDep(f *testing.F) {
	f.Add([]byte(debianDep))
	f.Add([]byte("a.ko: b.ko\nb.ko: a.ko\n"))
	f.Add([]byte("x.ko:\n\n# comment\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDep(bytes.NewReader(b))
		if err != nil {
			if d != nil {
				t.Fatal("a result beside an error")
			}
			return
		}
		for name, p := range d.path {
			if filepath.IsAbs(p) || strings.HasPrefix(p, "..") {
				t.Fatalf("path %q escapes", p)
			}
			order, err := d.Order([]string{name})
			if err != nil {
				continue // a cycle or a missing dependency
			}
			if len(order) == 0 || order[len(order)-1] != p {
				t.Fatalf("Order(%s) = %v: the module itself must come last", name, order)
			}
			seen := map[string]bool{}
			for _, o := range order {
				if seen[o] {
					t.Fatalf("Order(%s) = %v: %s twice", name, order, o)
				}
				seen[o] = true
			}
		}
	})
}
