package lzo

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

const (
	tableBits = 12 // 4096 entries: one per 4-byte sequence of a page, about
	minMatch  = 4

	m2MaxLen    = 8
	m2MaxOffset = 2048
	m3MaxOffset = 16384

	// skipShift: after 2^skipShift bytes without a match the search steps
	// over 2 bytes at a time, then 3, … On a lab vmcore's pages 5 is 8%
	// faster than 6 for 0.5% more output, and 4 is larger than
	// makedumpfile -l's (liblzo2's LZO1X-1).
	skipShift = 5
)

// MaxLen is the largest output Compress can produce for n bytes of input:
// the input as one literal run, its length bytes and the end marker.
func MaxLen(n int) int { return n + n/255 + 6 }

// Compressor compresses into LZO1X. The zero value is ready to use; it
// holds a 16 KiB table, reused from one call to the next. A Compressor is
// not safe for concurrent use.
type Compressor struct {
	table [1 << tableBits]uint32
	base  uint32 // positions in table are base + offset in the current input
}

// Compress appends the LZO1X stream of src to dst and returns it. See the
// package documentation for what it writes.
func (c *Compressor) Compress(dst, src []byte) []byte {
	n := len(src)
	if uint64(c.base)+uint64(n)+1 >= 1<<32 {
		c.table = [1 << tableBits]uint32{}
		c.base = 0
	}
	base := c.base
	c.base += uint32(n) + 1

	e := encoder{out: dst, start: len(dst), statePos: -1}
	if n >= minMatch+4 {
		e.matches(&c.table, base, src)
	}
	e.literals(src[e.lit:])
	e.out = append(e.out, 0x11, 0, 0)
	return e.out
}

// encoder writes one stream.
type encoder struct {
	out      []byte
	start    int // where the stream begins in out
	statePos int // the byte of the last match that holds S, or -1 before any match
	lit      int // where the pending literal run starts in the input
}

// matches finds and writes the matches of src (and the literal runs between
// them), leaving the last literal run to the caller.
func (e *encoder) matches(table *[1 << tableBits]uint32, base uint32, src []byte) {
	n := len(src)
	// The last match must end within src, and a match is found by reading
	// 4 bytes at ip and extended 8 at a time: stop hashing before the end.
	limit := n - minMatch
	ip := 1
	table[hash(binary.LittleEndian.Uint32(src))] = base
	for ip <= limit {
		v := binary.LittleEndian.Uint32(src[ip:])
		h := hash(v)
		cand := int(table[h]) - int(base)
		table[h] = base + uint32(ip)
		if cand < 0 || ip-cand > m3MaxOffset || binary.LittleEndian.Uint32(src[cand:]) != v {
			ip += 1 + (ip-e.lit)>>skipShift
			continue
		}
		// Extend backwards into the pending literals, then forwards.
		for cand > 0 && ip > e.lit && src[cand-1] == src[ip-1] {
			cand--
			ip--
		}
		m := minMatch + commonPrefix(src[cand+minMatch:], src[ip+minMatch:])
		e.literals(src[e.lit:ip])
		e.match(ip-cand, m)
		ip += m
		e.lit = ip
		if ip <= limit {
			// Remember the position just before the next search starts.
			table[hash(binary.LittleEndian.Uint32(src[ip-2:]))] = base + uint32(ip-2)
		}
	}
}

// commonPrefix returns how many leading bytes a and b share; b is not
// longer than a.
func commonPrefix(a, b []byte) int {
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

func hash(v uint32) uint32 { return (v * 2654435761) >> (32 - tableBits) }

// literals writes a literal run.
func (e *encoder) literals(lit []byte) {
	t := len(lit)
	switch {
	case t == 0:
		return
	case e.statePos < 0 && t <= 238:
		e.out = append(e.out, byte(17+t))
	case e.statePos >= 0 && t <= 3:
		e.out[e.statePos] |= byte(t)
	case t <= 18:
		e.out = append(e.out, byte(t-3))
	default:
		e.out = append(e.out, 0)
		e.length(t - 18)
	}
	e.out = append(e.out, lit...)
}

// match writes a match of m ≥ 4 bytes at distance d ≤ m3MaxOffset, with
// S = 0.
func (e *encoder) match(d, m int) {
	d--
	if m <= m2MaxLen && d < m2MaxOffset {
		e.out = append(e.out, byte((m-1)<<5|(d&7)<<2), byte(d>>3))
	} else {
		if m <= 33 {
			e.out = append(e.out, byte(32|(m-2)))
		} else {
			e.out = append(e.out, 32)
			e.length(m - 33)
		}
		e.out = append(e.out, byte(d<<2), byte(d>>6))
	}
	e.statePos = len(e.out) - 2
}

// length writes the continuation of a length, n ≥ 1: a zero byte for each
// 255, then the rest.
func (e *encoder) length(n int) {
	for n > 255 {
		e.out = append(e.out, 0)
		n -= 255
	}
	e.out = append(e.out, byte(n))
}
