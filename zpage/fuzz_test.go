package zpage

import (
	"bytes"
	"testing"
)

// FuzzRoundTrip: Go's compress/zlib and klauspost's zlib give back every
// input, and a reused Compressor writes what a fresh one does.
func FuzzRoundTrip(f *testing.F) {
	for _, src := range testInputs() {
		if len(src) <= 4096 { // larger seeds make the fuzzer minimize for minutes
			f.Add(src)
		}
	}
	var reused Compressor
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<16 {
			return
		}
		out := roundTrip(t, &reused, src)
		var fresh Compressor
		if again := fresh.Compress(nil, src); !bytes.Equal(again, out) {
			t.Fatalf("fresh and reused Compressors disagree on %d bytes", len(src))
		}
	})
}
