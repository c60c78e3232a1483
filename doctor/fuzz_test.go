package doctor

import (
	"strconv"
	"strings"
	"testing"
)

func TestLockdownMode(t *testing.T) {
	for in, want := range map[string]string{
		"[none] integrity confidentiality\n": "none",
		"none [integrity] confidentiality\n": "integrity",
		"none integrity [confidentiality]\n": "confidentiality",
		"none integrity confidentiality":     "",
		"[] [x":                              "",
		"":                                   "",
	} {
		if got := lockdownMode(in); got != want {
			t.Errorf("lockdownMode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCapEff(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n", 0x1fffeffffff, true},
		{"CapEff:\t0000000000400000", 1 << 22, true},
		{"CapPrm:\t0000000000400000\n", 0, false},
		{"CapEff:\tzz\n", 0, false},
		{"", 0, false},
	} {
		got, _, err := capEff(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("capEff(%q) = %#x, %v; want %#x, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzStatusFiles feeds arbitrary contents to the parsers of
// /sys/kernel/security/lockdown and /proc/self/status.
func FuzzStatusFiles(f *testing.F) {
	f.Add("none [integrity] confidentiality\n")
	f.Add("Name:\tkjump\nCapEff:\t000001ffffffffff\n")
	f.Add("CapEff: 1\nCapEff: 2\n")
	f.Fuzz(func(t *testing.T, in string) {
		if mode := lockdownMode(in); mode != "" && !strings.Contains(in, "["+mode+"]") {
			t.Fatalf("lockdownMode(%q) = %q, not a bracketed word of the input", in, mode)
		}
		caps, text, err := capEff(in)
		if err != nil {
			if caps != 0 || text != "" {
				t.Fatalf("capEff(%q) = %#x, %q with error %v", in, caps, text, err)
			}
			return
		}
		if v, perr := strconv.ParseUint(text, 16, 64); perr != nil || v != caps || !strings.Contains(in, text) {
			t.Fatalf("capEff(%q) = %#x, %q", in, caps, text)
		}
	})
}
