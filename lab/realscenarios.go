package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kjump/kjump/lab/qemu"
)

func init() {
	register(Scenario{
		Name:    "real-roundtrip",
		Summary: "the real machine (Debian 12, systemd, Debian's kernel config, booted by GRUB): kjump load and three round trips; counter, systemd, journal, network unharmed",
		Run:     realRoundtrip,
	})
	register(Scenario{
		Name:    "real-hibernate",
		Summary: "the real machine: systemctl hibernate through dist/, GRUB's resume entry, the initramfs resumes; counter, dirty write, systemd, network carry on; the next boot is normal",
		Run:     realHibernate,
	})
}

// realBoot is one boot of the real machine.
type realBoot struct {
	name   string // log name
	script string // lab/guest/real-NAME.sh, run by lab-run after real-lib.sh
	root   string // the system disk (a copy of RealMachine.Disk)
	image  string // the image disk (serial kjump-image)
}

// realDisks copies the system disk for a scenario and makes its image disk.
func (l *Lab) realDisks(ctx context.Context, name string) (root, image string, err error) {
	m, err := l.Real(ctx)
	if err != nil {
		return "", "", err
	}
	root = filepath.Join(l.LogDir, name+"-root.raw")
	if out, err := exec.CommandContext(ctx, "cp", "--sparse=always", m.Disk, root).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("copying %s: %v: %s", m.Disk, err, out)
	}
	image, err = l.disk(name+"-image", 3<<30)
	return root, image, err
}

// bootReal starts the real machine: q35, 2 CPUs, 2 GiB, SeaBIOS and GRUB from
// the virtio root disk, the image disk, a virtio-net NIC on QEMU's user
// network, and the script handed over through fw_cfg.
func (l *Lab) bootReal(ctx context.Context, b realBoot) (*qemu.VM, error) {
	lib, err := guestFiles.ReadFile("guest/real-lib.sh")
	if err != nil {
		return nil, err
	}
	body, err := guestFiles.ReadFile("guest/real-" + b.script + ".sh")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(l.LogDir, b.name+".sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+string(lib)+"\n"+string(body)), 0o755); err != nil {
		return nil, err
	}
	return qemu.Start(ctx, qemu.Config{
		Machine:   "q35",
		MemoryMiB: 2048,
		CPUs:      2,
		Disks:     []qemu.Disk{{Path: b.root}, {Path: b.image, Serial: RealImageSerial}},
		Extra: []string{
			"-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0",
			"-fw_cfg", "name=opt/kjump/script,file=" + script,
		},
		Log: filepath.Join(l.LogDir, b.name+".log"),
	})
}

// realScriptOK waits for the script's end: "lab: script ok", or its FAIL
// line, or a kernel panic.
func realScriptOK(vm *qemu.VM, timeout time.Duration) error {
	idx, line, err := vm.Expect(timeout, `lab: script ok`, `lab: FAIL: `, `lab: script FAILED`, `Kernel panic`)
	if err != nil {
		return err
	}
	if idx != 0 {
		vm.Kill()
		return fmt.Errorf("%s (log: %s)", strings.TrimSpace(line), vm.LogPath())
	}
	return nil
}

// realExit waits for the guest to power off or reboot (QEMU runs with
// -no-reboot: either ends it).
func realExit(vm *qemu.VM) error {
	return vm.Wait(180 * time.Second)
}

func realRoundtrip(ctx context.Context, l *Lab) error {
	root, image, err := l.realDisks(ctx, "real-roundtrip")
	if err != nil {
		return err
	}
	vm, err := l.bootReal(ctx, realBoot{name: "real-roundtrip", script: "roundtrip", root: root, image: image})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if err := realScriptOK(vm, 900*time.Second); err != nil {
		return err
	}
	return realExit(vm)
}

func realHibernate(ctx context.Context, l *Lab) error {
	root, image, err := l.realDisks(ctx, "real-hibernate")
	if err != nil {
		return err
	}
	vm, err := l.bootReal(ctx, realBoot{name: "real-hibernate-save", script: "hibernate", root: root, image: image})
	if err != nil {
		return err
	}
	defer vm.Kill()
	idx, line, err := vm.Expect(900*time.Second, `hibernate-write: image [0-9a-f]+: `, `lab: FAIL: `, `kjump-init: FAIL: `, `Kernel panic`)
	if err != nil {
		return err
	}
	if idx != 0 {
		return fmt.Errorf("hibernating: %s (log: %s)", strings.TrimSpace(line), vm.LogPath())
	}
	if _, _, err := vm.Expect(120*time.Second, `reboot: Power down`); err != nil {
		return err
	}
	if err := realExit(vm); err != nil {
		return err
	}
	// Power on: GRUB's one-shot entry boots the resume kernel, whose
	// initramfs resumes the saved system; the script there goes on.
	vm, err = l.bootReal(ctx, realBoot{name: "real-hibernate-resume", script: "normal-boot", root: root, image: image})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(600*time.Second, `Booting .*\(kjump\)`); err != nil {
		return fmt.Errorf("GRUB did not boot the resume entry: %w", err)
	}
	idx, line, err = vm.Expect(900*time.Second, `lab: hibernate ok`, `lab: FAIL: `, `lab: script`, `Kernel panic`)
	if err != nil {
		return err
	}
	if idx != 0 {
		return fmt.Errorf("after the resume: %s (log: %s)", strings.TrimSpace(line), vm.LogPath())
	}
	if err := realExit(vm); err != nil {
		return err
	}
	// The next boot is a normal one, with all the RAM.
	vm, err = l.bootReal(ctx, realBoot{name: "real-hibernate-next", script: "normal-boot", root: root, image: image})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if err := realScriptOK(vm, 900*time.Second); err != nil {
		return err
	}
	return realExit(vm)
}
