package initramfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/kjump/kjump/internal/atomicfile"

	"github.com/klauspost/compress/gzip"

	"github.com/kjump/kjump/cpio"
)

// An Archive is a set of entries keyed by path, written as a gzip-compressed
// newc cpio archive. Adding an entry creates its missing parent directories
// (mode 0755); adding a path that is already present replaces its entry.
// Paths may be given with or without a leading "/"; they are cleaned. The
// archive is written sorted by path, so parents precede their children and
// the order of the calls does not change the output.
//
// The methods that add entries do not return errors: the first bad path or
// value is remembered and returned by [Archive.WriteTo] and
// [Archive.WriteFile], which then write nothing.
type Archive struct {
	entries map[string]entry
	err     error
}

type entry struct {
	mode       uint32 // cpio.Type* | permission bits
	data       []byte // file contents or symbolic link target
	rmaj, rmin uint32 // device nodes
}

// New returns an empty Archive.
func New() *Archive { return &Archive{entries: make(map[string]entry)} }

// Dir adds a directory. Of perm, here and in the other methods, only the
// permission bits and the setuid, setgid and sticky bits are used; the last
// three may be given as fs.ModeSetuid, fs.ModeSetgid and fs.ModeSticky or as
// 04000, 02000 and 01000.
func (a *Archive) Dir(path string, perm fs.FileMode) {
	a.add(path, entry{mode: cpio.TypeDir | permBits(perm)})
}

// File adds a regular file holding data. The archive keeps data, not a copy.
func (a *Archive) File(path string, perm fs.FileMode, data []byte) {
	a.file(path, perm, data)
}

// HostFile adds a regular file holding the contents of the host file
// hostPath. Unlike the other methods it also returns its own error at once.
func (a *Archive) HostFile(path, hostPath string, perm fs.FileMode) error {
	data, err := os.ReadFile(hostPath)
	if err != nil {
		err = fmt.Errorf("initramfs: %s: %w", path, err)
		a.fail(err)
		return err
	}
	return a.file(path, perm, data)
}

func (a *Archive) file(path string, perm fs.FileMode, data []byte) error {
	if int64(len(data)) > cpio.MaxSize {
		err := fmt.Errorf("initramfs: %s: %d bytes, more than a cpio entry holds (%d)", path, len(data), int64(cpio.MaxSize))
		a.fail(err)
		return err
	}
	return a.add(path, entry{mode: cpio.TypeReg | permBits(perm), data: data})
}

// Symlink adds a symbolic link to target, which may be relative or absolute.
func (a *Archive) Symlink(path, target string) {
	if target == "" || len(target) >= cpio.MaxNameSize || strings.IndexByte(target, 0) >= 0 {
		a.fail(fmt.Errorf("initramfs: %s: bad symbolic link target %q (want 1 to %d bytes, no NUL)", path, target, cpio.MaxNameSize-1))
		return
	}
	a.add(path, entry{mode: cpio.TypeSymlink | 0o777, data: []byte(target)})
}

// CharDev adds a character device node.
func (a *Archive) CharDev(path string, perm fs.FileMode, major, minor uint32) {
	a.add(path, entry{mode: cpio.TypeCharDev | permBits(perm), rmaj: major, rmin: minor})
}

func (a *Archive) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

func (a *Archive) add(p string, e entry) error {
	name, err := cleanPath(p)
	if err != nil {
		a.fail(err)
		return err
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if _, ok := a.entries[dir]; !ok {
			a.entries[dir] = entry{mode: cpio.TypeDir | 0o755}
		}
	}
	a.entries[name] = e
	return nil
}

// has reports whether the archive holds path p.
func (a *Archive) has(p string) bool {
	name, err := cleanPath(p)
	if err != nil {
		return false
	}
	_, ok := a.entries[name]
	return ok
}

// cleanPath turns "/bin/x", "bin/x" or "bin//./x" into "bin/x".
func cleanPath(p string) (string, error) {
	name := path.Clean("/" + p)[1:]
	switch {
	case name == "":
		return "", fmt.Errorf("initramfs: bad path %q: it names the root", p)
	case strings.IndexByte(name, 0) >= 0:
		return "", fmt.Errorf("initramfs: bad path %q: it contains a NUL byte", p)
	case len(name) >= cpio.MaxNameSize:
		return "", fmt.Errorf("initramfs: bad path %.40q…: %d bytes, limit %d", p, len(name), cpio.MaxNameSize-1)
	}
	return name, nil
}

// permBits returns the permission, setuid, setgid and sticky bits of perm,
// given either as fs.ModeSetuid/ModeSetgid/ModeSticky or as the st_mode
// values 04000/02000/01000.
func permBits(perm fs.FileMode) uint32 {
	m := uint32(perm & 0o7777)
	if perm&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if perm&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if perm&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// sorted returns the paths in archive order after checking that every
// parent is a directory.
func (a *Archive) sorted() ([]string, error) {
	if a.err != nil {
		return nil, a.err
	}
	names := make([]string, 0, len(a.entries))
	for name := range a.entries {
		names = append(names, name)
	}
	// Byte order puts "a" before "a/b": parents precede their children.
	slices.Sort(names)
	for _, name := range names {
		if dir := path.Dir(name); dir != "." && a.entries[dir].mode&cpio.TypeMask != cpio.TypeDir {
			return nil, fmt.Errorf("initramfs: %s: parent %s is not a directory", name, dir)
		}
	}
	return names, nil
}

// WriteTo writes the archive to w, gzip-compressed, and returns the number
// of compressed bytes written. If an earlier call recorded an error, or an
// entry's parent is not a directory (a file was added where a directory was),
// WriteTo returns an error and writes nothing.
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	names, err := a.sorted()
	if err != nil {
		return 0, err
	}
	cnt := &countWriter{w: w}
	gz, err := gzip.NewWriterLevel(cnt, gzip.DefaultCompression)
	if err != nil {
		return 0, err
	}
	cw := cpio.NewWriter(gz)
	for _, name := range names {
		e := a.entries[name]
		h := cpio.Header{
			Name: name, Mode: e.mode, NLink: 1, Size: int64(len(e.data)),
			RDevMajor: e.rmaj, RDevMinor: e.rmin,
		}
		if e.mode&cpio.TypeMask == cpio.TypeDir {
			h.NLink = 2
		}
		if err := cw.WriteHeader(&h); err != nil {
			return cnt.n, fmt.Errorf("initramfs: %w", err)
		}
		if _, err := cw.Write(e.data); err != nil {
			return cnt.n, fmt.Errorf("initramfs: %w", err)
		}
	}
	if err := cw.Close(); err != nil {
		return cnt.n, fmt.Errorf("initramfs: %w", err)
	}
	if err := gz.Close(); err != nil {
		return cnt.n, fmt.Errorf("initramfs: %w", err)
	}
	return cnt.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteFile writes the archive to the file name, mode 0644, atomically: it
// writes a temporary file in the same directory, syncs it, renames it over
// name and syncs the directory. If writing fails, name is left as it was.
func (a *Archive) WriteFile(name string) error {
	if _, err := a.sorted(); err != nil {
		return err
	}
	err := atomicfile.Write(name, 0o644, func(w io.Writer) error {
		_, err := a.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}
