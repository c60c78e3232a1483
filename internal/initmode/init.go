package initmode

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/modules"
)

// Prefix starts every line init prints, so logs and the lab can find them.
const Prefix = "kjump-init: "

// Config lets tests and callers adapt Main.
type Config struct {
	Self    string   // the kjump binary children run (default /proc/self/exe)
	Console *os.File // default os.Stdout (the kernel gives PID 1 /dev/console)
	Cmdline string   // default: the content of /proc/cmdline
}

// Main is PID 1. It never returns: it ends in power-off, reboot, a shell or a hold.
func Main(cfg Config) {
	if cfg.Console == nil {
		cfg.Console = os.Stdout
	}
	say := func(format string, a ...any) { fmt.Fprintf(cfg.Console, Prefix+format+"\n", a...) }
	os.Setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin")
	os.Setenv("HOME", "/root")
	for _, err := range mountAll() {
		say("warning: %v", err)
	}
	// The drivers of the disks the job needs, when they are modules.
	if err := modules.LoadList(modules.ListPath, say); err != nil {
		say("warning: %v", err)
	}

	if cfg.Cmdline == "" {
		b, err := os.ReadFile("/proc/cmdline")
		if err != nil {
			say("cannot read /proc/cmdline: %v", err)
		}
		cfg.Cmdline = string(b)
	}
	p, err := ParseCmdline(cfg.Cmdline)
	if err != nil {
		say("%v", err)
		finish(cfg.Console, say, PowerOff)
	}
	for entry := 1; ; entry++ {
		ok, failed := Run(p, cfg.Self, cfg.Console)
		then := p.Then
		if failed > 0 {
			then = p.OnError
		}
		say("done: %d ok, %d failed; then %s", ok, failed, then)
		if then == ShellBack {
			say("starting a shell: 'kjump back' returns to the first kernel (and back here when it re-enters), 'exit' returns to it")
			if err := runShell(); err != nil {
				say("%v", err)
			}
			then = Back
		}
		if then != Back {
			finish(cfg.Console, say, then)
		}
		// Returns when the first kernel re-enters this one.
		if _, failed := Run(Params{Run: []string{"back"}}, cfg.Self, cfg.Console); failed > 0 {
			then = p.OnError
			if then == Back {
				then = PowerOff
			}
			say("cannot jump back; then %s", then)
			finish(cfg.Console, say, then)
		}
		say("re-entered (%d): running the commands again", entry)
	}
}

// Run runs the commands of p in order and reports each on console, which is also
// the commands' standard output and error. Run reaps every child of the process,
// orphans included, as PID 1 must.
func Run(p Params, self string, console *os.File) (ok, failed int) {
	if self == "" {
		self = "/proc/self/exe"
	}
	w := console
	r := reap()
	for _, line := range p.Run {
		fmt.Fprintf(w, Prefix+"run: %s\n", line)
		start := time.Now()
		err := runOne(line, self, console, r)
		took := time.Since(start).Seconds()
		if err != nil {
			failed++
			fmt.Fprintf(w, Prefix+"FAIL: %s: %v (%.2fs)\n", line, err, took)
			continue
		}
		ok++
		fmt.Fprintf(w, Prefix+"ok: %s (%.2fs)\n", line, took)
	}
	return ok, failed
}

func runOne(line, self string, console *os.File, r *reaper) error {
	args, err := SplitArgs(line)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: empty command", ErrBadParam)
	}
	var cmd *exec.Cmd
	if strings.HasPrefix(args[0], "/") {
		cmd = exec.Command(args[0], args[1:]...)
	} else {
		cmd = exec.Command(self, args...)
		cmd.Args[0] = "kjump"
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, console, console
	return r.run(cmd)
}

// run starts cmd and waits for it through the reaper.
func (r *reaper) run(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	ws := r.wait(cmd.Process.Pid)
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		return fmt.Errorf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Errorf("killed by signal %v", ws.Signal())
	}
	return fmt.Errorf("wait status %#x", uint32(ws))
}

func mountAll() []error {
	var errs []error
	for _, m := range []struct{ src, dir, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"tmpfs", "/run", "tmpfs", "mode=0755"},
		{"securityfs", "/sys/kernel/security", "securityfs", ""},
	} {
		os.MkdirAll(m.dir, 0o755)
		err := unix.Mount(m.src, m.dir, m.fstype, unix.MS_NOSUID, m.data)
		if err != nil && !errors.Is(err, unix.EBUSY) && m.fstype != "securityfs" {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err))
		}
	}
	return errs
}

// reaper reaps every child of PID 1, orphans included, and hands the status of the
// commands init started to their waiters. exec.Cmd.Wait cannot be used: a wait4(-1)
// elsewhere could steal its child's status.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	exited  map[int]unix.WaitStatus // reaped before anyone asked
}

// reap returns the process's one reaper, starting it on first use.
var reap = sync.OnceValue(newReaper)

func newReaper() *reaper {
	r := &reaper{waiters: map[int]chan unix.WaitStatus{}, exited: map[int]unix.WaitStatus{}}
	go r.loop()
	return r
}

func (r *reaper) loop() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err != nil {
			time.Sleep(50 * time.Millisecond) // ECHILD: no children right now
			continue
		}
		r.mu.Lock()
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- ws
		} else {
			r.exited[pid] = ws
		}
		r.mu.Unlock()
	}
}

func (r *reaper) wait(pid int) unix.WaitStatus {
	r.mu.Lock()
	if ws, ok := r.exited[pid]; ok {
		delete(r.exited, pid)
		r.mu.Unlock()
		return ws
	}
	ch := make(chan unix.WaitStatus, 1)
	r.waiters[pid] = ch
	r.mu.Unlock()
	return <-ch
}

func finish(console *os.File, say func(string, ...any), a Action) {
	unix.Sync()
	switch a {
	case Shell:
		if err := shell(say); err != nil {
			say("%v", err)
		}
		a = PowerOff
	case Hold:
		say("holding (kjump.then=hold)")
		select {}
	}
	unix.Sync()
	if a == Reboot {
		say("rebooting")
	} else {
		say("powering off")
	}
	Halt(console, a)
	select {}
}

// Halt reboots or powers off (Reboot, or anything else) once the console has
// printed what was written to it (DrainConsole).
func Halt(console *os.File, a Action) {
	drainConsole(console)
	cmd := unix.LINUX_REBOOT_CMD_POWER_OFF
	if a == Reboot {
		cmd = unix.LINUX_REBOOT_CMD_RESTART
	}
	reboot(cmd)
}

// reboot and drainConsole are unix.Reboot and DrainConsole; tests replace
// them.
var (
	reboot       = unix.Reboot
	drainConsole = DrainConsole
)

// DrainConsole waits until what was written to the console f has gone out
// (tcdrain; on a file that is not a tty it does nothing). The kernel prints
// its own messages at once, ahead of the output a serial console's tty
// still holds, so without it the kernel's power-off message lands in the
// middle of the last lines written before: "kjump-init: ok: /lab/hibernate.s[
// 7.381347] ACPI: PM: Preparing to enter system sleep state S5", and a lab
// scenario waiting for that line failed.
func DrainConsole(f *os.File) { unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1) }

// shell runs an interactive shell on the console and returns when it exits.
func shell(say func(string, ...any)) error {
	say("starting a shell; exit it to power off")
	return runShell()
}

// runShell runs an interactive shell on the console until it exits.
func runShell() error {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return fmt.Errorf("no shell in this initramfs (add busybox: kjump lab builds it in)")
	}
	cmd := exec.Command(sh)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "PS1=kjump-shell# ")
	return reap().run(cmd)
}
