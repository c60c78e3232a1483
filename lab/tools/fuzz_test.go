package tools

import (
	"strings"
	"testing"
)

// FuzzMirror: whatever apt's source files hold, the mirror found is empty or
// one whitespace-free word of them.
func FuzzMirror(f *testing.F) {
	f.Add("Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n")
	f.Add("deb [arch=amd64] http://mirror/debian/ bookworm main\n")
	f.Add("deb [ http://x bookworm\n\nURIs:\nSuites: bookworm\nTypes: deb\n")
	f.Fuzz(func(t *testing.T, in string) {
		for _, m := range []string{mirrorDeb822([]byte(in)), mirrorOneLine([]byte(in))} {
			if m == "" {
				continue
			}
			if strings.ContainsAny(m, " \t\n\r") || !strings.Contains(in, m) {
				t.Errorf("mirror %q is not a word of the input %q", m, in)
			}
		}
	})
}
