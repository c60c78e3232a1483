package image

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Image is an opened image whose header, page map, chunk headers and commit
// record have been checked. Chunk payloads are checked by Verify and Pages.
type Image struct {
	r       io.ReaderAt
	size    int64
	key     Key
	h       *Header
	block   []byte   // the header block as read
	runs    []Run    // the page map: data and zero runs
	data    []Run    // the data runs, whose pages the chunks hold
	starts  []uint64 // starts[i] is the index of data[i]'s first page
	chunks  []chunkLoc
	ks      *keys
	binding [32]byte
	stored  uint64
	workers int // decoding goroutines (Limits)
}

type chunkLoc struct {
	off, end uint64 // [off, end) is the chunk with its padding
	hdr      chunkHeader
	digest   [32]byte // SHA-256 of the 64-byte chunk header
}

func readAt(r io.ReaderAt, b []byte, off uint64) error {
	n, err := r.ReadAt(b, int64(off))
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return ferr(ErrIncomplete, "image", int64(off), "reading %d bytes: %v", len(b), err)
}

// Open checks the header, page map, chunk headers and commit record of the
// image in r (size readable bytes; a raw device may be larger than the
// image). key must be the image's key if it is encrypted, else the zero Key.
// Open does not read chunk payloads: call Verify before trusting the data.
func Open(r io.ReaderAt, size int64, key Key) (*Image, error) {
	return load(r, size, key, true, nil, Limits{})
}

func load(r io.ReaderAt, size int64, key Key, needKey bool, ks *keys, lim Limits) (*Image, error) {
	if size < BlockSize {
		n := min(max(size, 0), 8)
		b := make([]byte, n)
		if n > 0 && readAt(r, b, 0) == nil && bytes.Equal(b, headerMagic[:n]) {
			return nil, ferr(ErrIncomplete, "header", 0, "image truncated to %d bytes, the header alone is %d", size, BlockSize)
		}
		return nil, ferr(ErrNotImage, "header", 0, "only %d bytes", size)
	}
	im := &Image{r: r, size: size, key: key, block: make([]byte, BlockSize)}
	if err := readAt(r, im.block, 0); err != nil {
		return nil, err
	}
	h, err := decodeHeader(im.block, size)
	if err != nil {
		return nil, err
	}
	im.h = h
	if h.Length > uint64(size) {
		return nil, ferr(ErrIncomplete, "image", size, "image is %d bytes but only %d are readable (truncated)", h.Length, size)
	}
	// Before the first allocation a header field sizes.
	if im.workers, err = lim.workers(h); err != nil {
		return nil, err
	}
	cb := make([]byte, BlockSize)
	if err := readAt(r, cb, h.commitOff); err != nil {
		return nil, err
	}
	digest, mac, err := checkCommit(h, cb)
	if err != nil {
		return nil, err
	}
	m := make([]byte, h.mapLen)
	if err := readAt(r, m, h.mapOff); err != nil {
		return nil, err
	}
	if im.runs, err = decodeMap(h, m); err != nil {
		return nil, err
	}
	for _, r := range im.runs {
		if !r.Zero {
			im.data = append(im.data, r)
		}
	}
	im.starts = runStarts(im.data)
	if h.Encrypted && needKey {
		if ks == nil {
			master, err := masterKey(key, h)
			if err != nil {
				return nil, err
			}
			if ks, err = newKeys(master, h.UUID); err != nil {
				return nil, err
			}
		}
		if !hmac.Equal(ks.check[:], h.keyCheck[:]) {
			return nil, ferr(ErrKey, "header", offKeyCheck, "key check value does not match the key given")
		}
		im.ks = ks
	}
	im.binding = adBinding(im.block)
	digests, err := im.walkChunks()
	if err != nil {
		return nil, err
	}
	if got := commitDigest(im.block, m, digests); got != digest {
		return nil, ferr(ErrCorrupt, "commit record", int64(h.commitOff+cOffDigest), "image digest mismatch (header, map or a chunk header changed)")
	}
	switch {
	case !h.Encrypted && mac != [32]byte{}:
		return nil, ferr(ErrCorrupt, "commit record", int64(h.commitOff+cOffMAC), "MAC set in an unencrypted image")
	case im.ks != nil && !hmac.Equal(mac[:], func() []byte { m := im.ks.commitMAC(digest); return m[:] }()):
		return nil, ferr(ErrCorrupt, "commit record", int64(h.commitOff+cOffMAC), "commit MAC does not authenticate the image")
	}
	return im, nil
}

func checkCommit(h *Header, b []byte) (digest, mac [32]byte, err error) {
	where, off := "commit record", int64(h.commitOff)
	sameUUID := bytes.Equal(b[cOffUUID:cOffUUID+16], h.UUID[:])
	switch {
	case bytes.Equal(b[:8], consumedMagic[:]) && sameUUID:
		return digest, mac, ferr(ErrConsumed, where, off, "marked consumed")
	case !bytes.Equal(b[:8], commitMagic[:]):
		return digest, mac, ferr(ErrIncomplete, where, off, "no commit record (magic %q)", b[:8])
	}
	sum := sha256.Sum256(b[8:hashOff])
	switch {
	case !bytes.Equal(sum[:], b[hashOff:]):
		return digest, mac, ferr(ErrCorrupt, where, off+hashOff, "commit record SHA-256 mismatch")
	case !sameUUID:
		return digest, mac, ferr(ErrIncomplete, where, off+cOffUUID, "commit record belongs to an older image (UUID differs)")
	case le.Uint32(b[cOffVersion:]) != Version || le.Uint32(b[cOffVersion+4:]) != 0:
		return digest, mac, ferr(ErrCorrupt, where, off+cOffVersion, "bad version field")
	case le.Uint64(b[cOffLength:]) != h.Length:
		return digest, mac, ferr(ErrCorrupt, where, off+cOffLength, "length %d, header says %d", le.Uint64(b[cOffLength:]), h.Length)
	case !allZero(b[cOffEnd:hashOff]):
		return digest, mac, ferr(ErrCorrupt, where, off+cOffEnd, "padding not zero")
	}
	copy(digest[:], b[cOffDigest:])
	copy(mac[:], b[cOffMAC:])
	return digest, mac, nil
}

func decodeMap(h *Header, m []byte) ([]Run, error) {
	n := len(m)
	sum := sha256.Sum256(m[:n-32])
	if !bytes.Equal(sum[:], m[n-32:]) {
		return nil, ferr(ErrCorrupt, "map", int64(h.mapOff)+int64(n-32), "page map SHA-256 mismatch")
	}
	runs := make([]Run, h.Runs)
	var pages, zeroPages, next uint64
	for i := range runs {
		r := Run{PFN: le.Uint64(m[i*16:]), Count: le.Uint64(m[i*16+8:])}
		if r.Count&zeroRunBit != 0 {
			r.Zero, r.Count = true, r.Count&^zeroRunBit
		}
		var problem string
		switch {
		case r.Count == 0:
			problem = "is empty"
		case r.PFN+r.Count < r.PFN || r.PFN+r.Count > 1<<52:
			problem = "overflows the address space"
		case i > 0 && r.PFN < next:
			problem = "overlaps the previous run or is out of order"
		}
		if problem != "" {
			return nil, ferr(ErrCorrupt, "map", int64(h.mapOff)+int64(i*16), "run %d (pfn %#x, %d pages, zero %v) %s", i, r.PFN, r.Count, r.Zero, problem)
		}
		next = r.PFN + r.Count
		if r.Zero {
			zeroPages += r.Count
		} else {
			pages += r.Count
		}
		runs[i] = r
	}
	if pages != h.Pages || zeroPages != h.ZeroPages {
		return nil, ferr(ErrCorrupt, "map", int64(h.mapOff), "runs hold %d data and %d zero pages, header says %d and %d", pages, zeroPages, h.Pages, h.ZeroPages)
	}
	return runs, nil
}

func (im *Image) rawLen(i uint64) uint32 {
	ppc := uint64(im.h.PagesPerChunk)
	return uint32(min(ppc, im.h.Pages-i*ppc) * PageSize)
}

func (im *Image) walkChunks() ([]byte, error) {
	h := im.h
	var digests []byte
	off := h.dataOff
	hb := make([]byte, chunkHeaderSize)
	tag := uint32(0)
	if h.Encrypted {
		tag = gcmTag
	}
	for i := uint64(0); i < h.Chunks; i++ {
		where := fmt.Sprintf("chunk %d", i)
		if off+chunkHeaderSize > h.commitOff {
			return nil, ferr(ErrCorrupt, where, int64(off), "chunk runs into the commit record")
		}
		if err := readAt(im.r, hb, off); err != nil {
			return nil, err
		}
		c, ok := decodeChunkHeader(hb)
		raw := im.rawLen(i)
		switch {
		case !ok:
			return nil, ferr(ErrCorrupt, where, int64(off), "bad chunk header")
		case c.index != i:
			return nil, ferr(ErrCorrupt, where, int64(off+8), "index %d", c.index)
		case c.rawLen != raw:
			return nil, ferr(ErrCorrupt, where, int64(off+16), "raw length %d, want %d", c.rawLen, raw)
		case c.encoding == encRaw && c.storedLen != raw+tag,
			c.encoding == encZstd && (h.Compression != Zstd || c.storedLen >= raw+tag),
			c.encoding == encLZ4 && (h.Compression != LZ4 || c.storedLen >= raw+tag),
			c.encoding != encRaw && c.encoding != encZstd && c.encoding != encLZ4:
			return nil, ferr(ErrCorrupt, where, int64(off+20), "stored length %d or encoding %d invalid", c.storedLen, c.encoding)
		}
		end := off + align(chunkHeaderSize+uint64(c.storedLen))
		if end > h.commitOff {
			return nil, ferr(ErrCorrupt, where, int64(off), "chunk runs into the commit record")
		}
		d := sha256.Sum256(hb)
		digests = append(digests, d[:]...)
		im.chunks = append(im.chunks, chunkLoc{off: off, end: end, hdr: c, digest: d})
		im.stored += end - off
		off = end
	}
	if off != h.commitOff {
		return nil, ferr(ErrCorrupt, "data", int64(off), "data ends at %d but the commit record is at %d", off, h.commitOff)
	}
	return digests, nil
}

// Header returns the image header.
func (im *Image) Header() Header {
	h := *im.h
	h.Filesystems = slices.Clone(h.Filesystems)
	return h
}

// Runs returns the page map: the data and zero runs of the saved system's
// pages, sorted by PFN. The restorer fills the pages of zero runs (Zero set)
// with zeros; Pages delivers those of data runs.
func (im *Image) Runs() []Run { return slices.Clone(im.runs) }

func (im *Image) newDecoder() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(im.workers),
		zstd.WithDecoderMaxMemory(uint64(im.h.PagesPerChunk)*PageSize), zstd.WithDecodeAllCapLimit(true))
}

// readChunk reads chunk i, with its padding, into a buffer from bufs.
func (im *Image) readChunk(i uint64, bufs *buffers) ([]byte, error) {
	loc := im.chunks[i]
	b := bufs.get(int(loc.end - loc.off))
	if err := readAt(im.r, b, loc.off); err != nil {
		return nil, err
	}
	return b, nil
}

// chunkBuffers is a free list for the chunks read by one pass over the image:
// a buffer per chunk in flight, reused rather than allocated (a fresh
// buffer costs a page fault and a clearing per page, which showed in the
// restore's speed).
func (im *Image) chunkBuffers() *buffers {
	size := uint64(0)
	for _, c := range im.chunks {
		size = max(size, c.end-c.off)
	}
	return newBuffers(int(size), 2*im.workers+2)
}

// checkChunk checks chunk i (bytes b as read) against the chunk header Open
// read and the digest in it, and returns its stored bytes.
func (im *Image) checkChunk(i uint64, b []byte) ([]byte, error) {
	loc := im.chunks[i]
	where := fmt.Sprintf("chunk %d", i)
	off := int64(loc.off)
	if sha256.Sum256(b[:chunkHeaderSize]) != loc.digest {
		return nil, ferr(ErrCorrupt, where, off, "chunk header changed since the image was opened")
	}
	c := loc.hdr
	payload := b[chunkHeaderSize : chunkHeaderSize+c.storedLen]
	if chunkSum(payload) != c.digest {
		return nil, ferr(ErrCorrupt, where, off+chunkHeaderSize, "CRC-32C of stored bytes mismatch")
	}
	if !allZero(b[chunkHeaderSize+c.storedLen:]) {
		return nil, ferr(ErrCorrupt, where, off+chunkHeaderSize+int64(c.storedLen), "padding not zero")
	}
	return payload, nil
}

// decodeChunk checks chunk i (bytes b as read) and returns its raw pages.
func (im *Image) decodeChunk(dec *zstd.Decoder, i uint64, b []byte) ([]byte, error) {
	payload, err := im.checkChunk(i, b)
	if err != nil {
		return nil, err
	}
	loc := im.chunks[i]
	where := fmt.Sprintf("chunk %d", i)
	off := int64(loc.off)
	c := loc.hdr
	if im.h.Encrypted {
		if im.ks == nil {
			return nil, ferr(ErrKey, where, off, "image is encrypted and was opened without a key")
		}
		p, err := im.ks.aead.Open(nil, nonce(i), payload, chunkAD(im.binding, &c))
		if err != nil {
			return nil, ferr(ErrCorrupt, where, off+chunkHeaderSize, "authentication failed (tampered chunk): %v", err)
		}
		payload = p
	}
	var raw []byte
	switch c.encoding {
	case encRaw:
		return payload, nil
	case encLZ4:
		raw = make([]byte, c.rawLen)
		n, err := lz4.UncompressBlock(payload, raw)
		if err != nil {
			return nil, ferr(ErrCorrupt, where, off+chunkHeaderSize, "lz4: %v", err)
		}
		raw = raw[:n]
	default:
		var err error
		if raw, err = dec.DecodeAll(payload, make([]byte, 0, c.rawLen)); err != nil {
			return nil, ferr(ErrCorrupt, where, off+chunkHeaderSize, "zstd: %v", err)
		}
	}
	if len(raw) != int(c.rawLen) {
		return nil, ferr(ErrCorrupt, where, off+chunkHeaderSize, "decompressed to %d bytes, want %d", len(raw), c.rawLen)
	}
	return raw, nil
}

// Verify re-reads the header, page map and commit record and then reads,
// authenticates and decompresses every chunk. It returns nil for a valid
// image, or all problems found joined with errors.Join.
func (im *Image) Verify() error {
	dec, err := im.newDecoder()
	if err != nil {
		return err
	}
	defer dec.Close()
	return im.eachChunk(func(i uint64, b []byte) error {
		_, err := im.decodeChunk(dec, i, b)
		return err
	})
}

// CheckChunks is Verify without decrypting and decompressing: it re-reads the
// header, page map and commit record and checks every chunk's stored bytes
// against the checksum (CRC-32C) in its chunk header. Open already tied those
// headers to the commit record (and, for an encrypted image, to its MAC under
// the key), so an image that passes holds exactly the bytes its writer wrote;
// only a writer's own bug could still make a chunk fail to decode. A resume
// kernel uses it to check everything before it restores in one pass. It
// returns nil or all problems found joined with errors.Join.
func (im *Image) CheckChunks() error {
	return im.eachChunk(func(i uint64, b []byte) error {
		_, err := im.checkChunk(i, b)
		return err
	})
}

// eachChunk re-reads the header, page map and commit record, then reads every
// chunk in order and checks it with check on GOMAXPROCS goroutines. It returns
// all problems found (a chunk that cannot be read is one) joined.
func (im *Image) eachChunk(check func(i uint64, b []byte) error) error {
	var problems []error
	if _, err := load(im.r, im.size, im.key, true, im.ks, Limits{Workers: im.workers}); err != nil {
		problems = append(problems, err)
	}
	type read struct {
		b   []byte
		err error
	}
	bufs := im.chunkBuffers()
	err := ordered(uint64(len(im.chunks)), im.workers,
		func(i uint64) (read, error) {
			b, err := im.readChunk(i, bufs)
			return read{b, err}, nil
		},
		func(i uint64, r read) (error, error) {
			if r.err != nil {
				return r.err, nil
			}
			err := check(i, r.b)
			bufs.put(r.b)
			return err, nil
		},
		func(i uint64, e error) error {
			if e != nil {
				problems = append(problems, e)
			}
			return nil
		})
	if err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

// Pages calls fn for the pages of the data runs in map order; pages of zero
// runs are not delivered (see Runs). Each call gets a stretch of physically
// contiguous pages: data holds len(data)/PageSize pages
// starting at page frame number pfn, and is only valid during the call.
// Chunks are decompressed in parallel but delivered in order. Pages stops at
// the first bad chunk or the first error from fn; call Verify first so no
// page of a bad image is ever delivered.
func (im *Image) Pages(fn func(pfn uint64, data []byte) error) error {
	return im.pages(fn, false)
}

// PagesConcurrently is Pages with fn called on the decoding goroutines as
// each chunk is decoded: several calls at once, chunks in any order, so
// that copying the pages where they go (a resume's restore) runs on all the
// workers too. Calls never share a page. Pages of a chunk after a bad one
// may have been delivered when it returns the bad chunk's error.
func (im *Image) PagesConcurrently(fn func(pfn uint64, data []byte) error) error {
	return im.pages(fn, true)
}

func (im *Image) pages(fn func(pfn uint64, data []byte) error, concurrent bool) error {
	dec, err := im.newDecoder()
	if err != nil {
		return err
	}
	defer dec.Close()
	ppc := uint64(im.h.PagesPerChunk)
	deliver := func(i uint64, raw []byte) error {
		return segments(im.data, im.starts, i*ppc, uint64(len(raw))/PageSize, func(pfn, count, o uint64) error {
			return fn(pfn, raw[o*PageSize:(o+count)*PageSize])
		})
	}
	bufs := im.chunkBuffers()
	type decoded struct{ raw, read []byte }
	return ordered(uint64(len(im.chunks)), im.workers,
		func(i uint64) ([]byte, error) { return im.readChunk(i, bufs) },
		func(i uint64, b []byte) (decoded, error) {
			raw, err := im.decodeChunk(dec, i, b)
			if err == nil && concurrent {
				err = deliver(i, raw)
			}
			return decoded{raw, b}, err
		},
		func(i uint64, d decoded) error {
			var err error
			if !concurrent {
				err = deliver(i, d.raw)
			}
			bufs.put(d.read) // a raw chunk's pages are in it: done with them
			return err
		})
}

// ReadWriterAt is what MarkConsumed needs: the device or file holding the image.
type ReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// MarkConsumed makes the committed image whose UUID is uuid permanently
// unusable for resume by overwriting the magic of its commit record; Open
// and Verify then report ErrConsumed. It refuses (ErrConsumed, or
// ErrNotImage when rw now holds another image) unless rw still holds exactly
// that committed image. A resume kernel calls it last before the jump back,
// once every page was restored, so an image is never resumed twice and a
// failure before it leaves the image resumable. If rw has a Sync method it
// is called.
func MarkConsumed(rw ReadWriterAt, size int64, uuid [16]byte) error {
	if size < BlockSize {
		return ferr(ErrIncomplete, "header", 0, "only %d bytes", size)
	}
	b := make([]byte, BlockSize)
	if err := readAt(rw, b, 0); err != nil {
		return err
	}
	h, err := decodeHeader(b, size)
	if err != nil {
		return err
	}
	if h.UUID != uuid {
		return ferr(ErrNotImage, "header", offUUID, "holds image %x now, not %x", h.UUID, uuid)
	}
	if h.Length > uint64(size) {
		return ferr(ErrIncomplete, "image", size, "image is %d bytes but only %d are readable (truncated)", h.Length, size)
	}
	if err := readAt(rw, b, h.commitOff); err != nil {
		return err
	}
	if _, _, err := checkCommit(h, b); err != nil {
		return err
	}
	if _, err := rw.WriteAt(consumedMagic[:], int64(h.commitOff)); err != nil {
		return fmt.Errorf("image: marking consumed at offset %d: %w", h.commitOff, err)
	}
	return syncIf(rw)
}
