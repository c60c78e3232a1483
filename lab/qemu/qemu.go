package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Disk is a virtio block device.
type Disk struct {
	Path     string
	Format   string // QEMU image format; "raw" if empty
	ReadOnly bool
	// Blkdebug, when set, is a QEMU blkdebug configuration the disk is read
	// through (file=blkdebug:CONFIG:PATH): its [inject-error] rules make
	// chosen reads fail, a real I/O error for the guest.
	Blkdebug string
	// Serial is the disk's serial number (virtio: /dev/disk/by-id/virtio-SERIAL
	// in the guest), a name that stays the same whatever the probe order.
	Serial string
}

// Config describes one QEMU run.
type Config struct {
	Binary    string   // QEMU binary; "qemu-system-x86_64" looked up in PATH if empty
	Machine   string   // -machine type: "pc" if empty, or "q35"
	Kernel    string   // -kernel; without it the firmware runs and nothing boots
	Initrd    string   // -initrd; needs Kernel
	Append    string   // -append, the kernel command line; needs Kernel
	MemoryMiB int      // -m; 1024 if zero
	CPUs      int      // -smp; 1 if zero
	Disks     []Disk   // one -drive if=virtio each, in order (vda, vdb, ...)
	Extra     []string // more QEMU arguments, appended last
	// Monitor gives the VM a human monitor on a unix socket next to Log
	// (Log + ".mon"), for VM.Monitor; else there is none.
	Monitor bool
	// S3 lets the guest suspend to RAM (ACPI S3: PIIX4_PM.disable_s3=0); it
	// wakes by the monitor's system_wakeup.
	S3 bool
	// SingleThread runs all vCPUs in one host thread (-accel
	// tcg,thread=single) instead of one thread each. QEMU 7.2's
	// multi-threaded TCG (Debian 12's) races when one vCPU patches code
	// another runs (fixed in 8.1): a distribution kernel, which flips static
	// keys at run time, then dies now and then with "Oops: int3".
	SingleThread bool
	// Postmortem, if set, runs when a timeout is about to kill the VM, while
	// it still runs (with Monitor: registers, DumpMemory); what it returns
	// (where it left what it saved) goes into the *TimeoutError.
	Postmortem func(*VM) string
	Log        string    // console log path; required
	Echo       io.Writer // if set, gets a copy of every log line as it arrives
}

const defaultBinary = "qemu-system-x86_64"

// Number of console and stderr lines kept for error messages.
const (
	tailLines   = 8
	stderrLines = 20
)

// partialQuiet is how long the console must stay quiet before Expect takes a
// match on the incomplete last line: long enough for the rest of a line being
// printed to arrive, short enough not to slow down a dialogue with a shell.
const partialQuiet = 100 * time.Millisecond

// drainGrace bounds how long the runner waits, after QEMU exited, for the
// console pipe to reach end of file. It only matters if something outside QEMU's
// process group holds the pipe open.
const drainGrace = 2 * time.Second

// args returns the QEMU arguments, without the binary.
func (c *Config) args() ([]string, error) {
	mem, cpus := c.MemoryMiB, c.CPUs
	if mem == 0 {
		mem = 1024
	}
	if cpus == 0 {
		cpus = 1
	}
	if mem < 0 || cpus < 0 {
		return nil, fmt.Errorf("qemu: MemoryMiB %d, CPUs %d: %w", c.MemoryMiB, c.CPUs, ErrInvalidConfig)
	}
	if c.Kernel == "" && (c.Initrd != "" || c.Append != "") {
		return nil, fmt.Errorf("qemu: Initrd and Append need a Kernel: %w", ErrInvalidConfig)
	}
	machine := c.Machine
	if machine == "" {
		machine = "pc"
	}
	if machine != "pc" && machine != "q35" {
		return nil, fmt.Errorf("qemu: machine %q (want pc or q35): %w", c.Machine, ErrInvalidConfig)
	}
	accel := []string{"-machine", machine + ",accel=tcg"}
	if c.SingleThread {
		accel = []string{"-machine", machine, "-accel", "tcg,thread=single"}
	}
	a := append(accel,
		"-cpu", "qemu64",
		"-m", strconv.Itoa(mem),
		"-smp", strconv.Itoa(cpus),
		"-nodefaults",
		"-display", "none",
		"-serial", "stdio",
		"-monitor", monitorArg(c),
		"-no-reboot",
		"-net", "none",
	)
	if c.S3 {
		a = append(a, "-global", "PIIX4_PM.disable_s3=0")
	}
	if c.Kernel != "" {
		a = append(a, "-kernel", c.Kernel)
	}
	if c.Initrd != "" {
		a = append(a, "-initrd", c.Initrd)
	}
	if c.Append != "" {
		a = append(a, "-append", c.Append)
	}
	serials := false
	for _, d := range c.Disks {
		serials = serials || d.Serial != ""
	}
	for i, d := range c.Disks {
		if d.Path == "" {
			return nil, fmt.Errorf("qemu: disk with no path: %w", ErrInvalidConfig)
		}
		format := d.Format
		if format == "" {
			format = "raw"
		}
		if strings.Contains(format, ",") {
			return nil, fmt.Errorf("qemu: disk format %q: %w", format, ErrInvalidConfig)
		}
		// In QEMU's option syntax a comma inside a value is written twice.
		file := d.Path
		if d.Blkdebug != "" {
			if strings.Contains(d.Blkdebug+d.Path, ":") {
				return nil, fmt.Errorf("qemu: a blkdebug path may not contain ':': %w", ErrInvalidConfig)
			}
			file = "blkdebug:" + d.Blkdebug + ":" + d.Path
		}
		drive := "file=" + strings.ReplaceAll(file, ",", ",,") + ",if=virtio,format=" + format
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		if strings.ContainsAny(d.Serial, ",= ") || len(d.Serial) > 20 {
			return nil, fmt.Errorf("qemu: disk serial %q (at most 20 characters, no ',', '=' or blanks): %w", d.Serial, ErrInvalidConfig)
		}
		if serials {
			// A serial number is a property of the virtio-blk device, not of
			// the drive: -drive if=none plus -device, for every disk, and the
			// first one is where the firmware boots from (SeaBIOS would
			// otherwise try the disks in its own order).
			id := fmt.Sprintf("disk%d", i)
			drive = strings.Replace(drive, ",if=virtio,", ",if=none,id="+id+",", 1)
			dev := "virtio-blk-pci,drive=" + id
			if d.Serial != "" {
				dev += ",serial=" + d.Serial
			}
			if i == 0 {
				dev += ",bootindex=0"
			}
			a = append(a, "-drive", drive, "-device", dev)
			continue
		}
		a = append(a, "-drive", drive)
	}
	return append(a, c.Extra...), nil
}

// VM is a running (or finished) QEMU process.
type VM struct {
	cmd        *exec.Cmd
	pid        int
	start      time.Time
	logPath    string
	postmortem func(*VM) string
	echo       *echoer // nil without Config.Echo
	stdin      *os.File
	stdout     *os.File
	stderr     *os.File
	readers    sync.WaitGroup
	stopCtx    func() bool
	done       chan struct{} // closed once QEMU is reaped and the log closed
	quiet      time.Duration // partialQuiet; tests lengthen it

	mu         sync.Mutex
	log        *bufio.Writer
	logFile    *os.File
	logErr     error
	console    splitter
	lines      []string      // complete console lines
	lastOutput time.Duration // when the last console bytes arrived
	cursor     int           // first line Expect may match; line len(lines) is the incomplete one
	errSplit   splitter
	stderrTail []string
	changed    chan struct{} // closed and replaced whenever console output or state changes
	zombie     bool          // QEMU exited: from here on its group is never signalled
	cause      error         // context error, if the context killed the VM
	exited     bool
	state      *os.ProcessState
}

// Start starts QEMU. The context bounds the VM's whole life: when it ends, the VM
// is killed. Start returns once QEMU is running; it does not wait for the guest.
func Start(ctx context.Context, cfg Config) (*VM, error) {
	if cfg.Log == "" {
		return nil, fmt.Errorf("qemu: no console log path: %w", ErrInvalidConfig)
	}
	args, err := cfg.args()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("qemu: not started: %w", err)
	}
	bin := cfg.Binary
	if bin == "" {
		bin = defaultBinary
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}

	logFile, err := os.Create(cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("qemu: console log: %w", err)
	}
	var files []*os.File // every pipe end, closed if Start fails
	fail := func(err error) (*VM, error) {
		for _, f := range files {
			f.Close()
		}
		logFile.Close()
		return nil, err
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return fail(fmt.Errorf("qemu: %w", err))
	}
	outR, outW, err := pipe()
	if err != nil {
		return fail(fmt.Errorf("qemu: %w", err))
	}
	errR, errW, err := pipe()
	if err != nil {
		return fail(fmt.Errorf("qemu: %w", err))
	}

	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	vm := &VM{
		cmd:        cmd,
		logPath:    cfg.Log,
		postmortem: cfg.Postmortem,
		stdin:      inW,
		stdout:     outR,
		stderr:     errR,
		done:       make(chan struct{}),
		quiet:      partialQuiet,
		log:        bufio.NewWriterSize(logFile, 64<<10),
		logFile:    logFile,
		changed:    make(chan struct{}),
	}
	vm.log.WriteString(shellJoin(append([]string{path}, args...)) + "\n")
	if err := vm.log.Flush(); err != nil {
		return fail(fmt.Errorf("qemu: console log: %w", err))
	}

	vm.start = time.Now()
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("qemu: %w", err))
	}
	vm.pid = cmd.Process.Pid
	// The child has its own copies; ours would keep the pipes from ending.
	inR.Close()
	outW.Close()
	errW.Close()

	if cfg.Echo != nil {
		vm.echo = newEchoer(cfg.Echo)
	}
	vm.readers.Add(2)
	go vm.read(outR, vm.consoleBytes)
	go vm.read(errR, vm.stderrBytes)
	vm.stopCtx = context.AfterFunc(ctx, func() { vm.kill(ctx.Err()) })
	go vm.reap()
	return vm, nil
}

// read copies one of QEMU's output pipes into the VM until end of file.
func (vm *VM) read(r *os.File, handle func(p []byte, now time.Duration)) {
	defer vm.readers.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			now := time.Since(vm.start)
			vm.mu.Lock()
			handle(buf[:n], now)
			vm.flushLog()
			vm.notify()
			vm.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// consoleBytes handles console output; vm.mu is held.
func (vm *VM) consoleBytes(p []byte, now time.Duration) {
	vm.lastOutput = now
	vm.console.write(p, now, func(text string, at time.Duration) {
		vm.lines = append(vm.lines, text)
		vm.logLine(at, "", text)
	})
}

// stderrBytes handles QEMU's own messages; vm.mu is held.
func (vm *VM) stderrBytes(p []byte, now time.Duration) {
	vm.errSplit.write(p, now, vm.stderrLine)
}

func (vm *VM) stderrLine(text string, at time.Duration) {
	vm.stderrTail = append(vm.stderrTail, text)
	if len(vm.stderrTail) > stderrLines {
		vm.stderrTail = vm.stderrTail[len(vm.stderrTail)-stderrLines:]
	}
	vm.logLine(at, "(qemu stderr) ", text)
}

// logLine writes one timestamped line to the log and to Echo; vm.mu is held.
func (vm *VM) logLine(at time.Duration, kind, text string) {
	s := fmt.Sprintf("[%8.3f] %s%s\n", at.Seconds(), kind, text)
	vm.log.WriteString(s)
	if vm.echo != nil {
		vm.echo.push(s)
	}
}

// flushLog flushes the log buffer; vm.mu is held.
func (vm *VM) flushLog() {
	if err := vm.log.Flush(); err != nil && vm.logErr == nil {
		vm.logErr = err
	}
}

// notify wakes everyone waiting for a change; vm.mu is held.
func (vm *VM) notify() {
	close(vm.changed)
	vm.changed = make(chan struct{})
}

// reap waits for QEMU to exit, kills what is left of its process group, reaps
// QEMU, lets the output pipes drain and closes the log.
func (vm *VM) reap() {
	var info unix.Siginfo
	for {
		// WNOWAIT leaves QEMU a zombie: its pid, and so its group id, cannot be
		// reused until cmd.Wait reaps it below.
		err := unix.Waitid(unix.P_PID, vm.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	vm.mu.Lock()
	vm.zombie = true
	_ = unix.Kill(-vm.pid, unix.SIGKILL) // whatever QEMU left behind; ESRCH if nothing
	vm.mu.Unlock()
	_ = vm.cmd.Wait() // the status is in cmd.ProcessState

	drained := make(chan struct{})
	go func() {
		vm.readers.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(drainGrace):
		vm.stdout.Close() // unblocks the readers
		vm.stderr.Close()
		<-drained
	}
	vm.stdout.Close()
	vm.stderr.Close()
	vm.stdin.Close()
	vm.stopCtx()

	now := time.Since(vm.start)
	vm.mu.Lock()
	if s := vm.errSplit.partial(); s != "" {
		vm.stderrLine(s, vm.errSplit.start)
	}
	if s := vm.console.partial(); s != "" {
		// Logged as a line, but still the incomplete line for Expect and Console.
		vm.logLine(vm.console.start, "", s)
	}
	how := vm.cmd.ProcessState.String()
	if vm.cause != nil {
		how += fmt.Sprintf(" (%v)", vm.cause)
	}
	vm.logLine(now, "(qemu) ", how)
	vm.flushLog()
	if err := vm.logFile.Close(); err != nil && vm.logErr == nil {
		vm.logErr = err
	}
	vm.state = vm.cmd.ProcessState
	vm.exited = true
	vm.notify()
	vm.mu.Unlock()

	if vm.echo != nil {
		vm.echo.close()
	}
	close(vm.done)
}

// kill sends SIGKILL to the VM's process group unless QEMU has already exited.
// cause, if not nil, is recorded as the reason.
func (vm *VM) kill(cause error) error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.zombie {
		return nil
	}
	if cause != nil && vm.cause == nil {
		vm.cause = cause
	}
	if err := unix.Kill(-vm.pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
		return fmt.Errorf("qemu: kill process group %d: %w", vm.pid, err)
	}
	return nil
}

// Kill sends SIGKILL to QEMU's process group and waits until QEMU is reaped and
// the log closed. It is safe to call more than once, and after QEMU exited.
func (vm *VM) Kill() error {
	if err := vm.kill(nil); err != nil {
		return err
	}
	<-vm.done
	return nil
}

// Expect waits until a console line after the cursor matches one of the
// regular expressions, moves the cursor past that line, and returns the index
// of the pattern and the line. When several patterns match the same line, the
// lowest index wins. The incomplete last line is matched too, once the console
// has been quiet for partialQuiet, so that a pattern does not match the
// beginning of a line that is still being printed.
//
// If nothing matches within timeout, Expect kills the VM and returns a
// *TimeoutError. If QEMU exits first, it returns an *ExitedError. A pattern
// that does not compile is an error that leaves the VM running.
func (vm *VM) Expect(timeout time.Duration, patterns ...string) (idx int, line string, err error) {
	if len(patterns) == 0 {
		return -1, "", errors.New("qemu: Expect with no pattern")
	}
	if timeout <= 0 {
		return -1, "", fmt.Errorf("qemu: Expect timeout %v is not positive", timeout)
	}
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return -1, "", fmt.Errorf("qemu: Expect: %w", err)
		}
		res[i] = re
	}
	match := func(s string) int {
		for i, re := range res {
			if re.MatchString(s) {
				return i
			}
		}
		return -1
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	timedOut := false
	vm.mu.Lock()
	next := vm.cursor // lines before next have been tried already
	for {
		for ; next < len(vm.lines); next++ {
			if i := match(vm.lines[next]); i >= 0 {
				vm.cursor = next + 1
				line := vm.lines[next]
				vm.mu.Unlock()
				return i, line, nil
			}
		}
		var settle <-chan time.Time
		if s := vm.console.partial(); next == len(vm.lines) && s != "" { // not consumed yet
			if i := match(s); i >= 0 {
				quiet := time.Since(vm.start) - vm.lastOutput
				if quiet >= vm.quiet || vm.exited || timedOut {
					vm.cursor = next + 1
					vm.mu.Unlock()
					return i, s, nil
				}
				settle = time.After(vm.quiet - quiet)
			}
		}
		if timedOut {
			vm.mu.Unlock()
			return -1, "", vm.timedOut(timeout, patterns)
		}
		if vm.exited {
			err := vm.exitedError(patterns)
			vm.mu.Unlock()
			return -1, "", err
		}
		changed := vm.changed
		vm.mu.Unlock()
		select {
		case <-changed:
		case <-settle:
		case <-timer.C:
			timedOut = true // one last look, then kill
		}
		vm.mu.Lock()
	}
}

// Wait waits for QEMU to exit, as it does when the guest powers off, reboots or
// crashes (-no-reboot). It returns nil if QEMU exited with status 0, an
// *ExitedError if it exited otherwise or was killed, and a *TimeoutError, after
// killing the VM, if it was still running after timeout.
func (vm *VM) Wait(timeout time.Duration) error {
	if timeout <= 0 {
		return fmt.Errorf("qemu: Wait timeout %v is not positive", timeout)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-vm.done:
	case <-timer.C:
		return vm.timedOut(timeout, nil)
	}
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if !vm.state.Success() {
		return vm.exitedError(nil)
	}
	if vm.logErr != nil {
		return fmt.Errorf("qemu: console log %s: %w", vm.logPath, vm.logErr)
	}
	return nil
}

// timedOut kills the VM and describes the timeout.
func (vm *VM) timedOut(timeout time.Duration, patterns []string) error {
	elapsed := time.Since(vm.start)
	var pm string
	if vm.postmortem != nil {
		pm = vm.postmortem(vm)
	}
	if err := vm.Kill(); err != nil {
		return err
	}
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return &TimeoutError{Patterns: patterns, After: timeout, Elapsed: elapsed, Log: vm.logPath, Tail: vm.tail(), Postmortem: pm}
}

// exitedError describes how QEMU ended; vm.mu is held and QEMU is reaped.
func (vm *VM) exitedError(patterns []string) error {
	return &ExitedError{
		Status:   vm.state,
		Patterns: patterns,
		Log:      vm.logPath,
		Tail:     vm.tail(),
		Stderr:   append([]string(nil), vm.stderrTail...),
		Cause:    vm.cause,
	}
}

// tail returns the last console lines, the incomplete one included; vm.mu is held.
func (vm *VM) tail() []string {
	n := tailLines
	s := vm.console.partial()
	if s != "" {
		n--
	}
	t := append([]string(nil), vm.lines[max(0, len(vm.lines)-n):]...)
	if s != "" {
		t = append(t, s)
	}
	return t
}

func monitorArg(c *Config) string {
	if !c.Monitor {
		return "none"
	}
	return "unix:" + strings.ReplaceAll(c.Log+".mon", ",", ",,") + ",server=on,wait=off"
}

// Monitor runs one command of QEMU's human monitor (Config.Monitor) and
// returns what it printed, e.g. Monitor("system_wakeup").
func (vm *VM) Monitor(command string) (string, error) {
	return vm.monitor(command, 30*time.Second)
}

// DumpMemory writes the guest's memory to path as a kdump-compressed vmcore
// (the monitor's dump-guest-memory -z), which crash and drgn open; with
// -device vmcoreinfo in the guest it carries the guest kernel's VMCOREINFO
// (KASLR offset included). The lab's post-mortem of a guest that hangs.
func (vm *VM) DumpMemory(path string) error {
	out, err := vm.monitor("dump-guest-memory -z "+path, 10*time.Minute)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("qemu: dump-guest-memory wrote nothing: %s", strings.TrimSpace(out))
	}
	return nil
}

func (vm *VM) monitor(command string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("unix", vm.logPath+".mon", 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("qemu: monitor (started with Config.Monitor?): %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReader(c)
	prompt := func() (string, error) {
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "(qemu) ") {
			ch, err := r.ReadByte()
			if err != nil {
				return b.String(), fmt.Errorf("qemu: monitor: %w", err)
			}
			b.WriteByte(ch)
		}
		return b.String(), nil
	}
	if _, err := prompt(); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", fmt.Errorf("qemu: monitor: %w", err)
	}
	out, err := prompt()
	return strings.TrimSuffix(out, "(qemu) "), err
}

// Send writes s to the guest's serial console.
func (vm *VM) Send(s string) error {
	if _, err := io.WriteString(vm.stdin, s); err != nil {
		return fmt.Errorf("qemu: console input: %w", err)
	}
	return nil
}

// Console returns the console output so far, without timestamps or carriage
// returns; the incomplete last line is included without a newline.
func (vm *VM) Console() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	var b strings.Builder
	for _, l := range vm.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString(vm.console.partial())
	return b.String()
}

// LogPath returns the console log path.
func (vm *VM) LogPath() string { return vm.logPath }

// Pid returns QEMU's process id, which is also its process group id.
func (vm *VM) Pid() int { return vm.pid }

// Elapsed returns the time since QEMU started, the clock of the log's timestamps.
func (vm *VM) Elapsed() time.Duration { return time.Since(vm.start) }

// shellJoin quotes args for a POSIX shell, so the log's first line can be pasted
// into one.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
