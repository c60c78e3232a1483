// Package lzo compresses data into the LZO1X stream format: what
// makedumpfile -l stores for each page of a kdump-compressed file, and
// what liblzo2's lzo1x_decompress_safe (makedumpfile, crash), the Linux
// kernel's own decompressor and github.com/anchore/go-lzo read. It has no
// decompressor: kjump reads LZO through anchore/go-lzo.
//
// It is written from the stream's description in the kernel's
// Documentation/staging/lzo.rst, not from LZO's (GPL) code; this is the
// part of the format it writes.
//
// # The stream
//
// A stream is a sequence of literal runs (bytes copied as they are) and
// matches (copies of earlier output at a distance), ended by an
// end-of-stream marker. Runs and matches alternate: a literal run is
// always followed by a match, and a match by zero or more literals.
// Lengths that do not fit in an instruction's bits are continued in the
// bytes after it: a 0 in the bits, then one zero byte for each 255, then
// one non-zero byte with the rest.
//
// The first literal run, when the stream starts with one of t bytes:
//
//	t ≤ 238   one byte 17+t, then the t bytes
//	t > 238   as any long run below (the decoder starts in state 0)
//
// Later literal runs of t bytes, after a match:
//
//	1 ≤ t ≤ 3    no instruction: t goes into the 2 low bits ("S") of the
//	             match's last-but-one byte, and the bytes follow the match
//	4 ≤ t ≤ 18   one byte t-3 (0000LLLL), then the bytes
//	t ≥ 19       a 0 byte, then t-18 as zero bytes (255 each) and a
//	             non-zero byte, then the bytes
//
// A run of 4 or more needs S = 0 in the match before it: the decoder reads
// 0000LLLL as a run only when no literals followed the previous match.
//
// Matches of length m at distance d (1 ≤ d; Package lzo writes m ≥ 4):
//
//	m ≤ 8, d ≤ 2048    2 bytes: (m-1)<<5 | ((d-1)&7)<<2 | S, then (d-1)>>3
//	d ≤ 16384          001LLLLL with L = m-2 when m ≤ 33, else 00100000 and
//	                   m-33 as zero bytes and a non-zero byte; then the
//	                   little-endian 16 bits (d-1)<<2 | S
//
// In both forms the byte holding S is the match's last-but-one, which is
// how a following run of 1 to 3 literals is written for free.
//
// The end of the stream is the bytes 0x11 0x00 0x00: a match of the form
// for distances of 16 to 48 KiB (0001HLLL) whose distance would be 16384,
// which the decoder takes as the end. The kernel's decoder also demands
// that the stream end right there.
//
// Not written: matches of 2 or 3 bytes (the forms 0000DDSS, which mean
// different things after 1-3 literals and after a longer run), matches
// farther than 16384 bytes (0001HLLL with its distance bias), and the
// kernel's LZO-RLE extension (a first byte 17 followed by a version, and
// zero runs as a 0001HLLL form with distance 0xbfff): liblzo2 does not
// read them. A page is 4 KiB, so the 16 KiB window loses nothing there.
//
// # The compressor
//
// Greedy, one pass: a hash table of the last position of each 4-byte
// sequence searched finds candidate matches, which are checked, extended
// backwards into the pending literals and forwards 8 bytes at a time (64
// at a time past 64). The positions a match covers are not added to the
// table (as in LZO1X-1: on two lab vmcores' pages adding the one before
// the next search wrote 0.1–0.4% less for 7–10% more time). Where no
// match is found for a while the search steps over more bytes at a time
// (as LZ4 and LZO1X-1 do), so incompressible data costs little. The table is reused across calls without clearing
// it: positions carry a per-call base, so a stale entry lies before the
// input and is ignored. The output depends on the input alone.
package lzo
