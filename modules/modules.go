package modules

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ListPath is where the second kernel's initramfs lists the modules to load,
// one absolute path per line, in order.
const ListPath = "/etc/kjump/modules"

// ErrNoModule means a module a device needs is not in modules.dep.
var ErrNoModule = errors.New("module not found")

// ErrCompressed means a module is compressed in a way the kernel that loads it
// cannot undo.
var ErrCompressed = errors.New("module compressed in a way the loading kernel cannot decompress")

// Name is a module's name as the kernel shows it (/sys/module/NAME): the file
// name without ".ko" and compression suffix, with '-' as '_'.
func Name(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// ForDevice returns the modules of the drivers of block device "MAJOR:MINOR"
// and of every device above it (for a partition: its disk's), from sysfs
// under root; built-in drivers are left out. The disk's own driver comes
// first.
func ForDevice(root, dev string) ([]string, error) {
	sys := filepath.Join(root, "sys")
	dir, err := filepath.EvalSymlinks(filepath.Join(sys, "dev/block", dev))
	if err != nil {
		return nil, fmt.Errorf("block device %s: %w", dev, err)
	}
	devices := filepath.Join(sys, "devices")
	var out []string
	for d := dir; strings.HasPrefix(d, devices+"/"); d = filepath.Dir(d) {
		drv, err := filepath.EvalSymlinks(filepath.Join(d, "driver"))
		if err != nil {
			continue
		}
		mod, err := filepath.EvalSymlinks(filepath.Join(drv, "module"))
		if err != nil {
			continue // built in, without a /sys/module entry
		}
		// A built-in driver may have a /sys/module entry too (for its
		// parameters); only a loaded module has an initstate.
		if _, err := os.Stat(filepath.Join(mod, "initstate")); err != nil {
			continue
		}
		if name := filepath.Base(mod); !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// Dep is a parsed modules.dep.
type Dep struct {
	path map[string]string   // module name -> file, relative to the modules directory
	deps map[string][]string // module name -> dependencies' names
}

// MaxDepLine bounds one line of modules.dep.
const MaxDepLine = 1 << 20

// ParseDep parses modules.dep.
func ParseDep(r io.Reader) (*Dep, error) {
	d := &Dep{path: map[string]string{}, deps: map[string][]string{}}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), MaxDepLine)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		file, rest, ok := strings.Cut(line, ":")
		if !ok || file == "" || strings.ContainsAny(file, " \t") || !strings.Contains(file, ".ko") {
			return nil, fmt.Errorf("modules.dep line %d: %q is not \"MODULE.ko: DEPENDENCIES\"", n, line)
		}
		if err := checkRel(file); err != nil {
			return nil, fmt.Errorf("modules.dep line %d: %w", n, err)
		}
		name := Name(file)
		var deps []string
		for _, f := range strings.Fields(rest) {
			if err := checkRel(f); err != nil {
				return nil, fmt.Errorf("modules.dep line %d: %w", n, err)
			}
			deps = append(deps, Name(f))
		}
		d.path[name], d.deps[name] = file, deps
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("modules.dep: %w", err)
	}
	return d, nil
}

// checkRel refuses a module path that could point outside the modules
// directory.
func checkRel(p string) error {
	if filepath.IsAbs(p) || p != filepath.Clean(p) || strings.HasPrefix(p, "..") {
		return fmt.Errorf("module path %q is not a plain relative path", p)
	}
	return nil
}

// LoadDep reads root/lib/modules/RELEASE/modules.dep.
func LoadDep(root, release string) (*Dep, error) {
	p := filepath.Join(Dir(root, release), "modules.dep")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%w (run depmod %s)", err, release)
	}
	defer f.Close()
	d, err := ParseDep(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return d, nil
}

// Dir is the modules directory of release under root.
func Dir(root, release string) string { return filepath.Join(root, "lib/modules", release) }

// Order returns the files (relative to the modules directory) of the named
// modules and of everything they depend on, each dependency before the modules
// that use it, each file once.
func (d *Dep) Order(names []string) ([]string, error) {
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, from []string) error
	visit = func(name string, from []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("modules.dep: %s depends on itself (%s)", name, strings.Join(append(from, name), " -> "))
		case 2:
			return nil
		}
		p, ok := d.path[name]
		if !ok {
			if len(from) == 0 {
				return fmt.Errorf("%w: %s is not in modules.dep", ErrNoModule, name)
			}
			return fmt.Errorf("%w: %s, needed by %s, is not in modules.dep", ErrNoModule, name, from[len(from)-1])
		}
		state[name] = 1
		for _, dep := range d.deps[name] {
			if err := visit(dep, append(from, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		out = append(out, p)
		return nil
	}
	for _, n := range names {
		if err := visit(strings.ReplaceAll(n, "-", "_"), nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Compression of a module file, from its name.
func Compression(path string) string {
	switch filepath.Ext(path) {
	case ".gz":
		return "gzip"
	case ".xz":
		return "xz"
	case ".zst":
		return "zstd"
	}
	return ""
}

// Files reads the module files rel (from Order) under dir for an initramfs:
// it returns their contents by path in the initramfs (under /lib/modules/RELEASE,
// as dir is), gzip and zstd modules decompressed, and the list of those paths
// in order, the content of ListPath. An xz module is kept compressed when
// kernelDecompresses (the loading kernel has CONFIG_MODULE_DECOMPRESS) and
// refused otherwise.
func Files(dir, release string, rel []string, kernelDecompresses bool) (map[string][]byte, []byte, error) {
	files := map[string][]byte{}
	var list bytes.Buffer
	for _, r := range rel {
		data, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			return nil, nil, err
		}
		guest := filepath.Join("/lib/modules", release, r)
		switch c := Compression(r); {
		case c == "" || kernelDecompresses:
		case c == "gzip" || c == "zstd":
			if data, err = decompress(c, data); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, r), err)
			}
			guest = strings.TrimSuffix(guest, filepath.Ext(guest))
		default:
			return nil, nil, fmt.Errorf("%w: %s is %s-compressed and the kernel lacks CONFIG_MODULE_DECOMPRESS: install the modules uncompressed (or gzip/zstd), or build the kernel with CONFIG_MODULE_DECOMPRESS=y", ErrCompressed, filepath.Join(dir, r), c)
		}
		files[guest] = data
		fmt.Fprintln(&list, guest)
	}
	return files, list.Bytes(), nil
}

// maxModule bounds a decompressed module (the largest in a distribution
// kernel are a few tens of MiB).
const maxModule = 256 << 20

func decompress(kind string, data []byte) ([]byte, error) {
	var r io.Reader
	switch kind {
	case "gzip":
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		r = z
	case "zstd":
		z, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer z.Close()
		r = z
	}
	out, err := io.ReadAll(io.LimitReader(r, maxModule+1))
	if err != nil {
		return nil, fmt.Errorf("decompressing %s: %w", kind, err)
	}
	if len(out) > maxModule {
		return nil, fmt.Errorf("decompressing %s: larger than %d MiB", kind, maxModule>>20)
	}
	return out, nil
}

// ForDevices is ForDevice for several devices: every module once, in the
// order found.
func ForDevices(root string, devs ...string) ([]string, error) {
	var out []string
	for _, d := range devs {
		mods, err := ForDevice(root, d)
		if err != nil {
			return nil, err
		}
		for _, m := range mods {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out, nil
}
