// Package imagetest edits hibernation images the way a broken writer or a
// flipped bit behind a still-valid checksum would, for tests and the lab: it
// spoils a chunk and then reseals every unkeyed checksum, so a reader is
// reached past its CRC-32C and digests. It is written from the byte layout in
// image/doc.go alone (an independent reading of the format), and works on
// unencrypted images only: an encrypted image's MAC and GCM tags cannot be
// resealed without the key.
package imagetest

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

var le = binary.LittleEndian

// Offsets from image/doc.go.
const (
	block       = 4096
	headerHash  = 4064
	offFlags    = 12
	offChunks   = 152
	offMapOff   = 160
	offMapLen   = 168
	offDataOff  = 176
	offCommit   = 280
	chunkHdr    = 64
	chOffStored = 20
	chOffEnc    = 24
	chOffCRC    = 32
	cOffDigest  = 40
)

// Encodings of a chunk's stored bytes.
const (
	Raw  = 0
	Zstd = 1
	LZ4  = 2
)

// Chunk is where a chunk is in an image.
type Chunk struct {
	Index    int
	Off      int // of its 64-byte header
	Stored   int // bytes after the header
	Encoding uint32
}

// Chunks lists the chunks of the unencrypted image b.
func Chunks(b []byte) ([]Chunk, error) {
	if len(b) < block || string(b[:8]) != "KJHIBER1" {
		return nil, errors.New("imagetest: not an image")
	}
	if le.Uint32(b[offFlags:])&1 != 0 {
		return nil, errors.New("imagetest: encrypted images cannot be resealed")
	}
	n, off := le.Uint64(b[offChunks:]), le.Uint64(b[offDataOff:])
	size := uint64(len(b))
	var cs []Chunk
	for i := uint64(0); i < n; i++ {
		if off > size || size-off < chunkHdr || string(b[off:off+4]) != "KJCH" {
			return nil, fmt.Errorf("imagetest: chunk %d at %d: no chunk header", i, off)
		}
		stored := uint64(le.Uint32(b[off+chOffStored:]))
		if stored > size-off-chunkHdr {
			return nil, fmt.Errorf("imagetest: chunk %d at %d: runs past the image", i, off)
		}
		cs = append(cs, Chunk{Index: int(i), Off: int(off), Stored: int(stored), Encoding: le.Uint32(b[off+chOffEnc:])})
		off += (chunkHdr + stored + block - 1) &^ (block - 1)
	}
	return cs, nil
}

// Reseal recomputes every unkeyed checksum of the unencrypted image b after an
// edit: each chunk's CRC-32C, the page map's SHA-256, the header's SHA-256,
// the commit record's image digest and its SHA-256.
func Reseal(b []byte) error {
	cs, err := Chunks(b)
	if err != nil {
		return err
	}
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	var digests []byte
	for _, c := range cs {
		h := b[c.Off : c.Off+chunkHdr]
		le.PutUint32(h[chOffCRC:], crc32.Checksum(b[c.Off+chunkHdr:c.Off+chunkHdr+c.Stored], castagnoli))
		d := sha256.Sum256(h)
		digests = append(digests, d[:]...)
	}
	size := uint64(len(b))
	mapOff, mapLen, commit := le.Uint64(b[offMapOff:]), le.Uint64(b[offMapLen:]), le.Uint64(b[offCommit:])
	if mapLen < 32 || mapOff > size || mapLen > size-mapOff || commit > size || size-commit < block {
		return errors.New("imagetest: map or commit record out of the image")
	}
	m := b[mapOff : mapOff+mapLen]
	sum := sha256.Sum256(m[:mapLen-32])
	copy(m[mapLen-32:], sum[:])
	sum = sha256.Sum256(b[:headerHash])
	copy(b[headerHash:block], sum[:])
	// image digest = SHA-256(header block || page map || SHA-256 of each chunk header)
	d := sha256.New()
	d.Write(b[:block])
	d.Write(m)
	d.Write(digests)
	c := b[commit : commit+block]
	copy(c[cOffDigest:], d.Sum(nil))
	sum = sha256.Sum256(c[8:headerHash])
	copy(c[headerHash:], sum[:])
	return nil
}

// SpoilChunk makes the first compressed chunk at or after index i undecodable
// while every checksum still matches: it overwrites the start of its stored
// bytes (a zstd frame's magic, an LZ4 block's first token and literals) and
// reseals the image. It returns the index of the chunk it spoiled.
func SpoilChunk(b []byte, i int) (int, error) {
	cs, err := Chunks(b)
	if err != nil {
		return 0, err
	}
	for _, c := range cs[min(i, len(cs)):] {
		if c.Encoding == Raw || c.Stored < 8 {
			continue
		}
		p := b[c.Off+chunkHdr:]
		if c.Encoding == LZ4 {
			// A token asking for 15+255 literals more than the block has.
			p[0], p[1] = 0xf0, 0xff
		} else {
			copy(p, []byte{0xde, 0xad, 0xbe, 0xef})
		}
		return c.Index, Reseal(b)
	}
	return 0, fmt.Errorf("imagetest: no compressed chunk at or after %d", i)
}
