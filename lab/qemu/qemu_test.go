package qemu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var fixed = []string{
	"-machine", "pc,accel=tcg", "-cpu", "qemu64", "-m", "1024", "-smp", "1",
	"-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none",
	"-no-reboot", "-net", "none",
}

func TestArgs(t *testing.T) {
	withFixed := func(mem, cpus string, more ...string) []string {
		a := slices.Clone(fixed)
		a[5], a[7] = mem, cpus
		return append(a, more...)
	}
	tests := []struct {
		name string
		cfg  Config
		want []string // nil: an ErrInvalidConfig
	}{
		{"defaults", Config{}, withFixed("1024", "1")},
		{"kernel boot", Config{
			Kernel: "/k/bzImage", Initrd: "/k/initrd", Append: "console=ttyS0 memmap=15M$1M",
			MemoryMiB: 2048, CPUs: 2, Extra: []string{"-d", "int"},
		}, withFixed("2048", "2",
			"-kernel", "/k/bzImage", "-initrd", "/k/initrd", "-append", "console=ttyS0 memmap=15M$1M",
			"-d", "int")},
		{"disks", Config{Disks: []Disk{
			{Path: "/d/a.img"},
			{Path: "/d/b,c.qcow2", Format: "qcow2", ReadOnly: true},
		}}, withFixed("1024", "1",
			"-drive", "file=/d/a.img,if=virtio,format=raw",
			"-drive", "file=/d/b,,c.qcow2,if=virtio,format=qcow2,readonly=on")},
		{"q35, disk serial", Config{Machine: "q35", Disks: []Disk{{Path: "/d/root"}, {Path: "/d/img", Serial: "kjump-image"}}},
			append(append([]string{"-machine", "q35,accel=tcg"}, withFixed("1024", "1")[2:]...),
				"-drive", "file=/d/root,if=none,id=disk0,format=raw", "-device", "virtio-blk-pci,drive=disk0,bootindex=0",
				"-drive", "file=/d/img,if=none,id=disk1,format=raw", "-device", "virtio-blk-pci,drive=disk1,serial=kjump-image")},
		{"single-threaded TCG", Config{Machine: "q35", SingleThread: true},
			append([]string{"-machine", "q35", "-accel", "tcg,thread=single"}, withFixed("1024", "1")[2:]...)},
		{"unknown machine", Config{Machine: "virt"}, nil},
		{"serial with comma", Config{Disks: []Disk{{Path: "/d", Serial: "a,b"}}}, nil},
		{"append without kernel", Config{Append: "quiet"}, nil},
		{"initrd without kernel", Config{Initrd: "/k/initrd"}, nil},
		{"negative memory", Config{MemoryMiB: -1}, nil},
		{"negative cpus", Config{CPUs: -2}, nil},
		{"disk without path", Config{Disks: []Disk{{Format: "raw"}}}, nil},
		{"format with option", Config{Disks: []Disk{{Path: "/d", Format: "raw,cache=none"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.args()
			if tt.want == nil {
				if !errors.Is(err, ErrInvalidConfig) || got != nil {
					t.Fatalf("args() = %q, %v; want ErrInvalidConfig", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("args() = %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"/usr/bin/qemu", "-append", "console=ttyS0 a=$b", "it's", "", "file=x,,y"})
	want := `/usr/bin/qemu -append 'console=ttyS0 a=$b' 'it'\''s' '' file=x,,y`
	if got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}

func TestStartRejects(t *testing.T) {
	log := filepath.Join(t.TempDir(), "console.log")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		cfg  Config
		want error
	}{
		{"no log", context.Background(), Config{Binary: "/bin/true"}, ErrInvalidConfig},
		{"bad config", context.Background(), Config{Binary: "/bin/true", Log: log, Append: "x"}, ErrInvalidConfig},
		{"no binary", context.Background(), Config{Binary: "no-such-qemu-binary", Log: log}, exec.ErrNotFound},
		{"cancelled", cancelled, Config{Binary: "/bin/true", Log: log}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm, err := Start(tt.ctx, tt.cfg)
			if !errors.Is(err, tt.want) || vm != nil {
				t.Fatalf("Start = %v, %v; want %v", vm, err, tt.want)
			}
		})
	}
}

// fakeQEMU writes a shell script that stands in for QEMU and returns a Config
// that runs it. Tests using it do not run in parallel: a fork while another test
// holds the script open for writing would make its exec fail with ETXTBSY.
func fakeQEMU(t *testing.T, script string) Config {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-qemu")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return Config{Binary: bin, Log: filepath.Join(dir, "console.log")}
}

func start(t *testing.T, cfg Config) *VM {
	t.Helper()
	vm, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Kill() })
	return vm
}

// A generous bound for output the script prints at once: only reached when
// something is broken.
const long = 30 * time.Second

// assertGone checks that QEMU is reaped and that no process of its group runs.
// The other members got SIGKILL before QEMU was reaped, but a killed process
// takes a moment to finish exiting, and then lingers as a zombie until its new
// parent reaps it; so this waits (up to long) for them to become zombies.
func assertGone(t *testing.T, vm *VM) {
	t.Helper()
	if err := syscall.Kill(vm.Pid(), 0); err != syscall.ESRCH {
		t.Errorf("kill(%d, 0) = %v, want ESRCH: QEMU is still there", vm.Pid(), err)
	}
	deadline := time.Now().Add(long)
	for {
		running := groupRunning(t, vm.Pid())
		if len(running) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes of QEMU's group %d still running %v after SIGKILL: %q", vm.Pid(), long, running)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// groupRunning returns the /proc/PID/stat lines of the processes in process
// group pgrp that are not zombies.
func groupRunning(t *testing.T, pgrp int) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var running []string
	for _, e := range ents {
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // not a process, or gone
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) >= 3 && f[2] == strconv.Itoa(pgrp) && f[0] != "Z" {
			running = append(running, string(stat))
		}
	}
	return running
}

type expectation struct {
	patterns []string
	idx      int
	line     string
}

func TestExpect(t *testing.T) {
	tests := []struct {
		name   string
		script string
		steps  []expectation
	}{
		{
			name:   "marker",
			script: "echo booting; sleep 0.1; echo 'Run /init as init process'; sleep 300",
			steps:  []expectation{{[]string{`Run /init`}, 0, "Run /init as init process"}},
		},
		{
			name:   "several patterns, the one that matched first",
			script: "echo 'Run /init'; sleep 0.1; echo 'Kernel panic - not syncing'; sleep 300",
			steps: []expectation{
				{[]string{`Kernel panic`, `^Run (/\w+)`}, 1, "Run /init"},
				{[]string{`Kernel panic`, `^Run (/\w+)`}, 0, "Kernel panic - not syncing"},
			},
		},
		{
			name:   "same line, lowest index wins",
			script: "echo 'login: root'; sleep 300",
			steps:  []expectation{{[]string{`root`, `login`}, 0, "login: root"}},
		},
		{
			name:   "cursor moves past each match",
			script: "printf 'x 1\\r\\nx 2\\r\\ny\\r\\n'; sleep 300",
			steps: []expectation{
				{[]string{`^x`}, 0, "x 1"},
				{[]string{`^x`}, 0, "x 2"},
				{[]string{`^x`, `^y$`}, 1, "y"},
			},
		},
		{
			name:   "partial line",
			script: "echo 'Welcome'; printf 'prompt# '; sleep 300",
			steps:  []expectation{{[]string{`# $`}, 0, "prompt# "}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := start(t, fakeQEMU(t, tt.script))
			for i, s := range tt.steps {
				idx, line, err := vm.Expect(long, s.patterns...)
				if err != nil || idx != s.idx || line != s.line {
					t.Fatalf("step %d: Expect(%q) = %d, %q, %v; want %d, %q", i, s.patterns, idx, line, err, s.idx, s.line)
				}
			}
		})
	}
}

func TestLineBeingPrintedIsNotMatchedEarly(t *testing.T) {
	vm := start(t, fakeQEMU(t, `printf 'value: 12'; sleep 0.2; printf '34\n'; sleep 300`))
	vm.quiet = time.Hour // so the incomplete line never looks settled
	if _, line, err := vm.Expect(long, `value: \d+`); err != nil || line != "value: 1234" {
		t.Fatalf("Expect = %q, %v; want the whole line", line, err)
	}
}

func TestPromptAndSend(t *testing.T) {
	// The script plays a shell on a serial console: a prompt without newline,
	// then the echo of what was typed, then the command's output.
	vm := start(t, fakeQEMU(t, `printf 'login: '; read name; printf '%s\r\n' "$name"; echo "hello $name"; sleep 300`))
	if _, line, err := vm.Expect(long, `login: $`); err != nil || line != "login: " {
		t.Fatalf("Expect(prompt) = %q, %v", line, err)
	}
	if err := vm.Send("root\n"); err != nil {
		t.Fatal(err)
	}
	// "login: root" would match too, but the prompt's line is consumed.
	if _, line, err := vm.Expect(long, `root`); err != nil || line != "hello root" {
		t.Fatalf("Expect(root) = %q, %v; want the line after the prompt", line, err)
	}
	if got, want := vm.Console(), "login: root\nhello root\n"; got != want {
		t.Errorf("Console() = %q, want %q", got, want)
	}
}

func TestExpectBadPatternLeavesVMRunning(t *testing.T) {
	vm := start(t, fakeQEMU(t, "sleep 300"))
	if _, _, err := vm.Expect(long, `ok`, `(`); err == nil {
		t.Fatal("Expect with a bad pattern succeeded")
	}
	if err := syscall.Kill(vm.Pid(), 0); err != nil {
		t.Fatalf("QEMU is gone after a bad pattern: %v", err)
	}
}

func TestExpectTimeout(t *testing.T) {
	// The sleeping child shares QEMU's process group and must die with it.
	vm := start(t, fakeQEMU(t, "echo booting; sleep 300 & sleep 300"))
	idx, _, err := vm.Expect(300*time.Millisecond, `never-printed`, `nor this`)
	var te *TimeoutError
	if !errors.As(err, &te) || idx != -1 {
		t.Fatalf("Expect = %d, %v; want a *TimeoutError", idx, err)
	}
	if te.Log != vm.LogPath() || te.After != 300*time.Millisecond || !slices.Equal(te.Tail, []string{"booting"}) {
		t.Errorf("TimeoutError = %+v", te)
	}
	for _, s := range []string{vm.LogPath(), `"never-printed" or "nor this"`, "300ms", "booting"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	assertGone(t, vm)
	if err := vm.Kill(); err != nil {
		t.Errorf("second Kill: %v", err)
	}
	// The VM is dead: a later Expect sees that at once.
	var ee *ExitedError
	if _, _, err := vm.Expect(long, `x`); !errors.As(err, &ee) {
		t.Errorf("Expect after the timeout = %v, want *ExitedError", err)
	}
}

func TestExitedBeforeMarker(t *testing.T) {
	vm := start(t, fakeQEMU(t, "echo one; echo two; echo 'qemu: could not load kernel' >&2; exit 3"))
	_, _, err := vm.Expect(long, `never-printed`)
	var ee *ExitedError
	if !errors.As(err, &ee) {
		t.Fatalf("Expect = %v, want *ExitedError", err)
	}
	if ee.Status.ExitCode() != 3 || ee.Log != vm.LogPath() || ee.Cause != nil ||
		!slices.Equal(ee.Tail, []string{"one", "two"}) ||
		!slices.Equal(ee.Stderr, []string{"qemu: could not load kernel"}) {
		t.Errorf("ExitedError = %+v", ee)
	}
	for _, s := range []string{"exit status 3", vm.LogPath(), "never-printed", "two", "could not load kernel"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if err := vm.Wait(long); !errors.As(err, &ee) || ee.Patterns != nil {
		t.Errorf("Wait = %v, want *ExitedError without patterns", err)
	}
	assertGone(t, vm)
}

func TestWait(t *testing.T) {
	t.Run("power off", func(t *testing.T) {
		vm := start(t, fakeQEMU(t, "echo 'reboot: Power down'; exit 0"))
		if err := vm.Wait(long); err != nil {
			t.Fatalf("Wait = %v", err)
		}
		assertGone(t, vm)
	})
	t.Run("timeout", func(t *testing.T) {
		vm := start(t, fakeQEMU(t, "sleep 300"))
		err := vm.Wait(200 * time.Millisecond)
		var te *TimeoutError
		if !errors.As(err, &te) || te.Patterns != nil || !strings.Contains(err.Error(), vm.LogPath()) {
			t.Fatalf("Wait = %v, want a *TimeoutError naming the log", err)
		}
		assertGone(t, vm)
	})
	t.Run("killed", func(t *testing.T) {
		vm := start(t, fakeQEMU(t, "sleep 300"))
		if err := vm.Kill(); err != nil {
			t.Fatal(err)
		}
		var ee *ExitedError
		if err := vm.Wait(long); !errors.As(err, &ee) || ee.Status.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("Wait = %v, want *ExitedError for SIGKILL", err)
		}
		assertGone(t, vm)
	})
}

func TestLeftoverChildIsKilled(t *testing.T) {
	// QEMU exits but leaves a child behind that holds the console pipe open.
	vm := start(t, fakeQEMU(t, "sleep 300 & echo \"child $!\"; exit 0"))
	_, line, err := vm.Expect(long, `^child \d+$`)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimPrefix(line, "child "))
	if err := vm.Wait(long); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	assertGone(t, vm)
	// Without the group kill, the child would keep the console pipe open and
	// Wait would only return after drainGrace; assertGone sees it either way.
	t.Logf("child %d", child)
}

func TestContextCancelKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := fakeQEMU(t, "echo up; sleep 300")
	vm, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Kill()
	if _, _, err := vm.Expect(long, `up`); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, _, err = vm.Expect(long, `never`)
	var ee *ExitedError
	if !errors.As(err, &ee) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Expect after cancel = %v, want *ExitedError wrapping context.Canceled", err)
	}
	assertGone(t, vm)
}

var stampRE = regexp.MustCompile(`^\[ *\d+\.\d{3}\] (.*)$`)

// safeBuffer is an Echo writer the test can read while the VM runs.
type safeBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestLog(t *testing.T) {
	cfg := fakeQEMU(t, `printf 'hello\r\nworld\n'; echo 'warning: x' >&2; printf '\033[0m\001\n'; printf 'no newline'`)
	cfg.Append = "console=ttyS0 quiet"
	cfg.Kernel = "/nonexistent/bzImage"
	echo := &safeBuffer{}
	cfg.Echo = echo
	vm := start(t, cfg)
	if err := vm.Wait(long); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(vm.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	args, _ := cfg.args()
	if len(lines) == 0 || lines[0] != shellJoin(append([]string{cfg.Binary}, args...)) {
		t.Fatalf("log does not start with the command line:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "-append 'console=ttyS0 quiet'") {
		t.Errorf("command line %q lacks the quoted -append", lines[0])
	}
	var texts []string
	for _, l := range lines[1:] {
		m := stampRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("log line %q has no timestamp", l)
		}
		texts = append(texts, m[1])
	}
	// The stderr line's place among the console lines depends on scheduling.
	stderrAt := slices.Index(texts, "(qemu stderr) warning: x")
	if stderrAt < 0 {
		t.Fatalf("log lacks the stderr line: %q", texts)
	}
	texts = slices.Delete(texts, stderrAt, stderrAt+1)
	want := []string{"hello", "world", "\x1b[0m\x01", "no newline", "(qemu) exit status 0"}
	if !slices.Equal(texts, want) {
		t.Errorf("log lines %q, want %q", texts, want)
	}
	if got, want := vm.Console(), "hello\nworld\n\x1b[0m\x01\nno newline"; got != want {
		t.Errorf("Console() = %q, want %q", got, want)
	}
	echo.mu.Lock()
	echoed := echo.b.String()
	echo.mu.Unlock()
	log, _ := os.ReadFile(vm.LogPath())
	if _, body, _ := strings.Cut(string(log), "\n"); echoed != body {
		t.Errorf("Echo got %q, want the log without its first line, %q", echoed, body)
	}
}

func TestExpectTimeoutPostmortem(t *testing.T) {
	cfg := fakeQEMU(t, "echo booting; sleep 300")
	var alive error
	cfg.Postmortem = func(vm *VM) string {
		alive = syscall.Kill(vm.Pid(), 0) // still running when it is called
		return "post-mortem in /x"
	}
	vm := start(t, cfg)
	_, _, err := vm.Expect(300*time.Millisecond, `never-printed`)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Postmortem != "post-mortem in /x" || !strings.Contains(err.Error(), "post-mortem in /x") {
		t.Fatalf("Expect = %v; want a *TimeoutError with the post-mortem", err)
	}
	if alive != nil {
		t.Errorf("the VM was gone when Postmortem ran: %v", alive)
	}
	assertGone(t, vm)
}
