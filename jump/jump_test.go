package jump

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/kexec"
)

// fakeRoot writes files (path relative to the root → contents) under a new
// temporary directory and returns it.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// debianCmdline is a first kernel's /proc/cmdline with one of each kind of
// parameter that must not reach the second kernel.
const debianCmdline = `BOOT_IMAGE=/boot/vmlinuz-6.12.0-kjump root=UUID=0e1f ro console=tty0 console=ttyS0,115200n8 ` +
	`initrd=/boot/initrd.img crashkernel=256M memmap=256M$16M mem=4G nokaslr kaslr iomem=relaxed ` +
	`kexec_jump_back_entry=0x000000003f7fe0d8 elfcorehdr=0x3f000000 kjump.run=doctor kjump.then=shell ` +
	`resume=/dev/vda2 rdinit=/init init=/sbin/init quiet dyndbg="file kexec.c +p" acpi_osi="!Windows 2012"` + "\n"

func TestCmdline(t *testing.T) {
	reuse := fakeRoot(t, map[string]string{"proc/cmdline": debianCmdline})
	empty := t.TempDir() // no /proc/cmdline: proves it is not read
	for _, tc := range []struct {
		name string
		o    LoadOptions
		want string
		err  string
	}{
		{"reuse drops the first kernel's own parameters", LoadOptions{Root: reuse},
			`root=UUID=0e1f ro console=tty0 console=ttyS0,115200n8 quiet dyndbg="file kexec.c +p" acpi_osi="!Windows 2012" kjump.then=back`, ""},
		{"reuse flag is the default", LoadOptions{Root: reuse, Reuse: true},
			`root=UUID=0e1f ro console=tty0 console=ttyS0,115200n8 quiet dyndbg="file kexec.c +p" acpi_osi="!Windows 2012" kjump.then=back`, ""},
		{"--command-line replaces the base", LoadOptions{Root: empty, Cmdline: "console=ttyS0 panic=-1"},
			"console=ttyS0 panic=-1 kjump.then=back", ""},
		{"--command-line is filtered too", LoadOptions{Root: empty, Cmdline: "console=ttyS0 memmap=exactmap nokaslr kjump.then=shell"},
			"console=ttyS0 kjump.then=back", ""},
		{"--append", LoadOptions{Root: empty, Cmdline: "console=ttyS0", Append: "  loglevel=7 ignore_loglevel \n"},
			"console=ttyS0 loglevel=7 ignore_loglevel kjump.then=back", ""},
		{"--append is not filtered", LoadOptions{Root: empty, Cmdline: "console=ttyS0", Append: "mem=1G"},
			"console=ttyS0 mem=1G kjump.then=back", ""},
		{"--run is quoted, in order", LoadOptions{Root: empty, Cmdline: "console=ttyS0", Run: []string{"doctor --json", "/bin/ls -l /proc"}},
			`console=ttyS0 kjump.run="doctor --json" kjump.run="/bin/ls -l /proc" kjump.then=back`, ""},
		{"--then", LoadOptions{Root: empty, Cmdline: "console=ttyS0", Then: "poweroff"},
			"console=ttyS0 kjump.then=poweroff", ""},
		{"the note page, a first kernel's kjump.note= dropped", LoadOptions{Root: empty, Cmdline: "console=ttyS0 kjump.note=0x1000", note: NotePage},
			"console=ttyS0 kjump.then=back kjump.note=0x60000", ""},
		{"a shell, then back", LoadOptions{Root: empty, Cmdline: "console=ttyS0", Then: "shell-back"},
			"console=ttyS0 kjump.then=shell-back", ""},
		{"white space", LoadOptions{Root: fakeRoot(t, map[string]string{"proc/cmdline": "  a\tb\n\nc  "})},
			"a b c kjump.then=back", ""},
		{"empty /proc/cmdline", LoadOptions{Root: fakeRoot(t, map[string]string{"proc/cmdline": "\n"})},
			"kjump.then=back", ""},
		{"--run with a double quote", LoadOptions{Root: empty, Cmdline: "console=ttyS0", Run: []string{`echo "hi"`}},
			"", "cannot hold a double quote"},
		{"no /proc/cmdline", LoadOptions{Root: empty}, "", "proc/cmdline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Cmdline(tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				if got != "" {
					t.Errorf("a command line with an error: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestCmdlineDropped checks each dropped parameter alone, and a lookalike
// that must stay.
func TestCmdlineDropped(t *testing.T) {
	for _, tc := range []struct {
		param string
		keep  bool
	}{
		{"BOOT_IMAGE=/vmlinuz", false}, {"initrd=/initrd.img", false}, {"crashkernel=512M@16M", false},
		{"memmap=exactmap", false}, {"mem=2G", false}, {"nokaslr", false}, {"kaslr", false},
		{"iomem=relaxed", false}, {"kexec_jump_back_entry=0x1000", false}, {"elfcorehdr=0x1000", false},
		{"kjump.run=doctor", false}, {"kjump.onerror=shell", false}, {"resume=/dev/sda2", false},
		{"rdinit=/bin/sh", false}, {"init=/bin/sh", false},
		{"mem_encrypt=on", true}, {"console=ttyS0", true}, {"root=/dev/vda", true}, {"resume_offset=0", true},
		{`"console=ttyS0 quiet"`, true},
	} {
		got, err := Cmdline(LoadOptions{Cmdline: tc.param})
		if err != nil {
			t.Fatal(err)
		}
		kept := strings.Contains(got, tc.param)
		if kept != tc.keep {
			t.Errorf("%q: kept %v, want %v (%q)", tc.param, kept, tc.keep, got)
		}
	}
}

// TestCmdlineKeepsBytes: a command line is bytes, not UTF-8 text; a byte
// that is not valid UTF-8 must reach the second kernel unchanged.
func TestCmdlineKeepsBytes(t *testing.T) {
	got, err := Cmdline(LoadOptions{Cmdline: "console=ttyS0 label=caf\xe9"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "console=ttyS0 label=caf\xe9 kjump.then=back"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmdline string
		want    uint64
		err     error
	}{
		{"kjump's: the gate", "kjump.gate=0xff001d0 kexec_jump_back_entry=0x000000003f7fe0d8\n", 0xff001d0, nil},
		{"kexec-tools': the entry", "kexec_jump_back_entry=0x3f21a000", 0x3f21a000, nil},
		{"a gate but no entry", "kjump.gate=0xff001d0", 0, kexec.ErrNoJumpBack},
		{"gate 0", "kjump.gate=0 kexec_jump_back_entry=0x3f21a000", 0, kexec.ErrNoJumpBack},
		{"garbage gate", "kjump.gate=0xzz kexec_jump_back_entry=0x3f21a000", 0, kexec.ErrNoJumpBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeRoot(t, map[string]string{"proc/cmdline": tc.cmdline})
			got, err := Target(root)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("target %#x, want %#x", got, tc.want)
			}
			g, ok := Gate(root)
			if wantGate := strings.HasPrefix(tc.name, "kjump's") || tc.name == "a gate but no entry"; ok != wantGate || ok && g != 0xff001d0 {
				t.Errorf("Gate = %#x, %v; want a gate: %v", g, ok, wantGate)
			}
		})
	}
}

func TestEntry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmdline *string
		want    uint64
		err     error
	}{
		{"purgatory's", ptr("console=ttyS0 kexec_jump_back_entry=0x000000003f7fe0d8 kjump.then=back\n"), 0x3f7fe0d8, nil},
		{"kexec-tools'", ptr("kexec_jump_back_entry=0x3f21a000"), 0x3f21a000, nil},
		{"not started by a jump", ptr("console=ttyS0 quiet\n"), 0, kexec.ErrNoJumpBack},
		{"garbage value", ptr("kexec_jump_back_entry=0xzz"), 0, kexec.ErrNoJumpBack},
		{"placeholder never filled", ptr("kexec_jump_back_entry=0x0000000000000000"), 0, kexec.ErrNoJumpBack},
		{"no /proc/cmdline", nil, 0, fs.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.cmdline != nil {
				files["proc/cmdline"] = *tc.cmdline
			}
			got, err := Entry(fakeRoot(t, files))
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("entry %#x, want %#x", got, tc.want)
			}
			if errors.Is(err, kexec.ErrNoJumpBack) && !strings.Contains(err.Error(), "--entry") {
				t.Errorf("%q does not suggest --entry", err)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestACPIRSDP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		systab *string
		want   uint64
	}{
		// drivers/firmware/efi/efi.c systab_show prints ACPI20 before ACPI.
		{"ACPI 2.0 and 1.0", ptr("MPS=0xfc000\nACPI20=0x7fb7e014\nACPI=0x7fb7e000\nSMBIOS3=0x7f98f000\nSMBIOS=0x7f990000\n"), 0x7fb7e014},
		{"ACPI 1.0 only", ptr("ACPI=0x7fb7e000\nSMBIOS=0x7f990000\n"), 0x7fb7e000},
		{"no ACPI", ptr("SMBIOS=0x7f990000\n"), 0},
		{"empty", ptr(""), 0},
		{"garbage", ptr("ACPI20=zz\n"), 0},
		{"BIOS machine: no systab", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.systab != nil {
				files["sys/firmware/efi/systab"] = *tc.systab
			}
			if got := acpiRSDP(fakeRoot(t, files)); got != tc.want {
				t.Errorf("%#x, want %#x", got, tc.want)
			}
		})
	}
}
