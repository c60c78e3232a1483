package tools

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMirrorDeb822(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"debian.sources", "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n", "http://deb.debian.org/debian"},
		{"security only", "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n", ""},
		{"another distribution", "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n", ""},
		{"sources only", "Types: deb-src\nURIs: http://ftp.de.debian.org/debian\nSuites: bookworm\n", ""},
		{"disabled", "Types: deb\nURIs: http://ftp.de.debian.org/debian\nSuites: bookworm\nEnabled: no\n", ""},
		{"trailing slash, CRLF, two URIs", "Types: deb deb-src\r\nURIs: http://ftp.de.debian.org/debian/ http://deb.debian.org/debian\r\nSuites: bookworm\r\n", "http://ftp.de.debian.org/debian"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		if got := mirrorDeb822([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMirrorOneLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "deb http://ftp.fr.debian.org/debian bookworm main\n", "http://ftp.fr.debian.org/debian"},
		{"options", "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror/debian/ bookworm main contrib\n", "http://mirror/debian"},
		{"comment and deb-src first", "# deb http://old/debian bookworm main\ndeb-src http://src/debian bookworm main\ndeb http://bin/debian bookworm main\n", "http://bin/debian"},
		{"security only", "deb http://security.debian.org/debian-security bookworm-security main\n", ""},
		{"unterminated options", "deb [arch=amd64 http://x bookworm main\n", ""},
		{"too short", "deb http://x\n", ""},
	}
	for _, tc := range tests {
		if got := mirrorOneLine([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestHostMirror(t *testing.T) {
	root := t.TempDir()
	if got := HostMirror(root); got != DefaultMirror {
		t.Errorf("no sources: %q, want %q", got, DefaultMirror)
	}
	os.MkdirAll(filepath.Join(root, "etc/apt/sources.list.d"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/apt/sources.list"), []byte("deb http://list/debian bookworm main\n"), 0o644)
	if got := HostMirror(root); got != "http://list/debian" {
		t.Errorf("sources.list: %q", got)
	}
	os.WriteFile(filepath.Join(root, "etc/apt/sources.list.d/debian.sources"), []byte("Types: deb\nURIs: http://deb822/debian\nSuites: bookworm\n"), 0o644)
	if got := HostMirror(root); got != "http://deb822/debian" {
		t.Errorf("deb822 before sources.list: %q", got)
	}
}

func TestKey(t *testing.T) {
	a, b := Key("http://a/debian"), Key("http://b/debian")
	if a == b || len(a) != 16 || a != Key("http://a/debian") {
		t.Errorf("keys %q %q", a, b)
	}
}

func TestCachedChroot(t *testing.T) {
	// A directory with its versions file is a complete chroot: no build.
	cache := t.TempDir()
	dir := filepath.Join(cache, "tools", Suite+"-"+Key("http://m/debian"))
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "versions"), []byte("crash 8.0.6-1\npython3-drgn 0.0.31-1\n"), 0o644)
	c, err := Ensure(t.Context(), Options{CacheDir: cache, Mirror: "http://m/debian"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cached || c.Dir != dir || c.Versions["crash"] != "8.0.6-1" || c.String() != "Debian trixie chroot: crash 8.0.6-1, python3-drgn 0.0.31-1" {
		t.Errorf("%+v %s", c, c)
	}
}

// TestCommandQuoting runs the script Command builds with sh, with unshare,
// mount and chroot replaced by echoes, so quoting is checked without root.
func TestCommandQuoting(t *testing.T) {
	c := &Chroot{Dir: "/cache/tools/it's"}
	cmd := c.Command(t.Context(), []string{"/host/a b", "/host/c"}, "crash", "-s", "x y")
	args := cmd.Args
	if args[0] != "unshare" || args[5] != "sh" || args[6] != "-c" {
		t.Fatalf("args %q", args)
	}
	script := strings.NewReplacer("mkdir -p", "echo mkdir", "mount ", "echo mount ", "exec chroot", "echo chroot").Replace(args[7])
	out, err := exec.Command("sh", append([]string{"-c", script}, args[8:]...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "mkdir /cache/tools/it's/host/a b\nmount --bind /host/a b /cache/tools/it's/host/a b\n" +
		"mkdir /cache/tools/it's/host/c\nmount --bind /host/c /cache/tools/it's/host/c\n" +
		"mount -t proc proc /cache/tools/it's/proc\nchroot /cache/tools/it's crash -s x y\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// TestNoNetwork: a mirror that cannot be reached makes Ensure fail with
// ErrNoChroot and debootstrap's reason, and leaves no chroot that looks
// complete (no versions file), so the next run tries again.
func TestNoNetwork(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("debootstrap needs root")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("debootstrap is not installed (./run installs it)")
	}
	cache := t.TempDir()
	const mirror = "http://127.0.0.1:1/debian" // nothing listens on port 1
	_, err := Ensure(t.Context(), Options{CacheDir: cache, Mirror: mirror})
	if !errors.Is(err, ErrNoChroot) || !strings.Contains(err.Error(), "Failed getting release file") || !strings.Contains(err.Error(), mirror) {
		t.Fatalf("err = %v, want ErrNoChroot with debootstrap's reason and the mirror", err)
	}
	dir := filepath.Join(cache, "tools", Suite+"-"+Key(mirror))
	if _, err := os.Stat(filepath.Join(dir, "versions")); err == nil {
		t.Error("a failed build left a complete-looking chroot")
	}
}
