package vmcoreinfo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors; every error from Parse and ParseNote matches one.
var (
	// ErrEmpty: no text at all (or only NUL padding).
	ErrEmpty = errors.New("empty VMCOREINFO")
	// ErrBinary: bytes that never appear in VMCOREINFO text (control
	// characters, NUL before the end, invalid UTF-8): not VMCOREINFO.
	ErrBinary = errors.New("binary data, not VMCOREINFO text")
	// ErrSyntax: a line that is not KEY=VALUE, or a value that does not
	// fit its key (a SYMBOL that is not hexadecimal, ...).
	ErrSyntax = errors.New("malformed VMCOREINFO line")
	// ErrDuplicate: a key given twice. The kernel writes each key once,
	// and two values would make Identity ambiguous.
	ErrDuplicate = errors.New("duplicate VMCOREINFO key")
	// ErrNote: ParseNote's input is not a VMCOREINFO ELF note.
	ErrNote = errors.New("not a VMCOREINFO note")
)

// SyntaxError locates a problem in VMCOREINFO text. Kind is ErrEmpty,
// ErrBinary, ErrSyntax or ErrDuplicate; Line is 1-based (0 when the
// problem is not on one line); Offset is the byte offset of the problem.
type SyntaxError struct {
	Err    error
	Line   int
	Offset int
	Text   string // the offending line, shortened to 80 bytes
	Detail string
}

func (e *SyntaxError) Error() string {
	s := "vmcoreinfo: " + e.Err.Error()
	if e.Line > 0 {
		s += fmt.Sprintf(": line %d %q", e.Line, e.Text)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns Kind.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Info is parsed VMCOREINFO text.
type Info struct {
	// Raw maps every key, as the kernel spells it ("SYMBOL(_stext)",
	// "OSRELEASE"), to its value text. Treat it as read-only: the typed
	// accessors use values parsed once by Parse.
	Raw map[string]string

	keys    []string // in text order
	symbols map[string]uint64
	sizes   map[string]int64
	offsets map[string]int64
	lengths map[string]int64
	numbers map[string]int64
	// plain keys with typed values
	pageSize     uint64
	kernelOffset uint64
	crashTime    int64
}

// kinds of KIND(name) keys and how their values are written by
// include/linux/vmcore_info.h.
const (
	kindSymbol = "SYMBOL" // %lx
	kindSize   = "SIZE"   // %lu
	kindOffset = "OFFSET" // %lu
	kindLength = "LENGTH" // %lu
	kindNumber = "NUMBER" // %ld, or 0x%lx (VMALLOC_START), or %d
)

// Parse parses VMCOREINFO text: lines KEY=VALUE separated by '\n'. Trailing
// NUL bytes (padding of a buffer or a note) are ignored, and so are empty
// lines; a last line without '\n' is accepted. Keys and values are taken
// exactly as written, no spaces trimmed. Values of the keys the kernel
// writes are checked (SYMBOL and KERNELOFFSET hexadecimal, SIZE, OFFSET,
// LENGTH, PAGESIZE and CRASHTIME decimal, NUMBER decimal or 0x-hex,
// BUILD-ID hexadecimal); keys it does not know are kept in Raw unchecked.
// Errors are *SyntaxError.
func Parse(data []byte) (*Info, error) {
	data = bytes.TrimRight(data, "\x00")
	if len(data) == 0 {
		return nil, &SyntaxError{Err: ErrEmpty}
	}
	if err := checkText(data); err != nil {
		return nil, err
	}
	info := &Info{
		Raw:     map[string]string{},
		symbols: map[string]uint64{},
		sizes:   map[string]int64{},
		offsets: map[string]int64{},
		lengths: map[string]int64{},
		numbers: map[string]int64{},
	}
	off := 0
	for n, line := range strings.Split(string(data), "\n") {
		lineOff := off
		off += len(line) + 1
		if line == "" {
			continue
		}
		bad := func(kind error, format string, args ...any) error {
			return &SyntaxError{Err: kind, Line: n + 1, Offset: lineOff, Text: shorten(line), Detail: fmt.Sprintf(format, args...)}
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, bad(ErrSyntax, "no '='")
		}
		if err := info.add(key, value); err != nil {
			if errors.Is(err, ErrDuplicate) {
				return nil, bad(ErrDuplicate, "%v", err)
			}
			return nil, bad(ErrSyntax, "%v", err)
		}
	}
	if len(info.keys) == 0 {
		return nil, &SyntaxError{Err: ErrEmpty, Detail: "only empty lines"}
	}
	return info, nil
}

// checkText rejects bytes that VMCOREINFO text never contains.
func checkText(data []byte) error {
	line := 1
	for i, c := range data {
		if c == '\n' {
			line++
			continue
		}
		if c < 0x20 && c != '\t' || c == 0x7f {
			return &SyntaxError{Err: ErrBinary, Offset: i, Detail: fmt.Sprintf("byte %#02x at offset %d (line %d)", c, i, line)}
		}
	}
	if !utf8.Valid(data) {
		return &SyntaxError{Err: ErrBinary, Detail: "invalid UTF-8"}
	}
	return nil
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

// add records one KEY=VALUE line.
func (i *Info) add(key, value string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.ContainsAny(key, " \t") {
		return errors.New("space in key")
	}
	if _, dup := i.Raw[key]; dup {
		return fmt.Errorf("%w %s", ErrDuplicate, key)
	}
	if open := strings.IndexByte(key, '('); open >= 0 || strings.ContainsRune(key, ')') {
		kind, name, err := splitCall(key)
		if err != nil {
			return err
		}
		if err := i.addCall(kind, name, value); err != nil {
			return err
		}
	} else if err := i.addPlain(key, value); err != nil {
		return err
	}
	i.Raw[key] = value
	i.keys = append(i.keys, key)
	return nil
}

// splitCall splits "KIND(name)" into its parts.
func splitCall(key string) (kind, name string, err error) {
	open := strings.IndexByte(key, '(')
	if open <= 0 || !strings.HasSuffix(key, ")") {
		return "", "", fmt.Errorf("key %q is not KIND(name)", key)
	}
	name = key[open+1 : len(key)-1]
	if name == "" || strings.ContainsAny(name, "()") {
		return "", "", fmt.Errorf("key %q is not KIND(name)", key)
	}
	return key[:open], name, nil
}

func (i *Info) addCall(kind, name, value string) error {
	switch kind {
	case kindSymbol:
		v, err := parseHex(value)
		if err != nil {
			return fmt.Errorf("SYMBOL value %q is not hexadecimal", value)
		}
		i.symbols[name] = v
	case kindSize, kindOffset, kindLength:
		v, err := strconv.ParseUint(value, 10, 63)
		if err != nil {
			return fmt.Errorf("%s value %q is not an unsigned decimal", kind, value)
		}
		switch kind {
		case kindSize:
			i.sizes[name] = int64(v)
		case kindOffset:
			i.offsets[name] = int64(v)
		default:
			i.lengths[name] = int64(v)
		}
	case kindNumber:
		v, err := parseNumber(value)
		if err != nil {
			return fmt.Errorf("NUMBER value %q is neither decimal nor 0x-hexadecimal", value)
		}
		i.numbers[name] = v
	}
	return nil
}

func (i *Info) addPlain(key, value string) error {
	var err error
	switch key {
	case "PAGESIZE":
		i.pageSize, err = strconv.ParseUint(value, 10, 64)
		if err != nil || i.pageSize == 0 {
			return fmt.Errorf("PAGESIZE %q is not a positive decimal", value)
		}
	case "KERNELOFFSET":
		i.kernelOffset, err = parseHex(value)
		if err != nil {
			return fmt.Errorf("KERNELOFFSET %q is not hexadecimal", value)
		}
	case "CRASHTIME":
		i.crashTime, err = strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("CRASHTIME %q is not a decimal", value)
		}
	case "BUILD-ID":
		if value == "" || strings.TrimLeft(strings.ToLower(value), "0123456789abcdef") != "" {
			return fmt.Errorf("BUILD-ID %q is not hexadecimal", value)
		}
	}
	return nil
}

// parseHex parses %lx output, with or without 0x. (ParseUint with base 16
// takes neither a prefix nor a sign.)
func parseHex(s string) (uint64, error) {
	s, _ = strings.CutPrefix(s, "0x")
	return strconv.ParseUint(s, 16, 64)
}

// parseNumber parses a NUMBER value: %ld (signed decimal) or 0x%lx, whose
// bits are returned as an int64 (NUMBER(VMALLOC_START)=0xffffc90000000000
// is negative as an int64; convert it back with uint64()).
func parseNumber(s string) (int64, error) {
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		u, err := strconv.ParseUint(h, 16, 64)
		return int64(u), err
	}
	if strings.HasPrefix(s, "+") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}

// Keys returns the keys in the order of the text.
func (i *Info) Keys() []string { return slices.Clone(i.keys) }

// Bytes renders the text again, one KEY=VALUE line per key in the original
// order, each ending in '\n'. Parse(i.Bytes()) gives an equal Info.
func (i *Info) Bytes() []byte {
	var b []byte
	for _, k := range i.keys {
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, i.Raw[k]...)
		b = append(b, '\n')
	}
	return b
}

// OSRelease returns OSRELEASE, the kernel's release string (uname -r).
func (i *Info) OSRelease() string { return i.Raw["OSRELEASE"] }

// BuildID returns BUILD-ID, the hex GNU build ID of vmlinux, or "" when
// there is none or it is all zeros (the kernel prints zeros when vmlinux
// has no build-ID note).
func (i *Info) BuildID() string {
	id := i.Raw["BUILD-ID"]
	if strings.Trim(id, "0") == "" {
		return ""
	}
	return id
}

// PageSize returns PAGESIZE.
func (i *Info) PageSize() (uint64, bool) {
	_, ok := i.Raw["PAGESIZE"]
	return i.pageSize, ok
}

// Symbol returns SYMBOL(name): the symbol's run-time virtual address (for
// an array symbol such as mem_section or vmemmap, the pointer's value).
func (i *Info) Symbol(name string) (uint64, bool) {
	v, ok := i.symbols[name]
	return v, ok
}

// Size returns SIZE(name), sizeof(struct name) or sizeof(name).
func (i *Info) Size(name string) (int64, bool) {
	v, ok := i.sizes[name]
	return v, ok
}

// Offset returns OFFSET(struct.member), offsetof(struct struct, member).
func (i *Info) Offset(structMember string) (int64, bool) {
	v, ok := i.offsets[structMember]
	return v, ok
}

// Length returns LENGTH(name), an array length.
func (i *Info) Length(name string) (int64, bool) {
	v, ok := i.lengths[name]
	return v, ok
}

// Number returns NUMBER(name). Values the kernel prints in hex
// (VMALLOC_START) come back as their bits: use uint64(n).
func (i *Info) Number(name string) (int64, bool) {
	v, ok := i.numbers[name]
	return v, ok
}

// KernelOffset returns KERNELOFFSET, the KASLR displacement of the kernel
// image's virtual addresses (0 without KASLR).
func (i *Info) KernelOffset() (uint64, bool) {
	_, ok := i.Raw["KERNELOFFSET"]
	return i.kernelOffset, ok
}

// CrashTime returns CRASHTIME, the Unix time of the crash. The kernel
// appends it only when it panics into a crash kernel.
func (i *Info) CrashTime() (int64, bool) {
	_, ok := i.Raw["CRASHTIME"]
	return i.crashTime, ok
}

// Config reports whether CONFIG_name=y is present (name without the
// CONFIG_ prefix).
func (i *Info) Config(name string) bool { return i.Raw["CONFIG_"+name] == "y" }

// x86_64 kernel image mapping: __START_KERNEL_map and the default
// KERNEL_IMAGE_SIZE with KASLR (1 GiB).
const (
	startKernelMap  = 0xffffffff80000000
	kernelImageSize = 1 << 30
)

// Identity returns a string that names the kernel build, the same on every
// boot of that build and different for another build. With a build ID it
// is "OSRELEASE build-id:HEX". Without one it is
// "OSRELEASE layout-sha256:HEX", a SHA-256 over the sorted SIZE, OFFSET
// and LENGTH lines (struct layouts) and the SYMBOL lines that point into
// the kernel image, with KERNELOFFSET subtracted so that KASLR does not
// change them. SYMBOL values outside the image (mem_section, vmemmap:
// run-time pointers) and NUMBER lines (phys_base, VMALLOC_START: run-time
// values) are left out. A missing OSRELEASE is written as "unknown".
func (i *Info) Identity() string {
	rel := i.OSRelease()
	if rel == "" {
		rel = "unknown"
	}
	if id := i.BuildID(); id != "" {
		return rel + " build-id:" + strings.ToLower(id)
	}
	imageEnd := uint64(startKernelMap + kernelImageSize)
	if n, ok := i.Number("KERNEL_IMAGE_SIZE"); ok && n > 0 && uint64(n) <= ^uint64(0)-startKernelMap {
		imageEnd = startKernelMap + uint64(n)
	}
	var lines []string
	for _, k := range i.keys {
		kind, name, err := splitCall(k)
		if err != nil {
			continue
		}
		switch kind {
		case kindSize, kindOffset, kindLength:
			lines = append(lines, k+"="+i.Raw[k])
		case kindSymbol:
			v := i.symbols[name]
			if v >= startKernelMap && v < imageEnd {
				lines = append(lines, fmt.Sprintf("%s=%x", k, v-i.kernelOffset))
			}
		}
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return rel + " layout-sha256:" + hex.EncodeToString(h.Sum(nil))
}
