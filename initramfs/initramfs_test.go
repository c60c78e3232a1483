package initramfs

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kjump/kjump/cpio"
)

type got struct {
	hdr  cpio.Header
	data string
}

// readArchive gunzips and unpacks an archive with the standard library's
// gzip and package cpio, returning names in archive order and entries by name.
func readArchive(t testing.TB, gz []byte) ([]string, map[string]got) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	r := cpio.NewReader(zr)
	var names []string
	entries := make(map[string]got)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := entries[h.Name]; dup {
			t.Errorf("%s appears twice", h.Name)
		}
		names = append(names, h.Name)
		entries[h.Name] = got{*h, string(data)}
	}
	// The cpio data must be all there is in the gzip stream but padding.
	rest, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(bytes.Trim(rest, "\x00")) != 0 {
		t.Errorf("%d non-NUL bytes after the trailer", len(rest))
	}
	return names, entries
}

func archiveBytes(t testing.TB, a *Archive) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := a.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

// want describes an expected entry: "d 755", "f 644 data", "l target", "c 600 5 1".
type want struct {
	mode       uint32
	data       string
	rmaj, rmin uint32
}

func check(t *testing.T, names []string, entries map[string]got, wants map[string]want) {
	t.Helper()
	for i, name := range names {
		if i > 0 && names[i-1] >= name {
			t.Errorf("%s follows %s: not sorted", name, names[i-1])
		}
		if dir := filepath.Dir(name); dir != "." {
			if _, ok := entries[dir]; !ok || !contains(names[:i], dir) {
				t.Errorf("%s precedes its parent %s, or the parent is missing", name, dir)
			}
		}
		w, ok := wants[name]
		if !ok {
			t.Errorf("unexpected entry %s", name)
			continue
		}
		h := entries[name].hdr
		nlink := uint32(1)
		if w.mode&cpio.TypeMask == cpio.TypeDir {
			nlink = 2
		}
		if h.Mode != w.mode || entries[name].data != w.data || h.RDevMajor != w.rmaj || h.RDevMinor != w.rmin ||
			h.UID != 0 || h.GID != 0 || h.MTime != 0 || h.NLink != nlink {
			t.Errorf("%s: got %+v data %.40q\nwant mode %#o data %.40q rdev %d,%d nlink %d",
				name, h, entries[name].data, w.mode, w.data, w.rmaj, w.rmin, nlink)
		}
	}
	for name := range wants {
		if _, ok := entries[name]; !ok {
			t.Errorf("missing entry %s", name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func dir(perm uint32) want            { return want{mode: cpio.TypeDir | perm} }
func file(perm uint32, d string) want { return want{mode: cpio.TypeReg | perm, data: d} }
func link(target string) want         { return want{mode: cpio.TypeSymlink | 0o777, data: target} }
func chr(perm, maj, min uint32) want {
	return want{mode: cpio.TypeCharDev | perm, rmaj: maj, rmin: min}
}

func TestArchive(t *testing.T) {
	a := New()
	a.File("/etc/init.d/rcS", 0o755, []byte("#!/bin/sh\n"))
	a.Dir("etc", 0o700) // replaces the automatic parent, keeps its children
	a.Symlink("bin/sh", "busybox")
	a.CharDev("dev/null", 0o666, 1, 3)
	a.Dir("tmp", fs.ModeSticky|0o777)
	a.File("usr/bin/su", fs.ModeSetuid|fs.ModeSetgid|0o755, []byte("x"))
	a.File("a//b/./c", 0o644, nil)
	a.File("a/b/c", 0o600, []byte("replaced")) // same path as above
	a.File("a-b", 0o644, []byte("sorts before a/b"))
	a.Dir("d", fs.ModeDir|0o750) // type bits in perm are ignored
	a.Dir("s", 0o1777)           // st_mode style sticky bit
	a.File("s/x", 0o4711, nil)   // st_mode style setuid bit
	if err := a.HostFile("host", filepath.Join("testdata", "hello.txt"), 0o640); err != nil {
		t.Fatal(err)
	}
	names, entries := readArchive(t, archiveBytes(t, a))
	check(t, names, entries, map[string]want{
		"a":              dir(0o755),
		"a-b":            file(0o644, "sorts before a/b"),
		"a/b":            dir(0o755),
		"a/b/c":          file(0o600, "replaced"),
		"bin":            dir(0o755),
		"bin/sh":         link("busybox"),
		"d":              dir(0o750),
		"dev":            dir(0o755),
		"dev/null":       chr(0o666, 1, 3),
		"etc":            dir(0o700),
		"etc/init.d":     dir(0o755),
		"etc/init.d/rcS": file(0o755, "#!/bin/sh\n"),
		"host":           file(0o640, "hello from the host\n"),
		"s":              dir(0o1777),
		"s/x":            file(0o4711, ""),
		"tmp":            dir(0o1777),
		"usr":            dir(0o755),
		"usr/bin":        dir(0o755),
		"usr/bin/su":     file(0o6755, "x"),
	})
	for i, name := range names {
		if entries[name].hdr.Ino != uint32(i) {
			t.Errorf("%s has inode %d, want %d", name, entries[name].hdr.Ino, i)
		}
	}
}

func TestArchiveErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(a *Archive)
		msg   string
	}{
		{"root", func(a *Archive) { a.Dir("/", 0o755) }, "names the root"},
		{"empty", func(a *Archive) { a.File("", 0o644, nil) }, "names the root"},
		{"dot dot", func(a *Archive) { a.File("../..", 0o644, nil) }, "names the root"},
		{"NUL", func(a *Archive) { a.File("a\x00b", 0o644, nil) }, "NUL"},
		{"long path", func(a *Archive) { a.File(strings.Repeat("d/", 2049), 0o644, nil) }, "limit 4095"},
		{"empty link", func(a *Archive) { a.Symlink("l", "") }, "bad symbolic link target"},
		{"long link", func(a *Archive) { a.Symlink("l", strings.Repeat("x", 4096)) }, "bad symbolic link target"},
		{"file parent", func(a *Archive) { a.File("a", 0o644, nil); a.File("a/b", 0o644, nil) }, "a/b: parent a is not a directory"},
		{"dir replaced", func(a *Archive) { a.File("a/b", 0o644, nil); a.Symlink("a", "x") }, "parent a is not a directory"},
		{"missing host file", func(a *Archive) { a.HostFile("x", "testdata/no-such-file", 0o644) }, "testdata/no-such-file"},
		{"first error wins", func(a *Archive) { a.File("", 0o644, nil); a.Symlink("l", "") }, "names the root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New()
			a.File("ok", 0o644, []byte("fine"))
			tt.build(a)
			var buf bytes.Buffer
			n, err := a.WriteTo(&buf)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("WriteTo error %v, want one containing %q", err, tt.msg)
			}
			if n != 0 || buf.Len() != 0 {
				t.Errorf("WriteTo wrote %d (%d) bytes despite the error", buf.Len(), n)
			}
			out := filepath.Join(t.TempDir(), "initrd")
			if err := a.WriteFile(out); err == nil {
				t.Error("WriteFile succeeded")
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("WriteFile left %s behind: %v", out, err)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "initrd.gz")
	if err := os.WriteFile(out, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := New()
	a.File("init", 0o755, []byte("#!/bin/sh\n"))

	bad := New()
	bad.Symlink("l", "")
	if err := bad.WriteFile(out); err == nil {
		t.Fatal("WriteFile of a bad archive succeeded")
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Errorf("failed WriteFile changed %s to %q", out, b)
	}

	if err := a.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, archiveBytes(t, a)) {
		t.Error("file differs from WriteTo output")
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode())
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("directory holds %d files, want 1 (temporary files left?)", len(ents))
	}
	if err := a.WriteFile(filepath.Join(dir, "no-such-dir", "initrd")); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// staticBinary builds a tiny static Go program once per test run.
func staticBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build a static test binary")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "initramfs-test-")
		if buildErr != nil {
			return
		}
		src := "package main\n\nfunc main() { println(\"hello from /init\") }\n"
		if buildErr = os.WriteFile(filepath.Join(buildDir, "main.go"), []byte(src), 0o644); buildErr != nil {
			return
		}
		if buildErr = os.WriteFile(filepath.Join(buildDir, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o644); buildErr != nil {
			return
		}
		builtPath = filepath.Join(buildDir, "tiny")
		cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", builtPath, ".")
		cmd.Dir = buildDir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building the static test binary: %v", buildErr)
	}
	return builtPath
}

// kjumpWants lists what Kjump always creates, given the kjump binary.
func kjumpWants(kjump string) map[string]want {
	return map[string]want{
		"bin":         dir(0o755),
		"bin/kjump":   link("/init"),
		"dev":         dir(0o755),
		"dev/console": chr(0o600, 5, 1),
		"dev/null":    chr(0o666, 1, 3),
		"dev/ttyS0":   chr(0o600, 4, 64),
		"etc":         dir(0o755),
		"init":        file(0o755, kjump),
		"mnt":         dir(0o755),
		"proc":        dir(0o555),
		"root":        dir(0o700),
		"run":         dir(0o755),
		"sbin":        dir(0o755),
		"sys":         dir(0o555),
		"tmp":         dir(0o1777),
	}
}

func TestKjump(t *testing.T) {
	bin := staticBinary(t)
	kjump, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Kjump(Options{Kjump: bin, Files: map[string][]byte{
		"/lab/run.sh":   []byte("#!/bin/sh\necho lab\n"),
		"/usr/bin/prog": []byte("\x7fELF program"),
		"etc/motd":      []byte("kjump lab\n"),
		"lab/data/seed": []byte("#not a script"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	wants := kjumpWants(string(kjump))
	wants["lab"] = dir(0o755)
	wants["lab/run.sh"] = file(0o755, "#!/bin/sh\necho lab\n")
	wants["usr"] = dir(0o755)
	wants["usr/bin"] = dir(0o755)
	wants["usr/bin/prog"] = file(0o755, "\x7fELF program")
	wants["lab/data"] = dir(0o755)
	wants["lab/data/seed"] = file(0o644, "#not a script")
	wants["etc/motd"] = file(0o644, "kjump lab\n")
	names, entries := readArchive(t, archiveBytes(t, a))
	check(t, names, entries, wants)
}

func TestKjumpBusybox(t *testing.T) {
	const busybox = "/bin/busybox"
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Skipf("no %s: %v", busybox, err)
	}
	if reason := checkStatic(bytes.NewReader(data)); reason != "" {
		t.Skipf("%s %s (install busybox-static)", busybox, reason)
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := staticBinary(t)
	kjump, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Kjump(Options{Kjump: bin, Busybox: busybox})
	if err != nil {
		t.Fatal(err)
	}
	wants := kjumpWants(string(kjump))
	wants["bin/busybox"] = file(0o755, string(data))
	for _, applet := range strings.Fields(string(out)) {
		if _, ok := wants["bin/"+applet]; !ok {
			wants["bin/"+applet] = link("busybox")
		}
	}
	if _, ok := wants["bin/sh"]; !ok {
		t.Fatalf("%s --list has no sh applet", busybox)
	}
	names, entries := readArchive(t, archiveBytes(t, a))
	check(t, names, entries, wants)
}

func TestKjumpRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	static := write("static", makeELF64(elf.EM_X86_64, elf.ET_EXEC, ""))
	tests := []struct {
		name    string
		opts    Options
		static  bool   // errors.Is(err, ErrNotStatic)
		message string // the error contains this
	}{
		{"no kjump", Options{}, false, "Options.Kjump is empty"},
		{"missing kjump", Options{Kjump: filepath.Join(dir, "nope")}, false, filepath.Join(dir, "nope")},
		{"dynamic kjump", Options{Kjump: write("dyn", makeELF64(elf.EM_X86_64, elf.ET_DYN, "/lib64/ld-linux-x86-64.so.2"))},
			true, `dynamically linked (it asks for the loader "/lib64/ld-linux-x86-64.so.2"): build kjump with CGO_ENABLED=0`},
		{"arm64 kjump", Options{Kjump: write("arm", makeELF64(elf.EM_AARCH64, elf.ET_EXEC, ""))}, true, "EM_AARCH64"},
		{"32-bit kjump", Options{Kjump: write("i386", makeELF32())}, true, "ELFCLASS32"},
		{"relocatable kjump", Options{Kjump: write("obj", makeELF64(elf.EM_X86_64, elf.ET_REL, ""))}, true, "ET_REL"},
		{"no PT_LOAD", Options{Kjump: write("noload", makeELF64(elf.EM_X86_64, elf.ET_EXEC, "", noLoad))}, true, "no PT_LOAD"},
		{"script kjump", Options{Kjump: write("script", []byte("#!/bin/sh\n"))}, true, "not an ELF file"},
		{"empty kjump", Options{Kjump: write("empty", nil)}, true, "not an ELF file"},
		{"missing busybox", Options{Kjump: static, Busybox: filepath.Join(dir, "bb")}, false, filepath.Join(dir, "bb")},
		{"dynamic busybox", Options{Kjump: static, Busybox: write("dynbb", makeELF64(elf.EM_X86_64, elf.ET_EXEC, "/lib/ld.so"))},
			true, "busybox binary " + filepath.Join(dir, "dynbb") + " is dynamically linked"},
		{"busybox that cannot run", Options{Kjump: static, Busybox: static}, false, "--list"},
		{"file replaces /init", Options{Kjump: static, Files: map[string][]byte{"/init": nil}}, false, "already holds /init"},
		{"file replaces a dir", Options{Kjump: static, Files: map[string][]byte{"etc": nil}}, false, "already holds etc"},
		{"file under a file", Options{Kjump: static, Files: map[string][]byte{"init/x": nil}}, false, "parent init is not a directory"},
		{"bad file path", Options{Kjump: static, Files: map[string][]byte{"/": nil}}, false, "names the root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Kjump(tt.opts)
			if err == nil {
				_, err = a.WriteTo(io.Discard)
			} else if a != nil {
				t.Error("Kjump returned an archive with its error")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err, tt.message)
			}
			if errors.Is(err, ErrNotStatic) != tt.static {
				t.Errorf("errors.Is(%v, ErrNotStatic) = %v, want %v", err, !tt.static, tt.static)
			}
		})
	}
}

// TestKjumpHostDynamic refuses a real dynamically linked program.
func TestKjumpHostDynamic(t *testing.T) {
	const ls = "/bin/ls"
	f, err := elf.Open(ls)
	if err != nil {
		t.Skipf("no ELF %s: %v", ls, err)
	}
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	if !dynamic {
		t.Skipf("%s is static on this machine", ls)
	}
	_, err = Kjump(Options{Kjump: ls})
	if !errors.Is(err, ErrNotStatic) || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("Kjump(%s) = %v, want ErrNotStatic saying CGO_ENABLED=0", ls, err)
	}
	var be *BinaryError
	if !errors.As(err, &be) || be.Path != ls || be.Role != "kjump" {
		t.Errorf("error %#v does not name the kjump binary %s", err, ls)
	}
	_, err = Kjump(Options{Kjump: staticBinary(t), Busybox: ls})
	if !errors.Is(err, ErrNotStatic) || !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("Kjump with busybox %s = %v, want ErrNotStatic naming busybox-static", ls, err)
	}
}

func TestReproducible(t *testing.T) {
	bin := staticBinary(t)
	files := map[string][]byte{}
	for _, name := range strings.Fields("a b c d e f g h i j k l m n o p") {
		files["lab/"+name] = []byte(name)
	}
	opts := Options{Kjump: bin, Files: files}
	if reason := checkStatic(bytesOf(t, "/bin/busybox")); reason == "" {
		opts.Busybox = "/bin/busybox"
	}
	var outs [][]byte
	for range 3 {
		a, err := Kjump(opts)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, archiveBytes(t, a))
	}
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			t.Fatalf("build %d differs from build 0", i)
		}
	}
	// Insertion order does not matter either.
	x, y := New(), New()
	x.File("b/c", 0o644, []byte("1"))
	x.Symlink("a", "b")
	y.Symlink("a", "b")
	y.File("b/c", 0o644, []byte("1"))
	if !bytes.Equal(archiveBytes(t, x), archiveBytes(t, y)) {
		t.Error("insertion order changed the output")
	}
}

func bytesOf(t *testing.T, path string) *bytes.Reader {
	b, err := os.ReadFile(path)
	if err != nil {
		return bytes.NewReader(nil)
	}
	return bytes.NewReader(b)
}

func TestGoBinaryIsStatic(t *testing.T) {
	f, err := os.Open(staticBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if reason := checkStatic(f); reason != "" {
		t.Errorf("a CGO_ENABLED=0 Go binary %s", reason)
	}
}

const noLoad = elf.PT_NOTE

// makeELF64 returns a minimal ELF64 little-endian file: a PT_LOAD (or the
// given program header types) and, if interp is set, a PT_INTERP naming it.
func makeELF64(machine elf.Machine, typ elf.Type, interp string, types ...elf.ProgType) []byte {
	if len(types) == 0 {
		types = []elf.ProgType{elf.PT_LOAD}
	}
	if interp != "" {
		types = append([]elf.ProgType{elf.PT_INTERP}, types...)
	}
	const ehsize, phsize = 64, 56
	dataOff := uint64(ehsize + phsize*len(types))
	h := elf.Header64{
		Type: uint16(typ), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Entry: 0x401000, Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: uint16(len(types)),
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, h)
	for _, pt := range types {
		p := elf.Prog64{Type: uint32(pt), Flags: uint32(elf.PF_R), Off: dataOff, Align: 1}
		if pt == elf.PT_INTERP {
			p.Filesz = uint64(len(interp) + 1)
			p.Memsz = p.Filesz
		}
		binary.Write(&buf, binary.LittleEndian, p)
	}
	buf.WriteString(interp + "\x00")
	return buf.Bytes()
}

func makeELF32() []byte {
	h := elf.Header32{Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_386), Version: uint32(elf.EV_CURRENT), Ehsize: 52}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, h)
	return buf.Bytes()
}

func TestCheckStaticSynthetic(t *testing.T) {
	if reason := checkStatic(bytes.NewReader(makeELF64(elf.EM_X86_64, elf.ET_EXEC, ""))); reason != "" {
		t.Errorf("static ET_EXEC refused: %s", reason)
	}
	if reason := checkStatic(bytes.NewReader(makeELF64(elf.EM_X86_64, elf.ET_DYN, ""))); reason != "" {
		t.Errorf("static-pie ET_DYN refused: %s", reason)
	}
}

func BenchmarkKjumpWriteTo(b *testing.B) {
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		b.Skip(err)
	}
	a := New()
	a.File("init", 0o755, data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := a.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
