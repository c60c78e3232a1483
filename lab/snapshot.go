package lab

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/lab/qemu"
	"github.com/kjump/kjump/lab/tools"
)

func init() {
	register(Scenario{
		Name:    "snapshot",
		Summary: "two live snapshots to raw disks; makedumpfile, crash 8.0.2 (minimal) and 8.0.6 and drgn 0.0.31 read them: the log, the counter among the tasks; the system carries on",
		Run:     snapshotScenario,
	})
	register(Scenario{
		Name:    "snapshot-region",
		Summary: "pages of the first kernel that lie in the second kernel's region show their true contents in the snapshot",
		Run:     snapshotRegion,
	})
}

// disk makes a sparse raw disk image for a guest.
func (l *Lab) disk(name string, size int64) (string, error) {
	p := filepath.Join(l.LogDir, name+".img")
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return p, f.Truncate(size)
}

func snapshotScenario(ctx context.Context, l *Lab) error {
	a, err := l.disk("snapshot-a", 512<<20)
	if err != nil {
		return err
	}
	b, err := l.disk("snapshot-b", 512<<20)
	if err != nil {
		return err
	}
	if _, err := l.RunJob(ctx, Guest{Name: "snapshot", Disks: []qemu.Disk{{Path: a}, {Path: b}}}, "/lab/snapshot.sh", 600*time.Second); err != nil {
		return err
	}
	// makedumpfile reads the first kernel's log from both dumps; only the second
	// has the line written between them.
	for i, img := range []string{a, b} {
		log, err := dumpDmesg(img)
		if err != nil {
			return err
		}
		if !strings.Contains(log, "Linux version "+l.Kernel.Release) || !strings.Contains(log, "Freezing user space processes") {
			return fmt.Errorf("makedumpfile's log of %s lacks the first kernel's boot or its last line before the jump", img)
		}
		if has := strings.Contains(log, "kjump-lab: between the snapshots"); has != (i == 1) {
			return fmt.Errorf("%s: the line written between the snapshots is there: %v, want %v", img, has, i == 1)
		}
	}
	// Debian 12's crash 8.0.2 (what bookworm users have) opens both dumps
	// (kdump-compressed and ELF) with the lab kernel's vmlinux and prints the
	// first kernel's log; only the second has the line written between them.
	// --minimal: 8.0.2 cannot set up a Linux 6.12 kernel's tasks ("active
	// task … not found in PID hash", "mm_rss_stat_count"), not even from a raw
	// /proc/vmcore, and then corrupts its own heap and aborts at random
	// ("malloc(): unsorted double linked list corrupted"), on makedumpfile's
	// output as on kjump's; its minimal mode (log, rd, sym, dis) skips the
	// tasks and reads both formats reliably. So no ps with it.
	for i, img := range []string{a, b} {
		out, err := crash(l.Kernel.Vmlinux, img, "log\nquit\n")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "Linux version "+l.Kernel.Release) || !strings.Contains(out, "Freezing user space processes") ||
			strings.Contains(out, "kjump-lab: between the snapshots") != (i == 1) {
			return fmt.Errorf("crash's log of %s is not the first kernel's log at that snapshot:\n%s", img, tail(out, 30))
		}
	}
	// Debian 13's crash 8.0.6 and drgn 0.0.31 (lab/tools) set up the tasks:
	// both find the counter by name, and the log. crash finds the dump's
	// NT_PRSTATUS note for the task that made the jump (without it, on the
	// ELF file: "cpu 0: invalid NT_PRSTATUS note") and unwinds that task
	// back to the reboot system call.
	t, err := l.Tools(ctx)
	if err != nil {
		return fmt.Errorf("crash 8.0.6 and drgn 0.0.31 read the snapshots in a Debian 13 chroot: %w", err)
	}
	for i, img := range []string{a, b} {
		out, err := crashTrixie(ctx, t, l.Kernel.Vmlinux, img, "ps\nbt -c 0\nhelp -n\nlog\nquit\n")
		if err != nil {
			return err
		}
		if err := checkCrashTrixie(out, l.Kernel.Release, i == 1); err != nil {
			return fmt.Errorf("crash 8.0.6 on %s: %w", img, err)
		}
		tasks, log, err := drgnTasksLog(ctx, t, l.Kernel.Vmlinux, img)
		if err != nil {
			return err
		}
		if !slices.Contains(tasks, "counter.sh") || !slices.Contains(tasks, "kjump") {
			return fmt.Errorf("drgn 0.0.31 on %s: no counter.sh or kjump among the %d tasks: %v", img, len(tasks), tasks)
		}
		if !strings.Contains(log, "Linux version "+l.Kernel.Release) || strings.Contains(log, "kjump-lab: between the snapshots") != (i == 1) {
			return fmt.Errorf("drgn 0.0.31's get_dmesg of %s is not the first kernel's log at that snapshot:\n%s", img, tail(log, 10))
		}
	}
	return nil
}

// checkCrashTrixie checks crash 8.0.6's "ps", "bt -c 0", "help -n" and "log"
// of a snapshot: no warning about the CPUs' notes, the counter among the
// tasks, the jumping task unwound to the reboot system call and named by the
// dump's NT_PRSTATUS note, the log of that moment.
func checkCrashTrixie(out, release string, between bool) error {
	if strings.Contains(out, "invalid NT_PRSTATUS") || strings.Contains(out, "WARNING: cpu") {
		return fmt.Errorf("a warning about the CPUs' notes:\n%s", grepLines(out, "invalid NT_PRSTATUS", "WARNING: cpu"))
	}
	if !regexp.MustCompile(psLine.String() + `counter\.sh$`).MatchString(out) {
		return fmt.Errorf("ps lists no counter.sh:\n%s", tail(out, 80))
	}
	if !strings.Contains(out, "machine_kexec") || !strings.Contains(out, "__do_sys_reboot") {
		return fmt.Errorf("bt -c 0 does not unwind the jumping task through machine_kexec to the reboot system call:\n%s", grepLines(out, "#", "PID:", "bt:"))
	}
	active := regexp.MustCompile(`(?m)^PID: (\d+)\s+TASK: [0-9a-f]+\s+CPU: 0\s`).FindStringSubmatch(out)
	note := regexp.MustCompile(`(?m)^\s+pid: (\d+)  ppid:`).FindAllStringSubmatch(out, -1)
	if active == nil || len(note) != 1 || note[0][1] != active[1] {
		return fmt.Errorf("help -n shows %d NT_PRSTATUS notes, want one, for the task on CPU 0 (%v):\n%s", len(note), active, grepLines(out, "pid:", "PID:"))
	}
	if !strings.Contains(out, "Linux version "+release) || strings.Contains(out, "kjump-lab: between the snapshots") != between {
		return fmt.Errorf("log is not the first kernel's log at that snapshot:\n%s", tail(out, 20))
	}
	return nil
}

// psLine matches a line of crash's ps up to the command name: PID, PPID,
// CPU, TASK, ST, %MEM, VSZ, RSS.
var psLine = regexp.MustCompile(`(?m)^>?\s+\d+\s+\d+\s+\d+\s+[0-9a-f]+\s+\S+\s+[\d.]+\s+\d+\s+\d+\s+`)

// grepLines returns the lines of s containing any of subs.
func grepLines(s string, subs ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(line, sub) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// crashTrixie runs Debian 13's crash on a dump with the lab kernel's vmlinux,
// in the tools chroot. --kaslr=auto: crash finds the KASLR offset from
// VMCOREINFO.
func crashTrixie(ctx context.Context, t *tools.Chroot, vmlinux, dump, commands string) (string, error) {
	cmd := t.Command(ctx, []string{filepath.Dir(vmlinux), filepath.Dir(dump)}, "crash", "-s", "--kaslr=auto", vmlinux, dump)
	cmd.Stdin = strings.NewReader(commands)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("crash 8.0.6 %s %s: %v\n%s", vmlinux, dump, err, tail(string(b), 30))
	}
	return string(b), nil
}

// drgnScript prints each task's command name, then the kernel log.
const drgnScript = `from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.printk import get_dmesg
for t in for_each_task(prog):
    print("task", t.comm.string_().decode())
print("log")
print(get_dmesg(prog).decode(errors="replace"))`

// drgnTasksLog opens a dump with Debian 13's drgn in the tools chroot and
// returns the command names of its tasks (for_each_task) and its kernel log
// (get_dmesg). drgn's own warnings go to stderr, which makes it fail here.
func drgnTasksLog(ctx context.Context, t *tools.Chroot, vmlinux, dump string) ([]string, string, error) {
	cmd := t.Command(ctx, []string{filepath.Dir(vmlinux), filepath.Dir(dump)}, "drgn", "-c", dump, "-s", vmlinux, "-e", drgnScript)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		return nil, "", fmt.Errorf("drgn 0.0.31 -c %s -s %s: %v\n%s%s", dump, vmlinux, err, tail(stderr.String(), 20), tail(stdout.String(), 5))
	}
	head, log, ok := strings.Cut(stdout.String(), "\nlog\n")
	if !ok {
		return nil, "", fmt.Errorf("drgn 0.0.31 -c %s: no log in its output:\n%s", dump, tail(stdout.String(), 10))
	}
	var tasks []string
	for _, line := range strings.Split(head, "\n") {
		if name, ok := strings.CutPrefix(line, "task "); ok {
			tasks = append(tasks, name)
		}
	}
	return tasks, log, nil
}

func dumpDmesg(img string) (string, error) {
	out := img + ".dmesg"
	os.Remove(out) // makedumpfile will not overwrite the log of an earlier run ($KJUMP_TEST_VMCORE)
	if b, err := exec.Command("makedumpfile", "--dump-dmesg", img, out).CombinedOutput(); err != nil {
		return "", fmt.Errorf("makedumpfile --dump-dmesg %s: %v\n%s", img, err, b)
	}
	b, err := os.ReadFile(out)
	return string(b), err
}

// crash runs Debian 12's crash 8.0.2 in its minimal mode on a dump.
func crash(vmlinux, dump, commands string) (string, error) {
	// --kaslr=auto: crash 8.0.2 does not apply the KASLR offset by itself here.
	// --minimal: see snapshotScenario.
	cmd := exec.Command("crash", "-s", "--minimal", "--kaslr=auto", vmlinux, dump)
	cmd.Stdin = strings.NewReader(commands)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("crash %s %s: %v\n%s", vmlinux, dump, err, tail(string(b), 30))
	}
	return string(b), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func snapshotRegion(ctx context.Context, l *Lab) error {
	a, err := l.disk("snapshot-region", 1536<<20)
	if err != nil {
		return err
	}
	vm, err := l.RunJob(ctx, Guest{Name: "snapshot-region", CPUs: 1, Disks: []qemu.Disk{{Path: a}}}, "/lab/snapshot-region.sh", 900*time.Second)
	if err != nil {
		return err
	}
	w := regexp.MustCompile(`(?m)^snapshot-region: window (0x[0-9a-f]+)`).FindStringSubmatch(vm.Console())
	if w == nil {
		return fmt.Errorf("the guest did not say which window it used (log: %s)", vm.LogPath())
	}
	re := regexp.MustCompile(`(?m)^pattern: phys 0x([0-9a-f]+) index (\d+) window ` + w[1] + `\b`)
	found := re.FindAllStringSubmatch(vm.Console(), -1)
	if len(found) == 0 {
		return fmt.Errorf("no pattern page in the region's window %s: nothing to check (log: %s)", w[1], vm.LogPath())
	}
	f, err := os.Open(a)
	if err != nil {
		return err
	}
	defer f.Close()
	st, _ := f.Stat()
	d, err := dumpfile.Open(f, st.Size())
	if err != nil {
		return fmt.Errorf("the snapshot on %s: %w", a, err)
	}
	page := make([]byte, 4096)
	for _, m := range found {
		phys, _ := strconv.ParseUint(m[1], 16, 64)
		index, _ := strconv.ParseUint(m[2], 10, 64)
		if err := d.ReadPage(phys/4096, page); err != nil {
			return fmt.Errorf("page %#x of the pattern: %w", phys, err)
		}
		want := make([]byte, 16)
		copy(want, "KJPATTERN")
		binary.LittleEndian.PutUint64(want[8:], index)
		if !bytes.Equal(page[:16], want) || binary.LittleEndian.Uint64(page[4088:]) != index {
			return fmt.Errorf("the snapshot has %q… at %#x, where the first kernel had pattern page %d (log: %s)", page[:16], phys, index, vm.LogPath())
		}
	}
	return nil
}

func init() {
	register(Scenario{
		Name:    "snapshot-file",
		Summary: "a live snapshot into a file of a mounted ext4 filesystem (FIEMAP extents written raw): the first kernel reads it fresh, makedumpfile reads its log",
		Run:     snapshotFile,
	})
}

func snapshotFile(ctx context.Context, l *Lab) error {
	fs, err := l.disk("snapshot-file-fs", 1<<30)
	if err != nil {
		return err
	}
	if err := mkfs(fs); err != nil {
		return err
	}
	if _, err := l.RunJob(ctx, Guest{Name: "snapshot-file", Disks: []qemu.Disk{{Path: fs}}}, "/lab/snapshot-file.sh", 600*time.Second); err != nil {
		return err
	}
	if err := fsck(fs); err != nil {
		return err
	}
	// Take the file out of the filesystem image and open it as any dump.
	out := fs + ".live.kdump"
	if b, err := exec.Command("debugfs", "-R", "dump /live.kdump "+out, fs).CombinedOutput(); err != nil {
		return fmt.Errorf("debugfs dump: %v\n%s", err, b)
	}
	log, err := dumpDmesg(out)
	if err != nil {
		return err
	}
	if !strings.Contains(log, "kjump-lab: snapshot into a file") {
		return fmt.Errorf("makedumpfile's log of the file snapshot lacks the line written before it")
	}
	return nil
}
