package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kjump/kjump/lab/qemu"
)

// demoStep is one part of the demo: narration, a guest, and a closing remark.
type demoStep struct {
	title string
	intro []string
	guest Guest
	cmd   string // the kjump.run command whose ok line ends the step
	outro string
	disks int // raw disks of 512 MiB attached as vda, vdb, …
	// after runs on the host once the guest powered off.
	after func(ctx context.Context, l *Lab, disks []string, say func(string, ...any)) error
	// run, if set, replaces the single boot: a step of several boots.
	run func(ctx context.Context, l *Lab, console io.Writer, say func(string, ...any)) (log string, err error)
}

var demoSteps = []demoStep{
	{
		title: "Boot: the lab kernel with kjump as init",
		intro: []string{
			"QEMU (TCG, 2 CPUs, 1 GiB) boots the lab kernel, built with CONFIG_KEXEC_JUMP.",
			"The initramfs holds kjump as /init. Its job comes from the kernel command line:",
			"kjump.run=doctor runs 'kjump doctor'; then init powers the machine off.",
		},
		guest: Guest{Name: "demo-boot", Append: "quiet kjump.run=doctor"},
		cmd:   "doctor",
		outro: "The guest checked itself and found everything kexec jump needs.",
	},
	{
		title: "Jump to a second kernel and back",
		intro: []string{
			"The first kernel starts a counter and writes a 4 MiB file to tmpfs. 'kjump load'",
			"loads a second kernel (the same bzImage) confined to a 256 MiB region, with an",
			"initramfs generated from kjump itself; 'kjump exec' jumps. The second kernel",
			"prints its RAM (only its region and 256 KiB of low memory) and jumps back.",
		},
		guest: Guest{Name: "demo-roundtrip", Append: "quiet kjump.run=/lab/roundtrip.sh"},
		cmd:   "/lab/roundtrip.sh",
		outro: "The first kernel carried on: its counter kept counting and the file is intact.",
	},
	{
		title: "Re-enter the same second kernel, again and again",
		intro: []string{
			"Each kernel runs a counter. The first kernel jumps six times; each time the",
			"second kernel continues where it left off (its counter carries on), reports,",
			"and jumps back: two kernels taking turns on one machine, no reboot.",
		},
		guest: Guest{Name: "demo-reenter", Append: "quiet kjump.run=/lab/reenter.sh"},
		cmd:   "/lab/reenter.sh",
		outro: "Both kernels kept their processes across every switch.",
	},
	{
		title: "A live snapshot, opened with crash",
		intro: []string{
			"'kjump snapshot -o /dev/vda' jumps to a second kernel, which writes the first",
			"kernel's memory to the raw disk as a kdump-compressed file (free, zero and",
			"cache pages left out) and jumps back. The first kernel never stopped for good.",
		},
		guest: Guest{Name: "demo-snapshot", Append: "quiet kjump.run=/lab/snapshot-demo.sh"},
		cmd:   "/lab/snapshot-demo.sh",
		disks: 1,
		outro: "The host listed the first kernel's processes and read its log from the snapshot with crash 8.0.6 (Debian 13) and the lab kernel's vmlinux.",
		after: func(ctx context.Context, l *Lab, disks []string, say func(string, ...any)) error {
			// crash 8.0.6 from the lab's Debian 13 chroot: Debian 12's 8.0.2
			// cannot list a 6.12 kernel's tasks.
			t, err := l.Tools(ctx)
			if err != nil {
				return err
			}
			out, err := crashTrixie(ctx, t, l.Kernel.Vmlinux, disks[0], "ps\nlog\nquit\n")
			if err != nil {
				return err
			}
			say("")
			say("$ crash -s --kaslr=auto vmlinux %s   (crash %s, in a Debian 13 chroot)", filepath.Base(disks[0]), t.Versions["crash"])
			say("crash> ps   (the user-space processes; > marks the task on each CPU)")
			var ps, log []string
			for _, line := range strings.Split(out, "\n") {
				switch {
				case strings.Contains(line, "PID    PPID"):
					ps = append(ps, line)
				case psLine.MatchString(line) && !strings.HasSuffix(line, "]"):
					ps = append(ps, line)
				case strings.HasPrefix(line, "["):
					log = append(log, line)
				}
			}
			for _, line := range ps {
				say("    %s", line)
			}
			say("crash> log   (the last lines)")
			for _, line := range log[max(0, len(log)-4):] {
				say("    %s", line)
			}
			return nil
		},
	},
	{
		title: "Read the second kernel from the first (kjump core)",
		intro: []string{
			"A second kernel starts a process that fills 32 MiB with pages naming themselves,",
			"logs a line and jumps back. It waits, parked, for the next 'kjump exec'; the first",
			"kernel writes it to the raw disk as an ELF core ('kjump core -o /dev/vda'): each",
			"page read where the jump moved it or where it stayed, with the second kernel's",
			"own VMCOREINFO, which it named in the note page before jumping back.",
		},
		guest: Guest{Name: "demo-core", Append: "quiet " + hibernateAppend() + " kjump.run=/lab/core-demo.sh"},
		cmd:   "/lab/core-demo.sh",
		disks: 1,
		outro: "The host read the second kernel's log and tasks from the core, written by the first.",
		after: func(ctx context.Context, l *Lab, disks []string, say func(string, ...any)) error {
			log, err := dumpDmesg(disks[0])
			if err != nil {
				return err
			}
			say("")
			say("$ makedumpfile --dump-dmesg %s   (the second kernel's log)", filepath.Base(disks[0]))
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, "Command line:") || strings.Contains(line, "kjump-lab: in the second kernel") {
					say("    %s", line)
				}
			}
			t, err := l.Tools(ctx)
			if err != nil {
				return err
			}
			tasks, _, err := drgnTasksLog(ctx, t, l.Kernel.Vmlinux, disks[0])
			if err != nil {
				return err
			}
			pattern := 0
			for _, name := range tasks {
				if name == "pattern" {
					pattern++
				}
			}
			say("$ drgn -c %s -s vmlinux   (drgn %s, in a Debian 13 chroot: for_each_task)", filepath.Base(disks[0]), t.Versions["python3-drgn"])
			say("    %d tasks of the second kernel; 'pattern', the process that filled its memory, with %d threads", len(tasks), pattern)
			return nil
		},
	},
	{
		title: "Hibernate, power off, resume in a new machine",
		intro: []string{
			"The first kernel (booted with memmap=240M$16M: the region a resume kernel will",
			"run in) starts a counter, writes a tmpfs file and a dirty ext4 file, then runs",
			"'kjump hibernate --to /dev/vdb': a second kernel writes its memory to the raw",
			"disk and powers off. QEMU exits. A new QEMU process boots the resume kernel,",
			"confined to the region; 'kjump resume' checks the image, restores the memory",
			"and jumps back: the first kernel's script goes on where it stopped.",
		},
		run: func(ctx context.Context, l *Lab, console io.Writer, say func(string, ...any)) (string, error) {
			disks, err := l.hibernateDisks("demo-hibernate")
			if err != nil {
				return "", err
			}
			g := Guest{Disks: disks, Echo: console, Append: "quiet"}
			if _, err := l.hibernateSave(ctx, "demo-hibernate", g, "/lab/hibernate.sh"); err != nil {
				return "", err
			}
			say("")
			say("The guest is off and QEMU has exited. A new QEMU process, same disks:")
			say("")
			vm, err := l.Boot(ctx, resumeGuest("demo-hibernate", g, ""))
			if err != nil {
				return "", err
			}
			defer vm.Kill()
			if err := expectOK(vm, "/lab/hibernate.sh", 600*time.Second); err != nil {
				return vm.LogPath(), err
			}
			return vm.LogPath(), powerOff(vm)
		},
		outro: "The first kernel came back in another QEMU process: counter, tmpfs and disk write intact.",
	},
	{
		title: "Hybrid sleep: hibernate, then suspend to RAM; wake",
		intro: []string{
			"'kjump hibernate --then suspend': the second kernel writes and commits the image,",
			"then suspends the machine to RAM (QEMU with ACPI S3). The host wakes it through",
			"the QEMU monitor (system_wakeup), as a key press would: the second kernel revokes",
			"the image and jumps straight back, in seconds, no resume. Had the power been lost",
			"meanwhile, the next boot would have resumed from the image (scenario hybrid-powerloss).",
		},
		run: func(ctx context.Context, l *Lab, console io.Writer, say func(string, ...any)) (string, error) {
			vm, _, err := l.hybridSuspend(ctx, "demo-hybrid", "quiet", console)
			if err != nil {
				return "", err
			}
			defer vm.Kill()
			say("")
			say("The machine is suspended to RAM. The host presses the key: (qemu) system_wakeup")
			say("")
			if out, err := vm.Monitor("system_wakeup"); err != nil {
				return vm.LogPath(), fmt.Errorf("waking the guest: %w (%s)", err, out)
			}
			if err := expectOK(vm, hybridJob, 300*time.Second); err != nil {
				return vm.LogPath(), err
			}
			return vm.LogPath(), powerOff(vm)
		},
		outro: "Back in the first kernel after the wake, its image revoked: hybrid sleep.",
	},
}

// Demo is the showcase a newcomer runs first: a readable transcript of each feature
// running on a real kernel, with the guest's console indented under the narration.
func (l *Lab) Demo(ctx context.Context, w io.Writer) error {
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	say("kjump lab demo: Linux %s, kjump as init, QEMU without KVM", l.Kernel.Release)
	for i, st := range demoSteps {
		console := &prefixWriter{w: w, prefix: "    │ "}
		say("")
		say("== %d. %s ==", i+1, st.title)
		for _, line := range st.intro {
			say("%s", line)
		}
		say("")
		if st.run != nil {
			start := time.Now()
			log, err := st.run(ctx, l, console, say)
			console.Flush()
			if err != nil {
				return err
			}
			say("")
			say("%s (%.1fs; console log: %s)", st.outro, time.Since(start).Seconds(), log)
			continue
		}
		g := st.guest
		g.Echo = console
		var disks []string
		for d := 0; d < st.disks; d++ {
			p, err := l.disk(fmt.Sprintf("%s-%d", g.Name, d), 512<<20)
			if err != nil {
				return err
			}
			disks = append(disks, p)
			g.Disks = append(g.Disks, qemu.Disk{Path: p})
		}
		start := time.Now()
		vm, err := l.Boot(ctx, g)
		if err != nil {
			return err
		}
		err = expectOK(vm, st.cmd, 300*time.Second)
		if err == nil {
			err = powerOff(vm)
		}
		vm.Kill()
		console.Flush()
		if err != nil {
			return err
		}
		if st.after != nil {
			if err := st.after(ctx, l, disks, say); err != nil {
				return err
			}
		}
		say("")
		say("%s (%.1fs; console log: %s)", st.outro, time.Since(start).Seconds(), vm.LogPath())
	}
	return nil
}

// prefixWriter indents every line written through it.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimRight(p.buf[:i], "\r")
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, line)
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// Flush writes a pending partial line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = nil
	}
}
