package purgatory_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kjump/kjump/internal/purgatory"
)

// FuzzParseJumpBack: ParseJumpBack never panics; when it succeeds, a
// command line made of that value in the purgatory's format parses to the
// same value; when PlaceholderAddr succeeds, its offset points at 16 zero
// digits that belong to the placeholder.
func FuzzParseJumpBack(f *testing.F) {
	for _, s := range []string{
		"",
		"console=ttyS0 " + purgatory.JumpBackPlaceholder,
		"kexec_jump_back_entry=0x000000000a3c5000",
		"kexec_jump_back_entry=0x1 kexec_jump_back_entry=0x2",
		`a="b c" kexec_jump_back_entry="0x10"`,
		"kexec_jump_back_entry=0x",
		"kjump.gate=0xff001d0 kjump.gate=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmdline string) {
		v, err := purgatory.ParseJumpBack(cmdline)
		if err == nil {
			again, err := purgatory.ParseJumpBack(fmt.Sprintf("%s%016x", purgatory.JumpBackParam, v))
			if err != nil || again != v {
				t.Fatalf("value %#x from %q does not round trip: %#x, %v", v, cmdline, again, err)
			}
		} else if v != 0 {
			t.Fatalf("error %v with value %#x", err, v)
		}
		if g, found, err := purgatory.ParseGate(cmdline); err != nil && (g != 0 || !found) || !found && g != 0 {
			t.Fatalf("ParseGate(%q) = %#x, %v, %v: a value without a parameter or with an error", cmdline, g, found, err)
		} else if err == nil && found {
			again, found, err := purgatory.ParseGate(fmt.Sprintf("%s%#x", purgatory.GateParam, g))
			if err != nil || !found || again != g {
				t.Fatalf("gate %#x from %q does not round trip: %#x, %v, %v", g, cmdline, again, found, err)
			}
		}
		addr, err := purgatory.PlaceholderAddr(cmdline, 0)
		if err != nil {
			if !errors.Is(err, purgatory.ErrNoPlaceholder) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		start := int(addr) - len(purgatory.JumpBackParam)
		if start < 0 || int(addr)+16 > len(cmdline) || cmdline[start:int(addr)+16] != purgatory.JumpBackPlaceholder {
			t.Fatalf("PlaceholderAddr(%q) = %d, not at the placeholder", cmdline, addr)
		}
		if got, err := purgatory.ParseJumpBack(cmdline); err != nil || got != 0 {
			t.Fatalf("command line with the placeholder parses to %#x, %v", got, err)
		}
	})
}
