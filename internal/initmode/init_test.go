package initmode

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRun runs real child processes and checks init's report lines.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"job says $1\"\nexit $2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	console, err := os.Create(filepath.Join(dir, "console"))
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	p := Params{Run: []string{
		script + " hello 0",
		script + " 'two words' 3",
		"/nonexistent/program",
		"anything", // a kjump command: run through self, here /bin/true
	}}
	ok, failed := Run(p, "/bin/true", console)
	if ok != 2 || failed != 2 {
		t.Errorf("ok, failed = %d, %d; want 2, 2", ok, failed)
	}
	out, err := os.ReadFile(console.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`job says hello`,
		`kjump-init: ok: ` + regexp.QuoteMeta(script) + ` hello 0 \(\d+\.\d\ds\)`,
		`job says two words`,
		`kjump-init: FAIL: ` + regexp.QuoteMeta(script) + ` 'two words' 3: exit status 3`,
		`kjump-init: FAIL: /nonexistent/program: .*no such file`,
		`kjump-init: ok: anything`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(string(out), "kjump-init: run: "); n != 4 {
		t.Errorf("%d run lines, want 4", n)
	}
}

// TestRunReapsOrphans checks that a command's orphaned child does not disturb the
// status of the next command.
func TestRunReapsOrphans(t *testing.T) {
	console, err := os.Create(filepath.Join(t.TempDir(), "console"))
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	p := Params{Run: []string{
		`/bin/sh -c 'sleep 0.2 & exit 0'`,
		`/bin/sh -c 'sleep 0.4; exit 7'`,
	}}
	ok, failed := Run(p, "", console)
	out, _ := os.ReadFile(console.Name())
	if ok != 1 || failed != 1 || !strings.Contains(string(out), "exit status 7") {
		t.Errorf("ok=%d failed=%d, console:\n%s", ok, failed, out)
	}
}

// TestHaltDrainsFirst: the console is drained before the reboot or power-off,
// for both actions (a kernel message used to cut kjump-init's last line).
func TestHaltDrainsFirst(t *testing.T) {
	var calls []string
	defer func(r func(int) error, d func(*os.File)) { reboot, drainConsole = r, d }(reboot, drainConsole)
	reboot = func(cmd int) error { calls = append(calls, fmt.Sprintf("reboot %#x", cmd)); return nil }
	drainConsole = func(*os.File) { calls = append(calls, "drain") }
	for _, tc := range []struct {
		a    Action
		want string
	}{
		{PowerOff, fmt.Sprintf("drain reboot %#x", unix.LINUX_REBOOT_CMD_POWER_OFF)},
		{Reboot, fmt.Sprintf("drain reboot %#x", unix.LINUX_REBOOT_CMD_RESTART)},
	} {
		calls = nil
		Halt(os.Stdout, tc.a)
		if got := strings.Join(calls, " "); got != tc.want {
			t.Errorf("Halt(%v): %s, want %s", tc.a, got, tc.want)
		}
	}
}
