//go:build !purego

package zpage

import "golang.org/x/sys/cpu"

// blocksAVX2 adds up p, whose length is a multiple of 32, in blocks of 32
// bytes: sum is the sum of its bytes, before the sum over the blocks of the
// bytes before each block, and weighted the sum over the blocks of each
// byte times its weight in the block, 32 for the first down to 1.
//
//go:noescape
func blocksAVX2(p []byte) (sum, before, weighted uint64)

// vectorBlock is how many bytes a vector call takes at most: a block adds
// at most 255 × (32+31+30+29) to a 32-bit lane of weighted sums, so 2048
// blocks keep the 8 lanes' total below 2³²; and the sums stay far from
// 64 bits in adler32.
const vectorBlock = 2048 * 32

// adler32 is hash/adler32.Checksum: with AVX2, 32 bytes a step in vector
// registers (blocksAVX2), the rest in adlerScalar.
func adler32(p []byte) uint32 {
	if !cpu.X86.HasAVX2 {
		return adlerScalar(1, 0, p)
	}
	s1, s2 := uint64(1), uint64(0)
	for len(p) >= 32 {
		n := min(len(p), vectorBlock) &^ 31
		sum, before, weighted := blocksAVX2(p[:n])
		s2 = (s2 + 32*(uint64(n/32)*s1+before) + weighted) % adlerMod
		s1 = (s1 + sum) % adlerMod
		p = p[n:]
	}
	return adlerScalar(uint32(s1), uint32(s2), p)
}
