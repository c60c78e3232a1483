package memmap

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// Sizes in bytes.
const (
	KiB uint64 = 1 << 10
	MiB uint64 = 1 << 20
	GiB uint64 = 1 << 30
)

// ParseSize parses a size or address the way the kernel's memparse does for
// crashkernel= and memmap=: a number in decimal, hex ("0x1000") or octal
// (leading "0"), optionally followed by one of the suffixes K, M, G, T, P, E
// (either case) that multiply by 1024, 1024², ... Unlike memparse it rejects
// trailing text and values that overflow 64 bits.
func ParseSize(s string) (uint64, error) {
	v, rest, err := memparse(s)
	if err != nil {
		return 0, fmt.Errorf("memmap: size %q: %w", s, err)
	}
	if rest != "" {
		return 0, fmt.Errorf("memmap: size %q: unexpected %q after the number", s, rest)
	}
	return v, nil
}

var errNoDigits = errors.New("no digits")

// memparse parses a number with an optional suffix from the start of s and
// returns the rest of s.
func memparse(s string) (uint64, string, error) {
	base, digits := uint64(10), s
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isHex(s[2]):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	var v uint64
	n := 0
	for ; n < len(digits); n++ {
		d, ok := digitValue(digits[n])
		if !ok || d >= base {
			break
		}
		hi, lo := bits.Mul64(v, base)
		if hi != 0 || lo+d < lo {
			return 0, "", errors.New("value overflows 64 bits")
		}
		v = lo + d
	}
	if n == 0 && base != 8 { // a lone "0" has been consumed as the octal prefix
		return 0, "", errNoDigits
	}
	rest := digits[n:]
	if rest == "" {
		return v, "", nil
	}
	shift := strings.IndexByte("KMGTPE", upper(rest[0]))
	if shift < 0 {
		return v, rest, nil
	}
	shift = 10 * (shift + 1)
	if v > ^uint64(0)>>shift {
		return 0, "", errors.New("value overflows 64 bits")
	}
	return v << shift, rest[1:], nil
}

func digitValue(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

func isHex(c byte) bool {
	_, ok := digitValue(c)
	return ok
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// FormatSize formats a byte count for people in the largest binary unit it
// reaches, truncated to one decimal: "100 B", "4 KiB", "256 MiB", "1.5 GiB".
func FormatSize(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for i+1 < len(units) && n >= uint64(1)<<(10*(i+1)) {
		i++
	}
	unit := uint64(1) << (10 * i)
	if n%unit == 0 {
		return fmt.Sprintf("%d %s", n/unit, units[i])
	}
	// Truncate, do not round: 255.99 MiB free is not 256 MiB free.
	return fmt.Sprintf("%.1f %s", math.Floor(float64(n)/float64(unit)*10)/10, units[i])
}

// CmdlineReservations returns the ranges that memmap=SIZE$ADDR options on a
// kernel command line (the contents of /proc/cmdline) mark reserved. A
// memmap= value may list several comma-separated items; items of other
// kinds (SIZE@ADDR, SIZE#ADDR, SIZE!ADDR, exactmap) and malformed ones are
// ignored. Options after a lone "--" belong to init and are ignored too.
func CmdlineReservations(cmdline string) []Range {
	var out []Range
	for _, word := range strings.Fields(cmdline) {
		if word == "--" {
			break
		}
		val, ok := strings.CutPrefix(word, "memmap=")
		if !ok {
			continue
		}
		for _, item := range strings.Split(strings.Trim(val, `"`), ",") {
			size, rest, err := memparse(item)
			if err != nil || !strings.HasPrefix(rest, "$") {
				continue
			}
			start, err := ParseSize(rest[1:])
			if err != nil || size == 0 || start+size < start {
				continue
			}
			out = append(out, Range{Start: start, Size: size})
		}
	}
	return out
}
