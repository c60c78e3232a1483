package lzo

import (
	"encoding/binary"
	"math/bits"

	"github.com/kjump/kjump/internal/prefix"
)

const (
	// tableBits: 8192 entries, two per position of a page, for fewer
	// collisions: on two lab vmcores' pages 2–6% faster than 4096, and
	// the output slightly smaller.
	tableBits = 13
	minMatch  = 4

	m2MaxLen    = 8
	m2MaxOffset = 2048
	m3MaxOffset = 16384

	// skipShift: after 2^skipShift bytes without a match the search steps
	// over 2 bytes at a time, then 3, … On a lab vmcore's pages 5 is 8%
	// faster than 6 for 0.5% more output, and 4 is larger than
	// makedumpfile -l's (liblzo2's LZO1X-1).
	skipShift = 5

	// slack is room Compress keeps after the worst case in its output
	// buffer, so that a short literal run is copied as two 8-byte words.
	slack = 16
)

// MaxLen is the largest output Compress can produce for n bytes of input:
// the input as one literal run, its length bytes and the end marker.
func MaxLen(n int) int { return n + n/255 + 6 }

// Compressor compresses into LZO1X. The zero value is ready to use; it
// holds a 32 KiB table, reused from one call to the next. A Compressor is
// not safe for concurrent use.
type Compressor struct {
	table [1 << tableBits]uint32
	base  uint32 // positions in table are base + offset in the current input
}

// Compress appends the LZO1X stream of src to dst and returns it. See the
// package documentation for what it writes. It allocates only when dst
// has less than MaxLen(len(src)) + 16 bytes of room.
func (c *Compressor) Compress(dst, src []byte) []byte {
	n := len(src)
	if uint64(c.base)+uint64(n)+1 >= 1<<32 {
		c.table = [1 << tableBits]uint32{}
		c.base = 0
	}
	base := c.base
	c.base += uint32(n) + 1

	start := len(dst)
	if need := MaxLen(n) + slack; cap(dst)-start < need {
		grown := make([]byte, start, start+need)
		copy(grown, dst)
		dst = grown
	}
	out := dst[:cap(dst)]
	d, statePos, lit := start, -1, 0
	if n >= minMatch+4 {
		d, statePos, lit = encode(&c.table, base, src, out, d)
	}
	d = literals(out, d, statePos, src, lit, n)
	out[d], out[d+1], out[d+2] = 0x11, 0, 0
	return out[:d+3]
}

// encode writes the matches of src and the literal runs between them into
// out from d on, leaving the last literal run, from lit on, to the caller.
// statePos is the index in out of the last match's byte that holds S, or
// -1 when there was no match.
//
// out has room for the worst case plus slack: no write below checks it.
func encode(table *[1 << tableBits]uint32, base uint32, src, out []byte, d int) (end, statePos, lit int) {
	n := len(src)
	statePos = -1
	// The last match must start where 4 bytes can be read; it is extended
	// to the end of src.
	limit := n - minMatch
	ip := 1
	table[hash(binary.LittleEndian.Uint32(src))] = base
	for {
		// Find the next match: a tight loop, apart from the rest so that
		// its few variables stay in registers.
		var cand int
		for {
			if ip > limit {
				return d, statePos, lit
			}
			v := binary.LittleEndian.Uint32(src[ip:])
			h := hash(v)
			cand = int(table[h]) - int(base)
			table[h] = base + uint32(ip)
			if cand >= 0 && ip-cand <= m3MaxOffset && binary.LittleEndian.Uint32(src[cand:]) == v {
				break
			}
			ip += 1 + (ip-lit)>>skipShift
		}
		// Extend backwards into the pending literals, then forwards.
		for cand > 0 && ip > lit && src[cand-1] == src[ip-1] {
			cand--
			ip--
		}
		// Most matches end within 8 more bytes: that compare here, the
		// rest in matchLen.
		var m int
		if ip+minMatch+8 <= n {
			x := binary.LittleEndian.Uint64(src[ip+minMatch:]) ^ binary.LittleEndian.Uint64(src[cand+minMatch:])
			if x != 0 {
				m = minMatch + bits.TrailingZeros64(x)>>3
			} else {
				m = minMatch + 8 + prefix.Len(src[cand+minMatch+8:], src[ip+minMatch+8:])
			}
		} else {
			m = minMatch + prefix.Len(src[cand+minMatch:], src[ip+minMatch:])
		}

		// The literals before the match: none, or 1 to 3 in the last
		// match's S bits (most often), here; others in literals.
		if t := ip - lit; t > 0 {
			if statePos >= 0 && t <= 3 {
				out[statePos] |= byte(t)
				binary.LittleEndian.PutUint32(out[d:], binary.LittleEndian.Uint32(src[lit:]))
				d += t
			} else {
				d = literals(out, d, statePos, src, lit, ip)
			}
		}

		// The match, with S = 0: 2 bytes when short and near, else
		// 001LLLLL (and the length's continuation) and 2 bytes of distance.
		dist := ip - cand - 1
		if m <= m2MaxLen && dist < m2MaxOffset {
			out[d] = byte((m-1)<<5 | (dist&7)<<2)
			out[d+1] = byte(dist >> 3)
			d += 2
		} else {
			if m <= 33 {
				out[d] = byte(32 | (m - 2))
				d++
			} else {
				out[d] = 32
				d = length(out, d+1, m-33)
			}
			out[d] = byte(dist << 2)
			out[d+1] = byte(dist >> 6)
			d += 2
		}
		statePos = d - 2

		ip += m
		lit = ip

	}
}

func hash(v uint32) uint32 { return (v * 2654435761) >> (32 - tableBits) }

// literals writes the literal run src[lit:end] at out[d:] and returns
// where the next instruction goes. statePos is as in encode: a run of 1 to
// 3 bytes after a match goes into that match's S bits.
func literals(out []byte, d, statePos int, src []byte, lit, end int) int {
	t := end - lit
	switch {
	case t == 0:
		return d
	case statePos < 0 && t <= 238:
		out[d] = byte(17 + t)
		d++
	case statePos >= 0 && t <= 3:
		out[statePos] |= byte(t)
	case t <= 18:
		out[d] = byte(t - 3)
		d++
	default:
		out[d] = 0
		d = length(out, d+1, t-18)
	}
	if t <= 16 && lit+16 <= len(src) {
		// Two words; out has slack for what lies past the run.
		binary.LittleEndian.PutUint64(out[d:], binary.LittleEndian.Uint64(src[lit:]))
		binary.LittleEndian.PutUint64(out[d+8:], binary.LittleEndian.Uint64(src[lit+8:]))
	} else {
		copy(out[d:], src[lit:end])
	}
	return d + t
}

// length writes the continuation of a length, n ≥ 1, at out[d:]: a zero
// byte for each 255, then the rest; it returns the index after it.
func length(out []byte, d, n int) int {
	for n > 255 {
		out[d] = 0
		d++
		n -= 255
	}
	out[d] = byte(n)
	return d + 1
}
