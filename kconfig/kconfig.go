package kconfig

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Config is a kernel configuration: symbol name without the CONFIG_ prefix
// mapped to its value as written ("y", "m", "250", "0x1000000", "\"str\"").
// A symbol written as "# CONFIG_X is not set" has the value "n".
type Config map[string]string

// Option is one line of a fragment. Value is "n" for "# CONFIG_X is not set".
type Option struct {
	Name  string
	Value string
}

// Fragment is a list of options in file order.
type Fragment []Option

// Mismatch is an option of a fragment whose value in a configuration
// differs. Got is "" when the symbol is absent from the configuration.
type Mismatch struct {
	Name string
	Want string
	Got  string
}

func (m Mismatch) String() string {
	got := m.Got
	if got == "" {
		got = "absent"
	}
	return fmt.Sprintf("CONFIG_%s: want %s, got %s", m.Name, m.Want, got)
}

// ErrSyntax is matched (with errors.Is) by every *SyntaxError.
var ErrSyntax = errors.New("kconfig: syntax error")

// ErrNoConfig means the running kernel's configuration could not be found.
var ErrNoConfig = errors.New("kernel config not found")

// SyntaxError is a line of a .config or fragment that is neither blank, a
// comment nor a CONFIG_NAME=VALUE assignment.
type SyntaxError struct {
	Line   int    // 1-based
	Text   string // the offending line, trimmed
	Detail string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("kconfig: line %d: %s: %q", e.Line, e.Detail, e.Text)
}

// Is reports whether target is ErrSyntax.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

const prefix = "CONFIG_"

// parse calls fn for every option in r, in order.
func parse(r io.Reader, fn func(line int, o Option) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		o, ok, err := parseLine(sc.Text())
		if err != nil {
			return &SyntaxError{Line: n, Text: strings.TrimSpace(sc.Text()), Detail: err.Error()}
		}
		if !ok {
			continue
		}
		if err := fn(n, o); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("kconfig: line %d: %w", n+1, err)
	}
	return nil
}

// parseLine returns the option on one line; ok is false for blank lines
// and comments.
func parseLine(line string) (o Option, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return Option{}, false, nil
	}
	if c, found := strings.CutPrefix(line, "#"); found {
		c = strings.TrimSpace(c)
		name, found := strings.CutPrefix(c, prefix)
		if !found {
			return Option{}, false, nil
		}
		name, found = strings.CutSuffix(name, " is not set")
		if !found || !validName(name) {
			return Option{}, false, nil // an ordinary comment that mentions a symbol
		}
		return Option{Name: name, Value: "n"}, true, nil
	}
	rest, found := strings.CutPrefix(line, prefix)
	if !found {
		return Option{}, false, errors.New("not a CONFIG_ assignment or comment")
	}
	name, value, found := strings.Cut(rest, "=")
	if !found {
		return Option{}, false, errors.New("missing '='")
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !validName(name) {
		return Option{}, false, errors.New("invalid symbol name")
	}
	if value == "" {
		return Option{}, false, errors.New("empty value")
	}
	return Option{Name: name, Value: value}, true, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Parse reads a .config. A symbol assigned twice keeps its last value, as
// Kconfig does.
func Parse(r io.Reader) (Config, error) {
	c := Config{}
	err := parse(r, func(_ int, o Option) error {
		c[o.Name] = o.Value
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ParseFragment reads a config fragment. Unlike Parse it rejects a symbol
// given twice: in a committed fragment that is always a mistake.
func ParseFragment(r io.Reader) (Fragment, error) {
	var f Fragment
	seen := map[string]int{}
	err := parse(r, func(line int, o Option) error {
		if prev, dup := seen[o.Name]; dup {
			return &SyntaxError{Line: line, Text: prefix + o.Name, Detail: fmt.Sprintf("symbol already set on line %d", prev)}
		}
		seen[o.Name] = line
		f = append(f, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Load reads a .config file, plain or gzip-compressed (detected by the gzip
// magic bytes, so /proc/config.gz and a copied config both work).
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, err := br.Peek(2); err == nil && bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("kconfig: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	c, err := Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// LoadRunning loads the configuration of the running kernel of the system
// rooted at root ("/" normally). It tries root/proc/config.gz, then
// root/boot/config-RELEASE with RELEASE read from
// root/proc/sys/kernel/osrelease, and returns the path it used as source. If
// neither file exists the error matches ErrNoConfig and names both paths
// and the fix. A file that exists but cannot be read or parsed is reported
// as that error.
func LoadRunning(root string) (cfg Config, source string, err error) {
	proc := filepath.Join(root, "proc", "config.gz")
	cfg, err = Load(proc)
	if err == nil {
		return cfg, proc, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	boot := filepath.Join(root, "boot", "config-<release>")
	rel, relErr := os.ReadFile(filepath.Join(root, "proc", "sys", "kernel", "osrelease"))
	if relErr == nil && strings.TrimSpace(string(rel)) != "" {
		boot = filepath.Join(root, "boot", "config-"+strings.TrimSpace(string(rel)))
		cfg, err = Load(boot)
		if err == nil {
			return cfg, boot, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	} else if relErr != nil {
		boot += fmt.Sprintf(" (release unknown: %v)", relErr)
	}
	return nil, "", fmt.Errorf("%w: neither %s nor %s exists: build the kernel with CONFIG_IKCONFIG_PROC=y (or modprobe configs), or install the distribution's config file",
		ErrNoConfig, proc, boot)
}

// Enabled reports whether the symbol is built in ("y") or a module ("m").
func (c Config) Enabled(name string) bool {
	v := c[name]
	return v == "y" || v == "m"
}

// Check returns every option of f whose value in c differs, in fragment
// order. A symbol absent from c counts as "n".
func (c Config) Check(f Fragment) []Mismatch {
	var out []Mismatch
	for _, o := range f {
		got, ok := c[o.Name]
		if got == o.Value || !ok && o.Value == "n" {
			continue
		}
		out = append(out, Mismatch{Name: o.Name, Want: o.Value, Got: got})
	}
	return out
}

// ErrNoEmbedded means a kernel image carries no configuration (built without
// CONFIG_IKCONFIG).
var ErrNoEmbedded = errors.New("no embedded kernel config (CONFIG_IKCONFIG is off)")

// Embedded extracts the configuration CONFIG_IKCONFIG puts into a kernel image
// (vmlinux): gzip data between the markers IKCFG_ST and IKCFG_ED.
func Embedded(vmlinux []byte) (Config, error) { return EmbeddedFrom(bytes.NewReader(vmlinux)) }

// EmbeddedFrom is Embedded reading the kernel image as a stream: it keeps only a
// small buffer, so a caller need not hold the whole unpacked kernel.
func EmbeddedFrom(r io.Reader) (Config, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	const marker = "IKCFG_ST"
	matched := 0
	for matched < len(marker) {
		c, err := br.ReadByte()
		if err != nil {
			return nil, ErrNoEmbedded
		}
		switch {
		case c == marker[matched]:
			matched++
		case c == marker[0]:
			matched = 1
		default:
			matched = 0
		}
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("embedded kernel config: %w", err)
	}
	zr.Multistream(false) // IKCFG_ED follows the gzip member
	return Parse(zr)
}
