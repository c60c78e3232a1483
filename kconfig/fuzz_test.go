package kconfig

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// format writes c back as a .config in a canonical order.
func format(c Config) string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		if c[n] == "n" {
			fmt.Fprintf(&b, "# CONFIG_%s is not set\n", n)
		} else {
			fmt.Fprintf(&b, "CONFIG_%s=%s\n", n, c[n])
		}
	}
	return b.String()
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"#\n# Linux/x86 6.12.0 Kernel Configuration\n#\nCONFIG_64BIT=y\n# CONFIG_KEXEC_JUMP is not set\n",
		"CONFIG_CMDLINE=\"console=ttyS0 a=b\"\r\nCONFIG_HZ=250\n",
		"CONFIG_A\n",
		"CONFIG_A=\n",
		"  CONFIG_B = m \n# CONFIG_C is set\n",
		"junk\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned %v and error %v", c, err)
			}
			return
		}
		for n, v := range c {
			if !validName(n) || v == "" || strings.Contains(v, "\n") || strings.TrimSpace(v) != v {
				t.Fatalf("Parse produced bad option %q=%q", n, v)
			}
		}
		// Round trip: the canonical form parses to the same configuration.
		c2, err := Parse(strings.NewReader(format(c)))
		if err != nil {
			t.Fatalf("reparsing %q: %v", format(c), err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed config: %v -> %v", c, c2)
		}
		// A configuration matches any fragment made of its own options.
		var frag Fragment
		for n, v := range c {
			frag = append(frag, Option{n, v})
		}
		if m := c.Check(frag); len(m) != 0 {
			t.Fatalf("config does not match itself: %v", m)
		}
	})
}

func FuzzParseFragment(f *testing.F) {
	f.Add("CONFIG_KEXEC=y\n# CONFIG_RANDOMIZE_BASE is not set\n")
	f.Add("CONFIG_A=y\nCONFIG_A=m\n")
	f.Add("# comment\n\nCONFIG_X=\"s\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		fr, err := ParseFragment(strings.NewReader(in))
		if err != nil {
			if fr != nil {
				t.Fatalf("ParseFragment returned %v and error %v", fr, err)
			}
			return
		}
		// Every fragment option also parses as a .config, with the same values.
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Fatalf("fragment parses but config does not: %v", err)
		}
		if len(c) != len(fr) {
			t.Fatalf("fragment has %d options, config %d", len(fr), len(c))
		}
		if m := c.Check(fr); len(m) != 0 {
			t.Fatalf("config of a fragment does not match it: %v", m)
		}
	})
}
