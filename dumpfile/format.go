package dumpfile

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
)

// Signature is the 8-byte magic at offset 0 of a kdump-compressed file.
const Signature = "KDUMP   "

// HeaderVersion is the header_version this package writes. Open accepts 1
// through 255; fields a version after 6 might add are ignored.
const HeaderVersion = 6

// PageSize is the block size Write uses when Header.BlockSize is 0: the
// x86-64 page size. Every block of the file is one page long.
const PageSize = 4096

// Block sizes the reader and writer accept: powers of two in this range.
const (
	MinBlockSize = 1024
	MaxBlockSize = 256 << 10
)

// Status and page descriptor flag bits (disk_dump_header.status and
// page_desc.flags). The compression bits mean the same in both fields.
const (
	FlagZlib            = 0x01 // DUMP_DH_COMPRESSED_ZLIB: zlib stream (RFC 1950)
	FlagLZO             = 0x02 // DUMP_DH_COMPRESSED_LZO: LZO1X
	FlagSnappy          = 0x04 // DUMP_DH_COMPRESSED_SNAPPY: raw Snappy block
	FlagIncomplete      = 0x08 // DUMP_DH_COMPRESSED_INCOMPLETE: writer ran out of space (status only)
	FlagExcludedVmemmap = 0x10 // DUMP_DH_EXCLUDED_VMEMMAP: unused vmemmap pages excluded (status only)
	FlagZstd            = 0x20 // DUMP_DH_COMPRESSED_ZSTD: zstd frame
)

const compressionFlags = FlagZlib | FlagLZO | FlagSnappy | FlagZstd

// DumpLevelExcludeZero is bit 1 of makedumpfile's dump level: pages filled
// with zeros are stored as references to one shared zero page. Write always
// does this and sets the bit in the header it writes.
const DumpLevelExcludeZero = 1

// Layout of struct disk_dump_header on 64-bit little-endian machines
// (diskdump_mod.h). Offsets are from the start of the file.
const (
	offSignature      = 0   // char signature[8]
	offHeaderVersion  = 8   // int header_version
	offUtsname        = 12  // struct new_utsname: 6 × char[65]
	utsFieldLen       = 65  // __NEW_UTS_LEN + 1
	offTimestamp      = 408 // struct timeval {tv_sec, tv_usec}, 8-aligned after 12+390
	offStatus         = 424 // unsigned int status
	offBlockSize      = 428 // int block_size
	offSubHdrSize     = 432 // int sub_hdr_size, in blocks
	offBitmapBlocks   = 436 // unsigned int bitmap_blocks, both bitmaps together
	offMaxMapnr       = 440 // unsigned int max_mapnr, truncated to 32 bits
	offTotalRAMBlocks = 444 // unsigned int total_ram_blocks (unused by makedumpfile)
	offDeviceBlocks   = 448 // unsigned int device_blocks (unused)
	offWrittenBlocks  = 452 // unsigned int written_blocks (unused)
	offCurrentCPU     = 456 // unsigned int current_cpu (unused)
	offNrCPUs         = 460 // int nr_cpus
	headerSize        = 464 // sizeof(struct disk_dump_header); tasks[0] starts here
)

// Layout of struct kdump_sub_header, which starts at offset block_size.
// Offsets are from the start of the sub header.
const (
	subPhysBase         = 0  // unsigned long phys_base
	subDumpLevel        = 8  // int dump_level (v1+)
	subSplit            = 12 // int split (v2+)
	subStartPFN         = 16 // unsigned long start_pfn (v2+, obsolete)
	subEndPFN           = 24 // unsigned long end_pfn (v2+, obsolete)
	subOffsetVMCOREINFO = 32 // off_t offset_vmcoreinfo (v3+)
	subSizeVMCOREINFO   = 40 // unsigned long size_vmcoreinfo (v3+)
	subOffsetNote       = 48 // off_t offset_note (v4+)
	subSizeNote         = 56 // unsigned long size_note (v4+)
	subOffsetEraseinfo  = 64 // off_t offset_eraseinfo (v5+)
	subSizeEraseinfo    = 72 // unsigned long size_eraseinfo (v5+)
	subStartPFN64       = 80 // unsigned long long start_pfn_64 (v6+)
	subEndPFN64         = 88 // unsigned long long end_pfn_64 (v6+)
	subMaxMapnr64       = 96 // unsigned long long max_mapnr_64 (v6+)
	subHeaderSize       = 104
)

// pageDescSize is sizeof(page_desc_t): off_t offset, unsigned int size,
// unsigned int flags, unsigned long long page_flags.
const pageDescSize = 24

// Compression names the per-page compression of a dump file.
type Compression int

// Compressions. Write supports all but LZO; the reader supports all.
const (
	None Compression = iota
	Zlib
	LZO
	Snappy
	Zstd
)

var compressionNames = [...]string{None: "none", Zlib: "zlib", LZO: "lzo", Snappy: "snappy", Zstd: "zstd"}

func (c Compression) String() string {
	if c >= 0 && int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// flag is the status and page descriptor bit for c.
func (c Compression) flag() uint32 {
	switch c {
	case Zlib:
		return FlagZlib
	case LZO:
		return FlagLZO
	case Snappy:
		return FlagSnappy
	case Zstd:
		return FlagZstd
	}
	return 0
}

// compressionOf maps status bits to a Compression, in makedumpfile's order
// of precedence.
func compressionOf(status uint32) Compression {
	switch {
	case status&FlagZlib != 0:
		return Zlib
	case status&FlagLZO != 0:
		return LZO
	case status&FlagSnappy != 0:
		return Snappy
	case status&FlagZstd != 0:
		return Zstd
	}
	return None
}

// Utsname is struct new_utsname, the uname(2) strings of the dumped system.
// Each is at most 64 bytes.
type Utsname struct {
	Sysname    string
	Nodename   string
	Release    string
	Version    string
	Machine    string
	Domainname string
}

func (u *Utsname) fields() [6]*string {
	return [6]*string{&u.Sysname, &u.Nodename, &u.Release, &u.Version, &u.Machine, &u.Domainname}
}

// Header is what a dump file says about the dumped system.
type Header struct {
	Utsname   Utsname
	Timestamp time.Time // microsecond precision; the zero Time is stored as 0
	NrCPUs    int
	PhysBase  uint64 // kdump_sub_header.phys_base
	DumpLevel int    // makedumpfile's dump level (-d); Write ORs in DumpLevelExcludeZero

	// MaxPFN is max_mapnr: the bitmaps cover page frames [0, MaxPFN).
	// Write uses the longer bitmap's Len when it is 0.
	MaxPFN uint64

	// BlockSize is the page and block size; Write uses PageSize when 0.
	BlockSize int

	// Compression names the compression of the pages (the status bits).
	Compression Compression

	// VMCOREINFO is the kernel's VMCOREINFO text ("OSRELEASE=...\n...").
	VMCOREINFO []byte

	// Notes are ELF notes (Elf64_Nhdr records), normally the PT_NOTE
	// contents of /proc/vmcore: NT_PRSTATUS per CPU and VMCOREINFO. Write
	// appends a VMCOREINFO note holding VMCOREINFO unless Notes already
	// has one, so Notes read back may be longer than Notes written.
	Notes []byte
}

// putHeader encodes the fixed part of struct disk_dump_header into b.
func putHeader(b []byte, h *rawHeader) {
	le := binary.LittleEndian
	copy(b[offSignature:], Signature)
	le.PutUint32(b[offHeaderVersion:], uint32(h.version))
	for i, s := range h.uts {
		copy(b[offUtsname+i*utsFieldLen:offUtsname+(i+1)*utsFieldLen-1], s)
	}
	le.PutUint64(b[offTimestamp:], uint64(h.sec))
	le.PutUint64(b[offTimestamp+8:], uint64(h.usec))
	le.PutUint32(b[offStatus:], h.status)
	le.PutUint32(b[offBlockSize:], uint32(h.blockSize))
	le.PutUint32(b[offSubHdrSize:], uint32(h.subHdrSize))
	le.PutUint32(b[offBitmapBlocks:], h.bitmapBlocks)
	le.PutUint32(b[offMaxMapnr:], h.maxMapnr)
	le.PutUint32(b[offNrCPUs:], uint32(h.nrCPUs))
}

// rawHeader is struct disk_dump_header as stored, less the unused fields.
type rawHeader struct {
	version      int32
	uts          [6]string
	sec, usec    int64
	status       uint32
	blockSize    int32
	subHdrSize   int32
	bitmapBlocks uint32
	maxMapnr     uint32
	nrCPUs       int32
}

func parseHeader(b []byte) rawHeader {
	le := binary.LittleEndian
	var h rawHeader
	h.version = int32(le.Uint32(b[offHeaderVersion:]))
	for i := range h.uts {
		f := b[offUtsname+i*utsFieldLen : offUtsname+(i+1)*utsFieldLen]
		if n := strings.IndexByte(string(f), 0); n >= 0 {
			f = f[:n]
		}
		h.uts[i] = string(f)
	}
	h.sec = int64(le.Uint64(b[offTimestamp:]))
	h.usec = int64(le.Uint64(b[offTimestamp+8:]))
	h.status = le.Uint32(b[offStatus:])
	h.blockSize = int32(le.Uint32(b[offBlockSize:]))
	h.subHdrSize = int32(le.Uint32(b[offSubHdrSize:]))
	h.bitmapBlocks = le.Uint32(b[offBitmapBlocks:])
	h.maxMapnr = le.Uint32(b[offMaxMapnr:])
	h.nrCPUs = int32(le.Uint32(b[offNrCPUs:]))
	return h
}

// rawSubHeader is struct kdump_sub_header as stored.
type rawSubHeader struct {
	physBase         uint64
	dumpLevel        int32
	split            int32
	startPFN, endPFN uint64
	offsetVMCOREINFO int64
	sizeVMCOREINFO   uint64
	offsetNote       int64
	sizeNote         uint64
	offsetEraseinfo  int64
	sizeEraseinfo    uint64
	startPFN64       uint64
	endPFN64         uint64
	maxMapnr64       uint64
}

func putSubHeader(b []byte, s *rawSubHeader) {
	le := binary.LittleEndian
	le.PutUint64(b[subPhysBase:], s.physBase)
	le.PutUint32(b[subDumpLevel:], uint32(s.dumpLevel))
	le.PutUint32(b[subSplit:], uint32(s.split))
	le.PutUint64(b[subStartPFN:], s.startPFN)
	le.PutUint64(b[subEndPFN:], s.endPFN)
	le.PutUint64(b[subOffsetVMCOREINFO:], uint64(s.offsetVMCOREINFO))
	le.PutUint64(b[subSizeVMCOREINFO:], s.sizeVMCOREINFO)
	le.PutUint64(b[subOffsetNote:], uint64(s.offsetNote))
	le.PutUint64(b[subSizeNote:], s.sizeNote)
	le.PutUint64(b[subOffsetEraseinfo:], uint64(s.offsetEraseinfo))
	le.PutUint64(b[subSizeEraseinfo:], s.sizeEraseinfo)
	le.PutUint64(b[subStartPFN64:], s.startPFN64)
	le.PutUint64(b[subEndPFN64:], s.endPFN64)
	le.PutUint64(b[subMaxMapnr64:], s.maxMapnr64)
}

func parseSubHeader(b []byte) rawSubHeader {
	le := binary.LittleEndian
	return rawSubHeader{
		physBase:         le.Uint64(b[subPhysBase:]),
		dumpLevel:        int32(le.Uint32(b[subDumpLevel:])),
		split:            int32(le.Uint32(b[subSplit:])),
		startPFN:         le.Uint64(b[subStartPFN:]),
		endPFN:           le.Uint64(b[subEndPFN:]),
		offsetVMCOREINFO: int64(le.Uint64(b[subOffsetVMCOREINFO:])),
		sizeVMCOREINFO:   le.Uint64(b[subSizeVMCOREINFO:]),
		offsetNote:       int64(le.Uint64(b[subOffsetNote:])),
		sizeNote:         le.Uint64(b[subSizeNote:]),
		offsetEraseinfo:  int64(le.Uint64(b[subOffsetEraseinfo:])),
		sizeEraseinfo:    le.Uint64(b[subSizeEraseinfo:]),
		startPFN64:       le.Uint64(b[subStartPFN64:]),
		endPFN64:         le.Uint64(b[subEndPFN64:]),
		maxMapnr64:       le.Uint64(b[subMaxMapnr64:]),
	}
}

// PageDesc is one page_desc_t: where a dumped page's bytes are and how they
// are encoded. All-zero pages share one descriptor value.
type PageDesc struct {
	Offset    int64  // file offset of the stored bytes
	Size      uint32 // stored length; the block size when not compressed
	Flags     uint32 // FlagZlib, FlagLZO, FlagSnappy, FlagZstd, or 0 for raw
	PageFlags uint64 // unused by makedumpfile (always 0)
}

func putPageDesc(b []byte, d PageDesc) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(d.Offset))
	le.PutUint32(b[8:], d.Size)
	le.PutUint32(b[12:], d.Flags)
	le.PutUint64(b[16:], d.PageFlags)
}

func parsePageDesc(b []byte) PageDesc {
	le := binary.LittleEndian
	return PageDesc{
		Offset:    int64(le.Uint64(b[0:])),
		Size:      le.Uint32(b[8:]),
		Flags:     le.Uint32(b[12:]),
		PageFlags: le.Uint64(b[16:]),
	}
}

// bitmapBlocksFor is the number of blocks one bitmap over maxPFN page
// frames takes: makedumpfile rounds each bitmap up to whole blocks.
func bitmapBlocksFor(maxPFN uint64, blockSize int) uint64 {
	bytes := maxPFN/8 + boolToUint(maxPFN%8 != 0)
	return bytes/uint64(blockSize) + boolToUint(bytes%uint64(blockSize) != 0)
}

func boolToUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func truncate32(v uint64) uint32 {
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

func validBlockSize(bs int64) bool {
	return bs >= MinBlockSize && bs <= MaxBlockSize && bs&(bs-1) == 0
}
