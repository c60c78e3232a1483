package dump

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageclass/pageclasstest"
)

func TestRunSynthetic(t *testing.T) {
	levels := []pageclass.Level{0, 1, 2, 4, 8, 16, 31}
	for _, vmemmap := range []bool{false, true} {
		k := fakeKernel(vmemmap)
		for _, withVirt := range []bool{true, false} {
			dir := t.TempDir()
			src := writeFile(t, dir, "vmcore", k.ELF(nil, withVirt))
			for _, format := range []Format{Kdump, ELF} {
				comps := []dumpfile.Compression{dumpfile.Zlib}
				if format == Kdump {
					comps = []dumpfile.Compression{dumpfile.None, dumpfile.Zlib, dumpfile.Snappy, dumpfile.Zstd}
				}
				for _, comp := range comps {
					for _, level := range levels {
						name := fmt.Sprintf("vmemmap=%v/virt=%v/%v/%v/%d", vmemmap, withVirt, format, comp, level)
						t.Run(name, func(t *testing.T) {
							dst := filepath.Join(dir, "out")
							sum, err := Run(src, dst, Options{Level: level, Format: format, Compression: comp, Threads: 2, Timestamp: fixedTime})
							if err != nil {
								t.Fatal(err)
							}
							checkSummary(t, sum, k, level)
							if format == Kdump {
								checkKdump(t, dst, k, level, comp)
							} else {
								// The 256-page free block splits the segment.
								loads := 1
								if level&pageclass.ExcludeFree != 0 {
									loads = 2
								}
								checkELF(t, dst, k, level, loads)
							}
							noTempFiles(t, dir)
						})
					}
				}
			}
		}
	}
}

func checkSummary(t *testing.T, s Summary, k *pageclasstest.Kernel, level pageclass.Level) {
	t.Helper()
	var want Excluded
	for pfn := range k.MaxPFN {
		if !fakeKept(pfn, level) {
			switch fakeClass(pfn) {
			case pageclass.Free:
				want.Free++
			case pageclass.Cache:
				want.Cache++
			case pageclass.CachePrivate:
				want.CachePrivate++
			case pageclass.User:
				want.User++
			}
		} else if level&pageclass.ExcludeZero != 0 && isZero(k.Bytes()[pfn*pageSize:(pfn+1)*pageSize]) {
			want.Zero++
		}
	}
	if s.Excluded != want {
		t.Errorf("excluded %+v, want %+v", s.Excluded, want)
	}
	if s.PagesTotal != k.MaxPFN || s.PagesWritten != k.MaxPFN-want.Total() || s.PagesExcluded != want.Total() {
		t.Errorf("pages: total %d written %d excluded %d", s.PagesTotal, s.PagesWritten, s.PagesExcluded)
	}
	if s.Release != k.Release || s.OutputBytes <= 0 || s.InputBytes != k.MaxPFN*pageSize || s.Level != int(level) {
		t.Errorf("summary %+v", s)
	}
}

func checkKdump(t *testing.T, path string, k *pageclasstest.Kernel, level pageclass.Level, comp dumpfile.Compression) {
	t.Helper()
	d := openKdump(t, path)
	if err := d.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if d.Header.Utsname.Release != k.Release || d.Header.Utsname.Nodename != "fake" || d.Header.Compression != comp {
		t.Errorf("header %+v", d.Header)
	}
	if d.Header.DumpLevel != int(level|pageclass.ExcludeZero) || d.Header.PhysBase != pageclasstest.PhysBase {
		t.Errorf("dump level %d, phys_base %#x", d.Header.DumpLevel, d.Header.PhysBase)
	}
	buf := make([]byte, pageSize)
	for pfn := range k.MaxPFN {
		if !d.Present.Test(pfn) {
			t.Fatalf("page frame %#x not present", pfn)
		}
		if d.Has(pfn) != fakeKept(pfn, level) {
			t.Fatalf("page frame %#x (%v) in dump: %v", pfn, fakeClass(pfn), d.Has(pfn))
		}
		if !d.Has(pfn) {
			continue
		}
		if err := d.ReadPage(pfn, buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, k.Bytes()[pfn*pageSize:(pfn+1)*pageSize]) {
			t.Fatalf("page frame %#x differs", pfn)
		}
	}
}

// checkELF checks an ELF output of fakeKernel; wantLoads < 0 skips the
// count of PT_LOADs.
func checkELF(t *testing.T, path string, k *pageclasstest.Kernel, level pageclass.Level, wantLoads int) {
	t.Helper()
	f := openELF(t, path)
	if text, ok := f.VMCOREINFO(); !ok || !bytes.Equal(text, k.VMCOREINFO()) {
		t.Error("VMCOREINFO note lost")
	}
	buf := make([]byte, pageSize)
	for pfn := range k.MaxPFN {
		if _, err := f.ReadPhys(buf, pfn*pageSize); err != nil {
			t.Fatalf("page frame %#x: %v", pfn, err)
		}
		src := k.Bytes()[pfn*pageSize : (pfn+1)*pageSize]
		if fakeKept(pfn, level) {
			if !bytes.Equal(buf, src) {
				t.Fatalf("page frame %#x differs", pfn)
			}
		} else if !isZero(buf) {
			t.Fatalf("left-out page frame %#x reads non-zero", pfn)
		}
	}
	if wantLoads >= 0 && len(f.Loads) != wantLoads {
		t.Errorf("%d PT_LOADs, want %d: %+v", len(f.Loads), wantLoads, f.Loads)
	}
	if fi, _ := os.Stat(path); level&pageclass.ExcludeFree != 0 && uint64(fi.Size()) > (k.MaxPFN-256)*pageSize+2*pageSize {
		t.Errorf("ELF of %d bytes still holds the free block", fi.Size())
	}
}

// TestThreadsSameOutput: 1, 2 and 5 threads write the same bytes.
func TestThreadsSameOutput(t *testing.T) {
	k := fakeKernel(true)
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))
	for _, format := range []Format{Kdump, ELF} {
		for _, comp := range []dumpfile.Compression{dumpfile.Zlib, dumpfile.Zstd} {
			var first []byte
			for _, n := range []int{1, 2, 5} {
				dst := filepath.Join(dir, fmt.Sprintf("out-%d", n))
				if _, err := Run(src, dst, Options{Level: 31, Format: format, Compression: comp, Threads: n, Timestamp: fixedTime}); err != nil {
					t.Fatal(err)
				}
				b := readAll(t, dst)
				if first == nil {
					first = b
				} else if !bytes.Equal(b, first) {
					t.Errorf("%v %v: %d threads wrote different bytes", format, comp, n)
				}
			}
		}
	}
}

// TestOverlay: a vmcore without two ranges (the struct pages of the whole
// kernel, and the section with the free and cache pages), plus an overlay
// holding them at shuffled physical addresses, dumps to exactly the file
// the whole vmcore gives.
func TestOverlay(t *testing.T) {
	k := fakeKernel(false)
	dir := t.TempDir()
	full := writeFile(t, dir, "full", k.ELF(nil, true))
	mmStart, mmEnd := uint64(16), pageclasstest.FirstFree(k.MaxPFN)
	parts := []pageclasstest.Range{
		{Start: 0, Size: mmStart * pageSize},
		{Start: mmEnd * pageSize, Size: (512 - mmEnd) * pageSize},
		{Start: 768 * pageSize, Size: 256 * pageSize},
	}
	partial := writeFile(t, dir, "partial", k.ELF(parts, true))

	ov := Overlay{}
	extra := memPages{}
	moved := append(pfnRange(mmStart, mmEnd), pfnRange(512, 768)...)
	for i, pfn := range moved {
		at := uint64(0x100000000) + uint64(len(moved)-i)*3*pageSize // reversed, spread
		ov[pfn] = at
		extra[at] = append([]byte(nil), k.Bytes()[pfn*pageSize:(pfn+1)*pageSize]...)
	}
	for _, format := range []Format{Kdump, ELF} {
		opt := Options{Level: 31, Format: format, Compression: dumpfile.Zlib, Timestamp: fixedTime}
		want := filepath.Join(dir, "want")
		if _, err := Run(full, want, opt); err != nil {
			t.Fatal(err)
		}
		opt.Overlay, opt.Extra = ov, extra
		got := filepath.Join(dir, "got")
		sum, err := Run(partial, got, opt)
		if err != nil {
			t.Fatal(err)
		}
		if sum.PagesOverlay != uint64(len(moved)) || sum.Excluded.Free != 8+256 {
			t.Errorf("%v: summary %+v", format, sum)
		}
		if format == Kdump {
			if !bytes.Equal(readAll(t, got), readAll(t, want)) {
				t.Errorf("kdump file with overlay differs from the whole vmcore's")
			}
			continue
		}
		checkELF(t, got, k, 31, -1)
	}
	// Without the overlay the moved pages are not there, and neither are
	// the struct pages: every page is kept, unclassified.
	sum, err := Run(partial, filepath.Join(dir, "none"), Options{Level: 31, Timestamp: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	if sum.PagesTotal != k.MaxPFN-uint64(len(moved)) || sum.PagesUnclassified != sum.PagesTotal || sum.Excluded.Free != 0 {
		t.Errorf("dump without the struct pages: %+v", sum)
	}
}

func pfnRange(lo, hi uint64) []uint64 {
	var out []uint64
	for p := lo; p < hi; p++ {
		out = append(out, p)
	}
	return out
}

func TestRunErrors(t *testing.T) {
	k := fakeKernel(false)
	dir := t.TempDir()
	good := k.ELF(nil, true)
	src := writeFile(t, dir, "vmcore", good)
	kdumpSrc := filepath.Join(dir, "kdump")
	if _, err := Run(src, kdumpSrc, Options{Level: 31, Timestamp: fixedTime}); err != nil {
		t.Fatal(err)
	}
	noInfo := k.ELF(nil, true)
	copy(noInfo[bytes.Index(noInfo, []byte("VMCOREINFO")):], "XMCOREINFO")
	tests := []struct {
		name string
		src  string
		dst  string
		opt  Options
		want error
	}{
		{"missing", filepath.Join(dir, "nope"), "out", Options{}, os.ErrNotExist},
		{"kdump-compressed", kdumpSrc, "out", Options{}, elfcore.ErrKdumpCompressed},
		{"flattened", writeFile(t, dir, "flat", append([]byte("makedumpfile\x00\x00\x00\x00"), make([]byte, 4096)...)), "out", Options{}, elfcore.ErrFlattened},
		{"text", writeFile(t, dir, "text", []byte("hello, world\n")), "out", Options{}, elfcore.ErrNotELF},
		{"empty", writeFile(t, dir, "empty", nil), "out", Options{}, ErrSource},
		{"directory", dir, "out", Options{}, ErrSource},
		{"truncated", writeFile(t, dir, "cut", good[:len(good)-pageSize]), "out", Options{}, elfcore.ErrSegmentBeyondEOF},
		{"no VMCOREINFO at level 31", writeFile(t, dir, "noinfo", noInfo), "out", Options{Level: 31}, ErrSource},
		{"level 32", src, "out", Options{Level: 32}, ErrOptions},
		{"bad format", src, "out", Options{Format: 7}, ErrOptions},
		{"negative threads", src, "out", Options{Threads: -1}, ErrOptions},
		{"overlay without Extra", src, "out", Options{Overlay: Overlay{5000: 0}}, ErrOptions},
		{"overlay unaligned", src, "out", Options{Overlay: Overlay{5000: 12}, Extra: memPages{}}, ErrOptions},
		{"overlay page unreadable", src, "out", Options{Overlay: Overlay{600: 0x5000}, Extra: memPages{}}, os.ErrNotExist},
		{"destination directory missing", src, filepath.Join(dir, "no", "out"), Options{}, os.ErrNotExist},
		{"destination is the source", src, src, Options{}, ErrOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := tt.dst
			if !filepath.IsAbs(dst) {
				dst = filepath.Join(dir, dst)
			}
			_, err := Run(tt.src, dst, tt.opt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
			if dst != tt.src {
				if _, serr := os.Stat(dst); serr == nil {
					t.Errorf("%s exists after an error", dst)
				}
			}
			noTempFiles(t, dir)
		})
	}
	// At level 1 a vmcore without VMCOREINFO is fine.
	if _, err := Run(filepath.Join(dir, "noinfo"), filepath.Join(dir, "l1"), Options{Level: 1}); err != nil {
		t.Errorf("level 1 without VMCOREINFO: %v", err)
	}
}

// TestRunCancel: a cancelled dump leaves nothing behind.
func TestRunCancel(t *testing.T) {
	k := fakeKernel(false)
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))
	for _, format := range []Format{Kdump, ELF} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		dst := filepath.Join(dir, "out")
		_, err := RunContext(ctx, src, dst, Options{Format: format, Level: 1})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v: %v, want context.Canceled", format, err)
		}
		if _, err := os.Stat(dst); err == nil {
			t.Errorf("%v: %s exists", format, dst)
		}
		noTempFiles(t, dir)
	}
}

// TestReplaceDestination: an existing DST is replaced only at the end.
func TestReplaceDestination(t *testing.T) {
	k := fakeKernel(false)
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))
	dst := writeFile(t, dir, "out", []byte("old"))
	if _, err := Run(src, dst, Options{Level: 31, Compression: dumpfile.Zlib}); err != nil {
		t.Fatal(err)
	}
	if d := openKdump(t, dst); d.Header.Utsname.Release != k.Release {
		t.Errorf("release %q", d.Header.Utsname.Release)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
}

// TestProgress: calls go up to done == total.
func TestProgress(t *testing.T) {
	k := fakeKernel(false)
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))
	for _, format := range []Format{Kdump, ELF} {
		var calls int
		var last, lastTotal uint64
		opt := Options{Level: 31, Format: format, Threads: 3, Progress: func(done, total uint64) {
			calls++
			if done < last {
				t.Errorf("%v: done went back from %d to %d", format, last, done)
			}
			last, lastTotal = done, total
		}}
		if _, err := Run(src, filepath.Join(dir, "out"), opt); err != nil {
			t.Fatal(err)
		}
		if calls == 0 || last != lastTotal || last == 0 {
			t.Errorf("%v: %d calls, last %d/%d", format, calls, last, lastTotal)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want dumpfile.Compression
		err  error
	}{
		{"zlib", dumpfile.Zlib, nil}, {"ZSTD", dumpfile.Zstd, nil}, {"snappy", dumpfile.Snappy, nil},
		{"none", dumpfile.None, nil}, {"LZO", dumpfile.LZO, nil}, {"lz4", 0, ErrOptions}, {"", 0, ErrOptions},
	} {
		got, err := ParseCompression(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseCompression(%q) = %v, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct {
		in   string
		want Format
		ok   bool
	}{{"kdump", Kdump, true}, {"elf", ELF, true}, {"ELF", ELF, true}, {"raw", 0, false}} {
		got, err := ParseFormat(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseFormat(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok && got.String() != map[Format]string{Kdump: "kdump", ELF: "elf"}[got] {
			t.Errorf("String() = %q", got.String())
		}
	}
}
