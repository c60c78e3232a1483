package cmdline

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"console=ttyS0 panic=-1\n", []string{"console=ttyS0", "panic=-1"}},
		{`kjump.run="doctor --json" quiet`, []string{`kjump.run="doctor --json"`, "quiet"}},
		{"a\vb\xa0c", []string{"a", "b", "c"}},
		{"a\x00b c", []string{"a"}},
		{"\xc2\xa0x", []string{"\xc2", "x"}},
		{`"unterminated quote`, []string{`"unterminated quote`}},
		{"  ", nil},
		{"a\tb\nc", []string{"a", "b", "c"}},
		{`a="x y" b`, []string{`a="x y"`, "b"}},
		{`"a b" c`, []string{`"a b"`, "c"}},
		{`a=x"y z"w v`, []string{`a=x"y z"w`, "v"}},
		{"label=caf\xe9 x", []string{"label=caf\xe9", "x"}},
	}
	for _, tt := range tests {
		if got := Split(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCutDoubleDash(t *testing.T) {
	tests := []struct {
		in, before, after string
		found             bool
	}{
		{"a b", "a b", "", false},
		{"a -- b c", "a ", " b c", true},
		{"a\v--", "a\v", "", true},
		{`a "--" b`, "a ", " b", true},
		{`a="x -- y" b`, `a="x -- y" b`, "", false},
		{"a --x b", "a --x b", "", false},
	}
	for _, tt := range tests {
		b, a, f := CutDoubleDash(tt.in)
		if b != tt.before || a != tt.after || f != tt.found {
			t.Errorf("CutDoubleDash(%q) = %q, %q, %v", tt.in, b, a, f)
		}
	}
}

func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{`x="a b"`: "x=a b", `"a b"`: "a b", `x=""`: "x=", "plain": "plain",
		`""--`: `"--`, `"--"`: "--", `a=x"y"`: `a=x"y"`, `=x="v"`: `=x=v`} {
		if got := Unquote(in); got != want {
			t.Errorf("Unquote(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add(`console=ttyS0 kjump.run="a b" -- init args`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range Split(s) {
			if p == "" {
				t.Fatalf("empty parameter from %q", s)
			}
		}
		before, after, found := CutDoubleDash(s)
		if !found && (before != s || after != "") {
			t.Fatalf("not found but changed: %q", s)
		}
		if found && len(before)+len(after) >= len(s) {
			t.Fatalf("found but nothing cut: %q", s)
		}
	})
}
