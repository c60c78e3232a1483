package vmcoreinfo_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/vmcoreinfo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// render lists every key with the value its typed accessor returns.
func render(t *testing.T, info *vmcoreinfo.Info) string {
	t.Helper()
	var b strings.Builder
	must := func(ok bool, key string) {
		if !ok {
			t.Errorf("accessor for %s reports it missing", key)
		}
	}
	for _, k := range info.Keys() {
		kind, name, isCall := strings.Cut(k, "(")
		name = strings.TrimSuffix(name, ")")
		switch {
		case isCall && kind == "SYMBOL":
			v, ok := info.Symbol(name)
			must(ok, k)
			fmt.Fprintf(&b, "symbol %s = %#x\n", name, v)
		case isCall && kind == "SIZE":
			v, ok := info.Size(name)
			must(ok, k)
			fmt.Fprintf(&b, "size %s = %d\n", name, v)
		case isCall && kind == "OFFSET":
			v, ok := info.Offset(name)
			must(ok, k)
			fmt.Fprintf(&b, "offset %s = %d\n", name, v)
		case isCall && kind == "LENGTH":
			v, ok := info.Length(name)
			must(ok, k)
			fmt.Fprintf(&b, "length %s = %d\n", name, v)
		case isCall && kind == "NUMBER":
			v, ok := info.Number(name)
			must(ok, k)
			fmt.Fprintf(&b, "number %s = %d (%#x)\n", name, v, uint64(v))
		case k == "OSRELEASE":
			fmt.Fprintf(&b, "osrelease %q\n", info.OSRelease())
		case k == "BUILD-ID":
			fmt.Fprintf(&b, "build-id %q\n", info.BuildID())
		case k == "PAGESIZE":
			v, ok := info.PageSize()
			must(ok, k)
			fmt.Fprintf(&b, "pagesize %d\n", v)
		case k == "KERNELOFFSET":
			v, ok := info.KernelOffset()
			must(ok, k)
			fmt.Fprintf(&b, "kerneloffset %#x\n", v)
		case k == "CRASHTIME":
			v, ok := info.CrashTime()
			must(ok, k)
			fmt.Fprintf(&b, "crashtime %d\n", v)
		default:
			fmt.Fprintf(&b, "raw %s = %q\n", k, info.Raw[k])
		}
	}
	fmt.Fprintf(&b, "identity %s\n", info.Identity())
	return b.String()
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			info, err := vmcoreinfo.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(info.Bytes(), data) {
				t.Error("Bytes() differs from the input")
			}
			got := render(t, info)
			golden := strings.TrimSuffix(in, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("render differs from %s (go test -update to rewrite):\n%s", golden, diffLines(string(want), got))
			}
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestAccessors(t *testing.T) {
	data, err := os.ReadFile("testdata/x86_64-kaslr-numa.txt")
	if err != nil {
		t.Fatal(err)
	}
	info, err := vmcoreinfo.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		ok   bool
		want any
	}{}
	add := func(name string, want any) func(any, bool) {
		return func(got any, ok bool) {
			checks = append(checks, struct {
				name string
				got  any
				ok   bool
				want any
			}{name, got, ok, want})
		}
	}
	add("PageSize", uint64(4096))(info.PageSize())
	add("Symbol(_stext)", uint64(0xffffffff99a00000))(info.Symbol("_stext"))
	add("Symbol(mem_section)", uint64(0xffff8f2f3ffd5000))(info.Symbol("mem_section"))
	add("Size(page)", int64(64))(info.Size("page"))
	add("Size(nodemask_t)", int64(128))(info.Size("nodemask_t"))
	add("Offset(page._refcount)", int64(52))(info.Offset("page._refcount"))
	add("Length(zone.free_area)", int64(11))(info.Length("zone.free_area"))
	add("Number(phys_base)", int64(0x1a000000))(info.Number("phys_base"))
	add("Number(PAGE_BUDDY_MAPCOUNT_VALUE)", int64(0xf0000000))(info.Number("PAGE_BUDDY_MAPCOUNT_VALUE"))
	add("KernelOffset", uint64(0x18a00000))(info.KernelOffset())
	for _, c := range checks {
		if !c.ok || c.got != c.want {
			t.Errorf("%s = %v, %v; want %v", c.name, c.got, c.ok, c.want)
		}
	}
	if v, ok := info.Number("VMALLOC_START"); !ok || uint64(v) != 0xffffb52c40000000 {
		t.Errorf("Number(VMALLOC_START) = %#x, %v", uint64(v), ok)
	}
	if info.OSRelease() != "6.12.38-kjump" || info.BuildID() != "5b1e0c37a4d2f9e8c61b7a0d93f4e2c85a6b1d07" {
		t.Errorf("OSRelease %q BuildID %q", info.OSRelease(), info.BuildID())
	}
	if _, ok := info.CrashTime(); ok {
		t.Error("CrashTime present in a kernel that did not crash")
	}
	for name, f := range map[string]func() bool{
		"Symbol(mem_map)":   func() bool { _, ok := info.Symbol("mem_map"); return ok },
		"Size(_stext)":      func() bool { _, ok := info.Size("_stext"); return ok },
		"Offset(page)":      func() bool { _, ok := info.Offset("page"); return ok },
		"Length(page)":      func() bool { _, ok := info.Length("page"); return ok },
		"Number(_stext)":    func() bool { _, ok := info.Number("_stext"); return ok },
		"Config(X86_PAE)":   func() bool { return info.Config("X86_PAE") },
		"Symbol(SYMBOL(x))": func() bool { _, ok := info.Symbol("SYMBOL(_stext)"); return ok },
	} {
		if f() {
			t.Errorf("%s reported present", name)
		}
	}
	if id := info.Identity(); id != "6.12.38-kjump build-id:5b1e0c37a4d2f9e8c61b7a0d93f4e2c85a6b1d07" {
		t.Errorf("Identity = %q", id)
	}
}

func TestParseLines(t *testing.T) {
	tests := []struct {
		name string
		text string
		kind error  // nil: must parse
		want string // substring of the error, or "key=value" that must be in Raw
	}{
		{"trailing NUL padding", "PAGESIZE=4096\n\x00\x00\x00\x00", nil, "PAGESIZE=4096"},
		{"no final newline", "OSRELEASE=6.12.38\nPAGESIZE=4096", nil, "PAGESIZE=4096"},
		{"blank lines", "\n\nPAGESIZE=4096\n\n", nil, "PAGESIZE=4096"},
		{"value with '='", "OSRELEASE=6.12.38=x\n", nil, "OSRELEASE=6.12.38=x"},
		{"empty value", "OSRELEASE=\n", nil, "OSRELEASE="},
		{"unknown plain key", "VA_BITS_ACTUAL=48\n", nil, "VA_BITS_ACTUAL=48"},
		{"unknown call key", "TYPE(foo)=bar\n", nil, "TYPE(foo)=bar"},
		{"negative number", "NUMBER(phys_base)=-2147483648\n", nil, "NUMBER(phys_base)=-2147483648"},
		{"hex number", "NUMBER(VMALLOC_START)=0xffffc90000000000\n", nil, "NUMBER(VMALLOC_START)=0xffffc90000000000"},
		{"symbol with 0x", "SYMBOL(_stext)=0xffffffff81000000\n", nil, "SYMBOL(_stext)=0xffffffff81000000"},
		{"config", "CONFIG_X86_PAE=y\n", nil, "CONFIG_X86_PAE=y"},

		{"empty", "", vmcoreinfo.ErrEmpty, "empty"},
		{"only NULs", "\x00\x00\x00", vmcoreinfo.ErrEmpty, "empty"},
		{"only newlines", "\n\n", vmcoreinfo.ErrEmpty, "only empty lines"},
		{"NUL inside", "PAGESIZE=4096\n\x00OSRELEASE=x\n", vmcoreinfo.ErrBinary, "byte 0x00 at offset 14 (line 2)"},
		{"ELF bytes", "\x7fELF\x02\x01\x01", vmcoreinfo.ErrBinary, "0x7f"},
		{"note header", "\x0b\x00\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00VMCOREINFO\x00\x00PAGESIZE=4096\n", vmcoreinfo.ErrBinary, "byte 0x0b at offset 0"},
		{"CRLF", "PAGESIZE=4096\r\n", vmcoreinfo.ErrBinary, "byte 0x0d at offset 13"},
		{"invalid UTF-8", "OSRELEASE=\xff\xfe\n", vmcoreinfo.ErrBinary, "UTF-8"},
		{"no equals", "PAGESIZE 4096\n", vmcoreinfo.ErrSyntax, `line 1 "PAGESIZE 4096": no '='`},
		{"empty key", "=4096\n", vmcoreinfo.ErrSyntax, "empty key"},
		{"space in key", "PAGE SIZE=4096\n", vmcoreinfo.ErrSyntax, "space in key"},
		{"unclosed call", "SYMBOL(_stext=ffffffff81000000\n", vmcoreinfo.ErrSyntax, "not KIND(name)"},
		{"empty name", "SYMBOL()=ffffffff81000000\n", vmcoreinfo.ErrSyntax, "not KIND(name)"},
		{"no kind", "(x)=1\n", vmcoreinfo.ErrSyntax, "not KIND(name)"},
		{"nested", "SIZE(a(b))=1\n", vmcoreinfo.ErrSyntax, "not KIND(name)"},
		{"stray paren", "SIZE)=1\n", vmcoreinfo.ErrSyntax, "not KIND(name)"},
		{"symbol not hex", "SYMBOL(_stext)=ffffffff8100000g\n", vmcoreinfo.ErrSyntax, "not hexadecimal"},
		{"symbol too big", "SYMBOL(_stext)=1ffffffff81000000\n", vmcoreinfo.ErrSyntax, "not hexadecimal"},
		{"symbol empty", "SYMBOL(_stext)=\n", vmcoreinfo.ErrSyntax, "not hexadecimal"},
		{"symbol signed", "SYMBOL(_stext)=-1\n", vmcoreinfo.ErrSyntax, "not hexadecimal"},
		{"size negative", "SIZE(page)=-64\n", vmcoreinfo.ErrSyntax, "unsigned decimal"},
		{"size hex", "SIZE(page)=0x40\n", vmcoreinfo.ErrSyntax, "unsigned decimal"},
		{"offset spaces", "OFFSET(page.flags)= 0\n", vmcoreinfo.ErrSyntax, "unsigned decimal"},
		{"length huge", "LENGTH(x)=9223372036854775808\n", vmcoreinfo.ErrSyntax, "unsigned decimal"},
		{"number plus", "NUMBER(x)=+1\n", vmcoreinfo.ErrSyntax, "NUMBER value"},
		{"number bad hex", "NUMBER(x)=0xzz\n", vmcoreinfo.ErrSyntax, "NUMBER value"},
		{"number double 0x", "NUMBER(x)=0x0x1\n", vmcoreinfo.ErrSyntax, "NUMBER value"},
		{"pagesize zero", "PAGESIZE=0\n", vmcoreinfo.ErrSyntax, "PAGESIZE"},
		{"pagesize hex", "PAGESIZE=0x1000\n", vmcoreinfo.ErrSyntax, "PAGESIZE"},
		{"kerneloffset", "KERNELOFFSET=xyz\n", vmcoreinfo.ErrSyntax, "KERNELOFFSET"},
		{"crashtime", "CRASHTIME=yesterday\n", vmcoreinfo.ErrSyntax, "CRASHTIME"},
		{"build-id", "BUILD-ID=not-hex\n", vmcoreinfo.ErrSyntax, "BUILD-ID"},
		{"build-id empty", "BUILD-ID=\n", vmcoreinfo.ErrSyntax, "BUILD-ID"},
		{"duplicate", "PAGESIZE=4096\nOSRELEASE=x\nPAGESIZE=4096\n", vmcoreinfo.ErrDuplicate, "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := vmcoreinfo.Parse([]byte(tt.text))
			if tt.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				k, v, _ := strings.Cut(tt.want, "=")
				if got, ok := info.Raw[k]; !ok || got != v {
					t.Errorf("Raw[%q] = %q, %v; want %q", k, got, ok, v)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded: %v", info.Raw)
			}
			if info != nil {
				t.Error("Parse returned an Info with the error")
			}
			var se *vmcoreinfo.SyntaxError
			if !errors.Is(err, tt.kind) || !errors.As(err, &se) {
				t.Errorf("error %v (%T) does not match %v", err, err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	info, err := vmcoreinfo.Parse([]byte("CONFIG_X86_PAE=y\nCONFIG_ARM_LPAE=n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Config("X86_PAE") || info.Config("ARM_LPAE") || info.Config("X2TLB") {
		t.Errorf("Config: X86_PAE %v, ARM_LPAE %v, X2TLB %v", info.Config("X86_PAE"), info.Config("ARM_LPAE"), info.Config("X2TLB"))
	}
}

func TestBuildIDZeros(t *testing.T) {
	info, err := vmcoreinfo.Parse([]byte("OSRELEASE=6.12.38\nBUILD-ID=0000000000000000000000000000000000000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if id := info.BuildID(); id != "" {
		t.Errorf("BuildID = %q, want \"\" for zeros", id)
	}
}

// shifted returns the KASLR-NUMA testdata as the same build would show it
// booted with another KASLR offset and other run-time values.
func shifted(t *testing.T, noBuildID bool, edit func(string) string) *vmcoreinfo.Info {
	t.Helper()
	data, err := os.ReadFile("testdata/x86_64-kaslr-numa.txt")
	if err != nil {
		t.Fatal(err)
	}
	info, err := vmcoreinfo.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	const oldOff, newOff = 0x18a00000, 0x2c000000
	var b strings.Builder
	for _, k := range info.Keys() {
		v := info.Raw[k]
		if s, ok := info.Symbol(strings.TrimSuffix(strings.TrimPrefix(k, "SYMBOL("), ")")); ok && strings.HasPrefix(k, "SYMBOL(") {
			if s >= 0xffffffff80000000 {
				s = s - oldOff + newOff // kernel image: moved by KASLR
			} else {
				s += 0x4000000000 // direct map / vmemmap pointers: randomised too
			}
			v = fmt.Sprintf("%x", s)
		}
		switch k {
		case "KERNELOFFSET":
			v = fmt.Sprintf("%x", newOff)
		case "NUMBER(phys_base)":
			v = "771751936"
		case "NUMBER(VMALLOC_START)":
			v = "0xffffa1e740000000"
		case "BUILD-ID":
			if noBuildID {
				v = "0000000000000000000000000000000000000000"
			}
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	text := b.String()
	if edit != nil {
		text = edit(text)
	}
	out, err := vmcoreinfo.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIdentity(t *testing.T) {
	a := shifted(t, true, nil)
	// Same build, other boot: the same identity, with and without build ID.
	data, _ := os.ReadFile("testdata/x86_64-kaslr-numa.txt")
	orig, _ := vmcoreinfo.Parse(bytes.Replace(data, []byte("BUILD-ID=5b1e0c37a4d2f9e8c61b7a0d93f4e2c85a6b1d07"), []byte("BUILD-ID=0000000000000000000000000000000000000000"), 1))
	if orig.Identity() != a.Identity() {
		t.Errorf("KASLR changed the identity:\n%s\n%s", orig.Identity(), a.Identity())
	}
	if !strings.HasPrefix(a.Identity(), "6.12.38-kjump layout-sha256:") {
		t.Errorf("Identity = %q", a.Identity())
	}
	withID := shifted(t, false, nil)
	origWithID, _ := vmcoreinfo.Parse(data)
	if withID.Identity() != origWithID.Identity() {
		t.Errorf("identity with build ID differs: %s vs %s", withID.Identity(), origWithID.Identity())
	}

	// Other builds: a different identity.
	for name, edit := range map[string]func(string) string{
		"struct layout": func(s string) string { return strings.Replace(s, "SIZE(page)=64", "SIZE(page)=80", 1) },
		"member offset": func(s string) string { return strings.Replace(s, "OFFSET(page.lru)=8", "OFFSET(page.lru)=16", 1) },
		"array length":  func(s string) string { return strings.Replace(s, "LENGTH(node_data)=1024", "LENGTH(node_data)=64", 1) },
		"image symbol": func(s string) string {
			return strings.Replace(s, "SYMBOL(init_uts_ns)=ffffffffaea17600", "SYMBOL(init_uts_ns)=ffffffffaea17640", 1)
		},
		"release": func(s string) string {
			return strings.Replace(s, "OSRELEASE=6.12.38-kjump", "OSRELEASE=6.12.39-kjump", 1)
		},
		"missing symbol": func(s string) string { return strings.Replace(s, "SYMBOL(clear_seq)=ffffffffafbe2a78\n", "", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			other := shifted(t, true, func(s string) string {
				e := edit(s)
				if e == s {
					t.Fatalf("edit %q changed nothing", name)
				}
				return e
			})
			if other.Identity() == a.Identity() {
				t.Errorf("identity unchanged: %s", a.Identity())
			}
		})
	}
	// Another build ID is another build, whatever else matches.
	otherID, _ := vmcoreinfo.Parse(bytes.Replace(data, []byte("5b1e0c37"), []byte("5b1e0c38"), 1))
	if otherID.Identity() == origWithID.Identity() {
		t.Error("a different build ID gives the same identity")
	}
	// Without OSRELEASE.
	bare, _ := vmcoreinfo.Parse([]byte("PAGESIZE=4096\n"))
	if !strings.HasPrefix(bare.Identity(), "unknown layout-sha256:") {
		t.Errorf("Identity without OSRELEASE = %q", bare.Identity())
	}
}
