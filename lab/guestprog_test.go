package lab

import (
	"os/exec"
	"testing"

	"github.com/kjump/kjump/initramfs"
)

func TestBuildGuestProg(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	bin, err := buildGuestProg("pattern", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// It must be static: it runs in the guest's initramfs.
	if _, err := initramfs.Kjump(initramfs.Options{Kjump: bin}); err != nil {
		t.Fatalf("guest program is not usable in an initramfs: %v", err)
	}
}
