package initramfs

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// ErrNotStatic is matched (errors.Is) by the [*BinaryError] returned for a
// program that cannot run in the initramfs: anything but a statically linked
// x86-64 ELF executable.
var ErrNotStatic = errors.New("initramfs: not a static x86-64 ELF executable")

// A BinaryError says why a program cannot go into the initramfs and how to
// get one that can.
type BinaryError struct {
	Role   string // "kjump" or "busybox"
	Path   string // the host file
	Detail string // what is wrong with it
	Hint   string // what to do instead
}

func (e *BinaryError) Error() string {
	return fmt.Sprintf("initramfs: %s binary %s %s: %s", e.Role, e.Path, e.Detail, e.Hint)
}

// Is reports whether target is ErrNotStatic.
func (e *BinaryError) Is(target error) bool { return target == ErrNotStatic }

// Options says what goes into the archive [Kjump] builds.
type Options struct {
	// Kjump is the host path of the kjump binary, installed as /init with
	// a symbolic link /bin/kjump -> /init. Required.
	Kjump string
	// Busybox is the host path of a static busybox, or "". It is installed
	// as /bin/busybox with one symbolic link /bin/<applet> -> busybox for
	// each applet `busybox --list` prints (Debian: busybox-static's
	// /bin/busybox).
	Busybox string
	// Files are extra files, path -> content: mode 0755 if the content
	// starts with "#!" or is an ELF file (programs and shared libraries), else 0644. A path may not replace an entry Kjump
	// creates itself.
	Files map[string][]byte
}

const (
	kjumpFix   = "build kjump with CGO_ENABLED=0"
	busyboxFix = "use a static busybox (Debian package busybox-static, /bin/busybox)"
)

// busyboxTimeout bounds `busybox --list`.
const busyboxTimeout = time.Minute

// Kjump returns the archive that boots kjump as /init; see the package
// documentation for its contents. It reads the binaries, checks that they
// are static x86-64 ELF executables, and runs `busybox --list` if
// opts.Busybox is set.
func Kjump(opts Options) (*Archive, error) {
	if opts.Kjump == "" {
		return nil, errors.New("initramfs: Options.Kjump is empty: the path of the kjump binary is required")
	}
	kjump, err := readStatic("kjump", opts.Kjump, kjumpFix)
	if err != nil {
		return nil, err
	}
	a := New()
	for _, d := range []struct {
		path string
		perm fs.FileMode
	}{
		{"bin", 0o755}, {"sbin", 0o755}, {"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555},
		{"tmp", fs.ModeSticky | 0o777}, {"run", 0o755}, {"root", 0o700}, {"etc", 0o755}, {"mnt", 0o755},
	} {
		a.Dir(d.path, d.perm)
	}
	a.CharDev("dev/console", 0o600, 5, 1)
	a.CharDev("dev/null", 0o666, 1, 3)
	a.CharDev("dev/ttyS0", 0o600, 4, 64)
	a.File("init", 0o755, kjump)
	a.Symlink("bin/kjump", "/init")

	if opts.Busybox != "" {
		busybox, err := readStatic("busybox", opts.Busybox, busyboxFix)
		if err != nil {
			return nil, err
		}
		applets, err := busyboxApplets(opts.Busybox)
		if err != nil {
			return nil, err
		}
		a.File("bin/busybox", 0o755, busybox)
		for _, name := range applets {
			if !a.has("bin/" + name) {
				a.Symlink("bin/"+name, "busybox")
			}
		}
	}

	paths := make([]string, 0, len(opts.Files))
	for p := range opts.Files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if a.has(p) {
			return nil, fmt.Errorf("initramfs: extra file %s: the archive already holds %s", p, p)
		}
		data := opts.Files[p]
		perm := fs.FileMode(0o644)
		if bytes.HasPrefix(data, []byte("#!")) || bytes.HasPrefix(data, []byte("\x7fELF")) {
			perm = 0o755
		}
		a.File(p, perm, data)
	}
	if a.err != nil {
		return nil, a.err
	}
	return a, nil
}

// readStatic reads the program at path and checks that it is static.
func readStatic(role, path, fix string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %s binary: %w", role, err)
	}
	if reason := checkStatic(bytes.NewReader(data)); reason != "" {
		return nil, &BinaryError{Role: role, Path: path, Detail: reason, Hint: fix}
	}
	return data, nil
}

// checkStatic returns "" if r holds a statically linked x86-64 ELF
// executable, else the reason it does not.
func checkStatic(r io.ReaderAt) string {
	f, err := elf.NewFile(r)
	if err != nil {
		return fmt.Sprintf("is not an ELF file (%v)", err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		return fmt.Sprintf("is an ELF file for %v %v, not ELFCLASS64 EM_X86_64", f.Class, f.Machine)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Sprintf("is an ELF file of type %v, not an executable", f.Type)
	}
	load := false
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			return fmt.Sprintf("is dynamically linked (it asks for the loader %q)", interp(p))
		case elf.PT_LOAD:
			load = true
		}
	}
	if !load {
		return "has no PT_LOAD program header, nothing to run"
	}
	return ""
}

// interp returns the loader a PT_INTERP segment names, cut short.
func interp(p *elf.Prog) string {
	b := make([]byte, 256)
	n, _ := p.ReadAt(b, 0)
	s, _, _ := strings.Cut(string(b[:n]), "\x00")
	return s
}

// busyboxApplets runs `busybox --list` and returns the applet names.
func busyboxApplets(busybox string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), busyboxTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, busybox, "--list")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("initramfs: %s --list: %w: %s", busybox, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var applets []string
	for name := range strings.FieldsSeq(string(out)) {
		if name == "." || name == ".." || name == "busybox" || strings.ContainsAny(name, "/\x00") {
			continue
		}
		applets = append(applets, name)
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("initramfs: %s --list printed no applets", busybox)
	}
	return applets, nil
}
