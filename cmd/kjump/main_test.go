package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kjump/kjump/lab"
)

// These tests run commands only as far as they go without a kexec syscall:
// help, version, doctor on a fake tree, and every way a command line can be
// refused. Load, exec, unload, call and back are covered by the lab scenarios.

func runKjump(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"-help"}} {
		code, out, errOut := runKjump(args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "  "+c.name) || !strings.Contains(out, c.summary) {
				t.Errorf("%v does not list %s: %s", args, c.name, out)
			}
		}
		if !strings.Contains(out, "kjump help COMMAND") {
			t.Errorf("%v does not say how to get a command's help", args)
		}
	}
}

func TestNoArguments(t *testing.T) {
	code, out, errOut := runKjump()
	if code != 2 || out != "" || !strings.Contains(errOut, "Usage: kjump COMMAND") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCommandHelp(t *testing.T) {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	for _, want := range []string{"back", "call", "doctor", "exec", "lab", "load", "unload", "version"} {
		if !slices.Contains(names, want) {
			t.Errorf("no command %q among %v", want, names)
		}
	}
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			if c.summary == "" || c.help == "" || c.setup == nil {
				t.Fatalf("command %s lacks a summary, help or setup", c.name)
			}
			code, out, errOut := runKjump("help", c.name)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, s := range []string{"usage: kjump " + c.name, "Example"} {
				if !strings.Contains(out, s) {
					t.Errorf("help does not contain %q:\n%s", s, out)
				}
			}
			fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
			c.setup(fs)
			fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(out, "-"+f.Name) {
					t.Errorf("help does not list flag -%s", f.Name)
				}
			})
			// -h after the command name prints the same help.
			code, outH, _ := runKjump(c.name, "-h")
			if code != 0 || outH != out {
				t.Errorf("%s -h: exit %d, output differs from 'help %s'", c.name, code, c.name)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"help", "frobnicate"}, {"-p", "bzImage"}} {
		code, out, errOut := runKjump(args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "no command") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runKjump("version")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	// go test does not stamp VCS information into the test binary.
	want := "kjump dev (commit unknown, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if out != want {
		t.Errorf("%q, want %q", out, want)
	}
}

// TestVersionLdflagsCommit: ./run builds with -ldflags "-X main.commit=…";
// version must print that commit.
func TestVersionLdflagsCommit(t *testing.T) {
	old := commit
	commit = "abc123def456"
	defer func() { commit = old }()
	_, out, _ := runKjump("version")
	if !strings.Contains(out, "commit abc123def456") {
		t.Errorf("%q does not show the commit set at build time", out)
	}
}

// writeTree writes files (path relative to the root → contents) under a new
// temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// debianLike is a machine whose kernel lacks CONFIG_KEXEC_JUMP, like Debian's.
func debianLike(t *testing.T) string {
	return writeTree(t, map[string]string{
		"proc/sys/kernel/osrelease":           "6.12.0-test\n",
		"boot/config-6.12.0-test":             "CONFIG_KEXEC=y\n# CONFIG_KEXEC_JUMP is not set\nCONFIG_HIBERNATION=y\nCONFIG_CRASH_DUMP=y\n",
		"proc/sys/kernel/kexec_load_disabled": "0\n",
		"proc/cmdline":                        "console=ttyS0\n",
		"proc/iomem":                          "00000000-00000fff : Reserved\n00100000-3ffdffff : System RAM\n  01000000-01ffffff : Kernel code\n",
	})
}

func TestDoctorFakeRoot(t *testing.T) {
	root := debianLike(t)
	code, out, errOut := runKjump("doctor", "--root", root)
	if code != 1 {
		t.Errorf("exit %d, want 1 (not ready)", code)
	}
	if errOut != "" {
		t.Errorf("stderr %q: the table says it all", errOut)
	}
	for _, s := range []string{"CONFIG_KEXEC_JUMP", "missing", "not ready"} {
		if !strings.Contains(out, s) {
			t.Errorf("output does not say %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, root) {
		t.Errorf("output shows the fake root's path %s:\n%s", root, out)
	}

	// Flags after the command's own flags, and --json.
	code, out, _ = runKjump("doctor", "--json", "--root", root)
	if code != 1 {
		t.Errorf("--json: exit %d, want 1", code)
	}
	var r struct {
		Ready  bool `json:"ready"`
		Checks []struct {
			Name, Status string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	found := false
	for _, c := range r.Checks {
		found = found || c.Name == "CONFIG_KEXEC_JUMP" && c.Status == "missing"
	}
	if r.Ready || !found {
		t.Errorf("--json: ready %v, CONFIG_KEXEC_JUMP missing %v", r.Ready, found)
	}
	// The help's example ("| jq .KEY") names a key the JSON has.
	_, help, _ := runKjump("help", "doctor")
	var keys map[string]json.RawMessage
	json.Unmarshal([]byte(out), &keys)
	for _, line := range strings.Split(help, "\n") {
		if _, key, ok := strings.Cut(line, "| jq ."); ok {
			if _, has := keys[strings.Fields(key)[0]]; !has {
				t.Errorf("help example %q: the JSON has no key %q", strings.TrimSpace(line), strings.Fields(key)[0])
			}
		}
	}
}

// TestUsageErrors: wrong flags or arguments exit 2 with the command's usage,
// before the command does anything.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"doctor", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"doctor", "extra"}, ""},
		{[]string{"doctor", "--root"}, "flag needs an argument"},
		{[]string{"version", "extra"}, ""},
		{[]string{"load", "--mem-size", "12Q"}, "invalid value"},
		{[]string{"load", "a", "b"}, ""},
		{[]string{"exec", "now"}, ""},
		{[]string{"unload", "now"}, ""},
		{[]string{"call"}, ""},
		{[]string{"call", "a.bin", "b.bin"}, ""},
		{[]string{"call", "--addr", "lots", "a.bin"}, "invalid value"},
		{[]string{"back", "somewhere"}, ""},
		{[]string{"lab"}, ""},
		{[]string{"lab", "frobnicate"}, ""},
		{[]string{"lab", "build", "extra"}, ""},
		{[]string{"initramfs"}, ""}, // -o is required
		{[]string{"initramfs", "-o", "x.cpio", "extra"}, ""},
		{[]string{"snapshot", "-o", "x", "--format", "elf", "--compress", "zstd"}, "the ELF format stores pages uncompressed"},
		{[]string{"dump", "-c", "-l", "a", "b"}, "-l means --compress lzo"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runKjump(tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			c, _ := find(tc.args[0])
			if !strings.Contains(errOut, "usage: kjump "+c.name+" "+c.usage) {
				t.Errorf("stderr %q lacks the usage line", errOut)
			}
			if !strings.Contains(errOut, tc.says) {
				t.Errorf("stderr %q does not say %q", errOut, tc.says)
			}
		})
	}
}

// TestUsageErrorMessage: an error that wraps errUsage carries a message
// ("no lab subcommand …") that must be printed along with the usage.
func TestUsageErrorMessage(t *testing.T) {
	_, _, errOut := runKjump("lab", "frobnicate")
	if !strings.Contains(errOut, `no lab subcommand "frobnicate"`) {
		t.Errorf("stderr %q does not say what was wrong", errOut)
	}
}

func TestLabRefusals(t *testing.T) {
	code, _, errOut := runKjump("lab", "bench", "nosuchbench")
	if code != 1 || !strings.Contains(errOut, `no lab bench "nosuchbench"`) {
		t.Errorf("lab bench nosuchbench: exit %d, stderr %q", code, errOut)
	}
}

func TestBackBadEntry(t *testing.T) {
	code, _, errOut := runKjump("back", "--entry", "0xzz")
	if code != 1 || !strings.Contains(errOut, `--entry "0xzz"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestKexecToolsAction(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-l", "bzImage", "--append=x"}, "load"},
		{[]string{"--load", "bzImage"}, "load"},
		{[]string{"--append=x", "-l", "bzImage"}, "load"},
		{[]string{"-l", "bzImage", "--load-preserve-context"}, "load"},
		{[]string{"--load-preserve-context", "bzImage"}, "load"},
		{[]string{"-e"}, "exec"},
		{[]string{"--exec"}, "exec"},
		{[]string{"-u"}, "unload"},
		{[]string{"--unload"}, "unload"},
		{[]string{"-p", "bzImage"}, ""}, // a crash kernel load: not kjump's business
		{[]string{"load", "bzImage"}, ""},
		{nil, ""},
	} {
		got, ok := kexecToolsAction(tc.args)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("kexecToolsAction(%q) = %q, %v; want %q", tc.args, got, ok, tc.want)
		}
	}
}

// TestKexecToolsSpelling runs kexec-tools style command lines far enough to
// see which command they reach: each has one argument too many, so the
// command stops with its usage before doing anything.
func TestKexecToolsSpelling(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cmd  string
	}{
		{[]string{"-l", "bzImage", "extra", "--append=console=ttyS0"}, "load"},
		{[]string{"--append=console=ttyS0", "-l", "bzImage", "extra"}, "load"},
		{[]string{"-e", "extra"}, "exec"},
		{[]string{"-u", "extra"}, "unload"},
		// A subcommand name first is never remapped: version has no -l or -u flag.
		{[]string{"version", "-l"}, "version"},
		{[]string{"version", "-u"}, "version"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runKjump(tc.args...)
			c, _ := find(tc.cmd)
			if code != 2 || !strings.Contains(errOut, "usage: kjump "+c.name+" "+c.usage) {
				t.Errorf("exit %d, stderr %q; want the usage of %s", code, errOut, tc.cmd)
			}
		})
	}
}

func TestParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		interleave bool
		positional []string
		appendVal  string
		x          bool
		err        string
	}{
		{"flags first", []string{"--append=a", "-x", "bz"}, true, []string{"bz"}, "a", true, ""},
		{"flags after positionals", []string{"bz", "--append", "a b", "initrd", "-x"}, true, []string{"bz", "initrd"}, "a b", true, ""},
		{"-- ends flags", []string{"bz", "--", "-x", "--append=a"}, true, []string{"bz", "-x", "--append=a"}, "", false, ""},
		{"-- first", []string{"--", "-x"}, true, []string{"-x"}, "", false, ""},
		{"only the first -- counts", []string{"-x", "--", "a", "--", "b"}, true, []string{"a", "--", "b"}, "", true, ""},
		{"no interleaving", []string{"-x", "test", "-x", "boot"}, false, []string{"test", "-x", "boot"}, "", true, ""},
		{"no interleaving, --", []string{"test", "--", "boot"}, false, []string{"test", "boot"}, "", false, ""},
		{"a lone dash is positional", []string{"-", "-x"}, true, []string{"-"}, "", true, ""},
		{"nothing", nil, true, nil, "", false, ""},
		{"unknown flag after a positional", []string{"bz", "--nope"}, true, nil, "", false, "flag provided but not defined"},
		{"missing value", []string{"bz", "--append"}, true, nil, "", false, "flag needs an argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(&bytes.Buffer{})
			appendVal := fs.String("append", "", "")
			x := fs.Bool("x", false, "")
			pos, err := parseInterleaved(fs, tc.args, tc.interleave)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if pos != nil {
					t.Errorf("positionals %q with an error", pos)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tc.positional) || *appendVal != tc.appendVal || *x != tc.x {
				t.Errorf("positional %q, append %q, x %v; want %q, %q, %v", pos, *appendVal, *x, tc.positional, tc.appendVal, tc.x)
			}
		})
	}
}

// TestBenchFlags: kjump lab bench takes bench names and the hibernate bench's
// flags in any order.
func TestBenchFlags(t *testing.T) {
	for _, c := range []struct {
		args  []string
		names []string
		want  lab.HibernateBench
		err   bool
	}{
		{nil, nil, lab.HibernateBench{}, false},
		{[]string{"hibernate"}, []string{"hibernate"}, lab.HibernateBench{}, false},
		{[]string{"hibernate", "--ram", "4096", "--tools", "kjump-none,swsusp", "--load", "75", "--runs", "1"}, []string{"hibernate"},
			lab.HibernateBench{MemoryMiB: 4096, Tools: []string{"kjump-none", "swsusp"}, Loads: []int{75}, Runs: 1}, false},
		{[]string{"--ram", "2048", "jump", "hibernate", "--load", "25,90"}, []string{"jump", "hibernate"},
			lab.HibernateBench{MemoryMiB: 2048, Loads: []int{25, 90}}, false},
		{[]string{"hibernate", "--load", "99"}, nil, lab.HibernateBench{}, true},
		{[]string{"hibernate", "--ram", "-1"}, nil, lab.HibernateBench{}, true},
	} {
		var hb lab.HibernateBench
		names, err := benchFlags(c.args, &hb)
		if (err != nil) != c.err {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if !c.err && (!slices.Equal(names, c.names) || hb.MemoryMiB != c.want.MemoryMiB || !slices.Equal(hb.Tools, c.want.Tools) ||
			!slices.Equal(hb.Loads, c.want.Loads) || hb.Runs != c.want.Runs) {
			t.Errorf("%q: names %q, %+v", c.args, names, hb)
		}
	}
}
