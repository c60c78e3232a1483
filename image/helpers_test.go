package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// memFile is an in-memory io.ReaderAt + io.WriterAt.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := int(off) + len(p); end > len(m.b) {
		m.b = append(m.b, make([]byte, end-len(m.b))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// failAfter passes the first n writes through and fails the rest.
type failAfter struct {
	w *memFile
	n int
}

var errInjected = errors.New("injected write failure")

func (f *failAfter) WriteAt(p []byte, off int64) (int, error) {
	if f.n == 0 {
		return 0, errInjected
	}
	f.n--
	return f.w.WriteAt(p, off)
}

// patternSource returns deterministic page contents: some pages compress
// well, some are pseudo-random (incompressible).
type patternSource struct{}

func pageData(pfn uint64) []byte {
	b := make([]byte, PageSize)
	if pfn%3 == 0 {
		r := rand.New(rand.NewPCG(pfn, 42))
		for i := 0; i < PageSize; i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.Uint64())
		}
		return b
	}
	for i := range b {
		b[i] = byte(pfn) ^ byte(i/64)
	}
	return b
}

func (patternSource) ReadPages(pfn uint64, n int, buf []byte) error {
	if len(buf) != n*PageSize {
		return fmt.Errorf("buffer %d bytes for %d pages", len(buf), n)
	}
	for i := 0; i < n; i++ {
		copy(buf[i*PageSize:], pageData(pfn+uint64(i)))
	}
	return nil
}

type failSource struct{}

func (failSource) ReadPages(uint64, int, []byte) error { return errors.New("no such page") }

// detRand is a deterministic random source for UUIDs and salts.
func detRand(seed uint64) io.Reader {
	return rand.NewChaCha8([32]byte{byte(seed), 1, 2, 3})
}

func testHeader() Header {
	return Header{
		Release:      "6.12.0-kjump",
		Identity:     "OSRELEASE=6.12.0-kjump BUILD-ID=abc123",
		RAMSize:      2 << 30,
		MemMapHash:   [32]byte{1, 2, 3},
		CPUs:         4,
		JumpBack:     0x1000_2000,
		SecondKernel: Range{Start: 0x4000_0000, Size: 0x1000_0000},
		Created:      time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
	}
}

var smallKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

var testRawKey = bytes.Repeat([]byte{0x5a}, KeySize)

func mustRawKey(t testing.TB, b []byte) Key {
	k, err := RawKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writeImage writes an image and returns its bytes.
func writeImage(t testing.TB, runs []Run, opt WriteOptions) []byte {
	t.Helper()
	if opt.Rand == nil {
		opt.Rand = detRand(1)
	}
	if opt.KDF == (KDFParams{}) {
		opt.KDF = smallKDF
	}
	var f memFile
	st, err := Write(&f, testHeader(), runs, patternSource{}, opt)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if st.Header.Length != uint64(len(f.b)) {
		t.Fatalf("Stats length %d, file %d", st.Header.Length, len(f.b))
	}
	return f.b
}

// smallRuns crosses chunk boundaries for PagesPerChunk 2 or 3.
var smallRuns = []Run{{PFN: 0x10, Count: 3}, {PFN: 0x100, Count: 1}, {PFN: 0x200, Count: 4}}

var sentinels = []error{ErrNotImage, ErrVersion, ErrCorrupt, ErrIncomplete, ErrConsumed, ErrKey}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
