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

// DefaultTarball is where Debian's linux-source-6.12 package puts the source.
const DefaultTarball = "/usr/src/linux-source-6.12.tar.xz"

// recipe changes whenever the build steps below change in a way that changes the output.
const recipe = "kjump-kernel-recipe-1"

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
	Fragment []byte    // default Fragment
	Jobs     int       // default runtime.NumCPU()
	Progress io.Writer // one line per step; nil for silence
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
	key, err := Key(opt.Tarball, opt.Fragment)
	if err != nil {
		return nil, err
	}
	b := &Build{Key: key, Dir: filepath.Join(opt.CacheDir, "kernel", key)}
	b.BzImage = filepath.Join(b.Dir, "bzImage")
	b.Config = filepath.Join(b.Dir, "config")
	b.Vmlinux = filepath.Join(b.Dir, "vmlinux")
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
	out := filepath.Join(opt.CacheDir, "build", filepath.Base(srcDir))
	unlockTree, err := Lock(out + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlockTree()
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
	fmt.Fprintf(progress, "kernel: configuring (tinyconfig + %d options from the fragment)\n", len(frag))
	if err := mk("tinyconfig"); err != nil {
		return nil, err
	}
	if err := appendFile(filepath.Join(out, ".config"), opt.Fragment); err != nil {
		return nil, err
	}
	if err := mk("olddefconfig"); err != nil {
		return nil, err
	}
	if err := verify(filepath.Join(out, ".config"), frag); err != nil {
		return nil, err
	}
	start := time.Now()
	fmt.Fprintf(progress, "kernel: building bzImage with %d jobs (about 6 min on 2 cores; log: %s)\n", opt.Jobs, logPath)
	if err := mk("-j"+strconv.Itoa(opt.Jobs), "bzImage"); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "kernel: built in %s\n", time.Since(start).Round(time.Second))
	release, err := os.ReadFile(filepath.Join(out, "include", "config", "kernel.release"))
	if err != nil {
		return nil, fmt.Errorf("reading kernel.release: %w", err)
	}
	b.Release = strings.TrimSpace(string(release))
	for _, c := range []struct{ from, to string }{
		{filepath.Join(out, ".config"), b.Config},
		{filepath.Join(out, "vmlinux"), b.Vmlinux},
		{filepath.Join(out, "include", "config", "kernel.release"), filepath.Join(b.Dir, "release")},
		{filepath.Join(out, "arch", "x86", "boot", "bzImage"), b.BzImage}, // last: marks the build complete
	} {
		if err := atomicfile.Copy(c.from, c.to, 0o644); err != nil {
			return nil, err
		}
	}
	return b, nil
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
