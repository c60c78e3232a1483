package dumpfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/kjump/kjump/pageset"
)

// PageSource supplies the contents of page frames to Write.
type PageSource interface {
	// ReadPage fills buf, which is one block long, with the contents of
	// page frame pfn. When Options.Threads is not 1 it is called from
	// several goroutines at once, each with its own buf.
	ReadPage(pfn uint64, buf []byte) error
}

// PageReleaser may be implemented by a PageSource that holds memory for the
// pages it reads (a mapped file). Write calls ReleasePages(first, last)
// after it has read page frames first to last (all it reads of that span)
// and reads none of them again, so such a source can let the memory go and
// a dump's memory use does not grow with the dumped machine's.
type PageReleaser interface {
	ReleasePages(first, last uint64)
}

// PageMapper may be implemented by a PageSource that holds its pages in
// memory (a mapped file): PageBytes returns page frame pfn's block, which
// Write reads in place instead of copying it, or nil to have Write call
// ReadPage. The bytes must stay valid until ReleasePages covers them.
type PageMapper interface {
	PageBytes(pfn uint64) []byte
}

// Options tune Write. The zero value is ready to use.
type Options struct {
	// Threads is the number of goroutines that read and compress pages;
	// 0 means runtime.NumCPU(). The output does not depend on it.
	Threads int

	// Progress, if not nil, is called from Write's goroutine with the
	// number of pages written so far and the total, after each batch of
	// pages; the last call has done == total (a dump of no pages gets one
	// call, with 0, 0).
	Progress func(done, total uint64)
}

// Stats describe a written dump file.
type Stats struct {
	Pages     uint64 // page descriptors written: the page frames in dumped
	ZeroPages uint64 // pages that were all zero, stored as the shared zero page
	RawPages  uint64 // other pages stored uncompressed, because compressing did not make them smaller
	BytesIn   uint64 // Pages × block size
	BytesOut  uint64 // page data written, including the one shared zero page
	Size      int64  // the file's total size
}

// batchPages is how many page frames one goroutine reads and compresses at
// a time.
const batchPages = 128

// Write writes a kdump-compressed dump file to w, which should be empty:
// header h, bitmap present (page frames that exist), bitmap dumped (page
// frames whose contents are saved; it must be a subset of present) and,
// for every page frame in dumped, in order, its contents as read from src.
//
// All-zero pages are stored once, as makedumpfile does at dump level bit 1.
// A page whose compressed form is not smaller than a block is stored raw.
// w must be an io.WriterAt because the page descriptor table, which
// records where each compressed page lands, comes before the pages.
//
// Errors from src come back as a *PageError naming the page frame.
func Write(w io.WriterAt, h Header, present, dumped *pageset.Set, src PageSource, opt Options) (Stats, error) {
	p, err := plan(&h, present, dumped)
	if err != nil {
		return Stats{}, err
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	comps := make([]compressor, threads)
	for i := range comps {
		if comps[i], err = newCompressor(h.Compression, p.blockSize); err != nil {
			return Stats{}, err
		}
	}
	if _, err := w.WriteAt(p.prefix, 0); err != nil {
		return Stats{}, fmt.Errorf("dumpfile: writing header: %w", err)
	}
	if err := writeBitmap(w, present, p.layout.Bitmap1Offset, p.layout.BitmapBlocks/2*p.blockSize); err != nil {
		return Stats{}, fmt.Errorf("dumpfile: writing 1st bitmap: %w", err)
	}
	if err := writeBitmap(w, dumped, p.layout.Bitmap2Offset, p.layout.BitmapBlocks/2*p.blockSize); err != nil {
		return Stats{}, fmt.Errorf("dumpfile: writing 2nd bitmap: %w", err)
	}
	pw := &pageWriter{
		w:         w,
		src:       src,
		blockSize: p.blockSize,
		dumped:    dumped,
		maxPFN:    p.maxPFN,
		descOff:   p.layout.DescOffset,
		total:     p.layout.Pages,
		progress:  opt.Progress,
		zero:      make([]byte, p.blockSize),
	}
	return pw.run(comps, p.layout.DataOffset)
}

// writePlan is the layout of a file to write and its first blocks.
type writePlan struct {
	layout    Layout
	blockSize int
	maxPFN    uint64
	prefix    []byte // header block, sub header blocks
}

// plan checks h and the bitmaps and lays the file out.
func plan(h *Header, present, dumped *pageset.Set) (*writePlan, error) {
	if present == nil || dumped == nil {
		return nil, invalid("nil bitmap")
	}
	bs := h.BlockSize
	if bs == 0 {
		bs = PageSize
	}
	if !validBlockSize(int64(bs)) {
		return nil, invalid("Header.BlockSize %d: want a power of two in [%d, %d]", bs, MinBlockSize, MaxBlockSize)
	}
	if h.NrCPUs < 1 || h.NrCPUs > math.MaxInt32 {
		return nil, invalid("Header.NrCPUs %d", h.NrCPUs)
	}
	if h.DumpLevel < 0 || h.DumpLevel > math.MaxInt32 {
		return nil, invalid("Header.DumpLevel %d", h.DumpLevel)
	}
	if h.Compression < None || h.Compression > Zstd {
		return nil, invalid("Header.Compression %v", h.Compression)
	}
	var uts [6]string
	for i, f := range h.Utsname.fields() {
		if len(*f) >= utsFieldLen || strings.IndexByte(*f, 0) >= 0 {
			return nil, invalid("Header.Utsname field %d %q: want at most %d bytes and no NUL", i, *f, utsFieldLen-1)
		}
		uts[i] = *f
	}
	maxPFN := h.MaxPFN
	if maxPFN == 0 {
		maxPFN = max(present.Len(), dumped.Len())
	}
	if pfn, ok := present.Next(maxPFN); ok {
		return nil, invalid("present has page frame %#x, at or past MaxPFN %#x", pfn, maxPFN)
	}
	if pfn, ok := dumped.Next(maxPFN); ok {
		return nil, invalid("dumped has page frame %#x, at or past MaxPFN %#x", pfn, maxPFN)
	}
	if pfn, ok := dumped.FirstNotIn(present); ok {
		return nil, invalid("page frame %#x is in dumped but not in present", pfn)
	}
	notes, vmOff, vmSize, err := notesWithVMCOREINFO(h.Notes, h.VMCOREINFO)
	if err != nil {
		return nil, err
	}

	ubs := uint64(bs)
	subBlocks := (subHeaderSize + uint64(len(notes)) + ubs - 1) / ubs
	half := bitmapBlocksFor(maxPFN, bs)
	if subBlocks > math.MaxInt32 || 2*half > math.MaxUint32 {
		return nil, invalid("MaxPFN %#x or notes of %d bytes too large for the format", maxPFN, len(notes))
	}
	pages := dumped.Count()
	l := Layout{
		BlockSize:       bs,
		SubHeaderBlocks: int(subBlocks),
		BitmapBlocks:    int(2 * half),
		Bitmap1Offset:   int64((1 + subBlocks) * ubs),
		Bitmap2Offset:   int64((1 + subBlocks + half) * ubs),
		DescOffset:      int64((1 + subBlocks + 2*half) * ubs),
		Pages:           pages,
		EndPFN:          maxPFN,
	}
	l.DataOffset = l.DescOffset + int64(pages)*pageDescSize
	if len(notes) > 0 {
		l.NoteOffset = int64(bs) + subHeaderSize
		l.NoteSize = int64(len(notes))
	}
	if vmSize > 0 {
		l.VMCOREINFOOffset = l.NoteOffset + int64(vmOff)
		l.VMCOREINFOSize = int64(vmSize)
	}

	rh := rawHeader{
		version:      HeaderVersion,
		uts:          uts,
		status:       h.Compression.flag(),
		blockSize:    int32(bs),
		subHdrSize:   int32(subBlocks),
		bitmapBlocks: uint32(2 * half),
		maxMapnr:     truncate32(maxPFN),
		nrCPUs:       int32(h.NrCPUs),
	}
	if !h.Timestamp.IsZero() {
		rh.sec = h.Timestamp.Unix()
		rh.usec = int64(h.Timestamp.Nanosecond() / 1000)
	}
	sh := rawSubHeader{
		physBase:         h.PhysBase,
		dumpLevel:        int32(h.DumpLevel | DumpLevelExcludeZero),
		offsetVMCOREINFO: l.VMCOREINFOOffset,
		sizeVMCOREINFO:   uint64(l.VMCOREINFOSize),
		offsetNote:       l.NoteOffset,
		sizeNote:         uint64(l.NoteSize),
		maxMapnr64:       maxPFN,
	}
	prefix := make([]byte, (1+subBlocks)*ubs)
	putHeader(prefix, &rh)
	putSubHeader(prefix[bs:], &sh)
	copy(prefix[bs+subHeaderSize:], notes)
	return &writePlan{layout: l, blockSize: bs, maxPFN: maxPFN, prefix: prefix}, nil
}

// writeBitmap writes the on-disk form of b, n bytes long, at off.
func writeBitmap(w io.WriterAt, b *pageset.Set, off int64, n int) error {
	const chunk = 1 << 20
	buf := make([]byte, min(n, chunk))
	for done := 0; done < n; {
		c := buf[:min(n-done, chunk)]
		b.PutBytes(c, uint64(done))
		if _, err := w.WriteAt(c, off+int64(done)); err != nil {
			return err
		}
		done += len(c)
	}
	return nil
}

// batch is a run of consecutive dumped page frames, read and compressed by
// one goroutine and written by Write's goroutine in order.
type batch struct {
	pfns  []uint64
	sizes []uint32 // stored size; 0 for an all-zero page
	flags []uint32
	data  []byte // the stored bytes of the non-zero pages, in order
	err   error
	done  chan struct{}
}

type pageWriter struct {
	w         io.WriterAt
	src       PageSource
	blockSize int
	dumped    *pageset.Set
	maxPFN    uint64
	descOff   int64
	total     uint64
	progress  func(done, total uint64)
	zero      []byte
}

// run reads, compresses and writes every dumped page. Page data starts at
// dataOff with the shared zero page.
func (pw *pageWriter) run(comps []compressor, dataOff int64) (Stats, error) {
	bs := pw.blockSize
	st := Stats{Pages: pw.total, BytesIn: pw.total * uint64(bs)}
	if _, err := pw.w.WriteAt(pw.zero, dataOff); err != nil {
		return st, fmt.Errorf("dumpfile: writing zero page at %#x: %w", dataOff, err)
	}
	cm := committer{pw: pw, st: &st, zeroDesc: PageDesc{Offset: dataOff, Size: uint32(bs)}, cursor: dataOff + int64(bs)}
	if len(comps) == 1 {
		// One goroutine reads, compresses and writes: no hand-offs.
		if err := pw.sequential(comps[0], &cm); err != nil {
			return st, err
		}
		return pw.finish(&cm, dataOff)
	}

	inflight := 2 * len(comps)
	free := make(chan *batch, inflight)
	for range inflight {
		free <- &batch{done: make(chan struct{}, 1)}
	}
	work := make(chan *batch, inflight)
	order := make(chan *batch, inflight)
	stop := make(chan struct{})

	go func() { // producer: cut the dumped page frames into batches
		defer close(order)
		defer close(work)
		next := uint64(0)
		for {
			var b *batch
			select {
			case <-stop:
				return
			case b = <-free:
			}
			next = pw.nextBatch(b, next)
			if len(b.pfns) == 0 {
				return
			}
			order <- b
			work <- b
		}
	}()

	var wg sync.WaitGroup
	for _, c := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			page := make([]byte, bs)
			for b := range work {
				select {
				case <-stop:
					b.err = errStopped
				default:
					b.err = pw.fill(b, c, page)
				}
				b.done <- struct{}{}
			}
		}()
	}

	var firstErr error
	for b := range order {
		<-b.done
		if firstErr == nil {
			firstErr = b.err
			if firstErr == nil {
				firstErr = cm.commit(b)
			}
			if firstErr != nil {
				close(stop)
			}
		}
		free <- b
	}
	wg.Wait()
	if firstErr != nil {
		return st, firstErr
	}
	return pw.finish(&cm, dataOff)
}

// sequential is run with one compressor, in the caller's goroutine.
// nextBatch fills b with the next dumped page frames from next on (up to
// batchPages; none at the end) and returns where the batch after it starts.
func (pw *pageWriter) nextBatch(b *batch, next uint64) uint64 {
	b.pfns = b.pfns[:0]
	for len(b.pfns) < batchPages {
		pfn, ok := pw.dumped.Next(next)
		if !ok || pfn >= pw.maxPFN {
			break
		}
		b.pfns = append(b.pfns, pfn)
		next = pfn + 1
	}
	return next
}

func (pw *pageWriter) sequential(c compressor, cm *committer) error {
	b := &batch{}
	page := make([]byte, pw.blockSize)
	next := uint64(0)
	for {
		next = pw.nextBatch(b, next)
		if len(b.pfns) == 0 {
			return nil
		}
		if err := pw.fill(b, c, page); err != nil {
			return err
		}
		if err := cm.commit(b); err != nil {
			return err
		}
	}
}

// finish checks that every planned page was written and completes st.
func (pw *pageWriter) finish(cm *committer, dataOff int64) (Stats, error) {
	st := cm.st
	if cm.index != pw.total {
		// Cannot happen: the plan counted the same bitmap.
		return *st, fmt.Errorf("dumpfile: wrote %d pages, planned %d", cm.index, pw.total)
	}
	if pw.total == 0 && pw.progress != nil {
		pw.progress(0, 0)
	}
	st.BytesOut = uint64(cm.cursor - dataOff)
	st.Size = cm.cursor
	return *st, nil
}

// committer writes filled batches, in order: their page descriptors and
// their data.
type committer struct {
	pw       *pageWriter
	st       *Stats
	zeroDesc PageDesc
	cursor   int64  // where the next page's data goes
	index    uint64 // the next page descriptor's index
	desc     []byte
}

func (cm *committer) commit(b *batch) error {
	pw, st := cm.pw, cm.st
	cm.desc = cm.desc[:0]
	for i := range b.pfns {
		d := cm.zeroDesc
		if b.sizes[i] == 0 {
			st.ZeroPages++
		} else {
			d = PageDesc{Offset: cm.cursor, Size: b.sizes[i], Flags: b.flags[i]}
			cm.cursor += int64(b.sizes[i])
			if b.flags[i] == 0 {
				st.RawPages++
			}
		}
		cm.desc = append(cm.desc, make([]byte, pageDescSize)...)
		putPageDesc(cm.desc[len(cm.desc)-pageDescSize:], d)
	}
	off := pw.descOff + int64(cm.index)*pageDescSize
	if _, err := pw.w.WriteAt(cm.desc, off); err != nil {
		return fmt.Errorf("dumpfile: writing page descriptors at %#x: %w", off, err)
	}
	if _, err := pw.w.WriteAt(b.data, cm.cursor-int64(len(b.data))); err != nil {
		return fmt.Errorf("dumpfile: writing pages at %#x: %w", cm.cursor-int64(len(b.data)), err)
	}
	cm.index += uint64(len(b.pfns))
	if pw.progress != nil {
		pw.progress(cm.index, pw.total)
	}
	return nil
}

// errStopped marks batches skipped after an error; Write never returns it.
var errStopped = errors.New("dumpfile: stopped")

// fill reads and compresses the pages of b.
func (pw *pageWriter) fill(b *batch, c compressor, page []byte) error {
	b.sizes = b.sizes[:0]
	b.flags = b.flags[:0]
	b.data = b.data[:0]
	mapper, _ := pw.src.(PageMapper)
	buf := page
	for _, pfn := range b.pfns {
		page = nil
		if mapper != nil {
			page = mapper.PageBytes(pfn)
		}
		if len(page) != len(buf) {
			page = buf
			if err := pw.src.ReadPage(pfn, page); err != nil {
				return &PageError{PFN: pfn, Err: err}
			}
		}
		if bytes.Equal(page, pw.zero) {
			b.sizes = append(b.sizes, 0)
			b.flags = append(b.flags, 0)
			continue
		}
		out, flag, err := c.compress(page)
		if err != nil {
			return &PageError{PFN: pfn, Err: fmt.Errorf("compressing: %w", err)}
		}
		if flag == 0 || len(out) >= len(page) {
			out, flag = page, 0
		}
		b.data = append(b.data, out...)
		b.sizes = append(b.sizes, uint32(len(out)))
		b.flags = append(b.flags, flag)
	}
	if r, ok := pw.src.(PageReleaser); ok && len(b.pfns) > 0 {
		r.ReleasePages(b.pfns[0], b.pfns[len(b.pfns)-1])
	}
	return nil
}
