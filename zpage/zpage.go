package zpage

import (
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/kjump/kjump/internal/prefix"
)

const (
	windowSize = 1 << 15
	minMatch   = 3
	maxMatch   = 258

	hashBits  = 14
	maxChain  = 6  // candidates tried per position
	niceMatch = 32 // a match this long ends the search
	skipShift = 5

	endBlock = 256

	maxStored = 1<<16 - 1 // the most bytes a stored block holds
)

// Compressor writes zlib streams (RFC 1950, 1951). The zero value is ready
// to use; reuse it, it keeps its tables. It is not safe for concurrent use.
type Compressor struct {
	head [1 << hashBits]int32 // base + position of the latest string of each hash
	prev []int32              // the previous string of the same hash, by position
	base int32

	seqs    []seq // the matches, each after the literals before it
	litFreq [286]uint32
	litLen  [286]uint8
	litCode [286]uint16
	dstFreq [30]uint32
	dstLen  [30]uint8
	dstCode [30]uint16
	scratch [640]uint32

	hdr header
	w   bitWriter
}

// Compress appends the zlib stream of src to dst.
func (c *Compressor) Compress(dst, src []byte) []byte {
	c.w = bitWriter{out: dst}
	c.w.out = append(c.w.out, 0x78, 0x01) // deflate, 32 KiB window, fastest
	c.lz(src)
	c.block(src)
	c.w.flush()
	c.w.out = binary.BigEndian.AppendUint32(c.w.out, adler32(src))
	return c.w.out
}

// adlerMod is Adler-32's modulus.
const adlerMod = 65521

// adlerScalar continues an Adler-32 (s1, s2 below adlerMod) over p, 64
// bytes a step, in plain Go (adler32 uses it where there are no vector
// instructions, and for the tail). Within a step, the
// bytes are added in 16-bit lanes, the even and odd bytes of each 8-byte
// word apart, without multiplications: each lane's sum over the step, the
// sum of all four words' lanes, and the running total of that sum before
// each 16 bytes (which gives each 16 bytes' weight in s2). At the end of
// the step, multiplications add up the lanes: the column sums weighted 16
// down to 1, in the top lane of the product (lane i's weight in lane 3-i
// of the multiplier). No lane can carry into another: a column sum is at
// most 4·255, its weighted sum 1020·52 and a lower lane's 1020·36; the
// running total's lanes at most 6·1020. The sums are reduced modulo 65521
// once per 5504 bytes, before 32 bits can overflow (zlib's limit is 5552).
func adlerScalar(s1, s2 uint32, p []byte) uint32 {
	const (
		mod, nmax = adlerMod, 5552
		lanes     = 0x00ff00ff00ff00ff
		ones      = 0x0001000100010001
		// The weights of a word's even bytes (b0, b2, b4, b6) and of its
		// odd ones (b1, b3, b5, b7), lane i's weight in lane 3-i of the
		// multiplier: 16 down to 9 for the first word of 16 bytes, 8 down
		// to 1 for the second.
		even1 = 10 | 12<<16 | 14<<32 | 16<<48
		odd1  = 9 | 11<<16 | 13<<32 | 15<<48
		even2 = 2 | 4<<16 | 6<<32 | 8<<48
		odd2  = 1 | 3<<16 | 5<<32 | 7<<48
	)
	for len(p) > 0 {
		q := p[:min(len(p), nmax/64*64)]
		p = p[len(q):]
		for len(q) >= 64 {
			var sum, run, e1s, o1s, e2s, o2s uint64
			for k := 0; k < 64; k += 16 {
				w1, w2 := binary.LittleEndian.Uint64(q[k:]), binary.LittleEndian.Uint64(q[k+8:])
				e1, o1 := w1&lanes, w1>>8&lanes
				e2, o2 := w2&lanes, w2>>8&lanes
				run += sum
				sum += e1 + o1 + e2 + o2
				e1s += e1
				o1s += o1
				e2s += e2
				o2s += o2
			}
			cols := e1s*even1>>48 + o1s*odd1>>48 + e2s*even2>>48 + o2s*odd2>>48
			s2 += 64*s1 + 16*uint32((run*ones)>>48) + uint32(cols)
			s1 += uint32((sum * ones) >> 48)
			q = q[64:]
		}
		for len(q) >= 16 {
			w1, w2 := binary.LittleEndian.Uint64(q), binary.LittleEndian.Uint64(q[8:])
			e1, o1 := w1&lanes, w1>>8&lanes
			e2, o2 := w2&lanes, w2>>8&lanes
			s2 += 16*s1 + uint32((e1*even1+o1*odd1+e2*even2+o2*odd2)>>48)
			s1 += uint32(((e1 + o1 + e2 + o2) * ones) >> 48)
			q = q[16:]
		}
		for _, b := range q {
			s1 += uint32(b)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
	}
	return s2<<16 | s1
}

// lz turns src into sequences, counting symbol frequencies.
func (c *Compressor) lz(src []byte) {
	n := len(src)
	c.seqs = c.seqs[:0]
	c.litFreq = [286]uint32{}
	c.dstFreq = [30]uint32{}
	if cap(c.prev) < n {
		c.prev = make([]int32, n)
	}
	prev := c.prev[:n]
	if int64(c.base)+int64(n)+windowSize >= 1<<31-1 {
		c.head = [1 << hashBits]int32{}
		c.base = 0
	}
	base := c.base + windowSize // every old entry is at least a window behind
	c.base = base + int32(n)
	// Positions older than base are from earlier inputs; -windowSize-1 and
	// lower fall out of the window by distance anyway.
	insert := func(i int) {
		h := hash3(src[i:])
		prev[i] = c.head[h]
		c.head[h] = base + int32(i)
	}
	i, misses, lit := 0, 0, 0
	// The last 3 bytes are left as literals: a position is searched with
	// the 4 bytes there in one load.
	for i+4 <= n {
		// The next 8 bytes where there are 8 (candidates are compared with
		// them in one load), else 4.
		var w uint64
		if i+8 <= n {
			w = binary.LittleEndian.Uint64(src[i:])
		} else {
			w = uint64(binary.LittleEndian.Uint32(src[i:]))
		}
		v := uint32(w)
		h := hash3v(v)
		cand := c.head[h] - base
		prev[i] = c.head[h]
		c.head[h] = base + int32(i)
		bestLen, bestDist := 0, 0
		limit := min(maxMatch, n-i)
		for tries := maxChain; tries > 0 && cand >= 0 && i-int(cand) <= windowSize; tries-- {
			j := int(cand)
			cand = prev[j] - base
			// A candidate must share 3 bytes (not just their hash) and the
			// byte that would make it longer than the best so far. Most
			// matches are short: their end is in the first 8 bytes,
			// compared here in one load rather than in a call.
			var l int
			if limit >= 8 {
				x := binary.LittleEndian.Uint64(src[j:]) ^ w
				if x&0xffffff != 0 || src[j+bestLen] != src[i+bestLen] {
					continue
				}
				l = bits.TrailingZeros64(x) >> 3
				if x == 0 {
					l = 8 + prefix.Len(src[j+8:j+limit], src[i+8:i+limit])
				}
			} else {
				if (binary.LittleEndian.Uint32(src[j:])^v)&0xffffff != 0 || src[j+bestLen] != src[i+bestLen] {
					continue
				}
				l = 3 + prefix.Len(src[j+3:j+limit], src[i+3:i+limit])
			}
			if l > bestLen {
				bestLen, bestDist = l, i-j
				if l >= min(niceMatch, limit) {
					break
				}
			}
		}
		if bestLen < minMatch || (bestLen == minMatch && bestDist > 4096) {
			// Where nothing matches for a while, look at fewer positions:
			// after 2^skipShift misses every other one, and so on.
			step := 1 + misses>>skipShift
			misses++
			for end := min(i+step, n); i < end; i++ {
				c.litFreq[src[i]]++
			}
			continue
		}
		misses = 0
		c.match(i-lit, bestLen, bestDist)
		// Insert the strings the match covers, for the matches after it;
		// long runs only at their end.
		end := i + bestLen
		if bestLen <= 6 {
			for i++; i < end && i+minMatch <= n; i++ {
				insert(i)
			}
		} else if end-1+minMatch <= n {
			insert(end - 1)
		}
		i = end
		lit = end
	}
	for ; i < n; i++ {
		c.litFreq[src[i]]++
	}
	c.seqs = append(c.seqs, seq{lits: uint32(n - lit)})
}

func hash3(b []byte) uint32 {
	return hash3v(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16)
}

// hash3v hashes the low 3 bytes of v.
func hash3v(v uint32) uint32 { return ((v & 0xffffff) * 506832829) >> (32 - hashBits) }

// seq is a run of literals (taken from the input when the block is
// written) and the match after it; the last seq of an input has no match
// (length 0).
type seq struct {
	lits   uint32
	length uint16
	dist   uint16
}

func (c *Compressor) match(lits, length, dist int) {
	c.seqs = append(c.seqs, seq{uint32(lits), uint16(length), uint16(dist)})
	c.litFreq[lengthSym[length]]++
	c.dstFreq[distSym(dist)]++
}

// block writes the sequences of src as one final block, with dynamic or
// fixed codes, or src as a stored block, whichever is smallest.
func (c *Compressor) block(src []byte) {
	c.litFreq[endBlock] = 1
	huffLengths(c.litFreq[:], c.litLen[:], 15, c.scratch[:])
	huffLengths(c.dstFreq[:], c.dstLen[:], 15, c.scratch[:])
	if c.dstLen == [30]uint8{} {
		c.dstLen[0] = 1 // no matches: one distance code, unused
	}
	hdr := c.dynamicHeader()
	// The sizes of the block either way: the codes, then the extra bits
	// both spend.
	dynamic, fixed, extra := hdr.bits, 3, 0
	for sym, f := range &c.litFreq {
		dynamic += int(f) * int(c.litLen[sym])
		fixed += int(f) * int(fixedLit[sym])
	}
	for sym, e := range &lengthExtra {
		extra += int(c.litFreq[257+sym]) * int(e)
	}
	for sym, f := range &c.dstFreq {
		dynamic += int(f) * int(c.dstLen[sym])
		fixed += int(f) * 5
		extra += int(f) * int(distExtra[sym])
	}
	dynamic += extra
	fixed += extra
	if len(src) <= maxStored && 5+len(src) <= (min(fixed, dynamic)+7)/8 {
		// Not smaller with codes (a page that does not compress): a stored
		// block, the input copied after its length, and no codes written.
		c.w.write(1, 3) // BFINAL, BTYPE 00
		c.w.flush()
		n := uint32(len(src))
		c.w.out = binary.LittleEndian.AppendUint32(c.w.out, n|^n<<16)
		c.w.out = append(c.w.out, src...)
		return
	}
	if fixed <= dynamic {
		c.w.write(1|1<<1, 3) // BFINAL, BTYPE 01
		c.litLen, c.dstLen = fixedLit, fixedDist
		c.litCode, c.dstCode = fixedLitCode, fixedDistCode
	} else {
		c.w.write(1|2<<1, 3) // BFINAL, BTYPE 10
		hdr.write(&c.w)
		canonical(c.litLen[:], c.litCode[:])
		canonical(c.dstLen[:], c.dstCode[:])
	}
	c.writeSeqs(src)
	c.w.write(uint64(c.litCode[endBlock]), uint(c.litLen[endBlock]))
}

// writeSeqs writes the sequences of src with the block's codes. A symbol's
// bits (at most 15+5+15+13 for a match) are gathered in a 64-bit word
// holding fewer than 8 other bits, and after each its whole bytes are
// stored as one 8-byte word: no branch on how many bits are pending, and
// none between literals.
func (c *Compressor) writeSeqs(src []byte) {
	w := &c.w
	for w.nbits >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
	acc, nbits := w.acc, w.nbits
	o := len(w.out)
	// 2 bytes at most per literal, 6 per match, and the last word's slack.
	w.out = slices.Grow(w.out, 2*len(src)+6*len(c.seqs)+8)
	buf := w.out[:cap(w.out)]
	litCode, litLen := &c.litCode, &c.litLen
	dstCode, dstLen := &c.dstCode, &c.dstLen
	p := 0
	seqs := c.seqs[:len(c.seqs)-1] // the last has literals only
	for _, q := range seqs {
		// Three literals (45 bits at most) at a time: their codes joined
		// first, then added to the pending bits with one shift. A run's
		// last one or two literals are three too, the bits of those after
		// the run cut off (the match after the run has at least 3 bytes to
		// read): one loop exit to mispredict per run, not two.
		end := p + int(q.lits)
		for ; p < end; p += 3 {
			b := src[p : p+3]
			b0, b1, b2 := b[0], b[1], b[2]
			// All ones if the second (third) literal is in the run.
			r := end - p
			m1, m2 := uint64((1-r)>>63), uint64((2-r)>>63)
			n0, n1 := uint(litLen[b0]), uint(litLen[b1])
			v := uint64(litCode[b0]) | uint64(litCode[b1])&m1<<n0 | uint64(litCode[b2])&m2<<(n0+n1)
			n := n0 + n1&uint(m1) + uint(litLen[b2])&uint(m2)
			acc |= v << nbits
			nbits += n
			binary.LittleEndian.PutUint64(buf[o:], acc)
			k := nbits >> 3
			o += int(k)
			acc >>= k << 3
			nbits &= 7
		}
		length, dist := uint32(q.length), uint32(q.dist)
		p = end + int(length)
		ls := lengthSym[length] - 257
		acc |= uint64(litCode[257+ls]) << nbits
		nbits += uint(litLen[257+ls])
		acc |= uint64(length-uint32(lengthBase[ls])) << nbits
		nbits += uint(lengthExtra[ls])
		ds := distSym(int(dist))
		acc |= uint64(dstCode[ds]) << nbits
		nbits += uint(dstLen[ds])
		acc |= uint64(dist-distBase[ds]) << nbits
		nbits += uint(distExtra[ds])
		binary.LittleEndian.PutUint64(buf[o:], acc)
		k := nbits >> 3
		o += int(k)
		acc >>= k << 3
		nbits &= 7
	}
	lits := src[p:]
	for len(lits) >= 3 {
		b0, b1, b2 := lits[0], lits[1], lits[2]
		n0, n1 := uint(litLen[b0]), uint(litLen[b1])
		v := uint64(litCode[b0]) | uint64(litCode[b1])<<n0 | uint64(litCode[b2])<<(n0+n1)
		acc |= v << nbits
		nbits += n0 + n1 + uint(litLen[b2])
		binary.LittleEndian.PutUint64(buf[o:], acc)
		k := nbits >> 3
		o += int(k)
		acc >>= k << 3
		nbits &= 7
		lits = lits[3:]
	}
	for _, b := range lits {
		acc |= uint64(litCode[b]) << nbits
		nbits += uint(litLen[b])
		binary.LittleEndian.PutUint64(buf[o:], acc)
		k := nbits >> 3
		o += int(k)
		acc >>= k << 3
		nbits &= 7
	}
	w.out = buf[:o]
	w.acc, w.nbits = acc, nbits
}

// header is a dynamic block's code description, ready to write.
type header struct {
	nlit, ndist, nclen int
	clLen              [19]uint8
	clCode             [19]uint16
	ops                []uint16 // code-length symbol | repeat extra << 8
	bits               int      // the header's size, BTYPE bits included
}

var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func (c *Compressor) dynamicHeader() *header {
	h := &c.hdr
	*h = header{nlit: 286, ndist: 30, ops: h.ops[:0]}
	for h.nlit > 257 && c.litLen[h.nlit-1] == 0 {
		h.nlit--
	}
	for h.ndist > 1 && c.dstLen[h.ndist-1] == 0 {
		h.ndist--
	}
	// The lengths, then 8 bytes no length equals, where runs stop: a run
	// is measured 8 lengths at a time.
	var all [286 + 30 + 8]uint8
	copy(all[:], c.litLen[:h.nlit])
	copy(all[h.nlit:], c.dstLen[:h.ndist])
	m := h.nlit + h.ndist
	binary.LittleEndian.PutUint64(all[m:], ^uint64(0))
	var freq [19]uint32
	for i := 0; i < m; {
		l := all[i]
		run := 1
		for {
			x := binary.LittleEndian.Uint64(all[i+run:]) ^ uint64(l)*0x0101010101010101
			if x != 0 {
				run += bits.TrailingZeros64(x) >> 3
				break
			}
			run += 8
		}
		i += run
		if l == 0 {
			for run >= 11 {
				r := min(run, 138)
				h.ops = append(h.ops, 18|uint16(r-11)<<8)
				freq[18]++
				run -= r
			}
			if run >= 3 {
				h.ops = append(h.ops, 17|uint16(run-3)<<8)
				freq[17]++
				run = 0
			}
		} else {
			h.ops = append(h.ops, uint16(l))
			freq[l]++
			run--
			for run >= 3 {
				r := min(run, 6)
				h.ops = append(h.ops, 16|uint16(r-3)<<8)
				freq[16]++
				run -= r
			}
		}
		for ; run > 0; run-- {
			h.ops = append(h.ops, uint16(l))
			freq[l]++
		}
	}
	// zlib wants a complete code-length code: with a single symbol in use,
	// give it a partner of length 1.
	cf, used := freq, 0
	for _, f := range cf {
		if f > 0 {
			used++
		}
	}
	if used == 1 {
		cf[map[bool]int{true: 1, false: 0}[cf[0] > 0]] = 1
	}
	var scratch [40]uint32
	huffLengths(cf[:], h.clLen[:], 7, scratch[:])
	canonical(h.clLen[:], h.clCode[:])
	h.nclen = 19
	for h.nclen > 4 && h.clLen[clOrder[h.nclen-1]] == 0 {
		h.nclen--
	}
	h.bits = 3 + 5 + 5 + 4 + 3*h.nclen
	for s, f := range freq {
		h.bits += int(f) * int(h.clLen[s])
	}
	h.bits += int(freq[16])*2 + int(freq[17])*3 + int(freq[18])*7
	return h
}

func (h *header) write(w *bitWriter) {
	w.write(uint64(h.nlit-257), 5)
	w.write(uint64(h.ndist-1), 5)
	w.write(uint64(h.nclen-4), 4)
	for _, s := range clOrder[:h.nclen] {
		w.write(uint64(h.clLen[s]), 3)
	}
	for _, op := range h.ops {
		s := op & 0xff
		w.write(uint64(h.clCode[s]), uint(h.clLen[s]))
		switch s {
		case 16:
			w.write(uint64(op>>8), 2)
		case 17:
			w.write(uint64(op>>8), 3)
		case 18:
			w.write(uint64(op>>8), 7)
		}
	}
}

// bitWriter packs bits least significant first.
type bitWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) write(v uint64, n uint) {
	w.acc |= v << w.nbits
	w.nbits += n
	if w.nbits >= 48 {
		w.out = binary.LittleEndian.AppendUint64(w.out, w.acc)[:len(w.out)+6]
		w.acc >>= 48
		w.nbits -= 48
	}
}

func (w *bitWriter) flush() {
	for w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits = w.nbits - min(w.nbits, 8)
	}
	w.acc, w.nbits = 0, 0
}

// The length and distance codes of RFC 1951 3.2.5.
var (
	lengthSym   [maxMatch + 1]uint16
	lengthBase  [29]uint16
	lengthExtra [29]uint8
	distBase    [30]uint32
	distExtra   [30]uint8
	// The fixed codes (RFC 1951 3.2.6) are canonical codes of 288 literal
	// and length symbols, of which 286 and 287 are never sent.
	fixedLit      [286]uint8
	fixedDist     [30]uint8
	fixedLitCode  [286]uint16
	fixedDistCode [30]uint16
)

func init() {
	l := 3
	for code := range 28 {
		e := 0
		if code >= 8 {
			e = (code - 4) / 4
		}
		lengthBase[code], lengthExtra[code] = uint16(l), uint8(e)
		for range 1 << e {
			if l < maxMatch {
				lengthSym[l] = uint16(257 + code)
			}
			l++
		}
	}
	lengthBase[28], lengthExtra[28] = maxMatch, 0
	lengthSym[maxMatch] = 285
	d := 1
	for code := range 30 {
		e := 0
		if code >= 2 {
			e = (code - 2) / 2
		}
		distBase[code], distExtra[code] = uint32(d), uint8(e)
		d += 1 << e
	}
	var lens [288]uint8
	var codes [288]uint16
	for sym := range lens {
		lens[sym] = fixedLitLen(sym)
	}
	canonical(lens[:], codes[:])
	copy(fixedLit[:], lens[:])
	copy(fixedLitCode[:], codes[:])
	for sym := range fixedDist {
		fixedDist[sym] = 5
	}
	canonical(fixedDist[:], fixedDistCode[:])
}

func fixedLitLen(sym int) uint8 {
	switch {
	case sym < 144:
		return 8
	case sym < 256:
		return 9
	case sym < 280:
		return 7
	}
	return 8
}

// distSym is the distance code of dist, 1 to 32768.
func distSym(dist int) int {
	d := uint32(dist - 1)
	if d < 4 {
		return int(d)
	}
	b := bits.Len32(d) - 1 // d's highest bit
	return 2*b + int(d>>(b-1)&1)
}
