package purgatory_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kjump/kjump/internal/purgatory"
)

func TestPlaceholderAddr(t *testing.T) {
	ph := purgatory.JumpBackPlaceholder
	for _, tc := range []struct {
		name    string
		cmdline string
		addr    uint64
		want    uint64 // offset of the first digit added to addr
		err     error
	}{
		{"alone", ph, 0x1000, 0x1000 + 24, nil},
		{"middle", "console=ttyS0 " + ph + " quiet", 0x7e000, 0x7e000 + 14 + 24, nil},
		{"end", "a b " + ph, 0, 4 + 24, nil},
		{"tabs", "a\t" + ph + "\tb", 0x10, 0x10 + 2 + 24, nil},
		{"missing", "console=ttyS0 quiet", 0x1000, 0, purgatory.ErrNoPlaceholder},
		{"empty", "", 0x1000, 0, purgatory.ErrNoPlaceholder},
		{"twice", ph + " " + ph, 0x1000, 0, purgatory.ErrNoPlaceholder},
		{"filled in", "kexec_jump_back_entry=0x000000000a3c5000", 0x1000, 0, purgatory.ErrNoPlaceholder},
		{"short", "kexec_jump_back_entry=0x0", 0x1000, 0, purgatory.ErrNoPlaceholder},
		{"longer", ph + "0", 0x1000, 0, purgatory.ErrNoPlaceholder},
		{"inside a quoted value", `foo="x ` + ph + `"`, 0x1000, 0, purgatory.ErrNoPlaceholder},
		{"not a prefix", "xkexec_jump_back_entry=0x0000000000000000", 0x1000, 0, purgatory.ErrNoPlaceholder},
		{"wraps", ph, ^uint64(0) - 10, 0, purgatory.ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := purgatory.PlaceholderAddr(tc.cmdline, tc.addr)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && got != tc.want {
				t.Fatalf("addr = %#x, want %#x", got, tc.want)
			}
			if err == nil {
				off := int(got - tc.addr)
				if tc.cmdline[off:off+16] != strings.Repeat("0", 16) {
					t.Fatalf("offset %d does not point at the 16 zeros", off)
				}
			}
		})
	}
}

func TestParseJumpBack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmdline string
		want    uint64
		err     error
	}{
		{"purgatory", "console=ttyS0 kexec_jump_back_entry=0x000000000a3c5000 quiet\n", 0xa3c5000, nil},
		{"kexec-tools", "root=/dev/vda kexec_jump_back_entry=0x3f21a000", 0x3f21a000, nil},
		{"zero", "kexec_jump_back_entry=0x0000000000000000", 0, nil},
		{"last wins", "kexec_jump_back_entry=0x1000 kexec_jump_back_entry=0x2000", 0x2000, nil},
		{"quoted", `kexec_jump_back_entry="0x1000"`, 0x1000, nil},
		{"max", "kexec_jump_back_entry=0xffffffffffffffff", ^uint64(0), nil},
		{"absent", "console=ttyS0", 0, purgatory.ErrNoJumpBack},
		{"empty", "", 0, purgatory.ErrNoJumpBack},
		{"inside quotes", `foo="a kexec_jump_back_entry=0x1000"`, 0, purgatory.ErrNoJumpBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := purgatory.ParseJumpBack(tc.cmdline)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("got %#x, want %#x", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"kexec_jump_back_entry=", "kexec_jump_back_entry=0x", "kexec_jump_back_entry=0xzz",
		"kexec_jump_back_entry=0x10000000000000000"} {
		if _, err := purgatory.ParseJumpBack(bad); err == nil || errors.Is(err, purgatory.ErrNoJumpBack) {
			t.Errorf("ParseJumpBack(%q): err = %v, want a syntax error", bad, err)
		}
	}
}

func TestParseGate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmdline string
		want    uint64
		found   bool
		bad     bool
	}{
		{"planned", "console=ttyS0 kjump.gate=0xff001d0 " + purgatory.JumpBackPlaceholder, 0xff001d0, true, false},
		{"absent (kexec-tools)", "root=/dev/vda kexec_jump_back_entry=0x3f21a000", 0, false, false},
		{"last wins", "kjump.gate=0x1000 kjump.gate=0x2000", 0x2000, true, false},
		{"quoted", `kjump.gate="0x1000"`, 0x1000, true, false},
		{"inside quotes", `foo="a kjump.gate=0x1000"`, 0, false, false},
		{"not the gate", "xkjump.gate=0x1000 kjump.gates=0x1", 0, false, false},
		{"empty value", "kjump.gate=", 0, true, true},
		{"garbage", "kjump.gate=0xzz", 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := purgatory.ParseGate(tc.cmdline)
			if (err != nil) != tc.bad || found != tc.found || got != tc.want {
				t.Fatalf("ParseGate = %#x, %v, %v; want %#x, %v, error %v", got, found, err, tc.want, tc.found, tc.bad)
			}
		})
	}
}

// TestPlaceholderRoundTrip does in Go what the purgatory does in memory:
// write the digits at PlaceholderAddr, then parse the result.
func TestPlaceholderRoundTrip(t *testing.T) {
	cmdline := "console=ttyS0 " + purgatory.JumpBackPlaceholder + " memmap=exactmap"
	const base = 0x7e000
	addr, err := purgatory.PlaceholderAddr(cmdline, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint64{0, 1, 0xa3c5000, 0xdeadbeefcafef00d, ^uint64(0)} {
		b := []byte(cmdline)
		copy(b[addr-base:], fmt.Sprintf("%016x", v))
		got, err := purgatory.ParseJumpBack(string(b))
		if err != nil || got != v {
			t.Fatalf("%#x: ParseJumpBack = %#x, %v", v, got, err)
		}
	}
}
