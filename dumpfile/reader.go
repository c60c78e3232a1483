package dumpfile

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"time"

	"github.com/kjump/kjump/pageset"
)

// maxHeaderVersion bounds the header versions Open accepts: later versions
// may only add fields (as 1 through 6 did), but a huge number is a
// byte-swapped or corrupt header.
const maxHeaderVersion = 255

// maxMetaSize bounds the ELF notes and VMCOREINFO Open reads into memory.
const maxMetaSize = 64 << 20

// Layout is where the parts of a dump file are. Offsets are in bytes from
// the start of the file.
type Layout struct {
	BlockSize       int
	SubHeaderBlocks int // sub_hdr_size
	BitmapBlocks    int // bitmap_blocks: both bitmaps together
	Bitmap1Offset   int64
	Bitmap2Offset   int64
	DescOffset      int64  // the page descriptor table
	Pages           uint64 // page descriptors in the table
	DataOffset      int64  // the end of the descriptor table

	NoteOffset, NoteSize             int64
	VMCOREINFOOffset, VMCOREINFOSize int64
	EraseInfoOffset, EraseInfoSize   int64

	// Split is set in one file of a set written by makedumpfile --split;
	// such a file holds the pages of page frames [StartPFN, EndPFN) only.
	// Otherwise StartPFN is 0 and EndPFN is Header.MaxPFN.
	Split            bool
	StartPFN, EndPFN uint64
}

// File is an open kdump-compressed dump file. Its methods may be called
// from several goroutines at once if the io.ReaderAt allows it (an
// *os.File does).
type File struct {
	Header  Header
	Version int    // header_version
	Status  uint32 // status: Flag* bits
	Layout  Layout
	Present *pageset.Set // 1st bitmap: page frames that exist
	Dumped  *pageset.Set // 2nd bitmap: page frames whose contents are saved

	r     io.ReaderAt
	size  int64
	ranks *pageset.Rank
	first uint64 // Dumped page frames below StartPFN
}

// readAt reads exactly n bytes at off, reporting a short file as
// ErrTruncated.
func readAt(r io.ReaderAt, size, off int64, n int, field string) ([]byte, error) {
	if off < 0 || int64(n) > size || off > size-int64(n) {
		return nil, formatErr(ErrTruncated, field, off, "%d bytes past the end of a %d-byte file", off+int64(n)-size, size)
	}
	b := make([]byte, n)
	if err := readFull(r, b, off, field); err != nil {
		return nil, err
	}
	return b, nil
}

func readFull(r io.ReaderAt, b []byte, off int64, field string) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErr(ErrTruncated, field, off, "read %d of %d bytes", n, len(b))
	}
	return fmt.Errorf("dumpfile: reading %s at %#x: %w", field, off, err)
}

// Open reads the header, sub header, notes, VMCOREINFO and bitmaps of the
// dump file in r, which is size bytes long. Pages are read on demand by
// ReadPage. Only little-endian 64-bit dumps are understood.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < int64(len(Signature)) {
		return nil, formatErr(ErrTruncated, "signature", 0, "file of %d bytes", size)
	}
	sig := make([]byte, min(size, 12))
	if err := readFull(r, sig, 0, "signature"); err != nil {
		return nil, err
	}
	switch {
	case string(sig) == "makedumpfile":
		return nil, formatErr(ErrFlattened, "signature", 0, "")
	case string(sig[:8]) == "DISKDUMP":
		return nil, formatErr(ErrUnsupported, "signature", 0, "the old diskdump format")
	case string(sig[:8]) != Signature:
		return nil, formatErr(ErrNotKdump, "signature", 0, "%q", sig[:8])
	}
	hb, err := readAt(r, size, 0, headerSize, "disk_dump_header")
	if err != nil {
		return nil, err
	}
	rh := parseHeader(hb)
	if rh.version < 1 || rh.version > maxHeaderVersion {
		detail := fmt.Sprintf("%d", rh.version)
		if swapped := bits.ReverseBytes32(uint32(rh.version)); swapped >= 1 && swapped <= maxHeaderVersion {
			detail = fmt.Sprintf("%#x, a big-endian dump", uint32(rh.version))
		}
		return nil, formatErr(ErrUnsupported, "header_version", offHeaderVersion, "%s", detail)
	}
	bs := int64(rh.blockSize)
	if bs <= 0 || bs&(bs-1) != 0 {
		return nil, formatErr(ErrCorrupt, "block_size", offBlockSize, "%d is not a power of two", rh.blockSize)
	}
	if !validBlockSize(bs) {
		return nil, formatErr(ErrUnsupported, "block_size", offBlockSize, "%d", bs)
	}
	if rh.subHdrSize < 1 {
		return nil, formatErr(ErrCorrupt, "sub_hdr_size", offSubHdrSize, "%d blocks", rh.subHdrSize)
	}
	sb, err := readAt(r, size, bs, subHeaderSize, "kdump_sub_header")
	if err != nil {
		return nil, err
	}
	sh := parseSubHeader(sb)
	v := rh.version

	f := &File{
		Version: int(v),
		Status:  rh.status,
		r:       r,
		size:    size,
	}
	f.Header = Header{
		Utsname: Utsname{
			Sysname: rh.uts[0], Nodename: rh.uts[1], Release: rh.uts[2],
			Version: rh.uts[3], Machine: rh.uts[4], Domainname: rh.uts[5],
		},
		NrCPUs:      int(rh.nrCPUs),
		PhysBase:    sh.physBase,
		DumpLevel:   int(sh.dumpLevel),
		MaxPFN:      uint64(rh.maxMapnr),
		BlockSize:   int(bs),
		Compression: compressionOf(rh.status),
	}
	if rh.sec != 0 || rh.usec != 0 {
		f.Header.Timestamp = time.Unix(rh.sec, 0).Add(time.Duration(rh.usec) * time.Microsecond)
	}
	l := &f.Layout
	l.BlockSize = int(bs)
	l.SubHeaderBlocks = int(rh.subHdrSize)
	l.BitmapBlocks = int(rh.bitmapBlocks)
	if v >= 6 {
		f.Header.MaxPFN = sh.maxMapnr64
	}
	maxPFN := f.Header.MaxPFN

	// The bitmaps: two halves of bitmap_blocks, each covering max_mapnr.
	if rh.bitmapBlocks%2 != 0 {
		return nil, formatErr(ErrCorrupt, "bitmap_blocks", offBitmapBlocks, "%d is odd", rh.bitmapBlocks)
	}
	halfBytes := uint64(rh.bitmapBlocks/2) * uint64(bs)
	if need := bitmapBlocksFor(maxPFN, int(bs)); need > uint64(rh.bitmapBlocks/2) {
		return nil, formatErr(ErrCorrupt, "bitmap_blocks", offBitmapBlocks,
			"%d blocks cannot hold two bitmaps of max_mapnr %#x page frames (%d blocks each)", rh.bitmapBlocks, maxPFN, need)
	}
	l.Bitmap1Offset = (1 + int64(rh.subHdrSize)) * bs
	l.Bitmap2Offset = l.Bitmap1Offset + int64(halfBytes)
	l.DescOffset = l.Bitmap2Offset + int64(halfBytes)
	if l.DescOffset > size {
		return nil, formatErr(ErrTruncated, "bitmap", l.Bitmap1Offset,
			"sub header and bitmaps end at %#x, past the end of a %d-byte file", l.DescOffset, size)
	}
	if f.Present, err = readBitmap(r, size, l.Bitmap1Offset, maxPFN, "1st bitmap"); err != nil {
		return nil, err
	}
	if f.Dumped, err = readBitmap(r, size, l.Bitmap2Offset, maxPFN, "2nd bitmap"); err != nil {
		return nil, err
	}

	// Split dumps hold the pages of one range of page frames.
	l.EndPFN = maxPFN
	if v >= 2 && sh.split != 0 {
		l.Split = true
		l.StartPFN, l.EndPFN = sh.startPFN, sh.endPFN
		if v >= 6 {
			l.StartPFN, l.EndPFN = sh.startPFN64, sh.endPFN64
		}
		if l.StartPFN > l.EndPFN || l.EndPFN > maxPFN {
			return nil, formatErr(ErrCorrupt, "start_pfn_64", bs+subStartPFN64,
				"split range [%#x, %#x) outside max_mapnr %#x", l.StartPFN, l.EndPFN, maxPFN)
		}
	}
	f.ranks = pageset.NewRank(f.Dumped)
	f.first = f.ranks.Below(l.StartPFN)
	l.Pages = f.ranks.Below(l.EndPFN) - f.first
	l.DataOffset = l.DescOffset + int64(l.Pages)*pageDescSize
	if l.DataOffset > size && rh.status&FlagIncomplete == 0 {
		return nil, formatErr(ErrTruncated, "page_desc", l.DescOffset,
			"%d page descriptors end at %#x, past the end of a %d-byte file", l.Pages, l.DataOffset, size)
	}

	// Notes, VMCOREINFO, erase info.
	if v >= 4 && sh.offsetNote != 0 && sh.sizeNote != 0 {
		l.NoteOffset, l.NoteSize, err = metaRange(sh.offsetNote, sh.sizeNote, size, "offset_note", bs+subOffsetNote)
		if err != nil {
			return nil, err
		}
		if f.Header.Notes, err = readAt(r, size, l.NoteOffset, int(l.NoteSize), "ELF notes"); err != nil {
			return nil, err
		}
	}
	if v >= 3 && sh.offsetVMCOREINFO != 0 && sh.sizeVMCOREINFO != 0 {
		l.VMCOREINFOOffset, l.VMCOREINFOSize, err = metaRange(sh.offsetVMCOREINFO, sh.sizeVMCOREINFO, size, "offset_vmcoreinfo", bs+subOffsetVMCOREINFO)
		if err != nil {
			return nil, err
		}
		if f.Header.VMCOREINFO, err = readAt(r, size, l.VMCOREINFOOffset, int(l.VMCOREINFOSize), "VMCOREINFO"); err != nil {
			return nil, err
		}
	}
	if v >= 5 && sh.offsetEraseinfo != 0 && sh.sizeEraseinfo != 0 {
		l.EraseInfoOffset, l.EraseInfoSize, err = metaRange(sh.offsetEraseinfo, sh.sizeEraseinfo, size, "offset_eraseinfo", bs+subOffsetEraseinfo)
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

// metaRange checks an (offset, size) pair of the sub header.
func metaRange(off int64, n uint64, size int64, field string, fieldOff int64) (int64, int64, error) {
	if off < 0 || n > maxMetaSize {
		return 0, 0, formatErr(ErrCorrupt, field, fieldOff, "offset %#x size %#x", off, n)
	}
	if off > size || int64(n) > size-off {
		return 0, 0, formatErr(ErrTruncated, field, fieldOff, "offset %#x size %#x past the end of a %d-byte file", off, n, size)
	}
	return off, int64(n), nil
}

// readBitmap reads a bitmap of n page frames at off.
func readBitmap(r io.ReaderAt, size, off int64, n uint64, field string) (*pageset.Set, error) {
	b := pageset.New(n)
	total := int64((n + 7) / 8)
	const chunk = 1 << 20
	buf := make([]byte, min(total, chunk))
	for done := int64(0); done < total; {
		c := buf[:min(total-done, chunk)]
		if err := readFull(r, c, off+done, field); err != nil {
			return nil, err
		}
		b.FillBytes(c, uint64(done))
		done += int64(len(c))
	}
	return b, nil
}

// EraseInfo returns the erase information makedumpfile --config records
// (which symbols it overwrote), or nil if there is none.
func (f *File) EraseInfo() ([]byte, error) {
	if f.Layout.EraseInfoSize == 0 {
		return nil, nil
	}
	return readAt(f.r, f.size, f.Layout.EraseInfoOffset, int(f.Layout.EraseInfoSize), "erase info")
}

// Has reports whether the contents of page frame pfn are in the file.
func (f *File) Has(pfn uint64) bool {
	return pfn >= f.Layout.StartPFN && pfn < f.Layout.EndPFN && f.Dumped.Test(pfn)
}

// PageDesc returns the page descriptor of page frame pfn. All-zero pages
// share one descriptor.
func (f *File) PageDesc(pfn uint64) (PageDesc, error) {
	if !f.Has(pfn) {
		return PageDesc{}, &PageError{PFN: pfn, Err: ErrNotDumped}
	}
	i := f.ranks.Below(pfn) - f.first
	return f.pageDescAt(i)
}

func (f *File) pageDescAt(i uint64) (PageDesc, error) {
	off := f.Layout.DescOffset + int64(i)*pageDescSize
	var b [pageDescSize]byte
	if off > f.size-pageDescSize {
		return PageDesc{}, formatErr(ErrTruncated, "page_desc", off, "descriptor %d past the end of a %d-byte file", i, f.size)
	}
	if err := readFull(f.r, b[:], off, "page_desc"); err != nil {
		return PageDesc{}, err
	}
	return parsePageDesc(b[:]), nil
}

// ReadPage fills buf, which must be one block long, with the contents of
// page frame pfn. A page frame that is not in the dump gives ErrNotDumped.
// Errors come back as a *PageError.
func (f *File) ReadPage(pfn uint64, buf []byte) error {
	if len(buf) != f.Layout.BlockSize {
		return &PageError{PFN: pfn, Err: fmt.Errorf("buffer of %d bytes, want %d: %w", len(buf), f.Layout.BlockSize, ErrInvalid)}
	}
	d, err := f.PageDesc(pfn)
	if err != nil {
		if _, ok := err.(*PageError); ok {
			return err
		}
		return &PageError{PFN: pfn, Err: err}
	}
	if err := f.readPageData(d, buf); err != nil {
		return &PageError{PFN: pfn, Err: err}
	}
	return nil
}

// readPageData reads and decodes the page d describes into buf.
func (f *File) readPageData(d PageDesc, buf []byte) error {
	bs := f.Layout.BlockSize
	if d.Offset <= 0 {
		if f.Status&FlagIncomplete != 0 {
			return formatErr(ErrTruncated, "page_desc.offset", -1, "page never written to an incomplete dump")
		}
		return formatErr(ErrCorrupt, "page_desc.offset", -1, "%d", d.Offset)
	}
	if d.Size == 0 || int64(d.Size) > int64(bs) {
		return formatErr(ErrCorrupt, "page_desc.size", -1, "%d for a block of %d", d.Size, bs)
	}
	if d.Offset > math.MaxInt64-int64(d.Size) || d.Offset+int64(d.Size) > f.size {
		return formatErr(ErrTruncated, "page data", d.Offset, "%d bytes past the end of a %d-byte file", d.Size, f.size)
	}
	src := buf
	if d.Flags != 0 {
		src = make([]byte, d.Size)
	}
	src = src[:d.Size]
	if err := readFull(f.r, src, d.Offset, "page data"); err != nil {
		return err
	}
	if d.Flags == 0 {
		if int(d.Size) != bs {
			return formatErr(ErrCorrupt, "page_desc.size", -1, "uncompressed page of %d bytes, want %d", d.Size, bs)
		}
		return nil
	}
	if err := decompress(buf, src, d.Flags); err != nil {
		return fmt.Errorf("dumpfile: page data at %#x: %w", d.Offset, err)
	}
	return nil
}

// ReadPhys reads the dumped memory at physical address phys into p, a page
// at a time, so that a File serves as the memory of the kernel it holds
// (pageclass.Memory). A page not in the dump is ErrNotDumped.
func (f *File) ReadPhys(p []byte, phys uint64) (int, error) {
	bs := uint64(f.Header.BlockSize)
	buf := make([]byte, bs)
	n := 0
	for n < len(p) {
		a := phys + uint64(n)
		if err := f.ReadPage(a/bs, buf); err != nil {
			return n, err
		}
		n += copy(p[n:], buf[a%bs:])
	}
	return n, nil
}
