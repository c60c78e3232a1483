package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/internal/atomicfile"
	"github.com/kjump/kjump/kconfig"
)

// Fragment is the committed kernel config fragment the lab kernel is built with.
//
//go:embed kjump.config
var Fragment []byte

// RealFragment is what the "real" machine's kernel adds to Debian's own
// configuration: CONFIG_KEXEC_JUMP=y.
//
//go:embed real.config
var RealFragment []byte

// RealLsmod is the lsmod listing `make localmodconfig` reduces Debian's modules
// to: what a Debian 12 guest on QEMU q35 with virtio disks, virtio-net and
// e1000 loads.
//
//go:embed real.lsmod
var RealLsmod []byte

// DebianConfig is Debian's configuration of its amd64 6.12 kernel, from the
// linux-config-6.12 package.
const DebianConfig = "/usr/src/linux-config-6.12/config.amd64_none_amd64.xz"

// DefaultTarball is where Debian's linux-source-6.12 package puts the source.
const DefaultTarball = "/usr/src/linux-source-6.12.tar.xz"

// recipe changes whenever the build steps below change in a way that changes the output.
const recipe = "kjump-kernel-recipe-1"

// realRecipe is recipe for builds on a base config (Options.Base).
const realRecipe = "kjump-kernel-real-recipe-1"

// ErrNoSource means the kernel source tarball is missing.
var ErrNoSource = errors.New("kernel source not found")

// ErrConfigMismatch means the built .config lacks options the fragment asks for.
var ErrConfigMismatch = errors.New("kernel config does not have every option the fragment sets")

// ConfigError lists the options olddefconfig did not keep.
type ConfigError struct {
	Config     string
	Mismatches []kconfig.Mismatch
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d option(s) of the fragment did not survive olddefconfig (a dependency is missing; add it to the fragment):", e.Config, len(e.Mismatches))
	for _, m := range e.Mismatches {
		got := m.Got
		if got == "" {
			got = "absent"
		}
		fmt.Fprintf(&b, "\n  CONFIG_%s: want %s, got %s", m.Name, m.Want, got)
	}
	return b.String()
}

func (e *ConfigError) Unwrap() error { return ErrConfigMismatch }

// Variant returns Fragment with each option set to a new value ("n" to disable),
// for kernels that lack something on purpose (e.g. a kernel without
// CONFIG_KEXEC_JUMP, to prove kjump refuses it).
func Variant(set map[string]string) []byte {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(Fragment), "\n") {
		name := ""
		if rest, ok := strings.CutPrefix(line, "CONFIG_"); ok {
			name, _, _ = strings.Cut(rest, "=")
		} else if rest, ok := strings.CutPrefix(line, "# CONFIG_"); ok {
			name, _, _ = strings.Cut(rest, " ")
		}
		v, ok := set[name]
		switch {
		case !ok:
			b.WriteString(line)
		case v == "n":
			fmt.Fprintf(&b, "# CONFIG_%s is not set\n", name)
		default:
			fmt.Fprintf(&b, "CONFIG_%s=%s\n", name, v)
		}
	}
	return b.Bytes()
}

// Options says what to build and where.
type Options struct {
	Tarball  string    // default DefaultTarball
	CacheDir string    // default CacheDir()
	Fragment []byte    // default Fragment (RealFragment with Base)
	Jobs     int       // default runtime.NumCPU()
	Progress io.Writer // one line per step; nil for silence

	// Base, when set, is a distribution's .config (xz-compressed if it ends in
	// .xz) that replaces tinyconfig: the kernel is Base plus Fragment, its
	// modules reduced by `make localmodconfig` to Lsmod, built with its
	// modules, in a build tree of its own (so it and the lab kernel never
	// rebuild each other). Every option Base builds in (=y) stays built in,
	// unless it only exists for a module localmodconfig dropped: the build
	// fails otherwise.
	Base  string
	Lsmod []byte // an lsmod listing; default RealLsmod
}

// Real returns the Options of the "real" machine's kernel: Debian's own
// configuration plus CONFIG_KEXEC_JUMP, modules reduced to a QEMU guest's.
func Real(cacheDir string, progress io.Writer) Options {
	return Options{CacheDir: cacheDir, Progress: progress, Base: DebianConfig, Fragment: RealFragment, Lsmod: RealLsmod}
}

// Build is a verified kernel build in the cache.
type Build struct {
	Key     string // cache key: hash of source, fragment and recipe
	Dir     string
	BzImage string
	Config  string
	Vmlinux string
	Release string // e.g. "6.12.117"
	Cached  bool   // true when nothing was built
	// With Options.Base only: the modules as `make modules_install` lays them
	// out (Modules/lib/modules/RELEASE, with modules.dep), System.map, and
	// the options Base builds in that the build lacks, because they only exist
	// for modules localmodconfig dropped (one per line).
	Modules, SystemMap, Dropped string
}

// CacheDir is $XDG_CACHE_HOME/kjump, or ~/.cache/kjump.
func CacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kjump")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "kjump")
	}
	return filepath.Join(os.TempDir(), "kjump-cache")
}

// Key returns the cache key for a source tarball and fragment.
func Key(tarball string, fragment []byte) (string, error) {
	return key(tarball, recipe, fragment)
}

// key hashes the recipe, the source, the fragment and any more inputs.
func key(tarball, recipe string, fragment []byte, more ...[]byte) (string, error) {
	f, err := os.Open(tarball)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%w: %s (install it: apt-get install linux-source-6.12)", ErrNoSource, tarball)
		}
		return "", err
	}
	defer f.Close()
	src := sha256.New()
	if _, err := io.Copy(src, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", tarball, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nsource %x\nfragment %x\n", recipe, src.Sum(nil), sha256.Sum256(fragment))
	for _, m := range more {
		fmt.Fprintf(h, "input %x\n", sha256.Sum256(m))
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Ensure returns a verified build, building it first when the cache has none.
func Ensure(ctx context.Context, opt Options) (*Build, error) {
	if opt.Tarball == "" {
		opt.Tarball = DefaultTarball
	}
	if opt.CacheDir == "" {
		opt.CacheDir = CacheDir()
	}
	if opt.Fragment == nil {
		opt.Fragment = Fragment
		if opt.Base != "" {
			opt.Fragment = RealFragment
		}
	}
	if opt.Base != "" && opt.Lsmod == nil {
		opt.Lsmod = RealLsmod
	}
	if opt.Jobs <= 0 {
		opt.Jobs = runtime.NumCPU()
	}
	progress := opt.Progress
	if progress == nil {
		progress = io.Discard
	}
	frag, err := kconfig.ParseFragment(bytes.NewReader(opt.Fragment))
	if err != nil {
		return nil, fmt.Errorf("kernel config fragment: %w", err)
	}
	var base []byte
	key, err := Key(opt.Tarball, opt.Fragment)
	if opt.Base != "" {
		if base, err = readBase(opt.Base); err != nil {
			return nil, err
		}
		key, err = keyReal(opt.Tarball, opt.Fragment, base, opt.Lsmod)
	}
	if err != nil {
		return nil, err
	}
	b := &Build{Key: key, Dir: filepath.Join(opt.CacheDir, "kernel", key)}
	b.BzImage = filepath.Join(b.Dir, "bzImage")
	b.Config = filepath.Join(b.Dir, "config")
	b.Vmlinux = filepath.Join(b.Dir, "vmlinux")
	if base != nil {
		b.Modules = filepath.Join(b.Dir, "modules")
		b.SystemMap = filepath.Join(b.Dir, "System.map")
		b.Dropped = filepath.Join(b.Dir, "dropped-builtins")
	}
	if err := os.MkdirAll(filepath.Join(opt.CacheDir, "build"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := Lock(filepath.Join(b.Dir, "lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	if _, err := os.Stat(b.BzImage); err == nil {
		if err := verify(b.Config, frag); err != nil {
			return nil, err
		}
		b.Cached = true
		b.Release, _ = readRelease(b.Dir)
		return b, nil
	}

	srcDir, err := extract(ctx, opt.Tarball, opt.CacheDir, progress)
	if err != nil {
		return nil, err
	}
	// One build tree per source, shared by all configs: a changed fragment then
	// costs an incremental rebuild, not a cold one. Its own lock serialises builds.
	// A kernel on a base config has a tree of its own: sharing one with the lab
	// kernel would make each a full rebuild of the other.
	tree := filepath.Base(srcDir)
	if base != nil {
		tree = "real-" + tree
	}
	out := filepath.Join(opt.CacheDir, "build", tree)
	unlockTree, err := Lock(out + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlockTree()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(b.Dir, "build.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	mk := func(args ...string) error {
		full := append([]string{"-C", srcDir, "O=" + out, "ARCH=x86_64",
			"KBUILD_BUILD_USER=kjump", "KBUILD_BUILD_HOST=lab", "KBUILD_BUILD_TIMESTAMP=kjump-lab"}, args...)
		cmd := exec.CommandContext(ctx, "make", full...)
		cmd.Stdout, cmd.Stderr = logf, logf
		fmt.Fprintf(logf, "+ make %s\n", strings.Join(full, " "))
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("make %s: %w (log: %s)", strings.Join(args, " "), err, logPath)
		}
		return nil
	}
	config := filepath.Join(out, ".config")
	targets := []string{"bzImage"}
	if base == nil {
		fmt.Fprintf(progress, "kernel: configuring (tinyconfig + %d options from the fragment)\n", len(frag))
		if err := mk("tinyconfig"); err != nil {
			return nil, err
		}
		if err := appendFile(config, opt.Fragment); err != nil {
			return nil, err
		}
		if err := mk("olddefconfig"); err != nil {
			return nil, err
		}
	} else {
		fmt.Fprintf(progress, "kernel: configuring (%s + %d options from the fragment, localmodconfig)\n", opt.Base, len(frag))
		if err := configureReal(mk, out, base, opt.Fragment, opt.Lsmod, b.Dropped+".tmp"); err != nil {
			return nil, err
		}
		targets = append(targets, "modules")
	}
	if err := verify(config, frag); err != nil {
		return nil, err
	}
	start := time.Now()
	fmt.Fprintf(progress, "kernel: building %s with %d jobs (lab kernel: about 6 min on 2 cores; real: about 30; log: %s)\n", strings.Join(targets, " "), opt.Jobs, logPath)
	if err := mk(append([]string{"-j" + strconv.Itoa(opt.Jobs)}, targets...)...); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "kernel: built in %s\n", time.Since(start).Round(time.Second))
	release, err := os.ReadFile(filepath.Join(out, "include", "config", "kernel.release"))
	if err != nil {
		return nil, fmt.Errorf("reading kernel.release: %w", err)
	}
	b.Release = strings.TrimSpace(string(release))
	copies := []struct{ from, to string }{
		{config, b.Config},
		{filepath.Join(out, "vmlinux"), b.Vmlinux},
		{filepath.Join(out, "include", "config", "kernel.release"), filepath.Join(b.Dir, "release")},
	}
	if base != nil {
		// As a distribution package installs them: stripped of debug info,
		// compressed as the config says, with modules.dep.
		os.RemoveAll(b.Modules)
		if err := mk("INSTALL_MOD_PATH="+b.Modules, "INSTALL_MOD_STRIP=1", "modules_install"); err != nil {
			return nil, err
		}
		copies = append(copies,
			struct{ from, to string }{filepath.Join(out, "System.map"), b.SystemMap},
			struct{ from, to string }{b.Dropped + ".tmp", b.Dropped})
	}
	copies = append(copies, struct{ from, to string }{filepath.Join(out, "arch", "x86", "boot", "bzImage"), b.BzImage}) // last: marks the build complete
	for _, c := range copies {
		if err := atomicfile.Copy(c.from, c.to, 0o644); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// keyReal is the cache key of a kernel on a base config.
func keyReal(tarball string, fragment, base, lsmod []byte) (string, error) {
	return key(tarball, realRecipe, fragment, base, lsmod)
}

// readBase reads a base config, xz-compressed or not.
func readBase(path string) ([]byte, error) {
	if !strings.HasSuffix(path, ".xz") {
		return os.ReadFile(path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("base config: %w (Debian's is in the package linux-config-6.12)", err)
	}
	out, err := exec.Command("xz", "-dc", path).Output()
	if err != nil {
		return nil, fmt.Errorf("base config: xz -dc %s: %w", path, err)
	}
	return out, nil
}

// configureReal writes the build tree's .config: base plus fragment
// (olddefconfig), then localmodconfig with lsmod, then checks that no option
// base builds in was lost that could still be built in: it appends every =y
// line of base and runs olddefconfig again, which must change nothing. The
// options base builds in that the result lacks (they exist only for dropped
// modules) are written to dropped, one per line.
func configureReal(mk func(...string) error, out string, base, fragment, lsmod []byte, dropped string) error {
	config := filepath.Join(out, ".config")
	if err := os.WriteFile(config, base, 0o644); err != nil {
		return err
	}
	if err := appendFile(config, fragment); err != nil {
		return err
	}
	if err := mk("olddefconfig"); err != nil {
		return err
	}
	lsmodPath := filepath.Join(out, "kjump.lsmod")
	if err := os.WriteFile(lsmodPath, lsmod, 0o644); err != nil {
		return err
	}
	if err := mk("LSMOD="+lsmodPath, "localmodconfig"); err != nil {
		return err
	}
	reduced, err := os.ReadFile(config)
	if err != nil {
		return err
	}
	var builtin []byte
	for _, line := range strings.SplitAfter(string(base), "\n") {
		if strings.HasPrefix(line, "CONFIG_") && strings.HasSuffix(strings.TrimSpace(line), "=y") {
			builtin = append(builtin, line...)
		}
	}
	if err := appendFile(config, builtin); err != nil {
		return err
	}
	if err := mk("olddefconfig"); err != nil {
		return err
	}
	restored, err := os.ReadFile(config)
	if err != nil {
		return err
	}
	if !bytes.Equal(restored, reduced) {
		return fmt.Errorf("%w: localmodconfig turned off options the base config builds in that can still be built in (compare %s with the base)", ErrConfigMismatch, config)
	}
	cfg, err := kconfig.Parse(bytes.NewReader(reduced))
	if err != nil {
		return err
	}
	var lost strings.Builder
	for _, line := range strings.Split(string(builtin), "\n") {
		name, _, ok := strings.Cut(strings.TrimPrefix(line, "CONFIG_"), "=")
		if ok && cfg[name] != "y" {
			lost.WriteString("CONFIG_" + name + "\n")
		}
	}
	return os.WriteFile(dropped, []byte(lost.String()), 0o644)
}

func verify(config string, frag kconfig.Fragment) error {
	cfg, err := kconfig.Load(config)
	if err != nil {
		return err
	}
	if m := cfg.Check(frag); len(m) > 0 {
		return &ConfigError{Config: config, Mismatches: m}
	}
	return nil
}

func readRelease(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "release"))
	return strings.TrimSpace(string(b)), err
}

// extract unpacks the tarball once per source.
func extract(ctx context.Context, tarball, cacheDir string, progress io.Writer) (string, error) {
	st, err := os.Stat(tarball)
	if err != nil {
		return "", err
	}
	name := strings.TrimSuffix(filepath.Base(tarball), ".tar.xz")
	dir := filepath.Join(cacheDir, "src", fmt.Sprintf("%s-%d", name, st.Size()))
	if _, err := os.Stat(filepath.Join(dir, "Makefile")); err == nil {
		return dir, nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "kernel: unpacking %s\n", tarball)
	cmd := exec.CommandContext(ctx, "tar", "-C", tmp, "--strip-components=1", "-xJf", tarball)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("unpacking %s: %w: %s", tarball, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// Lock takes an exclusive lock on the file path (created if missing) and
// returns its release: how the lab's caches keep two processes from building
// the same thing at once.
func Lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(append([]byte("\n"), data...)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
