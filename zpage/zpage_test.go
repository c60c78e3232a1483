package zpage

import (
	"bytes"
	"cmp"
	stdzlib "compress/zlib"
	"encoding/binary"
	stdadler32 "hash/adler32"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"

	"github.com/kjump/kjump/internal/testpages"
)

// roundTrip compresses src and checks that Go's compress/zlib and
// klauspost's zlib (what kjump reads with) both give it back.
func roundTrip(t testing.TB, c *Compressor, src []byte) []byte {
	t.Helper()
	out := c.Compress(nil, src)
	for name, open := range map[string]func(io.Reader) (io.ReadCloser, error){
		"compress/zlib": stdzlib.NewReader,
		"klauspost":     kzlib.NewReader,
	} {
		r, err := open(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%d bytes in: %s: %v", len(src), name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("%d bytes in, %d out: %s: %d bytes back, %v (equal %v)", len(src), len(out), name, len(got), err, bytes.Equal(got, src))
		}
	}
	return out
}

func testInputs() map[string][]byte {
	rnd := rand.New(rand.NewPCG(5, 6))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	var pointers []byte
	for range 512 {
		pointers = binary.LittleEndian.AppendUint64(pointers, 0xffff888000000000+uint64(rnd.IntN(1<<20))*64)
	}
	skewed := make([]byte, 4096) // Fibonacci-like frequencies: deep codes
	for i := range skewed {
		v := rnd.Uint32()
		s := byte(0)
		for v&1 == 1 && s < 30 {
			s++
			v >>= 1
		}
		skewed[i] = s
	}
	return map[string][]byte{
		"empty":         nil,
		"1 byte":        {7},
		"1 byte 255":    {255},
		"bytes 140-160": {140, 143, 144, 150, 160, 255, 0},
		"2 bytes":       {7, 7},
		"zeros":         make([]byte, 4096),
		"random":        random(4096),
		"pointers":      pointers,
		"skewed":        skewed,
		"period 3":      bytes.Repeat([]byte("abc"), 1365),
		"text":          bytes.Repeat([]byte("the kernel's struct page, "), 160),
		"64 KiB":        bytes.Repeat(append(random(5000), make([]byte, 3000)...), 8),
		"far match":     append(append(random(33000), random(10)...), make([]byte, 0)...),
	}
}

func TestRoundTrip(t *testing.T) {
	var c Compressor
	for name, src := range testInputs() {
		t.Run(name, func(t *testing.T) {
			out := roundTrip(t, &c, src)
			var fresh Compressor
			if again := fresh.Compress(nil, src); !bytes.Equal(again, out) {
				t.Errorf("a fresh Compressor wrote other bytes")
			}
			t.Logf("%d → %d", len(src), len(out))
		})
	}
}

// TestLengthLimit: codes never exceed 15 bits (7 for the code-length
// code), and stay complete, whatever the frequencies.
func TestLengthLimit(t *testing.T) {
	freq := make([]uint32, 286)
	a, b := uint32(1), uint32(1)
	for i := range 40 { // Fibonacci weights: an unlimited code 39 deep
		freq[i] = a
		a, b = b, a+b
	}
	lens := make([]uint8, 286)
	huffLengths(freq, lens, 15, make([]uint32, 640))
	kraft := 0.0
	for sym, l := range lens {
		if freq[sym] > 0 && (l == 0 || l > 15) {
			t.Fatalf("symbol %d: length %d", sym, l)
		}
		if l > 0 {
			kraft += 1 / float64(uint(1)<<l)
		}
	}
	if kraft != 1 {
		t.Errorf("Kraft sum %v, want 1", kraft)
	}
}

func BenchmarkCompress(b *testing.B) {
	for name, src := range testInputs() {
		if len(src) != 4096 {
			continue
		}
		b.Run(name, func(b *testing.B) {
			var c Compressor
			var out []byte
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				out = c.Compress(out[:0], src)
			}
			b.ReportMetric(float64(len(out)), "out_bytes")
		})
	}
}

// TestAdler32 checks adler32 (AVX2 where the CPU has it) and adlerScalar
// against hash/adler32, across the reduction points (5552 bytes for the
// scalar loop, 64 KiB for a vector call), on random bytes and on bytes of
// 0xff (the largest sums).
func TestAdler32(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 5503, 5504, 5505, 5551, 5552, 5553, 5560, 4096, 11104, 65535, 65536, 65537, 65568, 100003, 300000} {
		for _, fill := range []string{"random", "ff"} {
			b := make([]byte, n)
			for i := range b {
				b[i] = 0xff
				if fill == "random" {
					b[i] = byte(rnd.Uint32())
				}
			}
			want := stdadler32.Checksum(b)
			if got := adler32(b); got != want {
				t.Errorf("adler32, %d bytes of %s: %#x, want %#x", n, fill, got, want)
			}
			if got := adlerScalar(1, 0, b); got != want {
				t.Errorf("adlerScalar, %d bytes of %s: %#x, want %#x", n, fill, got, want)
			}
		}
	}
}

// BenchmarkAdler32 checksums a page of random bytes.
func BenchmarkAdler32(b *testing.B) {
	rnd := rand.New(rand.NewPCG(7, 8))
	page := make([]byte, 4096)
	for i := range page {
		page[i] = byte(rnd.Uint32())
	}
	for _, bc := range []struct {
		name string
		f    func([]byte) uint32
	}{{"adler32", adler32}, {"scalar", func(p []byte) uint32 { return adlerScalar(1, 0, p) }}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				bc.f(page)
			}
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

// TestSorts: huffLengths sorts symbols by frequency with an insertion sort
// (few symbols) or a radix sort (many); both give the order of a sort by
// frequency that keeps symbols of equal frequency in symbol order.
func TestSorts(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct {
		name    string
		n       int
		maxFreq uint32
	}{
		{"empty", 0, 1},
		{"one", 1, 5},
		{"few, many ties", 20, 3},
		{"32", 32, 4096},
		{"alphabet, low", 286, 200},
		{"alphabet, high", 286, 1 << 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s []uint32
			for sym := range tc.n {
				s = append(s, (1+rnd.Uint32N(tc.maxFreq))<<10|uint32(sym))
			}
			want := slices.Clone(s)
			slices.SortStableFunc(want, func(a, b uint32) int { return cmp.Compare(a>>10, b>>10) })
			ins := slices.Clone(s)
			insertionSort(ins)
			var hi uint32
			for _, v := range s {
				hi |= v >> 10
			}
			rad := slices.Clone(s)
			radixSort(rad, make([]uint32, len(rad)), hi)
			if !slices.Equal(ins, want) || !slices.Equal(rad, want) {
				t.Errorf("insertion %v\nradix %v\nwant %v", ins, rad, want)
			}
		})
	}
}
