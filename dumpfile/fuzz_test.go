package dumpfile

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kjump/kjump/pageset"
)

// smallDump is a dump with 1 KiB blocks, small enough to fuzz.
func smallDump(t testing.TB, c Compression) []byte {
	h := Header{
		Utsname:     Utsname{Sysname: "Linux", Release: "6.12.0", Machine: "x86_64"},
		NrCPUs:      1,
		MaxPFN:      12,
		BlockSize:   MinBlockSize,
		Compression: c,
		VMCOREINFO:  []byte("OSRELEASE=6.12.0\n"),
	}
	present := pageset.New(12)
	present.SetRange(0, 12)
	dumped := pageset.New(12)
	for _, pfn := range []uint64{0, 1, 2, 3, 7} {
		dumped.Set(pfn)
	}
	src := synthSource{bs: MinBlockSize, kind: func(pfn uint64) pageKind { return pageKind(pfn % 4) }}
	var m memFile
	if _, err := Write(&m, h, present, dumped, src, Options{Threads: 1}); err != nil {
		t.Fatal(err)
	}
	return m.Bytes()
}

// FuzzOpen: Open and ReadPage never panic and fail only with this
// package's errors; Open returns no File with an error; a File's layout
// lies within the file.
func FuzzOpen(f *testing.F) {
	for _, c := range writeCompressions {
		b := smallDump(f, c)
		f.Add(b)
		f.Add(b[:len(b)-500])
	}
	f.Add([]byte("makedumpfile\x00\x00\x00\x00"))
	f.Add([]byte("KDUMP   \x06\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if file != nil {
				t.Fatal("Open returned a File with an error")
			}
			if !isSentinel(err) {
				t.Fatalf("Open: unexpected error %v", err)
			}
			return
		}
		l := file.Layout
		if l.DescOffset > int64(len(data)) || l.BlockSize != file.Header.BlockSize ||
			file.Dumped.Len() != file.Header.MaxPFN || file.Present.Len() != file.Header.MaxPFN {
			t.Fatalf("inconsistent File: %+v", l)
		}
		buf := make([]byte, l.BlockSize)
		n := 0
		for pfn, ok := file.Dumped.Next(0); ok && n < 64; pfn, ok = file.Dumped.Next(pfn + 1) {
			if err := file.ReadPage(pfn, buf); err != nil && !isSentinel(err) {
				t.Fatalf("ReadPage(%#x): unexpected error %v", pfn, err)
			}
			n++
		}
		if l.Pages <= 64 {
			if err := file.Verify(); err != nil && !isSentinel(err) {
				t.Fatalf("Verify: unexpected error %v", err)
			}
		}
	})
}

// fuzzSource makes pages from a seed: byte i of page pfn is seed[(i+pfn)
// % len(seed)] in the first 'fill' bytes and zero after, so pages range
// from all zero to incompressible.
type fuzzSource struct {
	seed []byte
	fill func(pfn uint64) int
}

func (s fuzzSource) ReadPage(pfn uint64, buf []byte) error {
	clear(buf)
	if len(s.seed) == 0 {
		return nil
	}
	for i := range s.fill(pfn) {
		buf[i] = s.seed[(i+int(pfn))%len(s.seed)]
	}
	return nil
}

// FuzzWriteRead: what Write writes, Open and ReadPage read back, and the
// output does not depend on the number of threads.
func FuzzWriteRead(f *testing.F) {
	f.Add([]byte("the quick brown fox"), uint16(0xbeef), uint8(3))
	f.Add([]byte{0}, uint16(0xffff), uint8(2))
	f.Add(bytes.Repeat([]byte{1, 2, 3, 250, 99, 7, 0, 13}, 200), uint16(0x5a5a), uint8(1))
	f.Fuzz(func(t *testing.T, seed []byte, mask uint16, comp uint8) {
		const maxPFN = 16
		c := writeCompressions[int(comp)%len(writeCompressions)]
		present, dumped := pageset.New(maxPFN), pageset.New(maxPFN)
		for pfn := range uint64(maxPFN) {
			if mask&(1<<pfn) != 0 {
				present.Set(pfn)
				if pfn%3 != 2 {
					dumped.Set(pfn)
				}
			}
		}
		src := fuzzSource{seed: seed, fill: func(pfn uint64) int { return int(pfn*97) % (MinBlockSize + 1) }}
		h := Header{NrCPUs: 1, MaxPFN: maxPFN, BlockSize: MinBlockSize, Compression: c, VMCOREINFO: seed}
		var one, three memFile
		if _, err := Write(&one, h, present, dumped, src, Options{Threads: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := Write(&three, h, present, dumped, src, Options{Threads: 3}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(one.Bytes(), three.Bytes()) {
			t.Fatal("output depends on Threads")
		}
		file, err := Open(bytes.NewReader(one.Bytes()), int64(len(one.Bytes())))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(file.Header.VMCOREINFO, seed) && len(seed) > 0 {
			t.Fatalf("VMCOREINFO = %q, want %q", file.Header.VMCOREINFO, seed)
		}
		got, want := make([]byte, MinBlockSize), make([]byte, MinBlockSize)
		for pfn := range uint64(maxPFN) {
			err := file.ReadPage(pfn, got)
			if !dumped.Test(pfn) {
				if !errors.Is(err, ErrNotDumped) {
					t.Fatalf("ReadPage(%d) of a page not dumped: %v", pfn, err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			src.ReadPage(pfn, want)
			if !bytes.Equal(got, want) {
				t.Fatalf("pfn %d differs", pfn)
			}
		}
		if err := file.Verify(); err != nil {
			t.Fatal(err)
		}
	})
}
