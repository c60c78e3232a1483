package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Layout constants; see doc.go for the byte-by-byte description.
const (
	BlockSize = 4096 // alignment of every structure; also the page size
	PageSize  = 4096 // size of one saved page

	// Version is the format version this package writes and reads.
	Version = 1

	// DefaultPagesPerChunk is the chunk size used when WriteOptions leaves it 0 (1 MiB raw).
	DefaultPagesPerChunk = 256
	// MaxPagesPerChunk bounds the chunk size (16 MiB raw) so readers never allocate more.
	MaxPagesPerChunk = 4096

	// MaxStrings is the room for Release plus Identity in the header block.
	MaxStrings = hashOff - strOff

	chunkHeaderSize = 64
	gcmTag          = 16
)

var (
	headerMagic   = [8]byte{'K', 'J', 'H', 'I', 'B', 'E', 'R', '1'}
	commitMagic   = [8]byte{'K', 'J', 'C', 'O', 'M', 'M', 'I', 'T'}
	consumedMagic = [8]byte{'K', 'J', 'U', 'S', 'E', 'D', 0, 0}
	chunkMagic    = [4]byte{'K', 'J', 'C', 'H'}
)

// Header byte offsets.
const (
	offMagic      = 0
	offVersion    = 8
	offFlags      = 12
	offBlockSize  = 16
	offPageSize   = 20
	offUUID       = 24
	offCreated    = 40
	offRAM        = 48
	offMemMapHash = 56
	offCPUs       = 88
	offPPC        = 92
	offJumpBack   = 96
	offSecStart   = 104
	offSecSize    = 112
	offRuns       = 120
	offPages      = 128
	offChunks     = 136
	offMapOff     = 144
	offMapLen     = 152
	offDataOff    = 160
	offCompress   = 168
	offKDF        = 172
	offKDFTime    = 176
	offKDFMem     = 180
	offKDFThreads = 184
	offReserved   = 188
	offSalt       = 192
	offKeyCheck   = 224
	offDataLen    = 256 // data-dependent fields: dataLen, commitOff, totalLen
	offCommitOff  = 264
	offTotalLen   = 272
	offRelLen     = 280
	offIDLen      = 282
	strOff        = 284
	hashOff       = BlockSize - 32
)

const flagEncrypted = 1

var le = binary.LittleEndian

// Compression selects how chunks are compressed.
type Compression uint32

const (
	Zstd Compression = 0 // zstd (default)
	None Compression = 1 // store pages uncompressed
)

func (c Compression) String() string {
	switch c {
	case Zstd:
		return "zstd"
	case None:
		return "none"
	}
	return "unknown"
}

// chunk encodings (per chunk; a zstd image stores incompressible chunks raw).
const (
	encRaw  = 0
	encZstd = 1
)

// KDF names how the encryption key was obtained.
type KDF uint32

const (
	KDFNone     KDF = 0 // unencrypted, or a raw 32-byte key
	KDFArgon2id KDF = 1 // passphrase through Argon2id
)

func (k KDF) String() string {
	switch k {
	case KDFNone:
		return "none"
	case KDFArgon2id:
		return "argon2id"
	}
	return "unknown"
}

// KDFParams are the Argon2id parameters of a passphrase-encrypted image.
type KDFParams struct {
	Time      uint32 // passes
	MemoryKiB uint32 // memory in KiB
	Threads   uint8
}

// Range is a physical address range.
type Range struct {
	Start uint64 `json:"start"`
	Size  uint64 `json:"size"`
}

// Run is a run of saved pages: Count pages starting at page frame number PFN.
type Run struct {
	PFN   uint64 `json:"pfn"`
	Count uint64 `json:"count"`
}

// Header is the image header. Callers fill the identity fields (Release
// through SecondKernel, optionally Created); Write fills the rest.
type Header struct {
	Release      string    // saved kernel release (uname -r)
	Identity     string    // free text identifying the saved kernel (e.g. vmcoreinfo identity)
	RAMSize      uint64    // bytes of RAM of the saved system
	MemMapHash   [32]byte  // caller's hash of the saved system's memory map
	CPUs         uint32    // CPU count of the saved system
	JumpBack     uint64    // physical entry point to jump back to
	SecondKernel Range     // memory region of the kernel that wrote the image
	Created      time.Time // creation time (Write uses time.Now when zero)

	// Filled by Write and Open.
	Version       uint32
	UUID          [16]byte
	Encrypted     bool
	Compression   Compression
	KDF           KDF
	KDFParams     KDFParams
	Salt          [32]byte
	PagesPerChunk uint32
	Runs          uint64 // number of page runs in the map
	Pages         uint64 // number of saved pages
	Chunks        uint64
	Length        uint64 // total image length in bytes, commit record included

	keyCheck  [32]byte
	mapOff    uint64
	mapLen    uint64
	dataOff   uint64
	dataLen   uint64
	commitOff uint64
}

func align(n uint64) uint64 { return (n + BlockSize - 1) &^ (BlockSize - 1) }

func mapLength(runs uint64) uint64 { return align(runs*16 + 32) }

func (h *Header) encode() []byte {
	b := make([]byte, BlockSize)
	copy(b[offMagic:], headerMagic[:])
	le.PutUint32(b[offVersion:], h.Version)
	var flags uint32
	if h.Encrypted {
		flags |= flagEncrypted
	}
	le.PutUint32(b[offFlags:], flags)
	le.PutUint32(b[offBlockSize:], BlockSize)
	le.PutUint32(b[offPageSize:], PageSize)
	copy(b[offUUID:], h.UUID[:])
	le.PutUint64(b[offCreated:], uint64(h.Created.UnixNano()))
	le.PutUint64(b[offRAM:], h.RAMSize)
	copy(b[offMemMapHash:], h.MemMapHash[:])
	le.PutUint32(b[offCPUs:], h.CPUs)
	le.PutUint32(b[offPPC:], h.PagesPerChunk)
	le.PutUint64(b[offJumpBack:], h.JumpBack)
	le.PutUint64(b[offSecStart:], h.SecondKernel.Start)
	le.PutUint64(b[offSecSize:], h.SecondKernel.Size)
	le.PutUint64(b[offRuns:], h.Runs)
	le.PutUint64(b[offPages:], h.Pages)
	le.PutUint64(b[offChunks:], h.Chunks)
	le.PutUint64(b[offMapOff:], h.mapOff)
	le.PutUint64(b[offMapLen:], h.mapLen)
	le.PutUint64(b[offDataOff:], h.dataOff)
	le.PutUint32(b[offCompress:], uint32(h.Compression))
	le.PutUint32(b[offKDF:], uint32(h.KDF))
	le.PutUint32(b[offKDFTime:], h.KDFParams.Time)
	le.PutUint32(b[offKDFMem:], h.KDFParams.MemoryKiB)
	le.PutUint32(b[offKDFThreads:], uint32(h.KDFParams.Threads))
	copy(b[offSalt:], h.Salt[:])
	copy(b[offKeyCheck:], h.keyCheck[:])
	le.PutUint64(b[offDataLen:], h.dataLen)
	le.PutUint64(b[offCommitOff:], h.commitOff)
	le.PutUint64(b[offTotalLen:], h.Length)
	le.PutUint16(b[offRelLen:], uint16(len(h.Release)))
	le.PutUint16(b[offIDLen:], uint16(len(h.Identity)))
	n := copy(b[strOff:], h.Release)
	copy(b[strOff+n:], h.Identity)
	sum := sha256.Sum256(b[:hashOff])
	copy(b[hashOff:], sum[:])
	return b
}

// beginMarker is written over the header block before anything else, so an
// interrupted write never leaves an older image's header in place.
func beginMarker() []byte {
	b := make([]byte, BlockSize)
	copy(b, headerMagic[:])
	binary.LittleEndian.PutUint32(b[offVersion:], Version)
	return b
}

// adBinding is the associated data that binds every chunk to its header: a
// SHA-256 of the header block with the data-dependent fields (data length,
// commit offset, total length) and the header hash zeroed, since those are
// not known while chunks are being encrypted.
func adBinding(block []byte) [32]byte {
	c := bytes.Clone(block)
	clear(c[offDataLen : offTotalLen+8])
	clear(c[hashOff:])
	return sha256.Sum256(c)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeHeader parses and checks the header block. size is the readable
// length of the image.
func decodeHeader(b []byte, size int64) (*Header, error) {
	if !bytes.Equal(b[:8], headerMagic[:]) {
		return nil, ferr(ErrNotImage, "header", 0, "magic is %q", b[:8])
	}
	if v := le.Uint32(b[offVersion:]); v != Version {
		return nil, ferr(ErrVersion, "header", offVersion, "version %d, this kjump reads version %d", v, Version)
	}
	if allZero(b[offFlags:]) {
		return nil, ferr(ErrIncomplete, "header", 0, "only the begin marker is present (the header was never written)")
	}
	sum := sha256.Sum256(b[:hashOff])
	if !bytes.Equal(sum[:], b[hashOff:]) {
		return nil, ferr(ErrCorrupt, "header", hashOff, "header SHA-256 mismatch")
	}
	bad := func(off int, f string, a ...any) error { return ferr(ErrCorrupt, "header", int64(off), f, a...) }
	h := &Header{Version: Version}
	flags := le.Uint32(b[offFlags:])
	if flags&^flagEncrypted != 0 {
		return nil, bad(offFlags, "unknown flags %#x", flags)
	}
	h.Encrypted = flags&flagEncrypted != 0
	if v := le.Uint32(b[offBlockSize:]); v != BlockSize {
		return nil, bad(offBlockSize, "block size %d, want %d", v, BlockSize)
	}
	if v := le.Uint32(b[offPageSize:]); v != PageSize {
		return nil, bad(offPageSize, "page size %d, want %d", v, PageSize)
	}
	copy(h.UUID[:], b[offUUID:])
	h.Created = time.Unix(0, int64(le.Uint64(b[offCreated:]))).UTC()
	h.RAMSize = le.Uint64(b[offRAM:])
	copy(h.MemMapHash[:], b[offMemMapHash:])
	h.CPUs = le.Uint32(b[offCPUs:])
	h.PagesPerChunk = le.Uint32(b[offPPC:])
	h.JumpBack = le.Uint64(b[offJumpBack:])
	h.SecondKernel = Range{le.Uint64(b[offSecStart:]), le.Uint64(b[offSecSize:])}
	h.Runs = le.Uint64(b[offRuns:])
	h.Pages = le.Uint64(b[offPages:])
	h.Chunks = le.Uint64(b[offChunks:])
	h.mapOff = le.Uint64(b[offMapOff:])
	h.mapLen = le.Uint64(b[offMapLen:])
	h.dataOff = le.Uint64(b[offDataOff:])
	h.Compression = Compression(le.Uint32(b[offCompress:]))
	h.KDF = KDF(le.Uint32(b[offKDF:]))
	h.KDFParams = KDFParams{Time: le.Uint32(b[offKDFTime:]), MemoryKiB: le.Uint32(b[offKDFMem:])}
	threads := le.Uint32(b[offKDFThreads:])
	copy(h.Salt[:], b[offSalt:])
	copy(h.keyCheck[:], b[offKeyCheck:])
	h.dataLen = le.Uint64(b[offDataLen:])
	h.commitOff = le.Uint64(b[offCommitOff:])
	h.Length = le.Uint64(b[offTotalLen:])
	rl, il := int(le.Uint16(b[offRelLen:])), int(le.Uint16(b[offIDLen:]))

	switch {
	case le.Uint32(b[offReserved:]) != 0:
		return nil, bad(offReserved, "reserved field not zero")
	case rl+il > MaxStrings:
		return nil, bad(offRelLen, "release+identity length %d exceeds %d", rl+il, MaxStrings)
	case !allZero(b[strOff+rl+il : hashOff]):
		return nil, bad(strOff+rl+il, "header padding not zero")
	case h.PagesPerChunk == 0 || h.PagesPerChunk > MaxPagesPerChunk:
		return nil, bad(offPPC, "pages per chunk %d out of range", h.PagesPerChunk)
	case h.Compression != Zstd && h.Compression != None:
		return nil, bad(offCompress, "unknown compression %d", h.Compression)
	case h.Runs > uint64(size)/16:
		return nil, bad(offRuns, "%d runs cannot fit", h.Runs)
	case h.Pages > 1<<52:
		return nil, bad(offPages, "%d pages is more than a 64-bit address space", h.Pages)
	case h.Chunks != (h.Pages+uint64(h.PagesPerChunk)-1)/uint64(h.PagesPerChunk):
		return nil, bad(offChunks, "%d chunks for %d pages of %d per chunk", h.Chunks, h.Pages, h.PagesPerChunk)
	case h.mapOff != BlockSize:
		return nil, bad(offMapOff, "map offset %d, want %d", h.mapOff, BlockSize)
	case h.mapLen != mapLength(h.Runs):
		return nil, bad(offMapLen, "map length %d, want %d", h.mapLen, mapLength(h.Runs))
	case h.dataOff != h.mapOff+h.mapLen:
		return nil, bad(offDataOff, "data offset %d, want %d", h.dataOff, h.mapOff+h.mapLen)
	case h.dataLen%BlockSize != 0 || h.dataLen > 1<<62:
		return nil, bad(offDataLen, "data length %d not block aligned", h.dataLen)
	case h.commitOff != h.dataOff+h.dataLen:
		return nil, bad(offCommitOff, "commit offset %d, want %d", h.commitOff, h.dataOff+h.dataLen)
	case h.Length != h.commitOff+BlockSize:
		return nil, bad(offTotalLen, "total length %d, want %d", h.Length, h.commitOff+BlockSize)
	}
	if h.Encrypted {
		switch h.KDF {
		case KDFNone:
			if h.KDFParams != (KDFParams{}) || threads != 0 || h.Salt != [32]byte{} {
				return nil, bad(offKDF, "KDF parameters set for a raw key")
			}
		case KDFArgon2id:
			if h.KDFParams.Time == 0 || h.KDFParams.Time > maxKDFTime ||
				h.KDFParams.MemoryKiB == 0 || h.KDFParams.MemoryKiB > maxKDFMemKiB ||
				threads == 0 || threads > 255 {
				return nil, bad(offKDF, "Argon2id parameters out of range")
			}
			h.KDFParams.Threads = uint8(threads)
		default:
			return nil, bad(offKDF, "unknown KDF %d", h.KDF)
		}
	} else if !allZero(b[offKDF:offDataLen]) {
		return nil, bad(offKDF, "key fields set in an unencrypted image")
	}
	h.Release = string(b[strOff : strOff+rl])
	h.Identity = string(b[strOff+rl : strOff+rl+il])
	return h, nil
}

// chunkHeader is the 64-byte header in front of each chunk's stored bytes.
type chunkHeader struct {
	index     uint64
	rawLen    uint32
	storedLen uint32
	encoding  uint32
	digest    [32]byte // SHA-256 of the stored bytes
}

func (c *chunkHeader) encode(b []byte) {
	clear(b[:chunkHeaderSize])
	copy(b, chunkMagic[:])
	le.PutUint64(b[8:], c.index)
	le.PutUint32(b[16:], c.rawLen)
	le.PutUint32(b[20:], c.storedLen)
	le.PutUint32(b[24:], c.encoding)
	copy(b[32:], c.digest[:])
}

func decodeChunkHeader(b []byte) (chunkHeader, bool) {
	var c chunkHeader
	if !bytes.Equal(b[:4], chunkMagic[:]) || le.Uint32(b[4:]) != 0 || le.Uint32(b[28:]) != 0 {
		return c, false
	}
	c.index = le.Uint64(b[8:])
	c.rawLen = le.Uint32(b[16:])
	c.storedLen = le.Uint32(b[20:])
	c.encoding = le.Uint32(b[24:])
	copy(c.digest[:], b[32:])
	return c, true
}

// Commit record byte offsets.
const (
	cOffUUID    = 8
	cOffVersion = 24
	cOffLength  = 32
	cOffDigest  = 40
	cOffMAC     = 72
	cOffEnd     = 104
)

func encodeCommit(h *Header, digest, mac [32]byte) []byte {
	b := make([]byte, BlockSize)
	copy(b, commitMagic[:])
	copy(b[cOffUUID:], h.UUID[:])
	le.PutUint32(b[cOffVersion:], Version)
	le.PutUint64(b[cOffLength:], h.Length)
	copy(b[cOffDigest:], digest[:])
	copy(b[cOffMAC:], mac[:])
	sum := sha256.Sum256(b[8:hashOff])
	copy(b[hashOff:], sum[:])
	return b
}
