package dumpfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/kjump/kjump/pageset"
)

// goldenBytes writes goldenDump(c); see TestGoldenLayout for its offsets.
func goldenBytes(t testing.TB, c Compression) []byte {
	t.Helper()
	h, p, d, src := goldenDump(c)
	var m memFile
	if _, err := Write(&m, h, p, d, src, Options{Threads: 1}); err != nil {
		t.Fatal(err)
	}
	return m.Bytes()
}

func put32(b []byte, off int, v uint32) []byte {
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func put64(b []byte, off int, v uint64) []byte {
	binary.LittleEndian.PutUint64(b[off:], v)
	return b
}

var sentinels = []error{ErrNotKdump, ErrFlattened, ErrUnsupported, ErrCorrupt, ErrTruncated, ErrNotDumped, ErrInvalid}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(b []byte) []byte
		want   error
	}{
		{"empty", func([]byte) []byte { return nil }, ErrTruncated},
		{"five bytes", func(b []byte) []byte { return b[:5] }, ErrTruncated},
		{"ELF", func(b []byte) []byte { return append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 5000)...) }, ErrNotKdump},
		{"flattened", func(b []byte) []byte { return append([]byte("makedumpfile"), make([]byte, 5000)...) }, ErrFlattened},
		{"diskdump", func(b []byte) []byte { copy(b, "DISKDUMP"); return b }, ErrUnsupported},
		{"header cut", func(b []byte) []byte { return b[:300] }, ErrTruncated},
		{"version 0", func(b []byte) []byte { return put32(b, 8, 0) }, ErrUnsupported},
		{"big-endian version", func(b []byte) []byte { return put32(b, 8, 0x06000000) }, ErrUnsupported},
		{"block size 0", func(b []byte) []byte { return put32(b, 428, 0) }, ErrCorrupt},
		{"block size 1000", func(b []byte) []byte { return put32(b, 428, 1000) }, ErrCorrupt},
		{"block size 512", func(b []byte) []byte { return put32(b, 428, 512) }, ErrUnsupported},
		{"block size 1 GiB", func(b []byte) []byte { return put32(b, 428, 1<<30) }, ErrUnsupported},
		{"sub_hdr_size 0", func(b []byte) []byte { return put32(b, 432, 0) }, ErrCorrupt},
		{"sub_hdr_size huge", func(b []byte) []byte { return put32(b, 432, 0x7fffffff) }, ErrTruncated},
		{"sub header cut", func(b []byte) []byte { return b[:4096+50] }, ErrTruncated},
		{"bitmap_blocks odd", func(b []byte) []byte { return put32(b, 436, 3) }, ErrCorrupt},
		{"bitmap_blocks 0", func(b []byte) []byte { return put32(b, 436, 0) }, ErrCorrupt},
		{"bitmap_blocks huge", func(b []byte) []byte { return put32(b, 436, 0xfffffffe) }, ErrTruncated},
		{"max_mapnr_64 huge", func(b []byte) []byte { return put64(b, 4192, 1<<40) }, ErrCorrupt},
		{"bitmap cut", func(b []byte) []byte { return b[:10000] }, ErrTruncated},
		{"descriptors cut", func(b []byte) []byte { return b[:16400] }, ErrTruncated},
		{"note past end", func(b []byte) []byte { return put64(b, 4144, 1<<40) }, ErrTruncated},
		{"note huge", func(b []byte) []byte { return put64(b, 4152, 1<<40) }, ErrCorrupt},
		{"note negative", func(b []byte) []byte { return put64(b, 4144, 1<<63) }, ErrCorrupt},
		{"vmcoreinfo past end", func(b []byte) []byte { return put64(b, 4136, uint64(len(b))) }, ErrTruncated},
		{"eraseinfo past end", func(b []byte) []byte { put64(b, 4160, 100); return put64(b, 4168, uint64(len(b))) }, ErrTruncated},
		{"split backwards", func(b []byte) []byte { put32(b, 4108, 1); put64(b, 4176, 50); return put64(b, 4184, 10) }, ErrCorrupt},
		{"split past max_mapnr", func(b []byte) []byte { put32(b, 4108, 1); return put64(b, 4184, 101) }, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(goldenBytes(t, Zstd))
			f, err := Open(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, tc.want) || f != nil {
				t.Fatalf("Open: %v, %v; want error %v", f, err, tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("error %v is not a *FormatError", err)
			}
		})
	}
}

func TestOpenAcceptsOldVersions(t *testing.T) {
	// Version 5 and older take max_mapnr from the 32-bit field; version 2
	// has no VMCOREINFO or notes.
	b := goldenBytes(t, Zstd)
	put64(b, 4192, 0xdead) // max_mapnr_64, ignored before version 6
	for _, tc := range []struct {
		version        uint32
		wantVMCOREINFO bool
	}{{5, true}, {3, true}, {2, false}} {
		put32(b, 8, tc.version)
		f := openBytes(t, b)
		if f.Header.MaxPFN != 100 || f.Version != int(tc.version) || (f.Header.VMCOREINFO != nil) != tc.wantVMCOREINFO {
			t.Errorf("version %d: MaxPFN %#x VMCOREINFO %q", tc.version, f.Header.MaxPFN, f.Header.VMCOREINFO)
		}
		page := make([]byte, PageSize)
		if err := f.ReadPage(2, page); err != nil {
			t.Errorf("version %d: %v", tc.version, err)
		}
	}
}

func TestReadPageErrors(t *testing.T) {
	// Descriptors of the golden dump: [0] pfn 1 zero, [1] pfn 2 text
	// (compressed), [2] pfn 3 random (raw), [3] pfn 50 zero. They start at
	// 16384; the page data at 16480.
	const desc = 16384
	for _, tc := range []struct {
		name   string
		c      Compression
		mutate func(b []byte) []byte
		pfn    uint64
		want   error
	}{
		{"not dumped", Zstd, nil, 4, ErrNotDumped},
		{"past max_mapnr", Zstd, nil, 100, ErrNotDumped},
		{"data cut", Zstd, func(b []byte) []byte { return b[:len(b)-100] }, 3, ErrTruncated},
		{"offset 0", Zstd, func(b []byte) []byte { return put64(b, desc+24, 0) }, 2, ErrCorrupt},
		{"offset 0 of incomplete dump", Zstd, func(b []byte) []byte { put32(b, 424, FlagZstd|FlagIncomplete); return put64(b, desc+24, 0) }, 2, ErrTruncated},
		{"offset negative", Zstd, func(b []byte) []byte { return put64(b, desc+24, 1<<63) }, 2, ErrCorrupt},
		{"offset past end", Zstd, func(b []byte) []byte { return put64(b, desc+24, 1<<40) }, 2, ErrTruncated},
		{"offset overflows", Zstd, func(b []byte) []byte { return put64(b, desc+24, 1<<63-1) }, 2, ErrTruncated},
		{"size 0", Zstd, func(b []byte) []byte { return put32(b, desc+24+8, 0) }, 2, ErrCorrupt},
		{"size over a block", Zstd, func(b []byte) []byte { return put32(b, desc+24+8, 4097) }, 2, ErrCorrupt},
		{"raw page short", Zstd, func(b []byte) []byte { return put32(b, desc+48+8, 100) }, 3, ErrCorrupt},
		{"unknown flag", Zstd, func(b []byte) []byte { return put32(b, desc+24+12, 0x40) }, 2, ErrUnsupported},
		{"two compressions", Zstd, func(b []byte) []byte { return put32(b, desc+24+12, FlagZstd|FlagZlib) }, 2, ErrCorrupt},
		{"zstd garbage", Zstd, func(b []byte) []byte { copy(b[16480+4096:], "garbage!"); return b }, 2, ErrCorrupt},
		{"zstd said zlib", Zstd, func(b []byte) []byte { return put32(b, desc+24+12, FlagZlib) }, 2, ErrCorrupt},
		{"zstd said snappy", Zstd, func(b []byte) []byte { return put32(b, desc+24+12, FlagSnappy) }, 2, ErrCorrupt},
		{"zstd said lzo", Zstd, func(b []byte) []byte { return put32(b, desc+24+12, FlagLZO) }, 2, ErrCorrupt},
		{"zlib garbage", Zlib, func(b []byte) []byte { copy(b[16480+4096:], "garbage!"); return b }, 2, ErrCorrupt},
		{"zlib checksum", Zlib, func(b []byte) []byte {
			d := parsePageDesc(b[desc+24:])
			b[d.Offset+int64(d.Size)-1] ^= 0xff
			return b
		}, 2, ErrCorrupt},
		{"zlib cut short", Zlib, func(b []byte) []byte {
			d := parsePageDesc(b[desc+24:])
			return put32(b, desc+24+8, d.Size-6)
		}, 2, ErrCorrupt},
		{"snappy garbage", Snappy, func(b []byte) []byte { copy(b[16480+4096:], "\xff\xff\xff\xff\x0f"); return b }, 2, ErrCorrupt},
		{"snappy wrong length", Snappy, func(b []byte) []byte { copy(b[16480+4096:], "\x80\x10"); return b }, 2, ErrCorrupt},
		{"raw page said zstd", Zstd, func(b []byte) []byte { return put32(b, desc+48+12, FlagZstd) }, 3, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := goldenBytes(t, tc.c)
			if tc.mutate != nil {
				b = tc.mutate(b)
			}
			f := openBytes(t, b)
			err := f.ReadPage(tc.pfn, make([]byte, PageSize))
			var pe *PageError
			if !errors.Is(err, tc.want) || !errors.As(err, &pe) || pe.PFN != tc.pfn {
				t.Fatalf("ReadPage(%d) = %v, want a PageError wrapping %v", tc.pfn, err, tc.want)
			}
			if tc.want != ErrNotDumped {
				if err := f.Verify(); !errors.Is(err, tc.want) {
					t.Errorf("Verify = %v, want %v", err, tc.want)
				}
			}
		})
	}
}

func TestVerifyFindsInconsistencies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(b []byte) []byte
	}{
		{"max_mapnr disagrees", func(b []byte) []byte { return put32(b, 440, 99) }},
		{"dumped not present", func(b []byte) []byte { b[8192] &^= 0x04; return b }}, // pfn 2
		{"descriptor points into the table", func(b []byte) []byte { return put64(b, 16384+24, 16384) }},
		{"notes outside sub header", func(b []byte) []byte { return put64(b, 4144, 8192) }},
		{"vmcoreinfo outside sub header", func(b []byte) []byte { return put64(b, 4128, 8192) }},
		{"malformed notes", func(b []byte) []byte { return put32(b, 4204, 1000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(goldenBytes(t, Zstd))
			f := openBytes(t, b)
			if err := f.Verify(); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Verify = %v, want ErrCorrupt", err)
			}
		})
	}
	if err := openBytes(t, goldenBytes(t, Zstd)).Verify(); err != nil {
		t.Fatalf("Verify of a good file: %v", err)
	}
}

func TestVerifyListsManyProblems(t *testing.T) {
	d := newTestDump(None, 500)
	b := mustWrite(t, d, 1)
	f := openBytes(t, b)
	for i := range f.Layout.Pages {
		put32(b, int(f.Layout.DescOffset)+int(i)*pageDescSize+8, 0) // size 0
	}
	err := f.Verify()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify = %v", err)
	}
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != maxVerifyErrors+1 {
		t.Errorf("%d errors, want %d and a count", len(errs), maxVerifyErrors)
	}
}

func TestTruncatedAnywhere(t *testing.T) {
	// Cutting the file anywhere gives ErrTruncated from Open, or a File
	// whose pages read back right or fail with ErrTruncated.
	for _, c := range writeCompressions {
		b := goldenBytes(t, c)
		want := map[uint64][]byte{}
		for _, pfn := range []uint64{1, 2, 3, 50} {
			want[pfn] = make([]byte, PageSize)
			_, _, _, src := goldenDump(c)
			src.ReadPage(pfn, want[pfn])
		}
		for n := 0; n < len(b); n += 37 {
			f, err := Open(bytes.NewReader(b[:n]), int64(n))
			if err != nil {
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("%v cut at %d: Open: %v", c, n, err)
				}
				continue
			}
			page := make([]byte, PageSize)
			for pfn, w := range want {
				err := f.ReadPage(pfn, page)
				if err != nil && !errors.Is(err, ErrTruncated) {
					t.Fatalf("%v cut at %d: ReadPage(%d): %v", c, n, pfn, err)
				}
				if err == nil && !bytes.Equal(page, w) {
					t.Fatalf("%v cut at %d: ReadPage(%d) returned other bytes", c, n, pfn)
				}
			}
		}
	}
}

func TestSplitFile(t *testing.T) {
	// A file of a makedumpfile --split set holds the pages of
	// [start_pfn_64, end_pfn_64) only, but its 2nd bitmap covers all page
	// frames. Make one from a dump of pfns 10..19 by setting bits outside
	// that range and the split fields.
	const maxPFN = 64
	present := pageset.New(maxPFN)
	present.SetRange(0, maxPFN)
	dumped := pageset.New(maxPFN)
	dumped.SetRange(10, 20)
	src := synthSource{bs: PageSize, kind: func(uint64) pageKind { return kindText }}
	var m memFile
	if _, err := Write(&m, Header{NrCPUs: 1, MaxPFN: maxPFN, Compression: Zlib}, present, dumped, src, Options{}); err != nil {
		t.Fatal(err)
	}
	b := m.Bytes()
	f := openBytes(t, b)
	b[f.Layout.Bitmap2Offset] = 0xff   // pfns 0..7
	b[f.Layout.Bitmap2Offset+4] = 0xff // pfns 32..39
	put32(b, PageSize+subSplit, 1)
	put64(b, PageSize+subStartPFN64, 8)
	put64(b, PageSize+subEndPFN64, 24)

	f = openBytes(t, b)
	if !f.Layout.Split || f.Layout.StartPFN != 8 || f.Layout.EndPFN != 24 || f.Layout.Pages != 10 {
		t.Fatalf("Layout = %+v", f.Layout)
	}
	page, want := make([]byte, PageSize), make([]byte, PageSize)
	for pfn := range uint64(maxPFN) {
		err := f.ReadPage(pfn, page)
		if pfn >= 10 && pfn < 20 {
			fillPage(want, pfn, kindText)
			if err != nil || !bytes.Equal(page, want) {
				t.Errorf("ReadPage(%d): %v", pfn, err)
			}
		} else if !errors.Is(err, ErrNotDumped) {
			t.Errorf("ReadPage(%d) = %v, want ErrNotDumped", pfn, err)
		}
	}
	if err := f.Verify(); err != nil {
		t.Error(err)
	}
}

func TestEraseInfo(t *testing.T) {
	b := goldenBytes(t, Zstd)
	info := []byte("erase jiffies_64 size 8\n")
	off := len(b)
	b = append(b, info...)
	put64(b, 4160, uint64(off))
	put64(b, 4168, uint64(len(info)))
	got, err := openBytes(t, b).EraseInfo()
	if err != nil || !bytes.Equal(got, info) {
		t.Fatalf("EraseInfo = %q, %v", got, err)
	}
	if got, err := openBytes(t, goldenBytes(t, Zstd)).EraseInfo(); got != nil || err != nil {
		t.Errorf("EraseInfo without any = %q, %v", got, err)
	}
}
