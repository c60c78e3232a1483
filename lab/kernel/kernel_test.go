package kernel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/kconfig"
)

func TestFragment(t *testing.T) {
	frag, err := kconfig.ParseFragment(bytes.NewReader(Fragment))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"KEXEC_JUMP": "y", "KEXEC": "y", "HIBERNATION": "y", "SMP": "y",
		"CRASH_DUMP": "y", "PROC_VMCORE": "y", "PROC_KCORE": "y", "DEVMEM": "y", "IKCONFIG_PROC": "y",
		"RANDOMIZE_BASE": "y", "STRICT_DEVMEM": "y"}
	got := map[string]string{}
	for _, o := range frag {
		got[o.Name] = o.Value
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("fragment CONFIG_%s = %q, want %q", k, got[k], v)
		}
	}
}

func fakeTarball(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "linux-source-6.12.tar.xz")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKey(t *testing.T) {
	a := fakeTarball(t, "source A")
	b := fakeTarball(t, "source B")
	tests := []struct {
		name     string
		tar1     string
		frag1    string
		tar2     string
		frag2    string
		wantSame bool
	}{
		{"same inputs", a, "CONFIG_X=y\n", a, "CONFIG_X=y\n", true},
		{"other source", a, "CONFIG_X=y\n", b, "CONFIG_X=y\n", false},
		{"other fragment", a, "CONFIG_X=y\n", a, "CONFIG_X=n\n", false},
	}
	for _, tt := range tests {
		k1, err := Key(tt.tar1, []byte(tt.frag1))
		if err != nil {
			t.Fatal(err)
		}
		k2, err := Key(tt.tar2, []byte(tt.frag2))
		if err != nil {
			t.Fatal(err)
		}
		if (k1 == k2) != tt.wantSame {
			t.Errorf("%s: keys %s, %s; want same=%v", tt.name, k1, k2, tt.wantSame)
		}
	}
}

func TestKeyNoSource(t *testing.T) {
	_, err := Key(filepath.Join(t.TempDir(), "missing.tar.xz"), nil)
	if !errors.Is(err, ErrNoSource) || !strings.Contains(err.Error(), "apt-get install linux-source-6.12") {
		t.Fatalf("err = %v, want ErrNoSource naming the package", err)
	}
}

// seedCache puts a finished build for (tarball, fragment) into cacheDir, as Ensure
// would leave it, with the given .config content.
func seedCache(t *testing.T, cacheDir, tarball string, frag []byte, config string) string {
	t.Helper()
	key, err := Key(tarball, frag)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cacheDir, "kernel", key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"config": config, "bzImage": "kernel", "release": "6.12.117\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEnsureReusesCache(t *testing.T) {
	cache := t.TempDir()
	tarball := fakeTarball(t, "source")
	frag := []byte("CONFIG_KEXEC_JUMP=y\n# CONFIG_MODULES is not set\n")
	dir := seedCache(t, cache, tarball, frag, "CONFIG_KEXEC_JUMP=y\n# CONFIG_MODULES is not set\nCONFIG_OTHER=y\n")
	// The fake tarball cannot be built: Ensure must not try.
	b, err := Ensure(context.Background(), Options{Tarball: tarball, CacheDir: cache, Fragment: frag})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Cached || b.Dir != dir || b.Release != "6.12.117" || b.BzImage != filepath.Join(dir, "bzImage") {
		t.Errorf("build = %+v, want the cached one in %s", b, dir)
	}
}

func TestEnsureRejectsCachedConfigMismatch(t *testing.T) {
	cache := t.TempDir()
	tarball := fakeTarball(t, "source")
	frag := []byte("CONFIG_KEXEC_JUMP=y\nCONFIG_SMP=y\n")
	seedCache(t, cache, tarball, frag, "# CONFIG_KEXEC_JUMP is not set\nCONFIG_SMP=y\n")
	_, err := Ensure(context.Background(), Options{Tarball: tarball, CacheDir: cache, Fragment: frag})
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("err = %v, want a ConfigError", err)
	}
	if len(ce.Mismatches) != 1 || !strings.Contains(err.Error(), "CONFIG_KEXEC_JUMP: want y, got n") {
		t.Errorf("error does not name the lost option: %v", err)
	}
}

func TestVariant(t *testing.T) {
	frag, err := kconfig.ParseFragment(bytes.NewReader(Variant(map[string]string{"KEXEC_JUMP": "n", "SMP": "n"})))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := kconfig.ParseFragment(bytes.NewReader(Fragment))
	if len(frag) != len(base) {
		t.Fatalf("variant has %d options, base %d", len(frag), len(base))
	}
	got := map[string]string{}
	for _, o := range frag {
		got[o.Name] = o.Value
	}
	if got["KEXEC_JUMP"] != "n" || got["SMP"] != "n" || got["KEXEC"] != "y" {
		t.Errorf("variant: KEXEC_JUMP=%q SMP=%q KEXEC=%q", got["KEXEC_JUMP"], got["SMP"], got["KEXEC"])
	}
}
