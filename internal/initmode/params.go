package initmode

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kjump/kjump/internal/cmdline"
)

// Action is what init does once the commands have run.
type Action string

const (
	PowerOff Action = "poweroff"
	Reboot   Action = "reboot"
	Shell    Action = "shell"
	Hold     Action = "hold"
	// Back jumps back to the first kernel ('kjump back'); when the first kernel
	// re-enters, the commands run again, then init jumps back again, and so on.
	Back Action = "back"
	// ShellBack runs an interactive shell on the console; when it exits
	// (or 'kjump back' in it returns to the first kernel and that one
	// re-enters), init jumps back, and after a re-entry the commands and the
	// shell run again. It is 'kjump shell''s second kernel.
	ShellBack Action = "shell-back"
)

var actions = []Action{PowerOff, Reboot, Shell, Hold, Back, ShellBack}

// ErrBadParam reports a kjump.* parameter init cannot act on.
var ErrBadParam = errors.New("bad kjump parameter")

// Params are the kjump.* parameters of a kernel command line.
type Params struct {
	Run     []string // kjump.run, in order
	Then    Action   // kjump.then
	OnError Action   // kjump.onerror
	// Other holds every other kjump.KEY=VALUE, for the jobs of later commands
	// (key without the "kjump." prefix; the last value wins).
	Other map[string]string
}

// SplitCmdline splits a kernel command line into parameters the way the kernel does:
// at white space, except inside double quotes; the quotes are removed.
func SplitCmdline(s string) []string {
	params := cmdline.Split(s)
	for i, p := range params {
		params[i] = cmdline.Unquote(p)
	}
	return params
}

// ParseCmdline extracts the kjump.* parameters from a kernel command line.
func ParseCmdline(cmdline string) (Params, error) {
	p := Params{Then: PowerOff, Other: map[string]string{}}
	onError := Action("")
	for _, arg := range SplitCmdline(cmdline) {
		key, val, ok := strings.Cut(arg, "=")
		name, isKjump := strings.CutPrefix(key, "kjump.")
		if !isKjump {
			continue
		}
		if !ok && name != "" {
			return Params{}, fmt.Errorf("%w: %q has no value (want kjump.%s=VALUE)", ErrBadParam, arg, name)
		}
		switch name {
		case "run":
			if strings.TrimSpace(val) == "" {
				return Params{}, fmt.Errorf("%w: kjump.run is empty", ErrBadParam)
			}
			p.Run = append(p.Run, val)
		case "then", "onerror":
			a, err := parseAction(name, val)
			if err != nil {
				return Params{}, err
			}
			if name == "then" {
				p.Then = a
			} else {
				onError = a
			}
		default:
			p.Other[name] = val
		}
	}
	p.OnError = onError
	if p.OnError == "" {
		p.OnError = p.Then
	}
	return p, nil
}

// Set makes *Action a flag.Value: it accepts one of the actions by name.
func (a *Action) Set(val string) error {
	v, err := parseAction("then", val)
	if err == nil {
		*a = v
	}
	return err
}

// String returns the action's name.
func (a *Action) String() string { return string(*a) }

func parseAction(name, val string) (Action, error) {
	for _, a := range actions {
		if string(a) == val {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: kjump.%s=%q: want one of %v", ErrBadParam, name, val, actions)
}

// SplitArgs splits a command the way a plain shell would: at spaces, with single or
// double quotes grouping words.
func SplitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	have := false
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, have = r, true
		case r == ' ' || r == '\t':
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%w: unterminated %c quote in %q", ErrBadParam, quote, s)
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}
