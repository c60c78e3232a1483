package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
		Name:    "real-hibernate-file",
		Summary: "the real machine: the image in a file on the root ext4 (kjump image prepare, KJUMP_FILE, KJUMP_RESUME_OFFSET), resumed by offset through GRUB and the initramfs",
		Run:     realHibernateFile,
	})
	register(Scenario{
		Name:    "real-hibernate-refused",
		Summary: "the real machine: GRUB's resume entry with no image: kjump resume refuses, the machine reboots into the default entry with all its RAM, and the journal says why",
		Run:     realHibernateRefused,
	})
	register(Scenario{
		Name:    "real-snapshot",
		Summary: "the real machine: kjump snapshot -o /var/crash/live.kdump on the root ext4; the host reads the file out of the disk with makedumpfile --dump-dmesg, crash --minimal and drgn (task list)",
		Run:     realSnapshot,
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
	script string // lab/guest/real-NAME.sh (NAME+NAME: one after the other), run by lab-run after real-lib.sh
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
	text := "#!/bin/sh\n" + string(lib)
	for _, name := range strings.Split(b.script, "+") {
		body, err := guestFiles.ReadFile("guest/real-" + name + ".sh")
		if err != nil {
			return nil, err
		}
		text += "\n" + string(body)
	}
	script := filepath.Join(l.LogDir, b.name+".sh")
	if err := os.WriteFile(script, []byte(text), 0o755); err != nil {
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
			"-device", "vmcoreinfo",
		},
		Log:          filepath.Join(l.LogDir, b.name+".log"),
		Monitor:      true,
		SingleThread: true, // see qemu.Config.SingleThread: Debian's kernel flips static keys
		Postmortem:   func(vm *qemu.VM) string { return l.postmortem(ctx, vm) },
	})
}

// postmortem saves what a hung real machine was doing, next to its log: the
// CPUs' registers, its memory as a vmcore (QEMU's dump-guest-memory; the
// machine has -device vmcoreinfo, so the vmcore names the KASLR offset), and
// Debian 13's crash on it: every CPU's backtrace, the tasks that are not
// running, and the kernel log's tail. It returns where it left them.
func (l *Lab) postmortem(ctx context.Context, vm *qemu.VM) string {
	base := strings.TrimSuffix(vm.LogPath(), ".log")
	regs, err := vm.Monitor("info registers -a")
	if err != nil {
		return fmt.Sprintf("no post-mortem: %v", err)
	}
	os.WriteFile(base+".regs", []byte(regs), 0o644)
	vmcore := base + ".vmcore"
	if err := vm.DumpMemory(vmcore); err != nil {
		return fmt.Sprintf("registers in %s.regs; no vmcore: %v", base, err)
	}
	t, err := l.Tools(ctx)
	if err != nil {
		return fmt.Sprintf("registers in %s.regs, memory in %s; no crash: %v", base, vmcore, err)
	}
	out, err := crashTrixie(ctx, t, l.real.Kernel.Vmlinux, vmcore, "bt -a\nforeach UN bt\nforeach IN bt\nlog -T | tail -n 40\nquit\n")
	if err != nil {
		out = err.Error()
	}
	os.WriteFile(base+".crash", []byte(out), 0o644)
	return fmt.Sprintf("post-mortem: registers in %s.regs, memory in %s, crash's backtraces in %s.crash", base, vmcore, base)
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

// runReal boots the real machine with a script, waits for the script's ok and
// the machine's power-off, and returns the stopped VM.
func (l *Lab) runReal(ctx context.Context, b realBoot) (*qemu.VM, error) {
	vm, err := l.bootReal(ctx, b)
	if err != nil {
		return nil, err
	}
	defer vm.Kill()
	if err := realScriptOK(vm, 900*time.Second); err != nil {
		return vm, err
	}
	return vm, realExit(vm)
}

func realRoundtrip(ctx context.Context, l *Lab) error {
	root, image, err := l.realDisks(ctx, "real-roundtrip")
	if err != nil {
		return err
	}
	_, err = l.runReal(ctx, realBoot{name: "real-roundtrip", script: "roundtrip", root: root, image: image})
	return err
}

func realHibernate(ctx context.Context, l *Lab) error {
	return l.realHibernate(ctx, "real-hibernate", "hibernate")
}

func realHibernateFile(ctx context.Context, l *Lab) error {
	return l.realHibernate(ctx, "real-hibernate-file", "hibernate-file+hibernate")
}

// realHibernate hibernates the real machine running script, boots the resume
// entry, and then a normal boot.
func (l *Lab) realHibernate(ctx context.Context, name, script string) error {
	root, image, err := l.realDisks(ctx, name)
	if err != nil {
		return err
	}
	vm, err := l.bootReal(ctx, realBoot{name: name + "-save", script: script, root: root, image: image})
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
	vm, err = l.bootReal(ctx, realBoot{name: name + "-resume", script: "normal-boot", root: root, image: image})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(600*time.Second, `Booting .*\(kjump\)`); err != nil {
		return fmt.Errorf("GRUB did not boot the resume entry: %w", err)
	}
	idx, line, err = vm.Expect(300*time.Second, `lab: hibernate ok`, `lab: FAIL: `, `lab: script`, `Kernel panic`)
	if err != nil {
		return fmt.Errorf("after the resume: %w", err)
	}
	if idx != 0 {
		return fmt.Errorf("after the resume: %s (log: %s)", strings.TrimSpace(line), vm.LogPath())
	}
	if err := realExit(vm); err != nil {
		return err
	}
	// The next boot is a normal one, with all the RAM.
	_, err = l.runReal(ctx, realBoot{name: name + "-next", script: "normal-boot", root: root, image: image})
	return err
}

func realSnapshot(ctx context.Context, l *Lab) error {
	root, image, err := l.realDisks(ctx, "real-snapshot")
	if err != nil {
		return err
	}
	vm, err := l.runReal(ctx, realBoot{name: "real-snapshot", script: "snapshot", root: root, image: image})
	if err != nil {
		return err
	}
	m := regexp.MustCompile(`lab: marker: (kjump-lab snapshot marker [0-9a-f-]+)`).FindStringSubmatch(vm.Console())
	if m == nil {
		return fmt.Errorf("no marker in the console (log: %s)", vm.LogPath())
	}
	marker := m[1]
	// The file, taken out of the disk image (its ext4 is the first partition).
	dump := filepath.Join(l.LogDir, "real-snapshot.kdump")
	if out, err := exec.CommandContext(ctx, "debugfs", "-R", "dump /var/crash/live.kdump "+dump, root+"?offset=1048576").CombinedOutput(); err != nil {
		return fmt.Errorf("debugfs: %v: %s", err, out)
	}
	dmesg, err := dumpDmesg(dump)
	if err != nil {
		return err
	}
	if !strings.Contains(dmesg, marker) {
		return fmt.Errorf("makedumpfile --dump-dmesg %s: the kernel log lacks %q", dump, marker)
	}
	if err := l.sameDmesg(dump, dmesg); err != nil {
		return err
	}
	vmlinux := l.real.Kernel.Vmlinux
	out, err := crash(vmlinux, dump, "log\nquit\n")
	if err != nil {
		return err
	}
	if !strings.Contains(out, marker) {
		return fmt.Errorf("crash --minimal %s: log lacks %q:\n%s", dump, marker, tail(out, 20))
	}
	tasks, err := drgnTasks(ctx, vmlinux, dump)
	if err != nil {
		return err
	}
	for _, want := range []string{"systemd", "systemd-journal", "systemd-udevd", "kjump"} {
		if !slices.Contains(tasks, want) {
			return fmt.Errorf("drgn: no task %q among the %d tasks of %s", want, len(tasks), dump)
		}
	}
	fmt.Fprintf(l.progress, "real-snapshot: makedumpfile and crash read the marker, kjump dump --dump-dmesg writes makedumpfile's log; drgn lists %d tasks\n", len(tasks))
	return nil
}

// drgnTasks lists the tasks' names in a dump with drgn (Debian 12's 0.0.22,
// which reads kdump files through libkdumpfile).
func drgnTasks(ctx context.Context, vmlinux, dump string) ([]string, error) {
	const script = `
from drgn.helpers.linux.pid import for_each_task
for t in for_each_task(prog):
    print("task", t.comm.string_().decode())
`
	py := dump + ".tasks.py"
	if err := os.WriteFile(py, []byte(script), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "/usr/bin/drgn", "--quiet", "-c", dump, "--no-default-symbols", "-s", vmlinux, py)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("drgn -c %s (apt-get install python3-drgn): %v\n%s", dump, err, tail(string(out), 20))
	}
	var tasks []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, "task "); ok {
			tasks = append(tasks, name)
		}
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("drgn -c %s: no tasks:\n%s", dump, tail(string(out), 20))
	}
	return tasks, nil
}

func realHibernateRefused(ctx context.Context, l *Lab) error {
	root, image, err := l.realDisks(ctx, "real-hibernate-refused")
	if err != nil {
		return err
	}
	vm, err := l.bootReal(ctx, realBoot{name: "real-refused-first", script: "refused", root: root, image: image})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(900*time.Second, `lab: next boot: `); err != nil {
		return err
	}
	if err := realExit(vm); err != nil {
		return err
	}
	// The resume entry: kjump refuses, the boot goes on, the cleanup unit
	// reboots before anything else runs (this boot's script must not).
	vm, err = l.bootReal(ctx, realBoot{name: "real-refused-resume", script: "refused-after", root: root, image: image})
	if err != nil {
		return err
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(600*time.Second, `Booting .*\(kjump\)`); err != nil {
		return fmt.Errorf("GRUB did not boot the resume entry: %w", err)
	}
	if err := vm.Wait(600 * time.Second); err != nil {
		return fmt.Errorf("the refused resume did not reboot: %w", err)
	}
	if strings.Contains(vm.Console(), "lab: running the script") {
		return fmt.Errorf("the boot went on in the confined resume kernel instead of rebooting (log: %s)", vm.LogPath())
	}
	_, err = l.runReal(ctx, realBoot{name: "real-refused-next", script: "refused-after", root: root, image: image})
	return err
}
