package dumpfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kjump/kjump/pageset"
)

// memFile is an in-memory io.WriterAt and io.ReaderAt.
type memFile struct {
	mu sync.Mutex
	b  []byte
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[off:], p)
	return len(p), nil
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m.b).ReadAt(p, off)
}

func (m *memFile) Bytes() []byte { return m.b }

// pageKind says what a synthetic page holds.
type pageKind int

const (
	kindZero   pageKind = iota // all zero
	kindText                   // compresses well
	kindRandom                 // does not compress
	kindSparse                 // mostly zero, a few bytes set
)

// synthSource makes page contents from the page frame number alone, so
// tests can check what they read back.
type synthSource struct {
	bs   int
	kind func(pfn uint64) pageKind
}

func (s synthSource) ReadPage(pfn uint64, buf []byte) error {
	fillPage(buf, pfn, s.kind(pfn))
	return nil
}

func fillPage(buf []byte, pfn uint64, k pageKind) {
	switch k {
	case kindZero:
		clear(buf)
	case kindText:
		var b bytes.Buffer
		for i := 0; b.Len() < len(buf); i++ {
			fmt.Fprintf(&b, "pfn %#x line %d: the quick brown fox jumps over the lazy dog\n", pfn, i%7)
		}
		copy(buf, b.Bytes())
	case kindRandom:
		r := rand.New(rand.NewPCG(pfn, 0x6b6a756d70))
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], r.Uint64())
		}
	case kindSparse:
		clear(buf)
		binary.LittleEndian.PutUint64(buf[(pfn*8)%uint64(len(buf)):], pfn|1)
	}
}

// mixedKind gives every kind of page, in a pattern.
func mixedKind(pfn uint64) pageKind {
	switch pfn % 7 {
	case 0, 3:
		return kindZero
	case 1, 4:
		return kindText
	case 2:
		return kindRandom
	}
	return kindSparse
}

// testDump describes a dump for round-trip tests: page frames [0, maxPFN),
// a hole in the middle that is not present, and every 5th present page
// frame left out of the dump.
type testDump struct {
	h               Header
	present, dumped *pageset.Set
	src             synthSource
}

func newTestDump(c Compression, maxPFN uint64) testDump {
	h := Header{
		Utsname: Utsname{
			Sysname: "Linux", Nodename: "kjump-test", Release: "6.12.0-kjump",
			Version: "#1 SMP PREEMPT_DYNAMIC", Machine: "x86_64", Domainname: "(none)",
		},
		Timestamp:   time.Date(2025, 5, 20, 12, 34, 56, 789000, time.UTC),
		NrCPUs:      2,
		PhysBase:    0x1000000,
		DumpLevel:   0,
		MaxPFN:      maxPFN,
		Compression: c,
		VMCOREINFO:  []byte("OSRELEASE=6.12.0-kjump\nPAGESIZE=4096\n"),
	}
	present := pageset.New(maxPFN)
	present.SetRange(0, maxPFN/3)
	present.SetRange(maxPFN/2, maxPFN)
	dumped := pageset.New(maxPFN)
	for pfn := range maxPFN {
		if present.Test(pfn) && pfn%5 != 4 {
			dumped.Set(pfn)
		}
	}
	return testDump{h: h, present: present, dumped: dumped, src: synthSource{bs: PageSize, kind: mixedKind}}
}

// write writes d to memory.
func (d testDump) write(t testing.TB, threads int) ([]byte, Stats) {
	t.Helper()
	var m memFile
	st, err := Write(&m, d.h, d.present, d.dumped, d.src, Options{Threads: threads})
	if err != nil {
		t.Fatalf("Write(%v, %d threads): %v", d.h.Compression, threads, err)
	}
	if st.Size != int64(len(m.b)) {
		t.Fatalf("Stats.Size = %d, file is %d bytes", st.Size, len(m.b))
	}
	return m.b, st
}

func openBytes(t testing.TB, b []byte) *File {
	t.Helper()
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return f
}

var _ io.ReaderAt = (*memFile)(nil)
