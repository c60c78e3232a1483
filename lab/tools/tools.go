package tools

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kjump/kjump/internal/atomicfile"
	"github.com/kjump/kjump/lab/kernel"
)

// recipe changes whenever the steps below change what a chroot holds.
const recipe = "kjump-tools-recipe-1"

// Debian 13's suite and the packages the lab reads dumps with.
const (
	Suite = "trixie"
	// DefaultMirror is used when the host's apt sources name none.
	DefaultMirror = "http://deb.debian.org/debian"
)

// Packages are what the chroot holds beside the minimal base.
var Packages = []string{"crash", "python3-drgn"}

// ErrNoChroot means the chroot could not be made; the error says why and
// what to do.
var ErrNoChroot = errors.New("cannot make the Debian 13 chroot with crash and drgn")

// Options say where and how to build.
type Options struct {
	CacheDir string    // default kernel.CacheDir()
	Mirror   string    // default: the host's bookworm mirror (HostMirror), else DefaultMirror
	Progress io.Writer // a line per step; nil for silence
}

// Chroot is a complete Debian 13 chroot with crash and drgn.
type Chroot struct {
	Dir      string
	Mirror   string
	Versions map[string]string // installed package → version, for Packages
	Cached   bool              // true when nothing was built
}

// Key returns the cache key for a mirror.
func Key(mirror string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nsuite %s\nmirror %s\npackages %s\n", recipe, Suite, mirror, strings.Join(Packages, ","))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Ensure returns the chroot, building it first when the cache has none.
func Ensure(ctx context.Context, opt Options) (*Chroot, error) {
	if opt.CacheDir == "" {
		opt.CacheDir = kernel.CacheDir()
	}
	if opt.Mirror == "" {
		opt.Mirror = HostMirror("/")
	}
	progress := opt.Progress
	if progress == nil {
		progress = io.Discard
	}
	c := &Chroot{Dir: filepath.Join(opt.CacheDir, "tools", Suite+"-"+Key(opt.Mirror)), Mirror: opt.Mirror}
	if err := os.MkdirAll(filepath.Dir(c.Dir), 0o755); err != nil {
		return nil, err
	}
	unlock, err := kernel.Lock(c.Dir + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	versions := filepath.Join(c.Dir, "versions") // written last: marks the chroot complete
	if b, err := os.ReadFile(versions); err == nil {
		c.Cached, c.Versions = true, parseVersions(b)
		return c, nil
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: debootstrap and chroot need root (run the lab as root)", ErrNoChroot)
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return nil, fmt.Errorf("%w: debootstrap is not installed (apt-get install debootstrap; ./run installs it)", ErrNoChroot)
	}
	tmp := c.Dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	os.RemoveAll(c.Dir) // a chroot without its versions file is incomplete
	logPath := c.Dir + ".log"
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	start := time.Now()
	fmt.Fprintf(progress, "tools: debootstrap %s with %s from %s (about a minute; log: %s)\n", Suite, strings.Join(Packages, ", "), opt.Mirror, logPath)
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(Packages, ","), Suite, tmp, opt.Mirror)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%w: debootstrap %s from %s: %v (no network, or the mirror lacks %s?); its last lines (log: %s):\n%s",
			ErrNoChroot, Suite, opt.Mirror, err, Suite, logPath, lastLines(string(log), 8))
	}
	// Only what the lab needs: the downloaded packages are 100 MB.
	os.RemoveAll(filepath.Join(tmp, "var", "cache", "apt", "archives"))
	q := exec.CommandContext(ctx, "chroot", append([]string{tmp, "dpkg-query", "-W", "-f", "${Package} ${Version}\n"}, Packages...)...)
	out, err := q.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: dpkg-query in the new chroot: %v", ErrNoChroot, err)
	}
	c.Versions = parseVersions(out)
	for _, p := range Packages {
		if c.Versions[p] == "" {
			return nil, fmt.Errorf("%w: %s is not installed in %s (log: %s)", ErrNoChroot, p, tmp, logPath)
		}
	}
	if err := atomicfile.Write(filepath.Join(tmp, "versions"), 0o644, func(w io.Writer) error { _, err := w.Write(out); return err }); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, c.Dir); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "tools: %s in %s\n", c, time.Since(start).Round(time.Second))
	return c, nil
}

// String names the chroot by its packages' versions.
func (c *Chroot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Debian %s chroot", Suite)
	for i, p := range Packages {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s %s", sep, p, c.Versions[p])
	}
	return b.String()
}

// Command returns a command that runs name with args inside the chroot, in a
// private mount namespace with /proc mounted and each host directory of binds
// mounted at the same path, so files there keep their names.
func (c *Chroot) Command(ctx context.Context, binds []string, name string, args ...string) *exec.Cmd {
	var s strings.Builder
	s.WriteString("set -e\n")
	for _, b := range binds {
		in := shellQuote(filepath.Join(c.Dir, b))
		fmt.Fprintf(&s, "mkdir -p %s\nmount --bind %s %s\n", in, shellQuote(b), in)
	}
	fmt.Fprintf(&s, "mount -t proc proc %s\nexec chroot %s \"$@\"\n", shellQuote(filepath.Join(c.Dir, "proc")), shellQuote(c.Dir))
	return exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", s.String(), "sh", name}, args...)...)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parseVersions reads "PACKAGE VERSION" lines.
func parseVersions(b []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if p, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			m[p] = v
		}
	}
	return m
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// HostMirror returns the Debian mirror the host's apt uses for bookworm (the
// first "URIs:" of a deb822 .sources stanza whose Suites has bookworm, or the
// first one-line "deb URI bookworm" entry), or DefaultMirror.
func HostMirror(root string) string {
	files, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d/*.sources"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			if m := mirrorDeb822(b); m != "" {
				return m
			}
		}
	}
	lists, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d/*.list"))
	for _, f := range append([]string{filepath.Join(root, "etc/apt/sources.list")}, lists...) {
		if b, err := os.ReadFile(f); err == nil {
			if m := mirrorOneLine(b); m != "" {
				return m
			}
		}
	}
	return DefaultMirror
}

const hostSuite = "bookworm"

// mirrorDeb822 finds the URI of a stanza for hostSuite in a .sources file.
func mirrorDeb822(b []byte) string {
	for _, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r", ""), "\n\n") {
		fields := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(stanza))
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") {
				continue
			}
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(k, " ") {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		if fields["enabled"] == "no" || !slices.Contains(strings.Fields(fields["types"]), "deb") ||
			!slices.Contains(strings.Fields(fields["suites"]), hostSuite) {
			continue
		}
		if uris := strings.Fields(fields["uris"]); len(uris) > 0 {
			return strings.TrimRight(uris[0], "/")
		}
	}
	return ""
}

// mirrorOneLine finds "deb [options] URI hostSuite ..." in a sources.list.
func mirrorOneLine(b []byte) string {
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") { // [arch=amd64 signed-by=...]
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			f = f[1:]
		}
		if len(f) >= 2 && f[1] == hostSuite {
			return strings.TrimRight(f[0], "/")
		}
	}
	return ""
}
