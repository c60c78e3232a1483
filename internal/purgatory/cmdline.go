package purgatory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoJumpBack is returned by [ParseJumpBack] when the command line has no
// kexec_jump_back_entry= parameter.
var ErrNoJumpBack = errors.New("purgatory: no kexec_jump_back_entry= on the command line")

// jumpBackName is the parameter name without the "0x" prefix of the value.
const jumpBackName = "kexec_jump_back_entry="

// PlaceholderAddr returns the physical address of the first hex digit of
// [JumpBackPlaceholder] in cmdline, given that the loader puts cmdline at
// physical address cmdlineAddr. That is the value for
// Config.CmdlineHexAddr. cmdline must contain exactly one
// kexec_jump_back_entry= parameter, and it must be the placeholder.
func PlaceholderAddr(cmdline string, cmdlineAddr uint64) (uint64, error) {
	at := -1
	for _, t := range splitParams(cmdline) {
		if !strings.HasPrefix(t.text, jumpBackName) {
			continue
		}
		if at >= 0 {
			return 0, fmt.Errorf("purgatory: %s appears more than once on the command line; keep only %s: %w",
				jumpBackName, JumpBackPlaceholder, ErrNoPlaceholder)
		}
		if t.text != JumpBackPlaceholder {
			return 0, fmt.Errorf("purgatory: command line has %q; the purgatory needs the placeholder %s: %w",
				t.text, JumpBackPlaceholder, ErrNoPlaceholder)
		}
		at = t.start + len(JumpBackParam)
	}
	if at < 0 {
		return 0, fmt.Errorf("purgatory: add %s to the second kernel's command line: %w", JumpBackPlaceholder, ErrNoPlaceholder)
	}
	if uint64(at) > ^uint64(0)-cmdlineAddr {
		return 0, fmt.Errorf("purgatory: command line at %#x wraps around the address space: %w", cmdlineAddr, ErrInvalidConfig)
	}
	return cmdlineAddr + uint64(at), nil
}

// ParseJumpBack returns the jump-back entry the purgatory wrote into the
// second kernel's command line (read it from /proc/cmdline there). If the
// parameter appears more than once the last one counts. A value of 0 means
// the kernel was started by a kexec without KEXEC_PRESERVE_CONTEXT: there
// is nothing to jump back to.
func ParseJumpBack(cmdline string) (uint64, error) {
	n, found, err := parseAddr(cmdline, jumpBackName)
	if !found {
		return 0, ErrNoJumpBack
	}
	return n, err
}

// GateParam is the command-line parameter by which the loader tells the
// second kernel where the purgatory's gate is (its physical address +
// [OffsetGate]): the entry of the jump-back helper that makes re-entry work
// whatever the first kernel's identity map covers (doc.go, "The gate").
const GateParam = "kjump.gate="

// ParseGate returns the gate's address from the second kernel's command
// line, and false if there is none (a kernel loaded by another tool, or by
// a kjump without the gate): then jump back to [ParseJumpBack]'s entry.
// If the parameter appears more than once the last one counts.
func ParseGate(cmdline string) (uint64, bool, error) {
	return parseAddr(cmdline, GateParam)
}

// parseAddr returns the value of the last name=ADDR parameter of cmdline
// (ADDR in any base strconv.ParseUint accepts with base 0, optionally quoted).
func parseAddr(cmdline, name string) (n uint64, found bool, err error) {
	var val string
	for _, t := range splitParams(cmdline) {
		if v, ok := strings.CutPrefix(t.text, name); ok {
			val, found = strings.Trim(v, `"`), true
		}
	}
	if !found {
		return 0, false, nil
	}
	if n, err = strconv.ParseUint(val, 0, 64); err != nil {
		return 0, true, fmt.Errorf("purgatory: %s%s: %w", name, val, err)
	}
	return n, true, nil
}

type param struct {
	start int
	text  string
}

// splitParams splits a kernel command line into its space-separated
// parameters, keeping double-quoted spaces inside a parameter as the
// kernel's next_arg does.
func splitParams(s string) []param {
	var out []param
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		start, quoted := i, false
		for i < len(s) && (quoted || !isSpace(s[i])) {
			if s[i] == '"' {
				quoted = !quoted
			}
			i++
		}
		out = append(out, param{start, s[start:i]})
	}
	return out
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
