// Package zpage writes zlib streams (RFC 1950 around RFC 1951 deflate) of
// small blocks, such as the 4 KiB pages of a kdump-compressed file, each
// on its own: what makedumpfile -c stores, and what C zlib (crash,
// makedumpfile), Go's compress/zlib and klauspost/compress read.
//
// # Why not a general-purpose encoder
//
// makedumpfile -c compresses each page with C zlib at level 1. On the
// pages of two lab vmcores, klauspost/compress's fast levels (1 to 6)
// wrote from 0.3% less to 3.5% more than that, and its level 7, the first
// that was smaller on both, took 1.4 times makedumpfile's CPU time: it
// clears 640 KiB of hash chains for every page, and half of its remaining
// time went into building Huffman codes. An encoder made for one small
// block at a time avoids both costs: its tables cover one page and are
// never cleared, only outdated (positions carry a per-call base, as in
// package lzo), and its Huffman codes are built in linear time after a
// radix sort.
//
// # What it writes
//
// The zlib header 0x78 0x01 (deflate, 32 KiB window, "fastest"), one final
// deflate block, and the Adler-32 of the input. The block has dynamic
// Huffman codes, or the fixed ones when they are smaller (tiny inputs), or
// is a stored block, the input as it is, when that is smaller still (an
// input that does not compress: a dump stores such a page raw anyway).
// Matches are found greedily: a 3-byte hash (14 bits) into chains of earlier
// positions, up to 6 candidates (each must share the 3 bytes and the byte
// that would make it the longest so far), a match of 32 bytes or more ends
// the search (on two lab vmcores' pages 6 and 32 wrote slightly less than
// 8 and 64, in 5% less time); a 3-byte match farther than 4 KiB is not
// worth its code (zlib's TOO_FAR). The last 3 bytes are literals. The
// positions inside a match of up to 6 bytes are added to the chains, of a
// longer match only its last (up to 16 bytes wrote 0.1–0.4% less on two
// lab vmcores' pages, in 4–9% more time). Where nothing matches for 32
// positions the search looks at every other position, and so on (as LZ4
// does), which costs little in data that does not compress.
//
// The block is written from the matches and the literal runs before them
// (the literals read from the input again), the bits of a match or of
// three literals gathered in a 64-bit word and stored 8 bytes at a time.
// The Adler-32 adds 64 bytes a step in 16-bit lanes, with multiplications
// that sum the lanes only at the end of each step.
//
// Code lengths come from Moffat and Katajainen's in-place algorithm on the
// symbols sorted by frequency; lengths over 15 bits (7 for the code-length
// code) are cut and the code made complete again by moving the fewest
// codes one level down. The code lengths themselves are sent with the run
// codes 16, 17 and 18.
//
// The output depends on the input alone: a Compressor reused across pages
// writes what a fresh one does.
package zpage
