package lzo

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	golzo "github.com/anchore/go-lzo"

	"github.com/kjump/kjump/internal/testpages"
)

// roundTrip compresses src and checks that anchore/go-lzo and strictDecode
// both give it back, and that the output is within MaxLen.
func roundTrip(t testing.TB, c *Compressor, src []byte) []byte {
	t.Helper()
	out := c.Compress(nil, src)
	if len(out) > MaxLen(len(src)) {
		t.Fatalf("%d bytes in, %d out: over MaxLen %d", len(src), len(out), MaxLen(len(src)))
	}
	got, err := strictDecode(out, len(src))
	if err != nil {
		t.Fatalf("%d bytes in: the kernel's rules refuse the output: %v\n% x", len(src), err, out[:min(len(out), 64)])
	}
	if !bytes.Equal(got, src) {
		t.Fatalf("%d bytes in: strict decoding gave %d different bytes", len(src), len(got))
	}
	dst := make([]byte, len(src))
	n, err := golzo.Decompress(out, dst)
	if err != nil || n != len(src) || !bytes.Equal(dst, src) {
		t.Fatalf("%d bytes in: go-lzo: %d bytes, %v (equal: %v)", len(src), n, err, bytes.Equal(dst[:n], src))
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	page := func(f func(i int) byte) []byte {
		b := make([]byte, 4096)
		for i := range b {
			b[i] = f(i)
		}
		return b
	}
	var pointers []byte // a page of kernel pointers, as in slab pages
	for i := 0; i < 512; i++ {
		pointers = binary.LittleEndian.AppendUint64(pointers, 0xffff888000000000+uint64(rnd.IntN(1<<20))*64)
	}
	text, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		src  []byte
	}{
		{"empty", nil},
		{"1 byte", []byte{7}},
		{"3 bytes", []byte("abc")},
		{"7 bytes", []byte("abcabca")},
		{"8 equal", bytes.Repeat([]byte{9}, 8)},
		{"zeros", make([]byte, 4096)},
		{"one byte set", page(func(i int) byte { return map[bool]byte{true: 1}[i == 2049] })},
		{"random", random(4096)},
		{"random 238", random(238)},
		{"random 239", random(239)},
		{"random 18+255", random(18 + 255)},
		{"random 18+256", random(18 + 256)},
		{"period 3", page(func(i int) byte { return byte(i % 3) })},
		{"period 2047", bytes.Repeat(random(2047), 3)[:4096]},
		{"period 2049", bytes.Repeat(random(2049), 2)[:4096]},
		{"period 5000", bytes.Repeat(random(5000), 3)},
		{"period 16384", bytes.Repeat(random(16384), 2)},
		{"period 16385", bytes.Repeat(random(16385), 2)},
		{"counter", page(func(i int) byte { return byte(i / 4) })},
		{"pointers", pointers},
		{"text", text},
		{"literals between matches", bytes.Join([][]byte{random(1), random(2), random(3), random(4), random(18), random(19), random(300)}, []byte("0123456789abcdef"))},
		{"long match 33", append(random(40), bytes.Repeat([]byte{5}, 33+4)...)},
		{"long match 34", append(random(40), bytes.Repeat([]byte{5}, 34+4)...)},
		{"long match 288", append(random(40), bytes.Repeat([]byte{5}, 288+1)...)},
		{"1 MiB mixed", bytes.Repeat(append(random(3000), make([]byte, 1000)...), 256)},
	}
	var c Compressor
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := roundTrip(t, &c, tc.src)
			t.Logf("%d → %d bytes", len(tc.src), len(out))
			// A fresh compressor writes the same bytes: the reused table
			// changes nothing.
			var fresh Compressor
			if again := fresh.Compress(nil, tc.src); !bytes.Equal(again, out) {
				t.Errorf("a fresh Compressor wrote %d bytes, the reused one %d", len(again), len(out))
			}
		})
	}
}

// TestKnownStreams pins the encoding of small inputs, byte by byte, as
// lzo.rst describes it.
func TestKnownStreams(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []byte
		want []byte
	}{
		{"empty: the end marker alone", nil, []byte{0x11, 0, 0}},
		{"2 literals: first byte 17+2", []byte("ab"), []byte{19, 'a', 'b', 0x11, 0, 0}},
		// "a" as a literal, then a match of 11 at distance 1: M3 (len > 8),
		// 001LLLLL with L = 9, then LE16 (d-1)<<2.
		{"a run", bytes.Repeat([]byte("a"), 12), []byte{18, 'a', 32 | 9, 0, 0, 0x11, 0, 0}},
		// 4 literals, an M2 match of 4 at distance 4: (4-1)<<5 | (3&7)<<2,
		// 3>>3; then 2 literals in S of the match's first byte.
		{"M2 then 2 literals in S", []byte("abcdabcdxy"), []byte{21, 'a', 'b', 'c', 'd', 3<<5 | 3<<2 | 2, 0, 'x', 'y', 0x11, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Compressor
			if got := c.Compress(nil, tc.src); !bytes.Equal(got, tc.want) {
				t.Errorf("got  % x\nwant % x", got, tc.want)
			}
			roundTrip(t, &c, tc.src)
		})
	}
}

// TestAppends: Compress appends to dst and leaves its bytes alone.
func TestAppends(t *testing.T) {
	var c Compressor
	src := bytes.Repeat([]byte("kjump "), 100)
	prefix := []byte("prefix")
	out := c.Compress(append([]byte(nil), prefix...), src)
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("prefix lost: %q", out[:6])
	}
	if want := c.Compress(nil, src); !bytes.Equal(out[len(prefix):], want) {
		t.Errorf("appended stream differs from a fresh one")
	}
}

// TestBaseWraps: when the table's base would wrap, the table is cleared and
// the output stays the same.
func TestBaseWraps(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789"), 400)
	var c Compressor
	want := c.Compress(nil, src)
	c.base = 1<<32 - 100
	if got := c.Compress(nil, src); !bytes.Equal(got, want) {
		t.Errorf("near the wrap: different output")
	}
	if c.base != uint32(len(src))+1 {
		t.Errorf("base %d after the wrap, want %d", c.base, len(src)+1)
	}
	roundTrip(t, &c, src)
}

// TestRealPages round-trips every page of a real vmcore when there is one
// (KJUMP_TEST_VMCORE), and reports the ratio.
func TestRealPages(t *testing.T) {
	path := os.Getenv("KJUMP_TEST_VMCORE")
	if path == "" {
		t.Skip("KJUMP_TEST_VMCORE not set")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var c Compressor
	page := make([]byte, 4096)
	var in, out int
	for off := int64(0); off < 64<<20; off += 4096 {
		if _, err := f.ReadAt(page, off); err != nil {
			break
		}
		in += len(page)
		out += len(roundTrip(t, &c, page))
	}
	t.Logf("%s: first %d MiB: %d → %d bytes", filepath.Base(path), in>>20, in, out)
}

func BenchmarkCompress(b *testing.B) {
	rnd := rand.New(rand.NewPCG(3, 4))
	text, _ := os.ReadFile("doc.go")
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	for _, bc := range []struct {
		name string
		src  []byte
	}{{"text", text[:4096]}, {"random", random}, {"zeros", make([]byte, 4096)}} {
		b.Run(bc.name, func(b *testing.B) {
			var c Compressor
			var out []byte
			b.SetBytes(int64(len(bc.src)))
			for b.Loop() {
				out = c.Compress(out[:0], bc.src)
			}
			b.ReportMetric(float64(len(out))/float64(len(bc.src)), "ratio")
			runtime.KeepAlive(out)
		})
	}
}

// TestPages round-trips every page of $KJUMP_TEST_PAGES (pages of a real
// dump) and reports the ratio.
func TestPages(t *testing.T) {
	var c Compressor
	testpages.Ratio(t, func(p []byte) []byte { return roundTrip(t, &c, p) })
}

// BenchmarkPages compresses the pages of $KJUMP_TEST_PAGES (testpages.Bench).
func BenchmarkPages(b *testing.B) {
	var c Compressor
	testpages.Bench(b, c.Compress)
}
