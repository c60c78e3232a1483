// Package cmdline splits a Linux kernel command line the way the kernel does
// (lib/cmdline.c next_arg, kernel/params.c parse_args), for the places kjump reads
// or writes one: init's kjump.* parameters, the first kernel's command line reused
// for the second, and the "--" after which the kernel hands the rest to init.
package cmdline

import "strings"

// isSpace is the kernel's isspace (lib/ctype.c), which includes 0xa0.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0 }

// Split splits s into parameters at white space outside double quotes, keeping the
// quotes, as the kernel's next_arg does. It works on bytes: a command line need
// not be UTF-8. A NUL ends the command line.
func Split(s string) []string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		start, inQuote := i, false
		for i < len(s) && (inQuote || !isSpace(s[i])) {
			if s[i] == '"' {
				inQuote = !inQuote
			}
			i++
		}
		out = append(out, s[start:i])
	}
	return out
}

// Unquote returns a parameter as the kernel's next_arg leaves it: a leading quote
// of the parameter is dropped, a quote opening its value is dropped, and so is a
// last character that is a quote closing either ("param=\"a b\"" is param=a b;
// "\"a b\"" is a b; other quotes stay).
func Unquote(p string) string {
	quoted := strings.HasPrefix(p, `"`)
	if quoted {
		p = p[1:]
	}
	// The first '=' past the parameter's first byte separates the value.
	if eq := strings.IndexByte(p, '='); eq > 0 || (eq == 0 && strings.IndexByte(p[1:], '=') >= 0) {
		if eq == 0 {
			eq = 1 + strings.IndexByte(p[1:], '=')
		}
		if val := p[eq+1:]; strings.HasPrefix(val, `"`) {
			return p[:eq+1] + strings.TrimSuffix(val[1:], `"`)
		}
	}
	if quoted {
		p = strings.TrimSuffix(p, `"`)
	}
	return p
}

// IsDoubleDash reports whether the kernel reads parameter p as "--".
func IsDoubleDash(p string) bool { return Unquote(p) == "--" }

// CutDoubleDash splits s at its first "--" parameter: the kernel parses what is
// before it and hands what follows to init.
func CutDoubleDash(s string) (before, after string, found bool) {
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		start, inQuote := i, false
		for i < len(s) && (inQuote || !isSpace(s[i])) {
			if s[i] == '"' {
				inQuote = !inQuote
			}
			i++
		}
		if i > start && IsDoubleDash(s[start:i]) {
			return s[:start], s[i:], true
		}
	}
	return s, "", false
}
