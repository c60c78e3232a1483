package jump

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kjump/kjump/internal/cmdline"
)

// FuzzCmdline feeds arbitrary first-kernel command lines (what /proc/cmdline
// or --command-line can hold) and --run commands to Cmdline. Invariants: on
// error, no command line; otherwise the kept parameters are the base's, in
// order, minus every dropped one, then the --run parameter, then
// kjump.then=back last — and re-splitting the result gives exactly that.
func FuzzCmdline(f *testing.F) {
	f.Add(debianCmdline, "doctor --json")
	f.Add("console=ttyS0", "")
	f.Add(`a="x y" b`, `/bin/sh -c "echo"`)
	f.Add("\t\n", "/bin/ls")
	f.Add(`BOOT_IMAGE=x "quoted param" -- init args`, "x")
	f.Fuzz(func(t *testing.T, base, run string) {
		if strings.TrimSpace(base) == "" {
			base = "x" // an empty base means "read /proc/cmdline"
		}
		if !utf8.ValidString(base) || !utf8.ValidString(run) {
			t.Skip("invalid UTF-8: known bug, see TestCmdlineKeepsBytes")
		}
		if strings.Count(base, `"`)%2 != 0 {
			t.Skip("unbalanced quote: the rest of the line is one parameter, for the kernel too")
		}
		o := LoadOptions{Cmdline: base}
		if run != "" {
			o.Run = []string{run}
		}
		got, err := Cmdline(o)
		if err != nil {
			if got != "" {
				t.Fatalf("command line %q with error %v", got, err)
			}
			unbalanced := strings.ContainsRune(base, 0) || slices.ContainsFunc(cmdline.Split(base), func(p string) bool { return strings.Count(p, `"`)%2 == 1 })
			if !strings.ContainsAny(run, "\"\x00") && !unbalanced {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		var want []string
		for _, p := range cmdline.Split(base) {
			if !slices.ContainsFunc(dropped, func(d string) bool { return strings.HasPrefix(p, d) }) {
				want = append(want, p)
			}
		}
		if run != "" {
			want = append(want, `kjump.run="`+run+`"`)
		}
		want = append(want, "kjump.then=back")
		if split := cmdline.Split(got); !slices.Equal(split, want) {
			t.Fatalf("Cmdline(%q, run %q) = %q\n splits into %q\n want %q", base, run, got, split, want)
		}
	})
}
