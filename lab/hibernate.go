package lab

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/lab/qemu"
	"github.com/kjump/kjump/memmap"
)

func init() {
	register(Scenario{
		Name:    "hibernate",
		Summary: "hibernate to a raw disk, QEMU exits, a new QEMU boots the resume kernel: the counter carries on, tmpfs and a dirty ext4 write are intact",
		Run:     hibernateScenario,
	})
}

// The hibernation layout of a lab guest: the first kernel reserves 240 MiB at
// 16 MiB (memmap=240M$16M, which KASLR avoids) for the second kernel and,
// after the power-off, for the resume kernel that QEMU boots at 16 MiB. The
// region ends on a 64 MiB boundary, so no "RAM buffer" resource (which
// IO_STRICT_DEVMEM forbids mapping) covers saved memory.
var hibernateRegion = memmap.Range{Start: 16 << 20, Size: 240 << 20}

func hibernateAppend() string {
	return fmt.Sprintf("memmap=%dM$%dM", hibernateRegion.Size>>20, hibernateRegion.Start>>20)
}

// hibernateDisks makes an ext4 disk for the first kernel to mount (vda) and a
// raw disk for the image (vdb).
func (l *Lab) hibernateDisks(name string) ([]qemu.Disk, error) {
	fs, err := l.disk(name+"-fs", 64<<20)
	if err != nil {
		return nil, err
	}
	if b, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "kjump-lab", fs).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mkfs.ext4 %s: %v\n%s", fs, err, b)
	}
	img, err := l.disk(name+"-image", 1<<30)
	if err != nil {
		return nil, err
	}
	return []qemu.Disk{{Path: fs}, {Path: img}}, nil
}

// hibernateSave boots the first kernel running job (which hibernates), and
// waits for the second kernel to write the image and power the guest off.
func (l *Lab) hibernateSave(ctx context.Context, name string, g Guest, job string) (*qemu.VM, error) {
	g.Name = name + "-save"
	g.Append = strings.TrimSpace(hibernateAppend() + " " + g.Append + ` kjump.run="` + job + `"`)
	vm, err := l.Boot(ctx, g)
	if err != nil {
		return nil, err
	}
	defer vm.Kill()
	idx, line, err := vm.Expect(600*time.Second, `hibernate-write: image [0-9a-f]+: `, `kjump-init: FAIL: `, `Kernel panic`)
	if err != nil {
		return vm, err
	}
	if idx != 0 {
		return vm, fmt.Errorf("hibernating: %s (log: %s)", strings.TrimSpace(line), vm.LogPath())
	}
	return vm, powerOff(vm)
}

// resumeGuest is the resume kernel's boot: confined to the region, running
// 'kjump resume' (plus args) as its job; when that fails, init powers off.
func resumeGuest(name string, g Guest, args string) Guest {
	g.Name = name + "-resume"
	g.Append = strings.TrimSpace(hibernate.ResumeCommandLine(hibernateRegion) + " " + g.Append +
		` kjump.run="resume --from /dev/vdb ` + args + `" kjump.then=poweroff`)
	return g
}

func hibernateScenario(ctx context.Context, l *Lab) error {
	disks, err := l.hibernateDisks("hibernate")
	if err != nil {
		return err
	}
	g := Guest{Disks: disks}
	if _, err := l.hibernateSave(ctx, "hibernate", g, "/lab/hibernate.sh"); err != nil {
		return err
	}
	// A new QEMU process: the resume kernel restores the first kernel, whose
	// script then checks that everything carried on and powers off.
	vm, err := l.Boot(ctx, resumeGuest("hibernate", g, ""))
	if err != nil {
		return err
	}
	defer vm.Kill()
	if err := expectOK(vm, "/lab/hibernate.sh", 600*time.Second); err != nil {
		return err
	}
	if err := powerOff(vm); err != nil {
		return err
	}
	return fsck(disks[0].Path)
}

// fsck checks an ext4 disk image on the host.
func fsck(img string) error {
	if b, err := exec.Command("e2fsck", "-f", "-n", img).CombinedOutput(); err != nil {
		return fmt.Errorf("e2fsck -f -n %s: %v\n%s", img, err, b)
	}
	return nil
}
