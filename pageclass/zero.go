package pageclass

import "bytes"

var zeroPage [4096]byte

// IsZero reports whether memory is all zero bytes: what makes a page a zero
// page (level bit 1), which dump writers find by its contents.
func IsZero(b []byte) bool {
	for len(b) > len(zeroPage) {
		if !bytes.Equal(b[:len(zeroPage)], zeroPage[:]) {
			return false
		}
		b = b[len(zeroPage):]
	}
	return bytes.Equal(b, zeroPage[:len(b)])
}
