package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/pageclass/pageclasstest"
)

// TestMakedumpfileSpellings: makedumpfile's -c, -l, -p, -z and -E fold
// into --compress and --format; contradictions are refused.
func TestMakedumpfileSpellings(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		picked                map[string]bool
		compress              string
		compressSet           bool
		format                string
		formatSet             bool
		wantCompress, wantFmt string
		wantErr               string
	}{
		{"defaults", nil, "zlib", false, "kdump", false, "zlib", "kdump", ""},
		{"-l", map[string]bool{"l": true}, "zlib", false, "kdump", false, "lzo", "kdump", ""},
		{"-c", map[string]bool{"c": true}, "zlib", false, "kdump", false, "zlib", "kdump", ""},
		{"-p", map[string]bool{"p": true}, "zlib", false, "kdump", false, "snappy", "kdump", ""},
		{"-z", map[string]bool{"z": true}, "zlib", false, "kdump", false, "zstd", "kdump", ""},
		{"-l --compress lzo", map[string]bool{"l": true}, "lzo", true, "kdump", false, "lzo", "kdump", ""},
		{"-l --compress zstd", map[string]bool{"l": true}, "zstd", true, "kdump", false, "", "", "-l means --compress lzo, and --compress zstd"},
		{"-c -l", map[string]bool{"c": true, "l": true}, "zlib", false, "kdump", false, "", "", "-l means --compress lzo, and --compress zlib"},
		{"-E", map[string]bool{"E": true}, "zlib", false, "kdump", false, "zlib", "elf", ""},
		{"-E --format kdump", map[string]bool{"E": true}, "zlib", false, "kdump", true, "", "", "-E means --format elf, and --format kdump"},
		{"-E -c", map[string]bool{"E": true, "c": true}, "zlib", false, "kdump", false, "", "", "the ELF format stores pages uncompressed"},
		{"--format elf --compress none", nil, "none", true, "elf", true, "", "", "the ELF format stores pages uncompressed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f, err := resolveDumpFormat(tc.picked, tc.compress, tc.compressSet, tc.format, tc.formatSet)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c != tc.wantCompress || f != tc.wantFmt {
				t.Errorf("= %q, %q, %v; want %q, %q", c, f, err, tc.wantCompress, tc.wantFmt)
			}
		})
	}
}

// TestDumpMakedumpfileFlags runs kjump dump as makedumpfile is called, on
// a synthetic kernel's vmcore, and reads back what it wrote; a command line
// makedumpfile would refuse stops with the usage and writes nothing.
func TestDumpMakedumpfileFlags(t *testing.T) {
	k := pageclasstest.New(1024, false)
	k.SetFree(512, 2)
	k.WritePage(600, []byte("hello"))
	dir := t.TempDir()
	src := filepath.Join(dir, "vmcore")
	if err := os.WriteFile(src, k.ELF(nil, true), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args                []string
		format, compression string
		threads             int
	}{
		{[]string{"-l", "-d", "31", "--num-threads", "1"}, "kdump", "lzo", 1},
		{[]string{"-c"}, "kdump", "zlib", 0},
		{[]string{"-E", "-d", "1"}, "elf", "", 0},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dst := filepath.Join(dir, "out")
			args := append(append([]string{"dump", "--json"}, tc.args...), src, dst)
			code, out, errOut := runKjump(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var sum dump.Summary
			if err := json.Unmarshal([]byte(out), &sum); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if sum.Format != tc.format || sum.Compression != tc.compression || (tc.threads > 0 && sum.Threads != tc.threads) {
				t.Errorf("wrote %s/%s with %d threads, want %s/%s", sum.Format, sum.Compression, sum.Threads, tc.format, tc.compression)
			}
		})
	}
	for _, args := range [][]string{{"-c", "-l"}, {"-E", "--compress", "zstd"}, {"-E", "--format", "kdump"}} {
		t.Run("refused "+strings.Join(args, " "), func(t *testing.T) {
			dst := filepath.Join(dir, "refused")
			code, _, errOut := runKjump(append(append([]string{"dump"}, args...), src, dst)...)
			if code != 2 || !strings.Contains(errOut, "usage: kjump dump") {
				t.Errorf("exit %d, stderr %q; want the usage", code, errOut)
			}
			if _, err := os.Stat(dst); err == nil {
				t.Errorf("%s was written", dst)
			}
		})
	}
}

// TestDumpFlattenedStream: kjump dump -F writes the stream to standard
// output and its summary to standard error; kjump dump -R turns the stream
// on standard input back into the dump file.
func TestDumpFlattenedStream(t *testing.T) {
	k := pageclasstest.New(1024, false)
	k.WritePage(600, []byte("hello"))
	dir := t.TempDir()
	src := filepath.Join(dir, "vmcore")
	if err := os.WriteFile(src, k.ELF(nil, true), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stream, errOut := runKjump("dump", "-F", "-l", "--json", src)
	if code != 0 {
		t.Fatalf("dump -F: exit %d: %s", code, errOut)
	}
	var sum dump.Summary
	if err := json.Unmarshal([]byte(errOut), &sum); err != nil || sum.Compression != "lzo" {
		t.Fatalf("dump -F: summary on stderr %q (%v)", errOut, err)
	}
	in := filepath.Join(dir, "stream")
	if err := os.WriteFile(in, []byte(stream), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defer func(old *os.File) { os.Stdin = old }(os.Stdin)
	os.Stdin = f
	dst := filepath.Join(dir, "rebuilt")
	if code, out, errOut := runKjump("dump", "-R", dst); code != 0 || !strings.Contains(out, "rebuilt from the flattened stream") {
		t.Fatalf("dump -R: exit %d, %q, %q", code, out, errOut)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dumpfile.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The dumped bitmap holds the zero pages too (they share one stored page).
	if pages := sum.PagesWritten + sum.Excluded.Zero; d.Header.Compression != dumpfile.LZO || int64(len(b)) != sum.OutputBytes || d.Dumped.Count() != pages {
		t.Errorf("rebuilt: %v, %d bytes, %d pages; the summary says %d bytes, %d pages", d.Header.Compression, len(b), d.Dumped.Count(), sum.OutputBytes, pages)
	}

	for _, args := range [][]string{{"-F", src, dst}, {"-F", "-R", dst}, {"-R", "-l", dst}, {"-R", src, dst}} {
		if code, _, errOut := runKjump(append([]string{"dump"}, args...)...); code != 2 || !strings.Contains(errOut, "usage: kjump dump") {
			t.Errorf("dump %q: exit %d, stderr %q; want the usage", args, code, errOut)
		}
	}
}

// TestDumpDmesgRefuses: a vmcore without the printk ring buffer's
// VMCOREINFO (the synthetic kernel has none) is refused naming the key, and
// no LOGFILE is left; a flag beside --dump-dmesg is a usage error.
func TestDumpDmesgRefuses(t *testing.T) {
	k := pageclasstest.New(1024, false)
	dir := t.TempDir()
	src := filepath.Join(dir, "vmcore")
	if err := os.WriteFile(src, k.ELF(nil, true), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "dmesg.txt")
	code, _, errOut := runKjump("dump", "--dump-dmesg", src, log)
	if code != 1 || !strings.Contains(errOut, "SYMBOL(prb)") {
		t.Errorf("exit %d, stderr %q; want the missing key named", code, errOut)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want the vmcore alone", len(ents))
	}
	if code, _, errOut := runKjump("dump", "--dump-dmesg", "-l", src, log); code != 2 || !strings.Contains(errOut, "usage: kjump dump") {
		t.Errorf("--dump-dmesg -l: exit %d, stderr %q", code, errOut)
	}
}

// openPty returns the two ends of a new pseudo-terminal: a terminal for
// isTerminal.
func openPty(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestDumpStreamTerminal: -F will not write a dump onto a terminal, and -R
// will not wait for one typed on it.
func TestDumpStreamTerminal(t *testing.T) {
	_, tty := openPty(t)
	var errOut bytes.Buffer
	if code := run([]string{"dump", "-F", "vmcore"}, tty, &errOut); code != 2 || !strings.Contains(errOut.String(), "which is a terminal") {
		t.Errorf("dump -F onto a terminal: exit %d, stderr %q", code, errOut.String())
	}
	defer func(old *os.File) { os.Stdin = old }(os.Stdin)
	os.Stdin = tty
	dst := filepath.Join(t.TempDir(), "dump")
	if code, _, errOut := runKjump("dump", "-R", dst); code != 2 || !strings.Contains(errOut, "which is a terminal") {
		t.Errorf("dump -R from a terminal: exit %d, stderr %q", code, errOut)
	}
}
