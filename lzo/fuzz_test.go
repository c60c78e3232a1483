package lzo

import (
	"bytes"
	"testing"

	golzo "github.com/anchore/go-lzo"
)

// FuzzRoundTrip: whatever the input, the output is within MaxLen, the
// kernel's rules (strictDecode) and anchore/go-lzo both decode it to the
// input, and a reused Compressor writes what a fresh one does.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("abcdabcdxy"))
	f.Add(bytes.Repeat([]byte{0}, 4096))
	f.Add(bytes.Repeat([]byte("0123456789abcdefghij"), 300))
	var reused Compressor
	f.Fuzz(func(t *testing.T, src []byte) {
		out := roundTrip(t, &reused, src)
		var fresh Compressor
		if again := fresh.Compress(nil, src); !bytes.Equal(again, out) {
			t.Fatalf("fresh and reused Compressors disagree on %d bytes", len(src))
		}
	})
}

// FuzzStrictDecode: the test's decoder never panics on arbitrary bytes,
// and what it accepts go-lzo decodes to the same bytes — so the two
// decoders the round trips rely on agree on the format.
func FuzzStrictDecode(f *testing.F) {
	var c Compressor
	f.Add(c.Compress(nil, []byte("abcdabcdxy")))
	f.Add(c.Compress(nil, bytes.Repeat([]byte("kjump "), 50)))
	f.Add([]byte{0x11, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := strictDecode(in, 1<<16)
		if err != nil {
			return
		}
		dst := make([]byte, len(got))
		n, err := golzo.Decompress(in, dst)
		if err != nil || n != len(got) || !bytes.Equal(dst, got) {
			t.Fatalf("strict decoding gave %d bytes; go-lzo %d, %v", len(got), n, err)
		}
	})
}
