package kconfig

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      string
		want    Config
		errLine int // 0: no error
	}{
		{name: "empty", in: "", want: Config{}},
		{
			name: "kernel header and values",
			in: "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.12.0 Kernel Configuration\n#\n" +
				"CONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14) 12.2.0\"\n" +
				"CONFIG_64BIT=y\nCONFIG_HZ=250\nCONFIG_PHYSICAL_START=0x1000000\nCONFIG_EXT4_FS=m\n" +
				"\n# CONFIG_KEXEC_JUMP is not set\n",
			want: Config{
				"CC_VERSION_TEXT": `"gcc (Debian 12.2.0-14) 12.2.0"`,
				"64BIT":           "y", "HZ": "250", "PHYSICAL_START": "0x1000000", "EXT4_FS": "m",
				"KEXEC_JUMP": "n",
			},
		},
		{
			name: "CRLF and surrounding blanks",
			in:   "CONFIG_A=y\r\n  CONFIG_B = m  \r\n",
			want: Config{"A": "y", "B": "m"},
		},
		{
			name: "last assignment wins",
			in:   "CONFIG_A=y\n# CONFIG_A is not set\n",
			want: Config{"A": "n"},
		},
		{
			name: "comments mentioning symbols are not options",
			in:   "# CONFIG_A is set to y elsewhere\n# see CONFIG_B\n#CONFIG_C is not set\n# CONFIG_bad-name is not set\n",
			want: Config{"C": "n"},
		},
		{name: "CONFIG_ without =", in: "CONFIG_A=y\nCONFIG_KEXEC_JUMP\n", errLine: 2},
		{name: "empty value", in: "CONFIG_A=\n", errLine: 1},
		{name: "bad symbol", in: "\n\nCONFIG_A-B=y\n", errLine: 3},
		{name: "empty symbol", in: "CONFIG_=y\n", errLine: 1},
		{name: "missing prefix", in: "KEXEC_JUMP=y\n", errLine: 1},
		{name: "junk", in: "hello\n", errLine: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in))
			if tt.errLine != 0 {
				var se *SyntaxError
				if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
					t.Fatalf("Parse error = %v, want *SyntaxError", err)
				}
				if se.Line != tt.errLine {
					t.Errorf("error line = %d, want %d (%v)", se.Line, tt.errLine, err)
				}
				if got != nil {
					t.Errorf("Parse returned %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseFragment(t *testing.T) {
	in := "# kjump needs these\nCONFIG_KEXEC=y\n\nCONFIG_KEXEC_JUMP=y\n# CONFIG_RANDOMIZE_BASE is not set\nCONFIG_CMDLINE=\"a b\"\n"
	got, err := ParseFragment(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Fragment{{"KEXEC", "y"}, {"KEXEC_JUMP", "y"}, {"RANDOMIZE_BASE", "n"}, {"CMDLINE", `"a b"`}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFragment = %v, want %v", got, want)
	}

	for _, bad := range []struct {
		in   string
		line int
	}{
		{"CONFIG_A=y\nCONFIG_A=y\n", 2},
		{"CONFIG_A=y\n# CONFIG_A is not set\n", 2},
		{"CONFIG_A=y\nCONFIG_B\n", 2},
	} {
		f, err := ParseFragment(strings.NewReader(bad.in))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != bad.line {
			t.Errorf("ParseFragment(%q) = %v, %v; want SyntaxError on line %d", bad.in, f, err, bad.line)
		}
		if f != nil {
			t.Errorf("ParseFragment(%q) returned %v with an error", bad.in, f)
		}
	}
}

func TestEnabled(t *testing.T) {
	c := Config{"Y": "y", "M": "m", "N": "n", "S": `"y"`, "NUM": "1"}
	for name, want := range map[string]bool{"Y": true, "M": true, "N": false, "S": false, "NUM": false, "ABSENT": false} {
		if got := c.Enabled(name); got != want {
			t.Errorf("Enabled(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	c := Config{"KEXEC": "y", "HIBERNATION": "y", "MOD": "m", "OFF": "n", "HZ": "250", "STR": `"x"`}
	for _, tt := range []struct {
		name string
		f    Fragment
		want []Mismatch
	}{
		{name: "empty fragment", f: nil, want: nil},
		{name: "all match", f: Fragment{{"KEXEC", "y"}, {"MOD", "m"}, {"OFF", "n"}, {"HZ", "250"}, {"STR", `"x"`}}},
		{name: "absent counts as n", f: Fragment{{"KEXEC_JUMP", "n"}}},
		{
			name: "absent wanted y",
			f:    Fragment{{"KEXEC", "y"}, {"KEXEC_JUMP", "y"}},
			want: []Mismatch{{Name: "KEXEC_JUMP", Want: "y", Got: ""}},
		},
		{
			name: "every kind of difference in fragment order",
			f:    Fragment{{"OFF", "y"}, {"MOD", "y"}, {"KEXEC", "n"}, {"HZ", "1000"}, {"STR", "x"}},
			want: []Mismatch{
				{Name: "OFF", Want: "y", Got: "n"},
				{Name: "MOD", Want: "y", Got: "m"},
				{Name: "KEXEC", Want: "n", Got: "y"},
				{Name: "HZ", Want: "1000", Got: "250"},
				{Name: "STR", Want: "x", Got: `"x"`},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Check(tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

func writeGzip(t *testing.T, path, content string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b.String())
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	const text = "CONFIG_KEXEC=y\n# CONFIG_KEXEC_JUMP is not set\n"
	want := Config{"KEXEC": "y", "KEXEC_JUMP": "n"}

	plain := filepath.Join(dir, "config")
	writeFile(t, plain, text)
	gz := filepath.Join(dir, "config.gz")
	writeGzip(t, gz, text)
	// gzip content under a name without .gz: detection is by magic, not name.
	gzNoExt := filepath.Join(dir, "config-copy")
	writeGzip(t, gzNoExt, text)

	for _, p := range []string{plain, gz, gzNoExt} {
		got, err := Load(p)
		if err != nil {
			t.Fatalf("Load(%s): %v", p, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Load(%s) = %v, want %v", p, got, want)
		}
	}

	bad := filepath.Join(dir, "bad")
	writeFile(t, bad, "CONFIG_A=y\nCONFIG_B\n")
	if _, err := Load(bad); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load(bad) = %v, want ErrSyntax naming the file", err)
	}

	truncated := filepath.Join(dir, "trunc.gz")
	writeFile(t, truncated, "\x1f\x8b\x08\x00")
	if _, err := Load(truncated); err == nil {
		t.Error("Load(truncated gzip) succeeded")
	}

	if _, err := Load(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestLoadRunning(t *testing.T) {
	const rel = "6.12.0-kjump"
	for _, tt := range []struct {
		name       string
		files      map[string]string // path -> content; ".gz" files are gzipped
		wantSource string            // relative to root; "" = expect an error
		wantErr    error
	}{
		{
			name: "proc config.gz wins over /boot",
			files: map[string]string{
				"proc/config.gz":            "CONFIG_KEXEC_JUMP=y\n",
				"proc/sys/kernel/osrelease": rel + "\n",
				"boot/config-" + rel:        "# CONFIG_KEXEC_JUMP is not set\n",
			},
			wantSource: "proc/config.gz",
		},
		{
			name: "boot config by release",
			files: map[string]string{
				"proc/sys/kernel/osrelease": rel + "\n",
				"boot/config-" + rel:        "CONFIG_KEXEC_JUMP=y\n",
				"boot/config-5.10.0-other":  "# CONFIG_KEXEC_JUMP is not set\n",
			},
			wantSource: "boot/config-" + rel,
		},
		{
			name: "only another release in /boot",
			files: map[string]string{
				"proc/sys/kernel/osrelease": rel + "\n",
				"boot/config-5.10.0-other":  "CONFIG_KEXEC_JUMP=y\n",
			},
			wantErr: ErrNoConfig,
		},
		{name: "nothing", files: nil, wantErr: ErrNoConfig},
		{
			name:    "broken proc config is reported, not skipped",
			files:   map[string]string{"proc/config.gz": "CONFIG_KEXEC_JUMP\n", "proc/sys/kernel/osrelease": rel, "boot/config-" + rel: "CONFIG_KEXEC_JUMP=y\n"},
			wantErr: ErrSyntax,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for p, c := range tt.files {
				if strings.HasSuffix(p, ".gz") {
					writeGzip(t, filepath.Join(root, p), c)
				} else {
					writeFile(t, filepath.Join(root, p), c)
				}
			}
			cfg, src, err := LoadRunning(root)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("LoadRunning error = %v, want %v", err, tt.wantErr)
				}
				if cfg != nil || src != "" {
					t.Errorf("LoadRunning returned %v, %q with an error", cfg, src)
				}
				if errors.Is(err, ErrNoConfig) {
					for _, want := range []string{filepath.Join(root, "proc/config.gz"), filepath.Join(root, "boot/config-"), "CONFIG_IKCONFIG_PROC=y"} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not mention %q", err, want)
						}
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src != filepath.Join(root, tt.wantSource) {
				t.Errorf("source = %s, want %s", src, tt.wantSource)
			}
			if !cfg.Enabled("KEXEC_JUMP") {
				t.Errorf("config from %s: KEXEC_JUMP not enabled: %v", src, cfg)
			}
		})
	}
}

func TestLoadRunningRealMachine(t *testing.T) {
	cfg, src, err := LoadRunning("/")
	if errors.Is(err, ErrNoConfig) {
		t.Skipf("this machine has no kernel config: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Every config written by a kernel since 4.18 records its compiler.
	if cfg["CC_VERSION_TEXT"] == "" {
		t.Errorf("%s: no CONFIG_CC_VERSION_TEXT in %d symbols", src, len(cfg))
	}
}
