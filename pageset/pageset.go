// Package pageset is a set of page frame numbers: which pages a dump keeps,
// which a hibernation image saves, which a vmcore holds. A dense bitmap,
// whose bytes are also the on-disk form of a kdump-compressed file's
// bitmaps (PutBytes, FillBytes): bit pfn is bit pfn%8 of byte pfn/8. Rank
// counts the set frames below a frame in constant time.
package pageset

import (
	"encoding/binary"
	"math/bits"
)

// Set is a dense set of page frame numbers in [0, Len()). Bit pfn of a
// dump file's bitmap is bit pfn%8 of byte pfn/8, which is the order of
// little-endian 64-bit words used here.
type Set struct {
	words []uint64
	n     uint64
}

// New returns an empty bitmap over page frames [0, n).
func New(n uint64) *Set {
	return &Set{words: make([]uint64, (n+63)/64), n: n}
}

// Len is the number of page frames the bitmap covers.
func (b *Set) Len() uint64 { return b.n }

// Set adds pfn. It panics if pfn >= Len(), like an index out of range.
func (b *Set) Set(pfn uint64) {
	b.check(pfn)
	b.words[pfn/64] |= 1 << (pfn % 64)
}

// Clear removes pfn. It panics if pfn >= Len().
func (b *Set) Clear(pfn uint64) {
	b.check(pfn)
	b.words[pfn/64] &^= 1 << (pfn % 64)
}

func (b *Set) check(pfn uint64) {
	if pfn >= b.n {
		panic("dumpfile: Set index out of range")
	}
}

// Test reports whether pfn is set; page frames at or past Len() are not.
func (b *Set) Test(pfn uint64) bool {
	return pfn < b.n && b.words[pfn/64]&(1<<(pfn%64)) != 0
}

// SetRange adds page frames [start, end), clipped to Len().
func (b *Set) SetRange(start, end uint64) {
	end = min(end, b.n)
	for start < end {
		w := start / 64
		lo := start % 64
		hi := uint64(64)
		if (end-1)/64 == w {
			hi = (end-1)%64 + 1
		}
		b.words[w] |= (^uint64(0) >> (64 - (hi - lo))) << lo
		start = (w + 1) * 64
	}
}

// Count is the number of page frames set.
func (b *Set) Count() uint64 {
	var c int
	for _, w := range b.words {
		c += bits.OnesCount64(w)
	}
	return uint64(c)
}

// Next returns the smallest set page frame >= pfn, and false if there is none.
func (b *Set) Next(pfn uint64) (uint64, bool) {
	if pfn >= b.n {
		return 0, false
	}
	i := pfn / 64
	w := b.words[i] & (^uint64(0) << (pfn % 64))
	for {
		if w != 0 {
			return i*64 + uint64(bits.TrailingZeros64(w)), true
		}
		i++
		if i >= uint64(len(b.words)) {
			return 0, false
		}
		w = b.words[i]
	}
}

// PutBytes stores bytes [off, off+len(dst)) of the on-disk form of b into
// dst; bytes past the end of b are zero.
func (b *Set) PutBytes(dst []byte, off uint64) {
	var tmp [8]byte
	for i := range dst {
		pos := off + uint64(i)
		w := pos / 8
		if w >= uint64(len(b.words)) {
			clear(dst[i:])
			return
		}
		if pos%8 == 0 && i+8 <= len(dst) {
			binary.LittleEndian.PutUint64(dst[i:], b.words[w])
			continue
		}
		binary.LittleEndian.PutUint64(tmp[:], b.words[w])
		dst[i] = tmp[pos%8]
	}
}

// FillBytes loads bytes [off, off+len(src)) of the on-disk form into b,
// ignoring bits at or past Len(). off must be a multiple of 8.
func (b *Set) FillBytes(src []byte, off uint64) {
	w := off / 8
	for len(src) > 0 && w < uint64(len(b.words)) {
		var tmp [8]byte
		n := copy(tmp[:], src)
		b.words[w] = binary.LittleEndian.Uint64(tmp[:])
		src = src[n:]
		w++
	}
	if r := b.n % 64; r != 0 && len(b.words) > 0 {
		b.words[len(b.words)-1] &= (1 << r) - 1
	}
}

// FirstNotIn returns the first page frame set in b but not in o.
func (b *Set) FirstNotIn(o *Set) (uint64, bool) {
	for i, w := range b.words {
		var ow uint64
		if i < len(o.words) {
			ow = o.words[i]
		}
		if d := w &^ ow; d != 0 {
			return uint64(i)*64 + uint64(bits.TrailingZeros64(d)), true
		}
	}
	return 0, false
}

// Rank answers "how many set bits Below pfn" in constant time.
type Rank struct {
	b      *Set
	blocks []uint64 // blocks[i] = set bits in words [0, i*rankWords)
}

const rankWords = 64 // one block is 4096 page frames, crash's BITMAP_SECT_LEN

func NewRank(b *Set) *Rank {
	r := &Rank{b: b, blocks: make([]uint64, len(b.words)/rankWords+1)}
	var c uint64
	for i, w := range b.words {
		if i%rankWords == 0 {
			r.blocks[i/rankWords] = c
		}
		c += uint64(bits.OnesCount64(w))
	}
	if len(b.words)%rankWords == 0 {
		r.blocks[len(b.words)/rankWords] = c
	}
	return r
}

// Below returns the number of set page frames in [0, pfn).
func (r *Rank) Below(pfn uint64) uint64 {
	pfn = min(pfn, r.b.n)
	w := pfn / 64
	blk := w / rankWords
	c := r.blocks[blk]
	for i := blk * rankWords; i < w; i++ {
		c += uint64(bits.OnesCount64(r.b.words[i]))
	}
	if rem := pfn % 64; rem != 0 {
		c += uint64(bits.OnesCount64(r.b.words[w] & (1<<rem - 1)))
	}
	return c
}

// Clone returns a copy of b.
func (b *Set) Clone() *Set {
	return &Set{words: append([]uint64(nil), b.words...), n: b.n}
}

// Equal reports whether b and o hold the same page frames over the same range.
func (b *Set) Equal(o *Set) bool {
	if b.n != o.n {
		return false
	}
	for i, w := range b.words {
		if w != o.words[i] {
			return false
		}
	}
	return true
}
