package dump

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kjump/kjump/pageclass/pageclasstest"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/pageclass"
)

func realVmcore(t testing.TB) string { return pageclasstest.RealVmcore(t) }

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

// mdfDmesg runs makedumpfile --dump-dmesg on a dump and returns the log.
func mdfDmesg(t testing.TB, mdf, dump string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dmesg")
	if msg, err := exec.Command(mdf, "--dump-dmesg", dump, out).CombinedOutput(); err != nil {
		t.Fatalf("makedumpfile --dump-dmesg %s: %v\n%s", dump, err, msg)
	}
	return readAll(t, out)
}

// makedumpfile's counts at -d 31 on the real vmcore (see package
// pageclass); zero pages 0x105fb, and one more here: page frame 0x9f,
// which a PT_LOAD covers only up to 0x9fc00 and makedumpfile leaves out,
// is kept, and it is all zero.
var realExcluded = Excluded{Zero: 0x105fb + 1, Cache: 0x4c82, User: 0x191, Free: 0x1777f}

// TestRealInterop: our kdump (zlib and LZO) and ELF outputs of the real
// vmcore give makedumpfile --dump-dmesg the same log as the vmcore itself,
// and crash --osrelease the release.
func TestRealInterop(t *testing.T) {
	src := realVmcore(t)
	mdf := needTool(t, "makedumpfile")
	want := mdfDmesg(t, mdf, src)
	if !bytes.Contains(want, []byte("Linux version 6.12.")) {
		t.Fatalf("the vmcore's own log lacks the banner:\n%.300s", want)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		format Format
		comp   dumpfile.Compression
	}{{Kdump, dumpfile.Zlib}, {Kdump, dumpfile.LZO}, {ELF, dumpfile.None}} {
		format := tc.format
		dst := filepath.Join(dir, "out-"+format.String()+"-"+tc.comp.String())
		opt := DefaultOptions()
		opt.Format, opt.Compression = format, tc.comp
		sum, err := Run(src, dst, opt)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Excluded != realExcluded || sum.Release != "6.12.117" || sum.PagesUnclassified != 0 {
			t.Errorf("%v: summary %+v, want excluded %+v", format, sum, realExcluded)
		}
		if got := mdfDmesg(t, mdf, dst); !bytes.Equal(got, want) {
			t.Errorf("%v: makedumpfile --dump-dmesg printed %d bytes, the vmcore's log is %d", format, len(got), len(want))
		}
		if crash, err := exec.LookPath("crash"); err == nil {
			out, err := exec.Command(crash, "--osrelease", dst).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "6.12.117" {
				t.Errorf("%v: crash --osrelease: %q, %v", format, out, err)
			}
		}
	}
}

// TestRealSizeVersusMakedumpfile compares our -d 31 zlib file with
// makedumpfile -d 31 -c's. Both hold the same pages (the same bitmaps and
// descriptors but for page frame 0x9f); the difference is the zlib
// encoder: makedumpfile uses C zlib at Z_BEST_SPEED, package dumpfile
// klauspost/compress at level 7 (its BestSpeed is about 5% worse than C
// zlib's). kjump's goal is no larger output: the test fails when ours is larger.
func TestRealSizeVersusMakedumpfile(t *testing.T) {
	src := realVmcore(t)
	mdf := needTool(t, "makedumpfile")
	dir := t.TempDir()
	theirs := filepath.Join(dir, "makedumpfile.kdump")
	if out, err := exec.Command(mdf, "-d", "31", "-c", src, theirs).CombinedOutput(); err != nil {
		t.Fatalf("makedumpfile: %v\n%s", err, out)
	}
	sum, err := Run(src, filepath.Join(dir, "ours.kdump"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(theirs)
	t.Logf("-d 31 zlib: kjump %d bytes, makedumpfile %d bytes (%+.1f%%)", sum.OutputBytes, fi.Size(), 100*float64(sum.OutputBytes-fi.Size())/float64(fi.Size()))
	if sum.OutputBytes > fi.Size() {
		t.Errorf("kjump's file (%d bytes) is larger than makedumpfile's (%d)", sum.OutputBytes, fi.Size())
	}
	// Same page frames present and dumped, but for 0x9f.
	ours, them := openKdump(t, filepath.Join(dir, "ours.kdump")), openKdump(t, theirs)
	ours.Present.Clear(0x9f)
	ours.Dumped.Clear(0x9f)
	if ours.Present.Count() != them.Present.Count() || ours.Dumped.Count() != them.Dumped.Count() {
		t.Errorf("present %d/%d, dumped %d/%d (ours/makedumpfile's)", ours.Present.Count(), them.Present.Count(), ours.Dumped.Count(), them.Dumped.Count())
	}
	for pfn, ok := them.Dumped.Next(0); ok; pfn, ok = them.Dumped.Next(pfn + 1) {
		if !ours.Dumped.Test(pfn) {
			t.Fatalf("makedumpfile dumps page frame %#x, we do not", pfn)
		}
	}
}

// TestRealThreads: the real vmcore gives the same bytes with 1 thread and
// with more threads than CPUs.
func TestRealThreads(t *testing.T) {
	src := realVmcore(t)
	dir := t.TempDir()
	for _, format := range []Format{Kdump, ELF} {
		var first []byte
		for _, n := range []int{1, runtime.NumCPU() + 1} {
			dst := filepath.Join(dir, fmt.Sprintf("%v-%d", format, n))
			opt := DefaultOptions()
			opt.Format, opt.Threads, opt.Timestamp = format, n, fixedTime
			if _, err := Run(src, dst, opt); err != nil {
				t.Fatal(err)
			}
			b := readAll(t, dst)
			if first == nil {
				first = b
			} else if !bytes.Equal(first, b) {
				t.Errorf("%v: %d threads wrote different bytes than 1", format, n)
			}
		}
	}
}

// BenchmarkRealDump dumps the real vmcore at -d 31 in each format and
// compression, with 1 thread and with all CPUs. MB/s is of the memory the
// vmcore holds (767 MiB); out_MB is the output's size.
func BenchmarkRealDump(b *testing.B) {
	src := realVmcore(b)
	dir := b.TempDir()
	threads := []int{1}
	if n := runtime.NumCPU(); n > 1 {
		threads = append(threads, n)
	}
	cases := []struct {
		format Format
		comp   dumpfile.Compression
	}{{Kdump, dumpfile.Zlib}, {Kdump, dumpfile.LZO}, {Kdump, dumpfile.Zstd}, {Kdump, dumpfile.Snappy}, {Kdump, dumpfile.None}, {ELF, dumpfile.None}}
	for _, c := range cases {
		for _, n := range threads {
			name := fmt.Sprintf("%v/%v/threads=%d", c.format, c.comp, n)
			if c.format == ELF {
				name = fmt.Sprintf("elf/threads=%d", n)
			}
			b.Run(name, func(b *testing.B) {
				var sum Summary
				for b.Loop() {
					var err error
					sum, err = Run(src, filepath.Join(dir, "out"), Options{Level: pageclass.MaxLevel, Format: c.format, Compression: c.comp, Threads: n})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(sum.InputBytes))
				b.ReportMetric(float64(sum.OutputBytes)/1e6, "out_MB")
			})
		}
	}
}

// BenchmarkRealMakedumpfile runs makedumpfile -d 31 with -c (zlib) and -l
// (LZO) on the real vmcore, for comparison with BenchmarkRealDump (one
// thread: makedumpfile's default).
func BenchmarkRealMakedumpfile(b *testing.B) {
	src := realVmcore(b)
	mdf := needTool(b, "makedumpfile")
	dir := b.TempDir()
	const input = 196413 * 4096 // the vmcore's pages, as BenchmarkRealDump counts them
	for _, flag := range []string{"-c", "-l"} {
		b.Run(flag, func(b *testing.B) {
			out := filepath.Join(dir, "out")
			var size int64
			for b.Loop() {
				os.Remove(out)
				if msg, err := exec.Command(mdf, "-d", "31", flag, src, out).CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, msg)
				}
				fi, _ := os.Stat(out)
				size = fi.Size()
			}
			b.SetBytes(input)
			b.ReportMetric(float64(size)/1e6, "out_MB")
		})
	}
}
