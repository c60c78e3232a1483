package jump

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/modules"
)

func TestModuleFiles(t *testing.T) {
	const rel = "6.12.118"
	write := func(root, p string, b []byte) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("\x7fELF scsi_common"))
	zw.Close()
	tree := func(config string) string {
		root := t.TempDir()
		dir := "lib/modules/" + rel + "/"
		write(root, dir+"modules.dep", []byte("kernel/drivers/block/virtio_blk.ko.xz:\nkernel/drivers/scsi/sd_mod.ko.xz: kernel/drivers/scsi/scsi_common.ko.gz\nkernel/drivers/scsi/scsi_common.ko.gz:\n"))
		write(root, dir+"kernel/drivers/block/virtio_blk.ko.xz", []byte("\xfd7zXZ virtio_blk"))
		write(root, dir+"kernel/drivers/scsi/sd_mod.ko.xz", []byte("\xfd7zXZ sd_mod"))
		write(root, dir+"kernel/drivers/scsi/scsi_common.ko.gz", gz.Bytes())
		if config != "" {
			write(root, "boot/config-"+rel, []byte(config))
		}
		return root
	}

	// Debian: xz modules, CONFIG_MODULE_DECOMPRESS=y: the kernel decompresses.
	files, err := ModuleFiles(tree("CONFIG_MODULE_DECOMPRESS=y\n"), rel, []string{"sd_mod", "virtio_blk"})
	if err != nil {
		t.Fatal(err)
	}
	want := "/lib/modules/6.12.118/kernel/drivers/scsi/scsi_common.ko.gz\n/lib/modules/6.12.118/kernel/drivers/scsi/sd_mod.ko.xz\n/lib/modules/6.12.118/kernel/drivers/block/virtio_blk.ko.xz\n"
	if got := string(files[modules.ListPath]); got != want {
		t.Errorf("list:\n%s\nwant:\n%s", got, want)
	}
	if len(files) != 4 {
		t.Errorf("%d files, want 3 modules and the list", len(files))
	}

	// Without it: gzip is decompressed here, xz cannot be.
	if _, err := ModuleFiles(tree("# CONFIG_MODULE_DECOMPRESS is not set\n"), rel, []string{"virtio_blk"}); !errors.Is(err, modules.ErrCompressed) {
		t.Errorf("xz, no CONFIG_MODULE_DECOMPRESS: %v", err)
	}
	files, err = ModuleFiles(tree(""), rel, []string{"scsi_common"})
	if err != nil || string(files["/lib/modules/6.12.118/kernel/drivers/scsi/scsi_common.ko"]) != "\x7fELF scsi_common" {
		t.Errorf("gzip, config unknown: %v, %q", err, files)
	}

	// No modules.dep, or a module it does not list.
	if _, err := ModuleFiles(t.TempDir(), rel, []string{"virtio_blk"}); err == nil || !strings.Contains(err.Error(), "depmod") {
		t.Errorf("no modules.dep: %v", err)
	}
	if _, err := ModuleFiles(tree(""), rel, []string{"nvme"}); !errors.Is(err, modules.ErrNoModule) {
		t.Errorf("unknown module: %v", err)
	}
}
