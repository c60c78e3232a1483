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

// strictSource is patternSource that fails when asked for a page outside
// the data runs (a zero-run page, or one not in the map at all), or for a
// range that is not one stretch of a single data run.
type strictSource struct{ runs []Run }

func (s strictSource) ReadPages(pfn uint64, n int, buf []byte) error {
	for _, r := range s.runs {
		if pfn >= r.PFN && pfn+uint64(n) <= r.PFN+r.Count {
			if r.Zero {
				return fmt.Errorf("asked for %d pages at pfn %#x of zero run %+v", n, pfn, r)
			}
			return patternSource{}.ReadPages(pfn, n, buf)
		}
	}
	return fmt.Errorf("asked for %d pages at pfn %#x, not inside one run", n, pfn)
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
		Mailbox:      0x9f000,
		Filesystems: []Filesystem{
			{Device: "253:0", Name: "/dev/vda on / (ext4, mount count 3)", Fingerprint: sha256.Sum256([]byte("vda"))},
			{Device: "8:17", Name: "/dev/sdb1 on /home (xfs)", Fingerprint: sha256.Sum256([]byte("sdb1"))},
		},
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

// writeImage writes an image of testHeader and returns its bytes.
func writeImage(t testing.TB, runs []Run, opt WriteOptions) []byte {
	t.Helper()
	return writeImageHeader(t, testHeader(), runs, opt)
}

// writeImageHeader writes an image with header h and returns its bytes.
func writeImageHeader(t testing.TB, h Header, runs []Run, opt WriteOptions) []byte {
	t.Helper()
	if opt.Rand == nil {
		opt.Rand = detRand(1)
	}
	if opt.KDF == (KDFParams{}) {
		opt.KDF = smallKDF
	}
	var f memFile
	st, err := Write(&f, h, runs, strictSource{runs}, opt)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if st.Header.Length != uint64(len(f.b)) {
		t.Fatalf("Stats length %d, file %d", st.Header.Length, len(f.b))
	}
	return f.b
}

// smallRuns crosses chunk boundaries for PagesPerChunk 2 or 3 and has zero
// runs adjacent to data runs on both sides and on their own.
var smallRuns = []Run{
	{PFN: 0x10, Count: 3}, {PFN: 0x13, Count: 2, Zero: true}, {PFN: 0x100, Count: 1},
	{PFN: 0x180, Count: 7, Zero: true}, {PFN: 0x200, Count: 4},
}

// dataPages counts the pages of runs' data runs and zero runs.
func dataPages(runs []Run) (data, zero uint64) {
	for _, r := range runs {
		if r.Zero {
			zero += r.Count
		} else {
			data += r.Count
		}
	}
	return data, zero
}

// reseal recomputes every unkeyed checksum of an unencrypted image after a
// test edited it (map SHA-256, header SHA-256, commit digest and commit
// SHA-256), so only the structural checks can catch the edit.
func reseal(b []byte) {
	mapOff, mapLen := le.Uint64(b[offMapOff:]), le.Uint64(b[offMapLen:])
	dataOff, chunks, commitOff := le.Uint64(b[offDataOff:]), le.Uint64(b[offChunks:]), le.Uint64(b[offCommitOff:])
	m := b[mapOff : mapOff+mapLen]
	sum := sha256.Sum256(m[:mapLen-32])
	copy(m[mapLen-32:], sum[:])
	sum = sha256.Sum256(b[:hashOff])
	copy(b[hashOff:], sum[:])
	var digests []byte
	off := dataOff
	for i := uint64(0); i < chunks; i++ {
		d := sha256.Sum256(b[off : off+chunkHeaderSize])
		digests = append(digests, d[:]...)
		off += align(chunkHeaderSize + uint64(le.Uint32(b[off+20:])))
	}
	digest := commitDigest(b[:BlockSize], m, digests)
	c := b[commitOff : commitOff+BlockSize]
	copy(c[cOffDigest:], digest[:])
	sum = sha256.Sum256(c[8:hashOff])
	copy(c[hashOff:], sum[:])
}

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

// uuidOf is the UUID field of an image's header block (zero if b is shorter).
func uuidOf(b []byte) (u [16]byte) {
	if len(b) >= offUUID+16 {
		copy(u[:], b[offUUID:])
	}
	return u
}
