package dist

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fuzzDevices are the devices the fuzzed script's resolve_device finds.
var fuzzDevices = []string{"/dev/vdb", "PARTUUID=0a1b2c3d-02", "/*"}

// unquoteValue mirrors the script's unquote: one pair of surrounding double
// quotes goes; any other double quote is an error.
func unquoteValue(v string) (string, bool) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return v, !strings.Contains(v, `"`)
}

// validOffset: empty, decimal digits, or 0x/0X and hex digits.
func validOffset(s string) bool {
	digits, set := s, "0123456789"
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits, set = s[2:], "0123456789abcdefABCDEF"
		if digits == "" {
			return false
		}
	}
	for _, c := range []byte(digits) {
		if !strings.ContainsRune(set, rune(c)) {
			return false
		}
	}
	return true
}

// expectedResumeArgs is the model of scripts/local-premount/kjump: the
// arguments kjump must get for /proc/cmdline line (one line), or nil when it
// must not run (with the stub environment: kjump present, fuzzDevices found).
func expectedResumeArgs(line string) []string {
	var dev, key, pass, offset string
	var off bool
	// The shell's default IFS: space, tab, newline.
	for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
		if w == "--" {
			break
		}
		switch {
		case w == "noresume" || w == "kjump.noresume":
			off = true
		case strings.HasPrefix(w, "kjump.resume="):
			dev = strings.TrimPrefix(w, "kjump.resume=")
		case strings.HasPrefix(w, "kjump.resume_key="):
			key = strings.TrimPrefix(w, "kjump.resume_key=")
		case strings.HasPrefix(w, "kjump.resume_passphrase="):
			pass = strings.TrimPrefix(w, "kjump.resume_passphrase=")
		case strings.HasPrefix(w, "kjump.resume_offset="):
			offset = strings.TrimPrefix(w, "kjump.resume_offset=")
		}
	}
	if dev == "" || off {
		return nil
	}
	var ok1, ok2, ok3, ok4 bool
	dev, ok1 = unquoteValue(dev)
	key, ok2 = unquoteValue(key)
	pass, ok3 = unquoteValue(pass)
	offset, ok4 = unquoteValue(offset)
	if !ok1 || !ok2 || !ok3 || !ok4 || !validOffset(offset) {
		return nil
	}
	validDev := len(dev) >= 2 && dev[0] == '/'
	for _, p := range []string{"UUID=", "LABEL=", "PARTUUID=", "PARTLABEL="} {
		if len(dev) > len(p) && strings.HasPrefix(dev, p) {
			validDev = true
		}
	}
	absOrEmpty := func(s string) bool { return s == "" || (len(s) >= 2 && s[0] == '/') }
	if !validDev || !absOrEmpty(key) || !absOrEmpty(pass) || (key != "" && pass != "") || !slices.Contains(fuzzDevices, dev) {
		return nil
	}
	args := []string{"resume", "--from", dev}
	if offset != "" {
		args = append(args, "--offset", offset)
	}
	if key != "" {
		args = append(args, "--key-file", key)
	}
	if pass != "" {
		args = append(args, "--passphrase-file", pass)
	}
	return args
}

// FuzzLocalPremountCmdline runs the initramfs script on arbitrary kernel
// command lines and checks it against the model above: the boot always goes
// on (exit 0), kjump runs exactly when the model says, with exactly the
// model's arguments (so nothing of the command line is expanded or
// evaluated), and a declined kjump.resume= always leaves a warning.
func FuzzLocalPremountCmdline(f *testing.F) {
	for _, s := range []string{
		"",
		"BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet",
		"kjump.resume=/dev/vdb kjump.resume_key=/etc/kjump.key",
		"kjump.resume=PARTUUID=0a1b2c3d-02 kjump.resume_passphrase=/etc/kjump/pass",
		`kjump.resume="/dev/vdb" kjump.resume_key="/k"`,
		`kjump.resume="/dev/disk/by-label/a b"`,
		"kjump.resume=/* noresume",
		"kjump.resume=/* kjump.resume_key=/*",
		"root=/dev/vda1 -- kjump.resume=/dev/vdb",
		"kjump.resume=/dev/vdc kjump.resume_wait=1",
		"kjump.resume=$(reboot) kjump.resume_key=`id`",
		"kjump.resume=/dev/vdb\tkjump.resume_key=/k;reboot",
		"kjump.resume=/dev/vdb kjump.resume_key=/k kjump.resume_passphrase=/p",
		"kjump.resume=/dev/vdb\nkjump.resume_key=/k",
		"kjump.resume=\\/dev/vdb kjump.resume_wait=-1",
		"kjump.resume=/dev/vdb kjump.resume_offset=0x3a40000",
		"kjump.resume=/dev/vdb kjump.resume_offset=0x kjump.resume_offset=12",
	} {
		f.Add(s)
	}
	e := &premountEnv{dir: f.TempDir(), devices: fuzzDevices}
	f.Fuzz(func(t *testing.T, cmdline string) {
		if strings.ContainsRune(cmdline, 0) {
			return // not on a kernel command line; the shell drops NULs
		}
		line, _, _ := strings.Cut(cmdline, "\n") // the script reads one line
		// Keep runs short: a missing device is waited for with a (fake)
		// sleep per second of kjump.resume_wait.
		for _, w := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(w, "kjump.resume_wait="); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 3 {
					return
				}
			}
		}
		r := e.run(t, cmdline)
		if r.exit != 0 {
			t.Fatalf("exit status %d for %q\n%s", r.exit, cmdline, r.stdout)
		}
		want := expectedResumeArgs(line)
		if !slices.Equal(r.args, want) {
			t.Fatalf("cmdline %q: kjump args %q, want %q\n%s", cmdline, r.args, want, r.stdout)
		}
		// The last kjump.resume= value before "--", as written.
		hasResume, dev := false, ""
		for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' }) {
			if w == "--" {
				break
			}
			if v, ok := strings.CutPrefix(w, "kjump.resume="); ok {
				hasResume, dev = true, v
			}
		}
		switch {
		case !hasResume && len(r.warnings) != 0:
			t.Fatalf("cmdline %q without kjump.resume=: warnings %q", cmdline, r.warnings)
		case want != nil && len(r.warnings) == 0:
			t.Fatalf("cmdline %q: kjump refused but nothing was logged", cmdline)
		case want == nil && dev != "" && len(r.warnings) == 0:
			t.Fatalf("cmdline %q: kjump.resume=%s declined without a warning", cmdline, dev)
		case dev == "" && len(r.warnings) != 0:
			t.Fatalf("cmdline %q: empty kjump.resume= but warnings %q", cmdline, r.warnings)
		}
	})
}
