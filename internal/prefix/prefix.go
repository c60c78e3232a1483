// Package prefix measures common prefixes, the inner loop of the page
// compressors (lzo, zpage): how long a match is.
package prefix

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Len returns how many leading bytes a and b share; b is not longer than a.
func Len(a, b []byte) int {
	n := 0
	// Long matches (runs of zeros, repeated structures) go 64 bytes at a
	// time through bytes.Equal, which uses vector instructions.
	for len(b)-n >= 64 && bytes.Equal(a[n:n+64], b[n:n+64]) {
		n += 64
	}
	for len(b)-n >= 8 {
		x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
