package dumpfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kjump/kjump/pageset"
)

var writeCompressions = []Compression{None, Zlib, LZO, Snappy, Zstd}

func TestRoundTrip(t *testing.T) {
	const maxPFN = 3000
	for _, c := range writeCompressions {
		t.Run(c.String(), func(t *testing.T) {
			d := newTestDump(c, maxPFN)
			one, st1 := d.write(t, 1)
			four, st4 := d.write(t, 4)
			if !bytes.Equal(one, four) {
				t.Fatalf("output with 1 thread (%d bytes) differs from output with 4 threads (%d bytes)", len(one), len(four))
			}
			if st1 != st4 {
				t.Errorf("Stats differ: %+v and %+v", st1, st4)
			}

			var zero, random, pages uint64
			for pfn := range uint64(maxPFN) {
				if !d.dumped.Test(pfn) {
					continue
				}
				pages++
				switch mixedKind(pfn) {
				case kindZero:
					zero++
				case kindRandom:
					random++
				}
			}
			wantSt := Stats{Pages: pages, ZeroPages: zero, RawPages: random, BytesIn: pages * PageSize, BytesOut: st1.BytesOut, Size: int64(len(one))}
			if c == None {
				wantSt.RawPages = pages - zero
			}
			if st1 != wantSt {
				t.Errorf("Stats = %+v, want %+v", st1, wantSt)
			}

			f := openBytes(t, one)
			wantH := d.h
			wantH.DumpLevel |= DumpLevelExcludeZero
			wantH.BlockSize = PageSize
			wantH.Notes = appendNote(nil, "VMCOREINFO", 0, d.h.VMCOREINFO)
			if !f.Header.Timestamp.Equal(wantH.Timestamp) {
				t.Errorf("Timestamp = %v, want %v", f.Header.Timestamp, wantH.Timestamp)
			}
			f.Header.Timestamp = wantH.Timestamp
			if got, want := fmt.Sprintf("%+v", f.Header), fmt.Sprintf("%+v", wantH); got != want {
				t.Errorf("Header =\n%s\nwant\n%s", got, want)
			}
			if f.Layout.Pages != pages {
				t.Errorf("Layout.Pages = %d, want %d", f.Layout.Pages, pages)
			}
			equalBitmaps(t, "Present", f.Present, d.present)
			equalBitmaps(t, "Dumped", f.Dumped, d.dumped)

			got := make([]byte, PageSize)
			want := make([]byte, PageSize)
			for pfn := range uint64(maxPFN + 10) {
				err := f.ReadPage(pfn, got)
				if !d.dumped.Test(pfn) {
					var pe *PageError
					if !errors.Is(err, ErrNotDumped) || !errors.As(err, &pe) || pe.PFN != pfn {
						t.Fatalf("ReadPage(%#x) not dumped: err = %v", pfn, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("ReadPage(%#x): %v", pfn, err)
				}
				fillPage(want, pfn, mixedKind(pfn))
				if !bytes.Equal(got, want) {
					t.Fatalf("ReadPage(%#x) returned other bytes", pfn)
				}
			}
			if err := f.Verify(); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func equalBitmaps(t *testing.T, name string, got, want *pageset.Set) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Errorf("%s.Len() = %d, want %d", name, got.Len(), want.Len())
		return
	}
	for pfn := range want.Len() {
		if got.Test(pfn) != want.Test(pfn) {
			t.Errorf("%s.Test(%#x) = %v, want %v", name, pfn, got.Test(pfn), want.Test(pfn))
			return
		}
	}
}

func TestZeroPagesShared(t *testing.T) {
	for _, c := range writeCompressions {
		t.Run(c.String(), func(t *testing.T) {
			d := newTestDump(c, 500)
			b, st := d.write(t, 2)
			f := openBytes(t, b)
			zero := PageDesc{Offset: f.Layout.DataOffset, Size: PageSize}
			var n uint64
			for pfn := range uint64(500) {
				if !d.dumped.Test(pfn) {
					continue
				}
				desc, err := f.PageDesc(pfn)
				if err != nil {
					t.Fatal(err)
				}
				if mixedKind(pfn) == kindZero {
					n++
					if desc != zero {
						t.Errorf("zero pfn %#x: %+v, want the shared %+v", pfn, desc, zero)
					}
				} else if desc.Offset <= zero.Offset {
					t.Errorf("pfn %#x: offset %#x, want past the zero page at %#x", pfn, desc.Offset, zero.Offset)
				}
			}
			if n == 0 || st.ZeroPages != n {
				t.Errorf("%d zero pages, Stats.ZeroPages = %d", n, st.ZeroPages)
			}
			if !bytes.Equal(b[zero.Offset:zero.Offset+PageSize], make([]byte, PageSize)) {
				t.Error("shared zero page is not zero")
			}
		})
	}
}

func TestStoredForm(t *testing.T) {
	// Random pages do not compress and are stored raw; text pages are
	// stored compressed, except with None.
	for _, c := range writeCompressions {
		t.Run(c.String(), func(t *testing.T) {
			d := newTestDump(c, 200)
			f := openBytes(t, mustWrite(t, d, 1))
			for pfn := range uint64(200) {
				if !d.dumped.Test(pfn) {
					continue
				}
				desc, err := f.PageDesc(pfn)
				if err != nil {
					t.Fatal(err)
				}
				switch mixedKind(pfn) {
				case kindRandom:
					if desc.Flags != 0 || desc.Size != PageSize {
						t.Errorf("random pfn %#x: %+v, want raw", pfn, desc)
					}
				case kindText, kindSparse:
					if c == None {
						if desc.Flags != 0 || desc.Size != PageSize {
							t.Errorf("pfn %#x: %+v, want raw", pfn, desc)
						}
					} else if desc.Flags != c.flag() || desc.Size >= PageSize {
						t.Errorf("pfn %#x: %+v, want %v-compressed", pfn, desc, c)
					}
				}
			}
		})
	}
}

func mustWrite(t testing.TB, d testDump, threads int) []byte {
	b, _ := d.write(t, threads)
	return b
}

func TestBlockSize(t *testing.T) {
	d := newTestDump(Zstd, 300)
	d.h.BlockSize = 16384
	d.src.bs = 16384
	b := mustWrite(t, d, 3)
	f := openBytes(t, b)
	if f.Layout.BlockSize != 16384 || f.Header.BlockSize != 16384 {
		t.Fatalf("block size %d", f.Layout.BlockSize)
	}
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	got, want := make([]byte, 16384), make([]byte, 16384)
	for pfn := range uint64(300) {
		if !d.dumped.Test(pfn) {
			continue
		}
		if err := f.ReadPage(pfn, got); err != nil {
			t.Fatal(err)
		}
		fillPage(want, pfn, mixedKind(pfn))
		if !bytes.Equal(got, want) {
			t.Fatalf("pfn %#x differs", pfn)
		}
	}
	if err := f.ReadPage(1, make([]byte, 4096)); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReadPage with a 4096-byte buffer: %v, want ErrInvalid", err)
	}
}

func TestEmptyDump(t *testing.T) {
	for _, maxPFN := range []uint64{0, 1, 100} {
		var m memFile
		var calls []uint64
		h := Header{NrCPUs: 1, MaxPFN: maxPFN}
		st, err := Write(&m, h, pageset.New(maxPFN), pageset.New(maxPFN), synthSource{}, Options{
			Progress: func(done, total uint64) { calls = append(calls, done, total) },
		})
		if err != nil {
			t.Fatalf("MaxPFN %d: %v", maxPFN, err)
		}
		if st.Pages != 0 || len(calls) != 2 || calls[0] != 0 || calls[1] != 0 {
			t.Errorf("MaxPFN %d: Stats %+v, progress %v", maxPFN, st, calls)
		}
		f := openBytes(t, m.Bytes())
		if f.Layout.Pages != 0 || f.Header.MaxPFN != maxPFN {
			t.Errorf("MaxPFN %d: read back %+v", maxPFN, f.Layout)
		}
		if err := f.Verify(); err != nil {
			t.Error(err)
		}
	}
}

func TestWriteInvalid(t *testing.T) {
	ok := func() (Header, *pageset.Set, *pageset.Set) {
		h, p, d, _ := goldenDump(Zlib)
		return h, p, d
	}
	for _, tc := range []struct {
		name   string
		mutate func(h *Header, present, dumped **pageset.Set)
		want   error
	}{
		{"unknown compression", func(h *Header, _, _ **pageset.Set) { h.Compression = 7 }, ErrInvalid},
		{"no CPUs", func(h *Header, _, _ **pageset.Set) { h.NrCPUs = 0 }, ErrInvalid},
		{"negative dump level", func(h *Header, _, _ **pageset.Set) { h.DumpLevel = -1 }, ErrInvalid},
		{"block size 1000", func(h *Header, _, _ **pageset.Set) { h.BlockSize = 1000 }, ErrInvalid},
		{"block size 512", func(h *Header, _, _ **pageset.Set) { h.BlockSize = 512 }, ErrInvalid},
		{"long release", func(h *Header, _, _ **pageset.Set) { h.Utsname.Release = strings.Repeat("x", 65) }, ErrInvalid},
		{"NUL in machine", func(h *Header, _, _ **pageset.Set) { h.Utsname.Machine = "x86\x0064" }, ErrInvalid},
		{"nil present", func(_ *Header, p, _ **pageset.Set) { *p = nil }, ErrInvalid},
		{"nil dumped", func(_ *Header, _, d **pageset.Set) { *d = nil }, ErrInvalid},
		{"dumped not present", func(_ *Header, p, _ **pageset.Set) { (*p).Clear(2) }, ErrInvalid},
		{"present past MaxPFN", func(h *Header, _, _ **pageset.Set) { h.MaxPFN = 60 }, ErrInvalid},
		{"dumped past MaxPFN", func(_ *Header, _, d **pageset.Set) { *d = pageset.New(200); (*d).Set(150) }, ErrInvalid},
		{"malformed notes", func(h *Header, _, _ **pageset.Set) { h.Notes = []byte{1, 2, 3} }, ErrInvalid},
		{"other VMCOREINFO in notes", func(h *Header, _, _ **pageset.Set) {
			h.Notes = appendNote(nil, "VMCOREINFO", 0, []byte("OSRELEASE=5.0\n"))
		}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, p, d := ok()
			tc.mutate(&h, &p, &d)
			var m memFile
			_, err := Write(&m, h, p, d, synthSource{kind: func(uint64) pageKind { return kindText }}, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(m.Bytes()) != 0 {
				t.Errorf("wrote %d bytes before failing", len(m.Bytes()))
			}
		})
	}
}

func TestNotesKeepVMCOREINFONote(t *testing.T) {
	prstatus := appendNote(nil, "CORE", 1, bytes.Repeat([]byte{0xab}, 336))
	vmci := []byte("OSRELEASE=6.12.0\nPAGESIZE=4096\n")
	withNote := appendNote(append([]byte(nil), prstatus...), "VMCOREINFO", 0, vmci)
	for _, tc := range []struct {
		name        string
		notes, vmci []byte
		wantNotes   []byte
	}{
		{"appended", prstatus, vmci, withNote},
		{"already there", withNote, vmci, withNote},
		{"only in notes", withNote, nil, withNote},
		{"none", prstatus, nil, prstatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, p, d, src := goldenDump(Zstd)
			h.Notes, h.VMCOREINFO = tc.notes, tc.vmci
			var m memFile
			if _, err := Write(&m, h, p, d, src, Options{}); err != nil {
				t.Fatal(err)
			}
			f := openBytes(t, m.Bytes())
			if !bytes.Equal(f.Header.Notes, tc.wantNotes) {
				t.Errorf("Notes = %q\nwant %q", f.Header.Notes, tc.wantNotes)
			}
			wantVMCI := vmci
			if tc.name == "none" {
				wantVMCI = nil
			}
			if !bytes.Equal(f.Header.VMCOREINFO, wantVMCI) {
				t.Errorf("VMCOREINFO = %q, want %q", f.Header.VMCOREINFO, wantVMCI)
			}
			if err := f.Verify(); err != nil {
				t.Error(err)
			}
		})
	}
}

var errBoom = errors.New("boom")

type failingSource struct {
	synthSource
	at uint64
}

func (s failingSource) ReadPage(pfn uint64, buf []byte) error {
	if pfn == s.at {
		return errBoom
	}
	return s.synthSource.ReadPage(pfn, buf)
}

func TestSourceError(t *testing.T) {
	for _, threads := range []int{1, 4} {
		d := newTestDump(Zstd, 3000)
		var m memFile
		_, err := Write(&m, d.h, d.present, d.dumped, failingSource{d.src, 2001}, Options{Threads: threads})
		var pe *PageError
		if !errors.Is(err, errBoom) || !errors.As(err, &pe) || pe.PFN != 2001 {
			t.Errorf("%d threads: err = %v, want a PageError for pfn 0x7d1 wrapping errBoom", threads, err)
		}
	}
}

// failingWriter fails every write at or past limit.
type failingWriter struct {
	memFile
	limit int64
}

func (w *failingWriter) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > w.limit {
		return 0, errBoom
	}
	return w.memFile.WriteAt(p, off)
}

func TestWriterError(t *testing.T) {
	d := newTestDump(Zlib, 2000)
	full := mustWrite(t, d, 1)
	for _, limit := range []int64{100, 5000, 20000, int64(len(full)) - 1} {
		for _, threads := range []int{1, 3} {
			w := &failingWriter{limit: limit}
			_, err := Write(w, d.h, d.present, d.dumped, d.src, Options{Threads: threads})
			if !errors.Is(err, errBoom) {
				t.Errorf("limit %d, %d threads: err = %v, want errBoom", limit, threads, err)
			}
		}
	}
}

func TestProgress(t *testing.T) {
	d := newTestDump(Snappy, 3000)
	var (
		mu    sync.Mutex
		calls [][2]uint64
	)
	var m memFile
	st, err := Write(&m, d.h, d.present, d.dumped, d.src, Options{Threads: 3, Progress: func(done, total uint64) {
		mu.Lock()
		calls = append(calls, [2]uint64{done, total})
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 {
		t.Fatalf("%d progress calls", len(calls))
	}
	for i, c := range calls {
		if c[1] != st.Pages || c[0] > c[1] || (i > 0 && c[0] <= calls[i-1][0]) {
			t.Fatalf("call %d: %v after %v (total pages %d)", i, c, calls[max(i-1, 0)], st.Pages)
		}
	}
	if last := calls[len(calls)-1]; last[0] != st.Pages {
		t.Errorf("last call %v, want done = %d", last, st.Pages)
	}
}
