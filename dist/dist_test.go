package dist

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The shell scripts in this directory, relative to it.
var scripts = []string{
	"initramfs-tools/hooks/kjump",
	"initramfs-tools/scripts/local-premount/kjump",
	"grub.d/42_kjump-resume",
	"systemd/kjump-sleep",
}

const (
	premountScript = "initramfs-tools/scripts/local-premount/kjump"
	hookScript     = "initramfs-tools/hooks/kjump"
	grubScript     = "grub.d/42_kjump-resume"
	sleepScript    = "systemd/kjump-sleep"
)

func TestScriptsExecutable(t *testing.T) {
	for _, s := range scripts {
		fi, err := os.Stat(s)
		if err != nil {
			t.Fatal(err)
		}
		// initramfs-tools, grub-mkconfig and systemd run these directly.
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s: mode %v, want executable", s, fi.Mode())
		}
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("#!/bin/sh\n")) && !bytes.HasPrefix(b, []byte("#! /bin/sh\n")) {
			t.Errorf("%s: does not start with #!/bin/sh", s)
		}
	}
}

func TestShellSyntax(t *testing.T) {
	for _, s := range scripts {
		if out, err := exec.Command("sh", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
	}
}

func TestShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install shellcheck)")
	}
	for _, s := range scripts {
		if out, err := exec.Command("shellcheck", "-s", "sh", s).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", s, err, out)
		}
	}
}

// write writes a file, creating its directory.
func write(path, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), mode)
}

// writeFile is write or fail the test.
func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := write(path, content, mode); err != nil {
		t.Fatal(err)
	}
}

// lines returns a file's lines, nil if it does not exist.
func lines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return []string{}, nil
	}
	return strings.Split(s, "\n"), nil
}

// readLines is lines or fail the test.
func readLines(t testing.TB, path string) []string {
	t.Helper()
	l, err := lines(path)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// status runs cmd and returns its exit status; err only when it did not run.
func status(cmd *exec.Cmd) (int, error) {
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.ExitCode(), nil
	default:
		return -1, fmt.Errorf("%s: %w", cmd.Path, err)
	}
}

// exitCode is status or fail the test.
func exitCode(t testing.TB, cmd *exec.Cmd) int {
	t.Helper()
	code, err := status(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// premountEnv is a fake initramfs for scripts/local-premount/kjump: a
// cmdline file, a "functions" with stub log_warning_msg, wait_for_udev and
// resolve_device (a device exists when it is listed in the devices file), a
// fake kjump that records its arguments and exits 1 after printing a reason,
// and a fake sleep that records and returns at once.
type premountEnv struct {
	dir     string
	script  string
	devices []string // device names resolve_device finds
	kjumpRC string   // the fake kjump's exit status
	noKjump bool     // no kjump on PATH
	// functions replaces the stub functions file's content when set.
	functions string
	// extraEnv is added to the script's environment.
	extraEnv []string
}

const stubFunctions = `# stub initramfs-tools functions for the test
log_warning_msg() { printf '%s\n' "$*" >>"$KJUMP_TEST_DIR/warnings"; }
log_begin_msg() { :; }
log_end_msg() { :; }
wait_for_udev() { printf 'wait_for_udev %s\n' "$*" >>"$KJUMP_TEST_DIR/calls"; }
resolve_device() {
	DEV="$1"
	while IFS= read -r kjump_test_dev; do
		if [ "$kjump_test_dev" = "$DEV" ]; then
			echo "$DEV"
			return 0
		fi
	done <"$KJUMP_TEST_DIR/devices"
	return 1
}
`

// The fake kjump: one argument a line into kjump.args, a refusal on stderr.
const fakeKjump = `#!/bin/sh
printf '%s\n' "$@" >"$KJUMP_TEST_DIR/kjump.args"
echo "resume: checking the image"
echo "kjump resume: no kjump image on $3; not resuming, boot on normally" >&2
exit "${KJUMP_TEST_RC:-1}"
`

const fakeSleep = `#!/bin/sh
printf 'sleep %s\n' "$*" >>"$KJUMP_TEST_DIR/calls"
`

type premountResult struct {
	exit     int
	args     []string // kjump's arguments; nil when kjump did not run
	warnings []string
	calls    []string
	stdout   string
	log      string // /run/initramfs/kjump-resume.log
}

// run runs the script with cmdline as /proc/cmdline, in e.dir (a new
// temporary directory when empty).
func (e *premountEnv) run(t testing.TB, cmdline string) premountResult {
	t.Helper()
	if e.dir == "" {
		e.dir = t.TempDir()
	}
	r, err := e.invoke(cmdline)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// invoke is run without a testing.TB (for the example).
func (e *premountEnv) invoke(cmdline string) (premountResult, error) {
	dir := e.dir
	for _, f := range []string{"kjump.args", "warnings", "calls", "log"} {
		os.Remove(filepath.Join(dir, f))
	}
	fn := e.functions
	if fn == "" {
		fn = stubFunctions
	}
	bin := filepath.Join(dir, "bin")
	files := []struct {
		path, content string
		mode          os.FileMode
	}{
		{filepath.Join(dir, "cmdline"), cmdline + "\n", 0o644},
		{filepath.Join(dir, "devices"), strings.Join(e.devices, "\n") + "\n", 0o644},
		{filepath.Join(dir, "scripts", "functions"), fn, 0o644},
		{filepath.Join(bin, "sleep"), fakeSleep, 0o755},
	}
	if e.noKjump {
		os.Remove(filepath.Join(bin, "kjump"))
	} else {
		files = append(files, struct {
			path, content string
			mode          os.FileMode
		}{filepath.Join(bin, "kjump"), fakeKjump, 0o755})
	}
	for _, f := range files {
		if err := write(f.path, f.content, f.mode); err != nil {
			return premountResult{}, err
		}
	}

	script := e.script
	if script == "" {
		script = premountScript
	}
	abs, err := filepath.Abs(script)
	if err != nil {
		return premountResult{}, err
	}
	var stdout bytes.Buffer
	cmd := exec.Command("sh", abs)
	cmd.Dir = dir
	cmd.Stdout = &stdout
	cmd.Stderr = &stdout
	cmd.Env = append([]string{
		"PATH=" + bin + ":/usr/bin:/bin",
		"KJUMP_TEST_DIR=" + dir,
		"KJUMP_TEST_RC=" + orDefault(e.kjumpRC, "1"),
		"KJUMP_CMDLINE=" + filepath.Join(dir, "cmdline"),
		"KJUMP_SCRIPTS=" + filepath.Join(dir, "scripts"),
		"KJUMP_LOG=" + filepath.Join(dir, "log"),
	}, e.extraEnv...)
	var r premountResult
	if r.exit, err = status(cmd); err != nil {
		return r, err
	}
	r.stdout = stdout.String()
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"kjump.args", &r.args}, {"warnings", &r.warnings}, {"calls", &r.calls}} {
		if *l.dst, err = lines(filepath.Join(dir, l.name)); err != nil {
			return r, err
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "log")); err == nil {
		r.log = string(b)
	}
	return r, nil
}

// currentUmask returns the process's umask (the hook's children inherit it).
func currentUmask() int {
	um := syscall.Umask(0o022)
	syscall.Umask(um)
	return um
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestLocalPremount(t *testing.T) {
	tests := []struct {
		name     string
		cmdline  string
		devices  []string
		rc       string
		noKjump  bool
		env      []string
		files    []string // created in the script's working directory
		wantArgs []string // nil: kjump must not run
		wantWarn []string // substrings, one warning line each; nil: no warning at all
		wantCall []string // exact calls (wait_for_udev, sleep); nil: not checked
	}{
		{
			name:     "no kjump.resume",
			cmdline:  "BOOT_IMAGE=/vmlinuz-6.12 root=/dev/vda1 ro quiet resume=/dev/vda2",
			devices:  []string{"/dev/vdb"},
			wantCall: []string{},
		},
		{
			name:     "device and key",
			cmdline:  "root=/dev/vda1 ro kjump.resume=/dev/vdb kjump.resume_key=/etc/kjump.key",
			devices:  []string{"/dev/vdb"},
			wantArgs: []string{"resume", "--from", "/dev/vdb", "--key-file", "/etc/kjump.key"},
			wantWarn: []string{"kjump: not resumed from /dev/vdb (kjump exit 1): kjump resume: no kjump image on /dev/vdb; not resuming, boot on normally; booting normally"},
			wantCall: []string{"wait_for_udev 10"},
		},
		{
			name:     "device only",
			cmdline:  "kjump.resume=/dev/vdb",
			devices:  []string{"/dev/vdb"},
			wantArgs: []string{"resume", "--from", "/dev/vdb"},
			wantWarn: []string{"not resumed from /dev/vdb"},
		},
		{
			name:     "passphrase file",
			cmdline:  "kjump.resume=/dev/vdb kjump.resume_passphrase=/etc/kjump/pass",
			devices:  []string{"/dev/vdb"},
			wantArgs: []string{"resume", "--from", "/dev/vdb", "--passphrase-file", "/etc/kjump/pass"},
			wantWarn: []string{"not resumed"},
		},
		{
			name:     "image in a file: offset",
			cmdline:  "kjump.resume=/dev/sda2 kjump.resume_offset=0x3a40000 kjump.resume_key=/etc/kjump.key",
			devices:  []string{"/dev/sda2"},
			wantArgs: []string{"resume", "--from", "/dev/sda2", "--offset", "0x3a40000", "--key-file", "/etc/kjump.key"},
			wantWarn: []string{"not resumed from /dev/sda2"},
		},
		{
			name:     "decimal offset",
			cmdline:  "kjump.resume=/dev/sda2 kjump.resume_offset=61079552",
			devices:  []string{"/dev/sda2"},
			wantArgs: []string{"resume", "--from", "/dev/sda2", "--offset", "61079552"},
			wantWarn: []string{"not resumed"},
		},
		{
			name:     "bad offset",
			cmdline:  "kjump.resume=/dev/sda2 kjump.resume_offset=0x3g",
			devices:  []string{"/dev/sda2"},
			wantWarn: []string{"kjump.resume_offset=0x3g is not a decimal or 0x hex byte offset"},
		},
		{
			name:     "wait too long",
			cmdline:  "kjump.resume=/dev/vdb kjump.resume_wait=99999",
			devices:  []string{"/dev/vdb"},
			wantArgs: []string{"resume", "--from", "/dev/vdb"},
			wantWarn: []string{"below 10000; waiting 10", "not resumed"},
		},
		{
			name:     "quoted values",
			cmdline:  `kjump.resume="/dev/vdb" kjump.resume_key="/etc/kjump.key"`,
			devices:  []string{"/dev/vdb"},
			wantArgs: []string{"resume", "--from", "/dev/vdb", "--key-file", "/etc/kjump.key"},
			wantWarn: []string{"not resumed"},
		},
		{
			name:     "PARTUUID form goes through resolve_device",
			cmdline:  "kjump.resume=PARTUUID=0a1b2c3d-02",
			devices:  []string{"PARTUUID=0a1b2c3d-02"},
			wantArgs: []string{"resume", "--from", "PARTUUID=0a1b2c3d-02"},
			wantWarn: []string{"not resumed"},
		},
		{
			name:     "last kjump.resume wins",
			cmdline:  "kjump.resume=/dev/vdc kjump.resume=/dev/vdb",
			devices:  []string{"/dev/vdb"},
			wantArgs: []string{"resume", "--from", "/dev/vdb"},
			wantWarn: []string{"not resumed"},
		},
		{
			name:     "no pathname expansion",
			cmdline:  "kjump.resume=/* kjump.resume_key=/*",
			devices:  []string{"/*"},
			wantArgs: []string{"resume", "--from", "/*", "--key-file", "/*"},
			wantWarn: []string{"not resumed"},
		},
		{
			// The script runs in a directory holding a file that the
			// word would match as a pattern.
			name:     "no pathname expansion against the working directory",
			cmdline:  "kjump.resume=PARTUUID=evi?",
			files:    []string{"kjump.resume=PARTUUID=evil"},
			devices:  []string{"PARTUUID=evi?", "PARTUUID=evil"},
			wantArgs: []string{"resume", "--from", "PARTUUID=evi?"},
			wantWarn: []string{"not resumed"},
		},
		{
			name:     "kjump returns 0 without resuming",
			cmdline:  "kjump.resume=/dev/vdb",
			devices:  []string{"/dev/vdb"},
			rc:       "0",
			wantArgs: []string{"resume", "--from", "/dev/vdb"},
			wantWarn: []string{"(kjump exit 0)"},
		},
		{
			name:     "device never appears",
			cmdline:  "kjump.resume=/dev/vdc kjump.resume_wait=3",
			devices:  []string{"/dev/vdb"},
			wantWarn: []string{"kjump: resume device /dev/vdc did not appear within 3s; not resuming"},
			wantCall: []string{"wait_for_udev 10", "sleep 1", "sleep 1", "sleep 1"},
		},
		{
			name:     "wait 0",
			cmdline:  "kjump.resume=/dev/vdc kjump.resume_wait=0",
			wantWarn: []string{"did not appear within 0s"},
			wantCall: []string{"wait_for_udev 10"},
		},
		{
			name:     "bad wait falls back to 10s",
			cmdline:  "kjump.resume=/dev/vdb kjump.resume_wait=1x",
			devices:  []string{"/dev/vdb"},
			wantArgs: []string{"resume", "--from", "/dev/vdb"},
			wantWarn: []string{"kjump.resume_wait=1x is not a number", "not resumed"},
		},
		{
			name:     "noresume",
			cmdline:  "kjump.resume=/dev/vdb noresume",
			devices:  []string{"/dev/vdb"},
			wantWarn: []string{"noresume given"},
		},
		{
			name:     "kjump.noresume",
			cmdline:  "kjump.noresume kjump.resume=/dev/vdb",
			devices:  []string{"/dev/vdb"},
			wantWarn: []string{"noresume given"},
		},
		{
			name:     "noresume exported by init",
			cmdline:  "kjump.resume=/dev/vdb",
			devices:  []string{"/dev/vdb"},
			env:      []string{"noresume=y"},
			wantWarn: []string{"noresume given"},
		},
		{
			name:    "after -- belongs to init",
			cmdline: "root=/dev/vda1 -- kjump.resume=/dev/vdb",
			devices: []string{"/dev/vdb"},
		},
		{
			name:     "device neither path nor NAME=",
			cmdline:  "kjump.resume=vdb",
			devices:  []string{"vdb"},
			wantWarn: []string{"kjump.resume=vdb is neither a path nor"},
		},
		{
			name:     "empty device",
			cmdline:  "kjump.resume= root=/dev/vda1",
			wantWarn: nil,
		},
		{
			name:     "relative key",
			cmdline:  "kjump.resume=/dev/vdb kjump.resume_key=etc/kjump.key",
			devices:  []string{"/dev/vdb"},
			wantWarn: []string{"must be absolute paths, not 'etc/kjump.key'"},
		},
		{
			name:     "unbalanced quote",
			cmdline:  `kjump.resume="/dev/disk/by-label/my disk"`,
			devices:  []string{"/dev/disk/by-label/my disk"},
			wantWarn: []string{"unbalanced quotes"},
		},
		{
			name:     "key and passphrase",
			cmdline:  "kjump.resume=/dev/vdb kjump.resume_key=/k kjump.resume_passphrase=/p",
			devices:  []string{"/dev/vdb"},
			wantWarn: []string{"both kjump.resume_key= and kjump.resume_passphrase="},
		},
		{
			name:     "kjump not in the initramfs",
			cmdline:  "kjump.resume=/dev/vdb",
			devices:  []string{"/dev/vdb"},
			noKjump:  true,
			wantWarn: []string{"kjump is not in this initramfs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noKjump {
				for _, d := range []string{"/usr/bin", "/bin"} {
					if _, err := os.Stat(filepath.Join(d, "kjump")); err == nil {
						t.Skipf("%s/kjump exists on this machine", d)
					}
				}
			}
			e := &premountEnv{dir: t.TempDir(), devices: tt.devices, kjumpRC: tt.rc, noKjump: tt.noKjump, extraEnv: tt.env}
			for _, f := range tt.files {
				writeFile(t, filepath.Join(e.dir, f), "", 0o644)
			}
			r := e.run(t, tt.cmdline)
			if r.exit != 0 {
				t.Errorf("exit status %d, want 0 (the boot must go on)\n%s", r.exit, r.stdout)
			}
			if !slices.Equal(r.args, tt.wantArgs) {
				t.Errorf("kjump args = %q, want %q", r.args, tt.wantArgs)
			}
			if len(r.warnings) != len(tt.wantWarn) {
				t.Errorf("warnings = %q, want one each containing %q", r.warnings, tt.wantWarn)
			} else {
				for i, w := range tt.wantWarn {
					if !strings.Contains(r.warnings[i], w) {
						t.Errorf("warning %d = %q, want it to contain %q", i, r.warnings[i], w)
					}
				}
			}
			if tt.wantCall != nil && !slices.Equal(r.calls, tt.wantCall) {
				t.Errorf("calls = %q, want %q", r.calls, tt.wantCall)
			}
			if tt.wantArgs != nil {
				// kjump's output reaches the console and the log.
				if !strings.Contains(r.stdout, "kjump resume: no kjump image") {
					t.Errorf("kjump's refusal not on the console: %q", r.stdout)
				}
				if !strings.Contains(r.log, "resume: checking the image\n") || !strings.Contains(r.log, "kjump resume: no kjump image") {
					t.Errorf("log = %q, want kjump's stdout and stderr", r.log)
				}
			} else if r.log != "" {
				t.Errorf("log written although kjump did not run: %q", r.log)
			}
		})
	}
}

func TestLocalPremountPrereqs(t *testing.T) {
	out, err := exec.Command("sh", premountScript, "prereqs").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("prereqs = %q, want none", out)
	}
}

// TestLocalPremountRealFunctions runs the script with initramfs-tools' own
// scripts/functions and scripts/local: the real resolve_device (through a fake
// blkid), wait_for_udev (through a fake udevadm) and log_warning_msg.
func TestLocalPremountRealFunctions(t *testing.T) {
	const real = "/usr/share/initramfs-tools/scripts"
	fn, err := os.ReadFile(filepath.Join(real, "functions"))
	if err != nil {
		t.Skipf("initramfs-tools is not installed: %v", err)
	}
	local, err := os.ReadFile(filepath.Join(real, "local"))
	if err != nil {
		t.Skipf("initramfs-tools is not installed: %v", err)
	}
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev", "vdb2")
	writeFile(t, dev, "", 0o644)
	writeFile(t, filepath.Join(dir, "scripts", "local"), string(local), 0o644)
	writeFile(t, filepath.Join(dir, "bin", "blkid"), `#!/bin/sh
# blkid -l -t NAME=VALUE -o device
[ "$3" = PARTUUID=0a1b2c3d-02 ] && echo "`+dev+`" && exit 0
exit 2
`, 0o755)
	writeFile(t, filepath.Join(dir, "bin", "udevadm"), "#!/bin/sh\nprintf 'udevadm %s\\n' \"$*\" >>\"$KJUMP_TEST_DIR/calls\"\n", 0o755)
	e := &premountEnv{dir: dir, functions: string(fn), extraEnv: []string{"quiet=n"}}

	r := e.run(t, "root=/dev/vda1 kjump.resume=PARTUUID=0a1b2c3d-02 kjump.resume_key=/etc/kjump.key")
	if r.exit != 0 {
		t.Errorf("exit status %d\n%s", r.exit, r.stdout)
	}
	if want := []string{"resume", "--from", dev, "--key-file", "/etc/kjump.key"}; !slices.Equal(r.args, want) {
		t.Errorf("kjump args = %q, want %q\n%s", r.args, want, r.stdout)
	}
	if want := []string{"udevadm settle --timeout=10"}; !slices.Equal(r.calls, want) {
		t.Errorf("calls = %q, want %q", r.calls, want)
	}
	if !strings.Contains(r.stdout, "Warning: kjump: not resumed from "+dev+" (kjump exit 1): kjump resume: no kjump image") {
		t.Errorf("no log_warning_msg output:\n%s", r.stdout)
	}

	// A device that never appears: bounded wait, local_block from
	// scripts/local runs (no local-block scripts here), the boot goes on.
	r = e.run(t, "kjump.resume=PARTUUID=ffffffff-01 kjump.resume_wait=2")
	if r.exit != 0 || r.args != nil {
		t.Errorf("exit %d, kjump args %q; want 0 and no kjump\n%s", r.exit, r.args, r.stdout)
	}
	if want := []string{"udevadm settle --timeout=10", "sleep 1", "sleep 1"}; !slices.Equal(r.calls, want) {
		t.Errorf("calls = %q, want %q", r.calls, want)
	}
	if !strings.Contains(r.stdout, "Warning: kjump: resume device PARTUUID=ffffffff-01 did not appear within 2s") {
		t.Errorf("no warning:\n%s", r.stdout)
	}
}

func TestHook(t *testing.T) {
	if _, err := os.Stat("/usr/share/initramfs-tools/hook-functions"); err != nil {
		t.Skipf("initramfs-tools is not installed: %v", err)
	}
	hook, err := filepath.Abs(hookScript)
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, conf string, env ...string) (destdir string, stderr string, exit int) {
		dir := t.TempDir()
		destdir = filepath.Join(dir, "initramfs")
		if err := os.Mkdir(destdir, 0o755); err != nil {
			t.Fatal(err)
		}
		confPath := filepath.Join(dir, "resume.conf")
		writeFile(t, confPath, conf, 0o644)
		var out bytes.Buffer
		var args []string
		for _, e := range env {
			if !strings.Contains(e, "=") {
				args = append(args, e)
			}
		}
		cmd := exec.Command("sh", append([]string{hook}, args...)...)
		cmd.Stdout = &out
		cmd.Stderr = &out
		// What mkinitramfs exports to hooks.
		cmd.Env = []string{"PATH=/usr/bin:/sbin:/bin", "DESTDIR=" + destdir, "verbose=n", "KJUMP_CONF=" + confPath}
		for _, e := range env {
			if strings.Contains(e, "=") {
				cmd.Env = append(cmd.Env, e)
			}
		}
		exit = exitCode(t, cmd)
		return destdir, out.String(), exit
	}

	t.Run("kjump and key", func(t *testing.T) {
		src := t.TempDir()
		bin := filepath.Join(src, "kjump")
		writeFile(t, bin, "#!/bin/sh\necho fake kjump\n", 0o755)
		key := filepath.Join(src, "etc", "kjump.key")
		writeFile(t, key, strings.Repeat("k", 32), 0o600)
		destdir, stderr, exit := run(t, "KJUMP_BIN="+bin+"\nKJUMP_KEY_FILE="+key+"\n")
		if exit != 0 {
			t.Fatalf("exit status %d\n%s", exit, stderr)
		}
		got, err := os.ReadFile(filepath.Join(destdir, "usr/sbin/kjump"))
		if err != nil {
			t.Fatalf("kjump not copied: %v\n%s", err, stderr)
		}
		if string(got) != "#!/bin/sh\necho fake kjump\n" {
			t.Errorf("copied kjump = %q", got)
		}
		if fi, err := os.Stat(filepath.Join(destdir, "usr/sbin/kjump")); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("copied kjump not executable: %v %v", fi.Mode(), err)
		}
		if got, err := os.ReadFile(filepath.Join(destdir, key)); err != nil || string(got) != strings.Repeat("k", 32) {
			t.Errorf("key not copied to the same path: %q, %v", got, err)
		}
		// The test's umask is not 077 unless someone set it so.
		if um := currentUmask(); um&0o077 != 0 && !strings.Contains(stderr, "UMASK=0077") {
			t.Errorf("no UMASK warning under umask %#o:\n%s", um, stderr)
		}
	})
	t.Run("kernel config", func(t *testing.T) {
		src := t.TempDir()
		bin := filepath.Join(src, "kjump")
		writeFile(t, bin, "#!/bin/sh\n", 0o755)
		boot := filepath.Join(src, "boot")
		writeFile(t, filepath.Join(boot, "config-6.12.118"), "CONFIG_KEXEC_JUMP=y\n", 0o644)
		destdir, stderr, exit := run(t, "KJUMP_BIN="+bin+"\n", "KJUMP_BOOT="+boot, "version=6.12.118")
		if exit != 0 {
			t.Fatalf("exit status %d\n%s", exit, stderr)
		}
		if got, err := os.ReadFile(filepath.Join(destdir, "boot/config-6.12.118")); err != nil || string(got) != "CONFIG_KEXEC_JUMP=y\n" {
			t.Errorf("config not copied to /boot/config-6.12.118: %q, %v\n%s", got, err, stderr)
		}
		destdir, stderr, exit = run(t, "KJUMP_BIN="+bin+"\n", "KJUMP_BOOT="+boot, "version=6.12.999")
		if exit != 0 || !strings.Contains(stderr, "W: kjump: "+boot+"/config-6.12.999 does not exist") {
			t.Errorf("no config: exit %d, want a warning:\n%s", exit, stderr)
		}
	})
	t.Run("missing key is a warning", func(t *testing.T) {
		src := t.TempDir()
		bin := filepath.Join(src, "kjump")
		writeFile(t, bin, "#!/bin/sh\n", 0o755)
		destdir, stderr, exit := run(t, "KJUMP_BIN="+bin+"\nKJUMP_KEY_FILE=/nonexistent/kjump.key\n")
		if exit != 0 {
			t.Fatalf("exit status %d\n%s", exit, stderr)
		}
		if _, err := os.Stat(filepath.Join(destdir, "usr/sbin/kjump")); err != nil {
			t.Errorf("kjump not copied: %v", err)
		}
		if !strings.Contains(stderr, "W: kjump: /nonexistent/kjump.key") {
			t.Errorf("no warning about the key:\n%s", stderr)
		}
	})
	t.Run("no kjump anywhere", func(t *testing.T) {
		for _, p := range []string{"/usr/sbin/kjump", "/usr/local/sbin/kjump", "/usr/bin/kjump", "/usr/local/bin/kjump", "/sbin/kjump", "/bin/kjump"} {
			if _, err := os.Stat(p); err == nil {
				t.Skipf("%s exists on this machine", p)
			}
		}
		destdir, stderr, exit := run(t, "")
		if exit != 0 {
			t.Fatalf("exit status %d (must not break update-initramfs)\n%s", exit, stderr)
		}
		if !strings.Contains(stderr, "W: kjump: no kjump executable found") {
			t.Errorf("no warning:\n%s", stderr)
		}
		if _, err := os.Stat(filepath.Join(destdir, "usr/sbin/kjump")); err == nil {
			t.Error("something was copied as usr/sbin/kjump")
		}
	})
	t.Run("prereqs", func(t *testing.T) {
		_, out, exit := run(t, "", "prereqs")
		if exit != 0 || strings.TrimSpace(out) != "" {
			t.Errorf("prereqs: exit %d, output %q", exit, out)
		}
	})
}

// grubLib returns the directory holding GRUB's grub-mkconfig_lib, or skips.
func grubLib(t *testing.T) string {
	for _, d := range []string{"/usr/share/grub", "/usr/lib/grub"} {
		if _, err := os.Stat(filepath.Join(d, "grub-mkconfig_lib")); err == nil {
			return d
		}
	}
	t.Skip("GRUB's grub-mkconfig_lib is not installed (apt-get install grub-common)")
	return ""
}

// grubEnv is what grub-mkconfig exports to its /etc/grub.d scripts, with
// fake grub-probe and grub-mkrelpath, and a fake /boot.
type grubEnv struct {
	dir  string
	boot string
	conf string
	env  []string
}

func newGrubEnv(t *testing.T) *grubEnv {
	lib := grubLib(t)
	dir := t.TempDir()
	g := &grubEnv{dir: dir, boot: filepath.Join(dir, "boot"), conf: filepath.Join(dir, "resume.conf")}
	writeFile(t, filepath.Join(dir, "bin", "grub-probe"), `#!/bin/sh
for a; do case $a in --target=*) t=${a#--target=} ;; esac; done
case $t in
partmap) echo gpt ;;
abstraction) ;;
fs) echo ext2 ;;
compatibility_hint) echo hd0,gpt2 ;;
fs_uuid) echo 0123-abcd ;;
hints_string) echo --hint-bios=hd0,gpt2 ;;
*) exit 1 ;;
esac
`, 0o755)
	writeFile(t, filepath.Join(dir, "bin", "grub-mkrelpath"), `#!/bin/sh
case $1 in */boot) echo /boot ;; *) echo "$1" ;; esac
`, 0o755)
	g.env = []string{
		"PATH=/usr/bin:/bin:/usr/sbin:/sbin",
		"pkgdatadir=" + lib,
		"grub_probe=" + filepath.Join(dir, "bin", "grub-probe"),
		"grub_mkrelpath=" + filepath.Join(dir, "bin", "grub-mkrelpath"),
		"KJUMP_CONF=" + g.conf,
		"KJUMP_BOOT_DIR=" + g.boot,
		"GRUB_DEVICE=/dev/nvme0n1p2",
		"GRUB_DEVICE_BOOT=/dev/nvme0n1p2",
		"GRUB_DEVICE_UUID=0123-abcd",
		"GRUB_DISTRIBUTOR=Debian",
	}
	return g
}

// kernel installs a fake kernel with a config (kexecJump: CONFIG_KEXEC_JUMP=y)
// and, if initrd, an initramfs.
func (g *grubEnv) kernel(t *testing.T, version string, kexecJump, initrd bool) {
	writeFile(t, filepath.Join(g.boot, "vmlinuz-"+version), "bzImage", 0o644)
	cfg := "# CONFIG_KEXEC_JUMP is not set\nCONFIG_PHYSICAL_START=0x1000000\n"
	if kexecJump {
		cfg = "CONFIG_KEXEC_JUMP=y\nCONFIG_PHYSICAL_START=0x1000000\n"
	}
	writeFile(t, filepath.Join(g.boot, "config-"+version), cfg, 0o644)
	if initrd {
		writeFile(t, filepath.Join(g.boot, "initrd.img-"+version), "cpio", 0o644)
	}
}

func (g *grubEnv) run(t *testing.T, extra ...string) (stdout, stderr string) {
	script, err := filepath.Abs(grubScript)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command("sh", script)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(slices.Clone(g.env), extra...)
	// grub-mkconfig runs with set -e: a failing helper breaks update-grub.
	if exit := exitCode(t, cmd); exit != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", exit, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// linuxLines returns the "linux" lines of a generated grub.cfg fragment.
func linuxLines(cfg string) []string {
	var out []string
	for _, l := range strings.Split(cfg, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "linux" {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func TestGrubEntry(t *testing.T) {
	g := newGrubEnv(t)
	g.kernel(t, "6.12.58-kjump", true, true)
	g.kernel(t, "6.1.0-28-amd64", false, true) // Debian's: no CONFIG_KEXEC_JUMP
	g.kernel(t, "6.12.0-noinitrd", true, false)
	writeFile(t, g.conf, "KJUMP_DEVICE=PARTLABEL=kjump-image\nKJUMP_REGION=240M@16M\nKJUMP_KEY_FILE=/etc/kjump/image.key\n", 0o644)
	// /etc/default/grub said GRUB_CMDLINE_LINUX_DEFAULT="quiet memmap=240M\\\$16M".
	cfg, stderr := g.run(t, `GRUB_CMDLINE_LINUX=console=ttyS0,115200 crashkernel=512M`, `GRUB_CMDLINE_LINUX_DEFAULT=quiet memmap=240M\$16M nokaslr`)

	for _, want := range []string{
		"submenu 'kjump: resume from hibernation' $menuentry_id_option 'kjump-resume' {",
		"menuentry 'Resume Debian GNU/Linux with Linux 6.12.58-kjump (kjump)' --class gnu-linux --class gnu --class os $menuentry_id_option 'kjump-resume-6.12.58-kjump' {",
		"search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt2 0123-abcd",
		"initrd\t/boot/initrd.img-6.12.58-kjump",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("output lacks %q:\n%s", want, cfg)
		}
	}
	lines := linuxLines(cfg)
	want := "linux\t/boot/vmlinuz-6.12.58-kjump root=/dev/nvme0n1p2 ro console=ttyS0,115200 quiet nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=PARTLABEL=kjump-image kjump.resume_key=/etc/kjump/image.key"
	if !slices.Equal(lines, []string{want}) {
		t.Errorf("linux lines =\n%q\nwant\n%q", lines, []string{want})
	}
	if !strings.Contains(cfg, "nokaslr memmap=exactmap") {
		t.Errorf("no 'nokaslr memmap=exactmap' in:\n%s", cfg)
	}
	for _, w := range []string{"skipping " + g.boot + "/vmlinuz-6.1.0-28-amd64: CONFIG_KEXEC_JUMP is not set", "skipping " + g.boot + "/vmlinuz-6.12.0-noinitrd: no initramfs"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if strings.Count(stderr, "Warning") != 1 {
		t.Errorf("want exactly the one warning about the kernel without initramfs:\n%s", stderr)
	}

	// GRUB itself must accept it.
	if _, err := exec.LookPath("grub-script-check"); err == nil {
		f := filepath.Join(g.dir, "out.cfg")
		writeFile(t, f, cfg, 0o644)
		if out, err := exec.Command("grub-script-check", f).CombinedOutput(); err != nil {
			t.Errorf("grub-script-check: %v\n%s\n%s", err, out, cfg)
		}
	}
}

func TestGrubEntryCases(t *testing.T) {
	tests := []struct {
		name      string
		conf      string // "" means no resume.conf
		env       []string
		relpath   string // grub-mkrelpath's answers (case arms), if not the default
		bootRel   string // /boot as GRUB sees it, if not /boot
		wantLinux string // the one linux line; "" means no output at all
		wantWarn  []string
	}{
		{
			name: "no resume.conf",
		},
		{
			name:     "no KJUMP_DEVICE",
			conf:     "KJUMP_REGION=240M@16M\n",
			wantWarn: []string{"KJUMP_DEVICE is not set"},
		},
		{
			name:     "unsafe device",
			conf:     "KJUMP_DEVICE='/dev/disk/by-label/my disk'\n",
			wantWarn: []string{"unsafe on a kernel command line"},
		},
		{
			name:     "relative key",
			conf:     "KJUMP_DEVICE=/dev/sdb2\nKJUMP_KEY_FILE=kjump.key\n",
			wantWarn: []string{"is not an absolute path"},
		},
		{
			name:     "bad region",
			conf:     "KJUMP_DEVICE=/dev/sdb2\nKJUMP_REGION=240M\n",
			wantWarn: []string{"is not SIZE@START"},
		},
		{
			name:     "region not in whole KiB",
			conf:     "KJUMP_DEVICE=/dev/sdb2\nKJUMP_REGION=1000@16M\n",
			wantWarn: []string{"in whole KiB"},
		},
		{
			name:      "unescaped dollar in /etc/default/grub",
			conf:      "KJUMP_DEVICE=/dev/sdb2\n",
			env:       []string{`GRUB_CMDLINE_LINUX_DEFAULT=quiet memmap=240M$16M`},
			wantLinux: "root=/dev/nvme0n1p2 ro quiet nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=/dev/sdb2",
			wantWarn:  []string{`GRUB expands '$' in grub.cfg`, "does not reserve KJUMP_REGION=240M@16M"},
		},
		{
			name:      "dollar expanded away by the shell",
			conf:      "KJUMP_DEVICE=/dev/sdb2\n",
			env:       []string{`GRUB_CMDLINE_LINUX_DEFAULT=memmap=240M6M`},
			wantLinux: "root=/dev/nvme0n1p2 ro nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=/dev/sdb2",
			wantWarn:  []string{"was a '$START' expanded away", "does not reserve"},
		},
		{
			name:      "crashkernel reservation, hex and K forms",
			conf:      "KJUMP_DEVICE=/dev/sdb2\nKJUMP_REGION=0xf000000@16384K\n",
			env:       []string{`GRUB_CMDLINE_LINUX=crashkernel=240M@16M`},
			wantLinux: "root=/dev/nvme0n1p2 ro nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=/dev/sdb2",
		},
		{
			name:      "other reservation size",
			conf:      "KJUMP_DEVICE=/dev/sdb2\n",
			env:       []string{`GRUB_CMDLINE_LINUX=memmap=256M\$16M`},
			wantLinux: "root=/dev/nvme0n1p2 ro nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=/dev/sdb2",
			wantWarn:  []string{"does not reserve KJUMP_REGION=240M@16M"},
		},
		{
			name:      "region not ending on 64 MiB",
			conf:      "KJUMP_DEVICE=/dev/sdb2\nKJUMP_REGION=256M@16M\nKJUMP_RESUME_CMDLINE=iomem=relaxed\n",
			env:       []string{`GRUB_CMDLINE_LINUX=memmap=256M\$16M`},
			wantLinux: "root=/dev/nvme0n1p2 ro nokaslr memmap=exactmap memmap=256K@128K memmap=262144K@16384K kjump.resume=/dev/sdb2 iomem=relaxed",
			wantWarn:  []string{"not on a 64 MiB boundary"},
		},
		{
			name:     "region not holding CONFIG_PHYSICAL_START",
			conf:     "KJUMP_DEVICE=/dev/sdb2\nKJUMP_REGION=192M@64M\n",
			env:      []string{`GRUB_CMDLINE_LINUX=memmap=192M\$64M`},
			wantWarn: []string{"outside KJUMP_REGION=192M@64M", "no kernel with CONFIG_KEXEC_JUMP=y"},
		},
		{
			name:      "image file offset",
			conf:      "KJUMP_DEVICE=PARTUUID=0a1b2c3d-02\nKJUMP_RESUME_OFFSET=0x3a40000\n",
			env:       []string{`GRUB_CMDLINE_LINUX=memmap=240M\$16M`},
			wantLinux: "root=/dev/nvme0n1p2 ro nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=PARTUUID=0a1b2c3d-02 kjump.resume_offset=0x3a40000",
		},
		{
			name:     "bad offset",
			conf:     "KJUMP_DEVICE=/dev/sda2\nKJUMP_RESUME_OFFSET=12k\n",
			wantWarn: []string{"KJUMP_RESUME_OFFSET='12k' is not a decimal or 0x hex byte offset"},
		},
		{
			name:      "init arguments stay after --",
			conf:      "KJUMP_DEVICE=PARTUUID=0a1b2c3d-02\nKJUMP_PASSPHRASE_FILE=/etc/kjump/pass\n",
			env:       []string{`GRUB_CMDLINE_LINUX=memmap=240M\$16M ro -- single`, "GRUB_CMDLINE_LINUX_DEFAULT=emergency"},
			wantLinux: "root=/dev/nvme0n1p2 ro ro nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=PARTUUID=0a1b2c3d-02 kjump.resume_passphrase=/etc/kjump/pass -- single emergency",
		},
		{
			name:      "contradicting parameters dropped",
			conf:      "KJUMP_DEVICE=/dev/sdb2\n",
			env:       []string{`GRUB_CMDLINE_LINUX=memmap=240M\$16M kaslr mem=8G hugepages=100 hugepagesz=2M default_hugepagesz=2M kjump.resume=/dev/old memmap=exactmap splash`},
			wantLinux: "root=/dev/nvme0n1p2 ro splash nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=/dev/sdb2",
		},
		{
			name:      "btrfs subvolume",
			conf:      "KJUMP_DEVICE=/dev/sdb2\n",
			env:       []string{`GRUB_CMDLINE_LINUX=memmap=240M\$16M`, "GRUB_FS=btrfs"},
			relpath:   "*/boot) echo /@rootfs/boot ;; /) echo /@rootfs ;;",
			bootRel:   "/@rootfs/boot",
			wantLinux: "root=/dev/nvme0n1p2 ro rootflags=subvol=@rootfs nokaslr memmap=exactmap memmap=256K@128K memmap=245760K@16384K kjump.resume=/dev/sdb2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGrubEnv(t)
			g.kernel(t, "6.12.58-kjump", true, true)
			if tt.conf != "" {
				writeFile(t, g.conf, tt.conf, 0o644)
			}
			if tt.relpath != "" {
				writeFile(t, filepath.Join(g.dir, "bin", "grub-mkrelpath"), "#!/bin/sh\ncase $1 in "+tt.relpath+" *) echo \"$1\" ;; esac\n", 0o755)
			}
			cfg, stderr := g.run(t, tt.env...)
			lines := linuxLines(cfg)
			if tt.wantLinux == "" {
				if cfg != "" {
					t.Errorf("output %q, want none", cfg)
				}
			} else {
				dir := orDefault(tt.bootRel, "/boot")
				if want := "linux\t" + dir + "/vmlinuz-6.12.58-kjump " + tt.wantLinux; !slices.Equal(lines, []string{want}) {
					t.Errorf("linux lines =\n%q\nwant\n%q", lines, want)
				}
			}
			if got := strings.Count(stderr, "Warning: kjump:"); got != len(tt.wantWarn) {
				t.Errorf("%d warnings, want %d:\n%s", got, len(tt.wantWarn), stderr)
			}
			for _, w := range tt.wantWarn {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// sleepEnv runs systemd/kjump-sleep with fake kjump, grub-reboot,
// grub-editenv and fsfreeze (all appending to one events file, so the order
// shows), a fake /proc/cmdline, /proc/iomem, grub.cfg and grubenv, and one
// system-sleep hook.
type sleepEnv struct {
	dir     string
	release string
}

func newSleepEnv(t *testing.T) *sleepEnv {
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Fatal(err)
	}
	s := &sleepEnv{dir: t.TempDir(), release: strings.TrimSpace(string(out))}
	bin := filepath.Join(s.dir, "bin")
	rec := func(name, extra string) {
		writeFile(t, filepath.Join(bin, name), "#!/bin/sh\nprintf '%s\\n' \""+name+" $*\" >>\"$KJUMP_TEST_DIR/events\"\n"+extra, 0o755)
	}
	rec("kjump", `exit "${KJUMP_TEST_RC:-0}"`+"\n")
	rec("grub-reboot", `exit "${KJUMP_TEST_GRUB_RC:-0}"`+"\n")
	rec("grub-editenv", "")
	// fsfreeze records its flag only, and complains of a mount point other
	// than grubenv's.
	writeFile(t, filepath.Join(bin, "fsfreeze"), `#!/bin/sh
printf 'fsfreeze %s\n' "$1" >>"$KJUMP_TEST_DIR/events"
[ "$2" = "$KJUMP_TEST_MOUNT" ] || printf 'fsfreeze: %s is not the mount point %s\n' "$2" "$KJUMP_TEST_MOUNT" >>"$KJUMP_TEST_DIR/events"
[ "$1" = --freeze ] && exit "${KJUMP_TEST_FREEZE_RC:-0}"
exit 0
`, 0o755)
	writeFile(t, filepath.Join(s.dir, "grubenv"), "# GRUB Environment Block\n", 0o644)
	writeFile(t, filepath.Join(s.dir, "hooks", "50-test"), "#!/bin/sh\nprintf 'hook %s %s %s\\n' \"$1\" \"$2\" \"$SYSTEMD_SLEEP_ACTION\" >>\"$KJUMP_TEST_DIR/events\"\n", 0o755)
	writeFile(t, filepath.Join(s.dir, "hooks", "README"), "not executable: skipped\n", 0o644)
	writeFile(t, filepath.Join(s.dir, "grub.cfg"), "submenu 'kjump: resume from hibernation' $menuentry_id_option 'kjump-resume' {\n\tmenuentry 'Resume' $menuentry_id_option 'kjump-resume-"+s.release+"' {\n\t}\n}\n", 0o644)
	writeFile(t, filepath.Join(s.dir, "iomem"), "00000000-00000fff : Reserved\n00001000-0009fbff : System RAM\n01000000-0fffffff : Reserved\n10000000-bffdffff : System RAM\n  3a000000-3b0031d0 : Kernel code\n  3b200000-3bbfffff : Kernel rodata\n", 0o644)
	writeFile(t, filepath.Join(s.dir, "resume.conf"), "KJUMP_DEVICE=/dev/vdb\nKJUMP_KEY_FILE=/etc/kjump.key\n", 0o644)
	return s
}

func (s *sleepEnv) run(t *testing.T, cmdline string, env []string, args ...string) (events []string, stderr string, exit int) {
	script, err := filepath.Abs(sleepScript)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(s.dir, "events"))
	writeFile(t, filepath.Join(s.dir, "cmdline"), cmdline+"\n", 0o644)
	mount, err := exec.Command("stat", "-c", "%m", filepath.Join(s.dir, "grubenv")).Output()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command("sh", append([]string{script}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append([]string{
		"PATH=" + filepath.Join(s.dir, "bin") + ":/usr/bin:/bin",
		"KJUMP_TEST_DIR=" + s.dir,
		"KJUMP_CONF=" + filepath.Join(s.dir, "resume.conf"),
		"KJUMP_CMDLINE=" + filepath.Join(s.dir, "cmdline"),
		"KJUMP_IOMEM=" + filepath.Join(s.dir, "iomem"),
		"KJUMP_GRUB_CFG=" + filepath.Join(s.dir, "grub.cfg"),
		"KJUMP_SLEEP_HOOKS=" + filepath.Join(s.dir, "hooks"),
		"KJUMP_GRUBENV=" + filepath.Join(s.dir, "grubenv"),
		"KJUMP_TEST_MOUNT=" + strings.TrimSpace(string(mount)),
	}, env...)
	exit = exitCode(t, cmd)
	return readLines(t, filepath.Join(s.dir, "events")), out.String(), exit
}

func TestKjumpSleep(t *testing.T) {
	const reserved = "BOOT_IMAGE=/vmlinuz root=UUID=0123 ro quiet memmap=240M$16M"
	hibernate := "kjump hibernate --to /dev/vdb --mem-min 16384K --mem-max 0xfffffff --mem-size 245760K --key-file /etc/kjump.key"
	tests := []struct {
		name       string
		cmdline    string
		conf       string // replaces resume.conf when set
		iomem      string // replaces the iomem file when set
		grubCfg    *string
		env        []string
		args       []string
		wantExit   int
		wantEvents func(release string) []string
		wantErr    string
	}{
		{
			name:    "hibernated and resumed",
			cmdline: reserved,
			wantEvents: func(r string) []string {
				return []string{"hook pre hibernate hibernate", "grub-reboot kjump-resume>kjump-resume-" + r, "fsfreeze --freeze", "fsfreeze --unfreeze", hibernate + " --resume-initrd /boot/initrd.img-" + r, "grub-editenv - unset next_entry", "hook post hibernate hibernate"}
			},
		},
		{
			name:     "kjump fails: one-shot entry cleared, status passed on",
			cmdline:  reserved,
			env:      []string{"KJUMP_TEST_RC=1"},
			wantExit: 1,
			wantEvents: func(r string) []string {
				return []string{"hook pre hibernate hibernate", "grub-reboot kjump-resume>kjump-resume-" + r, "fsfreeze --freeze", "fsfreeze --unfreeze", hibernate + " --resume-initrd /boot/initrd.img-" + r, "grub-editenv - unset next_entry", "hook post hibernate hibernate"}
			},
		},
		{
			name:     "grub-reboot fails: no hibernation",
			cmdline:  reserved,
			env:      []string{"KJUMP_TEST_GRUB_RC=1"},
			wantExit: 1,
			wantEvents: func(r string) []string {
				return []string{"hook pre hibernate hibernate", "grub-reboot kjump-resume>kjump-resume-" + r, "hook post hibernate hibernate"}
			},
			wantErr: "grub-reboot 'kjump-resume>kjump-resume-",
		},
		{
			name:     "fsfreeze fails: one-shot entry cleared, no hibernation",
			cmdline:  reserved,
			env:      []string{"KJUMP_TEST_FREEZE_RC=1"},
			wantExit: 1,
			wantEvents: func(r string) []string {
				return []string{"hook pre hibernate hibernate", "grub-reboot kjump-resume>kjump-resume-" + r, "fsfreeze --freeze", "grub-editenv - unset next_entry", "hook post hibernate hibernate"}
			},
			wantErr: "GRUB, which reads the filesystem without its journal, might not see the resume entry",
		},
		{
			name:    "crashkernel reservation in hex",
			cmdline: "ro crashkernel=240M@0x1000000",
			wantEvents: func(r string) []string {
				return []string{"hook pre hibernate hibernate", "grub-reboot kjump-resume>kjump-resume-" + r, "fsfreeze --freeze", "fsfreeze --unfreeze", hibernate + " --resume-initrd /boot/initrd.img-" + r, "grub-editenv - unset next_entry", "hook post hibernate hibernate"}
			},
		},
		{
			name:    "no boot loader, passphrase, extra flags",
			cmdline: reserved,
			conf:    "KJUMP_DEVICE=/dev/vdb\nKJUMP_PASSPHRASE_FILE=/etc/kjump/pass\nKJUMP_BOOTLOADER=none\nKJUMP_HIBERNATE_ARGS='--then reboot'\n",
			wantEvents: func(string) []string {
				return []string{"hook pre hibernate hibernate", "kjump hibernate --to /dev/vdb --mem-min 16384K --mem-max 0xfffffff --mem-size 245760K --passphrase-file /etc/kjump/pass --then reboot", "hook post hibernate hibernate"}
			},
		},
		{
			name:    "image file",
			cmdline: reserved,
			conf:    "KJUMP_DEVICE=/dev/sda2\nKJUMP_FILE=/var/lib/kjump/image\nKJUMP_RESUME_OFFSET=0x3a40000\nKJUMP_HIBERNATE_ARGS='--size 8G'\n",
			wantEvents: func(r string) []string {
				return []string{"hook pre hibernate hibernate", "grub-reboot kjump-resume>kjump-resume-" + r, "fsfreeze --freeze", "fsfreeze --unfreeze",
					"kjump hibernate --to /var/lib/kjump/image --mem-min 16384K --mem-max 0xfffffff --mem-size 245760K --resume-initrd /boot/initrd.img-" + r + " --size 8G",
					"grub-editenv - unset next_entry", "hook post hibernate hibernate"}
			},
		},
		{
			name:       "image file without its offset",
			cmdline:    reserved,
			conf:       "KJUMP_DEVICE=/dev/sda2\nKJUMP_FILE=/var/lib/kjump/image\n",
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    "KJUMP_FILE=/var/lib/kjump/image needs KJUMP_RESUME_OFFSET",
		},
		{
			name:       "region not reserved",
			cmdline:    "ro quiet",
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    `does not reserve KJUMP_REGION=240M@16M: boot it with memmap=240M$16M (in /etc/default/grub: GRUB_CMDLINE_LINUX_DEFAULT="... memmap=240M\\\$16M"`,
		},
		{
			name:       "reserved elsewhere",
			cmdline:    "memmap=240M$32M",
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    "does not reserve",
		},
		{
			name:       "reservation after -- is init's",
			cmdline:    "ro -- memmap=240M$16M",
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    "does not reserve",
		},
		{
			name:       "kernel code inside the region",
			cmdline:    reserved,
			iomem:      "01000000-0fffffff : Reserved\n  01000000-01c031d0 : Kernel code\n",
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    "the running kernel's code is at 01000000-01c031d0, inside KJUMP_REGION=240M@16M",
		},
		{
			name:    "zeros for non-root are no kernel code",
			cmdline: reserved,
			iomem:   "00000000-00000000 : Reserved\n  00000000-00000000 : Kernel code\n",
			wantEvents: func(r string) []string {
				return []string{"hook pre hibernate hibernate", "grub-reboot kjump-resume>kjump-resume-" + r, "fsfreeze --freeze", "fsfreeze --unfreeze", hibernate + " --resume-initrd /boot/initrd.img-" + r, "grub-editenv - unset next_entry", "hook post hibernate hibernate"}
			},
		},
		{
			name:       "no resume entry for this kernel",
			cmdline:    reserved,
			grubCfg:    new("menuentry 'Debian' {\n}\n"),
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    "has no resume entry for",
		},
		{
			name:       "no device",
			cmdline:    reserved,
			conf:       "KJUMP_DEVICE=\n",
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    "KJUMP_DEVICE is not set",
		},
		{
			name:       "not suspend",
			cmdline:    reserved,
			args:       []string{"suspend"},
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    "usage: kjump-sleep hibernate|hybrid-sleep|prepare",
		},
		{
			name:    "hybrid sleep",
			cmdline: reserved,
			args:    []string{"hybrid-sleep"},
			wantEvents: func(r string) []string {
				return []string{"hook pre hybrid-sleep hybrid-sleep", "grub-reboot kjump-resume>kjump-resume-" + r, "fsfreeze --freeze", "fsfreeze --unfreeze",
					"kjump hibernate --to /dev/vdb --mem-min 16384K --mem-max 0xfffffff --mem-size 245760K --then suspend --key-file /etc/kjump.key --resume-initrd /boot/initrd.img-" + r,
					"grub-editenv - unset next_entry", "hook post hybrid-sleep hybrid-sleep"}
			},
		},
		{
			name:    "prepare: park a writer in the region, no hooks, no boot entry",
			cmdline: reserved,
			args:    []string{"prepare"},
			wantEvents: func(string) []string {
				return []string{"kjump hibernate --prepare --mem-min 16384K --mem-max 0xfffffff --mem-size 245760K"}
			},
		},
		{
			name:       "prepare refuses an unreserved region",
			cmdline:    "ro quiet",
			args:       []string{"prepare"},
			wantExit:   1,
			wantEvents: func(string) []string { return nil },
			wantErr:    "does not reserve KJUMP_REGION",
		},
		{
			name:    "KJUMP_PARK=yes: a new writer is parked after the resume",
			cmdline: reserved,
			conf:    "KJUMP_DEVICE=/dev/vdb\nKJUMP_BOOTLOADER=none\nKJUMP_PARK=yes\n",
			wantEvents: func(string) []string {
				return []string{"hook pre hibernate hibernate", "kjump hibernate --to /dev/vdb --mem-min 16384K --mem-max 0xfffffff --mem-size 245760K",
					"hook post hibernate hibernate", "kjump hibernate --prepare --mem-min 16384K --mem-max 0xfffffff --mem-size 245760K"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSleepEnv(t)
			if tt.conf != "" {
				writeFile(t, filepath.Join(s.dir, "resume.conf"), tt.conf, 0o644)
			}
			if tt.iomem != "" {
				writeFile(t, filepath.Join(s.dir, "iomem"), tt.iomem, 0o644)
			}
			if tt.grubCfg != nil {
				writeFile(t, filepath.Join(s.dir, "grub.cfg"), *tt.grubCfg, 0o644)
			}
			args := tt.args
			if args == nil {
				args = []string{"hibernate"}
			}
			events, stderr, exit := s.run(t, tt.cmdline, tt.env, args...)
			if exit != tt.wantExit {
				t.Errorf("exit status %d, want %d\n%s", exit, tt.wantExit, stderr)
			}
			if want := tt.wantEvents(s.release); !slices.Equal(events, want) {
				t.Errorf("events =\n%q\nwant\n%q\n%s", events, want, stderr)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
		})
	}
}

// TestUnits checks the unit files and drop-ins with systemd-analyze verify.
// The only complaint allowed is that /usr/lib/kjump/kjump-sleep is not
// installed on this machine.
func TestUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	copyFile := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dst, string(b), 0o644)
	}
	units := []string{"kjump-hibernate.service", "kjump-resume-cleanup.service", "kjump-prepare.service"}
	// A refused resume must not leave the machine running in the confined
	// resume kernel: the cleanup reboots, after the journal is on disk.
	cleanup, err := os.ReadFile(filepath.Join("systemd", "kjump-resume-cleanup.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nExecStart=/bin/systemctl --no-block reboot\n", "systemd-journal-flush.service"} {
		if !strings.Contains(string(cleanup), want) {
			t.Errorf("kjump-resume-cleanup.service lacks %q", strings.TrimSpace(want))
		}
	}
	for _, u := range units {
		copyFile(filepath.Join("systemd", u), filepath.Join(dir, u))
	}
	// The drop-ins, next to the units they change.
	for _, u := range []string{"systemd-hibernate.service", "systemd-hybrid-sleep.service", "systemd-logind.service"} {
		orig := filepath.Join("/lib/systemd/system", u)
		if _, err := os.Stat(orig); err != nil {
			t.Logf("%s: %v; not verifying its drop-in", orig, err)
			continue
		}
		copyFile(orig, filepath.Join(dir, u))
		copyFile(filepath.Join("systemd", u+".d", "kjump.conf"), filepath.Join(dir, u+".d", "kjump.conf"))
		units = append(units, u)
	}
	const notInstalled = "Command /usr/lib/kjump/kjump-sleep is not executable"
	_, statErr := os.Stat("/usr/lib/kjump/kjump-sleep")
	for _, u := range units {
		cmd := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(dir, u))
		out, _ := cmd.CombinedOutput()
		// Where kjump-sleep is not installed, verify names the command the
		// unit would run: for systemd-hibernate.service that shows the
		// drop-in's empty ExecStart= dropped systemd-sleep.
		if statErr != nil && (u == "systemd-hibernate.service" || u == "systemd-hybrid-sleep.service" || u == "kjump-hibernate.service" || u == "kjump-prepare.service") && !strings.Contains(string(out), notInstalled) {
			t.Errorf("systemd-analyze verify %s does not run kjump-sleep:\n%s", u, out)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l == "" || strings.Contains(l, notInstalled) {
				continue
			}
			// Lines about units the verified one merely references (the real
			// systemd-logind.service's own dependencies) are not ours.
			if u == "systemd-logind.service" && !strings.Contains(l, "kjump") {
				continue
			}
			t.Errorf("systemd-analyze verify %s: %s", u, l)
		}
	}
}

// TestPremountNeedsNoBusybox: an initramfs built without busybox has only
// klibc-utils' commands, which lack rm and tee (the real machine's resume
// entry printed "rm: not found"). The local-premount script must not use them.
func TestPremountNeedsNoBusybox(t *testing.T) {
	b, err := os.ReadFile(premountScript)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		code, _, _ := strings.Cut(line, "#")
		for _, f := range strings.Fields(code) {
			if f == "rm" || f == "tee" || f == "mktemp" {
				t.Errorf("line %d uses %s, which an initramfs without busybox lacks: %s", i+1, f, strings.TrimSpace(line))
			}
		}
	}
}
