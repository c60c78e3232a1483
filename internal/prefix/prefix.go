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
	a = a[:len(b)]
	n := 0
	// Most matches are short: 8 bytes at a time for the first 64.
	for len(b)-n >= 8 {
		x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
		if n == 64 {
			// A long one (a run of zeros, a repeated structure): 64 bytes
			// at a time through bytes.Equal's vector instructions.
			for len(b)-n >= 64 && bytes.Equal(a[n:n+64], b[n:n+64]) {
				n += 64
			}
		}
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
