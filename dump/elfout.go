package dump

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageset"
)

// splitRun is the number of consecutive left-out pages from which an ELF
// output ends a PT_LOAD (their addresses stay in its p_memsz, beyond
// p_filesz, so they read as zeros) and starts a new one after them;
// shorter runs stay in the file as zero bytes. makedumpfile -E uses the
// same threshold (PFN_EXCLUDED).
const splitRun = 256

// maxCopy bounds one copy job, so that threads share the work.
const maxCopy = 1 << 20

// zeroRun is the longest run of zeros a zero copyJob writes (runs of
// splitRun or more left-out pages end a segment instead). Read only.
var zeroRun = make([]byte, splitRun*pageSize)

// pnXNUM is e_phnum's escape value: the real count is in section header 0.
const pnXNUM = 0xffff

// outSeg is one PT_LOAD of the ELF output.
type outSeg struct {
	phys, virt    uint64
	filesz, memsz uint64
	off           uint64 // file offset of the bytes
}

// copyJob copies n bytes of physical memory at phys to file offset off,
// or, with zero set, writes n zero bytes there (a short run of left-out
// pages; only needed on outputs not zero-filled already).
type copyJob struct {
	phys, n, off uint64
	pages        uint64 // for progress
	zero         bool
}

// layoutELF turns SRC's regions into output segments and the copies that
// fill them: each region is cut where at least splitRun consecutive pages
// are left out. File offsets are relative to the start of the data.
func layoutELF(regions []region, dumped *pageset.Set) ([]outSeg, []copyJob) {
	var segs []outSeg
	var jobs []copyJob
	var cursor uint64
	for _, r := range regions {
		end := r.phys + r.size
		seg := outSeg{phys: r.phys, virt: r.virt}
		var runPages, runBytes uint64
		emit := func() {
			seg.off = cursor
			cursor += seg.filesz
			segs = append(segs, seg)
		}
		for pfn := r.phys >> pageShift; pfn<<pageShift < end; pfn++ {
			lo, hi := max(r.phys, pfn<<pageShift), min(end, (pfn+1)<<pageShift)
			if !dumped.Test(pfn) {
				runPages++
				runBytes += hi - lo
				continue
			}
			switch {
			case runPages >= splitRun:
				seg.memsz += runBytes
				emit()
				seg = outSeg{phys: lo}
				if r.virt != 0 {
					seg.virt = r.virt + (lo - r.phys)
				}
			case runPages > 0:
				jobs = append(jobs, copyJob{n: runBytes, off: cursor + seg.filesz, zero: true})
				seg.filesz += runBytes
				seg.memsz += runBytes
			}
			runPages, runBytes = 0, 0
			rel := cursor + seg.filesz
			if n := len(jobs); n > 0 && !jobs[n-1].zero && jobs[n-1].phys+jobs[n-1].n == lo && jobs[n-1].off+jobs[n-1].n == rel && jobs[n-1].n+(hi-lo) <= maxCopy {
				jobs[n-1].n += hi - lo
				jobs[n-1].pages++
			} else {
				jobs = append(jobs, copyJob{phys: lo, n: hi - lo, off: rel, pages: 1})
			}
			seg.filesz += hi - lo
			seg.memsz += hi - lo
		}
		seg.memsz += runBytes
		emit()
	}
	return segs, jobs
}

// writeELF writes an ELF core holding dumped's pages and returns how many
// all-zero pages it left out (at level bit 1; it reads every page once
// for that before writing, since the program headers come first).
func writeELF(ctx context.Context, f output, s *Vmcore, dumped *pageset.Set, opt Options, pr *progress) (uint64, error) {
	var zero uint64
	if opt.Level&pageclass.ExcludeZero != 0 {
		var err error
		dumped, zero, err = dropZeroPages(ctx, s, dumped, opt.Threads, pr)
		if err != nil {
			return 0, err
		}
	}
	segs, jobs := layoutELF(s.regions, dumped)
	notes, _ := s.notes()

	phnum := len(segs)
	if len(notes) > 0 {
		phnum++
	}
	const ehSize, phSize, shSize = 64, 56, 64
	phOff := uint64(ehSize)
	shOff := uint64(0)
	hdrEnd := phOff + uint64(phnum)*phSize
	if phnum >= pnXNUM {
		// Extended numbering: e_phnum is PN_XNUM and section header 0's
		// sh_info holds the count.
		shOff = hdrEnd
		hdrEnd += shSize
	}
	noteOff := hdrEnd
	dataOff := (noteOff + uint64(len(notes)) + pageSize - 1) &^ (pageSize - 1)

	var hdr bytes.Buffer
	eh := elf.Header64{
		Type:      uint16(elf.ET_CORE),
		Machine:   uint16(elf.EM_X86_64),
		Version:   uint32(elf.EV_CURRENT),
		Phoff:     phOff,
		Shoff:     shOff,
		Ehsize:    ehSize,
		Phentsize: phSize,
		Phnum:     uint16(min(phnum, pnXNUM)),
	}
	copy(eh.Ident[:], elf.ELFMAG)
	eh.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	eh.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	eh.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	if shOff != 0 {
		eh.Shentsize, eh.Shnum = shSize, 1
	}
	binary.Write(&hdr, binary.LittleEndian, &eh)
	if len(notes) > 0 {
		binary.Write(&hdr, binary.LittleEndian, &elf.Prog64{
			Type: uint32(elf.PT_NOTE), Off: noteOff,
			Filesz: uint64(len(notes)), Memsz: uint64(len(notes)),
		})
	}
	for _, sg := range segs {
		ph := elf.Prog64{
			Type:   uint32(elf.PT_LOAD),
			Flags:  uint32(elf.PF_R | elf.PF_W | elf.PF_X),
			Vaddr:  sg.virt,
			Paddr:  sg.phys,
			Filesz: sg.filesz,
			Memsz:  sg.memsz,
		}
		if sg.virt == 0 {
			ph.Vaddr = ^uint64(0) // unknown, as kexec-tools writes it
		}
		if sg.filesz > 0 {
			ph.Off = dataOff + sg.off
		}
		binary.Write(&hdr, binary.LittleEndian, &ph)
	}
	if shOff != 0 {
		binary.Write(&hdr, binary.LittleEndian, &elf.Section64{Info: uint32(phnum)})
	}
	hdr.Write(notes)
	hdr.Write(make([]byte, dataOff-uint64(hdr.Len()))) // padding, for devices

	var dataLen uint64
	if n := len(segs); n > 0 {
		dataLen = segs[n-1].off + segs[n-1].filesz
	}
	if err := f.Truncate(int64(dataOff + dataLen)); err != nil {
		return 0, err
	}
	if _, err := f.WriteAt(hdr.Bytes(), 0); err != nil {
		return 0, err
	}
	if zeroFilled(f) {
		jobs = slices.DeleteFunc(jobs, func(j copyJob) bool { return j.zero })
	}
	var total uint64
	for _, j := range jobs {
		total += j.pages
	}
	return zero, copyPages(ctx, f, s, jobs, dataOff, total, opt.Threads, pr)
}

// copyPages runs the copy jobs on threads goroutines. Each job writes its
// own bytes at its own offset, so the file does not depend on threads.
func copyPages(ctx context.Context, f output, s *Vmcore, jobs []copyJob, dataOff, total uint64, threads int, pr *progress) error {
	var (
		mu       sync.Mutex
		next     int
		done     uint64
		firstErr error
	)
	pr.set(0, total)
	var wg sync.WaitGroup
	for range max(threads, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, maxCopy+2*pageSize) // a job may start and end mid-page
			for {
				mu.Lock()
				if next >= len(jobs) || firstErr != nil {
					mu.Unlock()
					return
				}
				j := jobs[next]
				next++
				mu.Unlock()
				err := ctx.Err()
				if err == nil {
					err = copyJobTo(f, s, j, dataOff, buf)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				done += j.pages
				d := done
				mu.Unlock()
				if err == nil {
					pr.set(d, total)
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func copyJobTo(f output, s *Vmcore, j copyJob, dataOff uint64, buf []byte) error {
	var data []byte
	if j.zero {
		data = zeroRun[:j.n]
	} else {
		data = s.direct(j.phys, j.n)
	}
	if data == nil {
		// Page by page, through the overlay and partial pages. j.phys
		// may start mid-page (a segment starting mid-page).
		start := j.phys &^ (pageSize - 1)
		span := (j.phys + j.n + pageSize - 1) &^ (pageSize - 1)
		b := buf[:span-start]
		for a := start; a < span; a += pageSize {
			if err := s.ReadPage(a>>pageShift, b[a-start:a-start+pageSize]); err != nil {
				return err
			}
		}
		data = b[j.phys-start : j.phys-start+j.n]
	}
	if _, err := f.WriteAt(data, int64(dataOff+j.off)); err != nil {
		return fmt.Errorf("writing %d bytes at %#x: %w", len(data), dataOff+j.off, err)
	}
	if !j.zero && j.n > 0 {
		s.release(j.phys>>pageShift, (j.phys+j.n-1)>>pageShift)
	}
	return nil
}

// dropZeroPages clears the all-zero pages from dumped and returns it, and
// their number. Threads scan shares of about equal page counts, cut at
// multiples of 64 page frames so that each marks zero pages in words of
// its own of a second bitmap; the result does not depend on their number.
// What it keeps grows with the page frames as the bitmaps do (32 KiB per
// GiB), not with the pages.
func dropZeroPages(ctx context.Context, s *Vmcore, dumped *pageset.Set, threads int, pr *progress) (*pageset.Set, uint64, error) {
	total := dumped.Count()
	// Progress counts the scan and then the copy; the copy's total is
	// known only after the scan, so report the scan against twice its
	// size and let the copy continue from there.
	pr.set(0, 2*total)
	threads = max(threads, 1)
	bounds := make([]uint64, threads+1)
	for i := range bounds[1:] {
		bounds[i+1] = dumped.Len()
	}
	per := (total + uint64(threads) - 1) / uint64(threads)
	n, t := uint64(0), 1
	for pfn, ok := dumped.Next(0); ok && t < threads; pfn, ok = dumped.Next(pfn + 1) {
		if n++; n >= per*uint64(t) {
			bounds[t] = min(pfn|63+1, dumped.Len())
			t++
			pfn = bounds[t-1] - 1
		}
	}
	zeroPages := pageset.New(dumped.Len())
	zeros := make([]uint64, threads)
	errs := make([]error, threads)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var done uint64
	for t := range threads {
		lo, hi := bounds[t], bounds[t+1]
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, pageSize)
			seen, first := 0, lo
			step := func(last uint64) {
				s.release(first, last) // scanned; the copy maps the kept pages again
				mu.Lock()
				done += uint64(seen)
				pr.set(done, 2*total)
				mu.Unlock()
				seen, first = 0, last+1
			}
			pfn, ok := dumped.Next(lo)
			for ; ok && pfn < hi; pfn, ok = dumped.Next(pfn + 1) {
				if seen == 1024 {
					step(pfn - 1)
					if err := ctx.Err(); err != nil {
						errs[t] = err
						return
					}
				}
				seen++
				page := s.direct(pfn<<pageShift, pageSize)
				if page == nil {
					if err := s.ReadPage(pfn, buf); err != nil {
						errs[t] = err
						return
					}
					page = buf
				}
				if pageclass.IsZero(page) {
					zeroPages.Set(pfn)
					zeros[t]++
				}
			}
			if seen > 0 {
				step(min(hi, dumped.Len()) - 1)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, 0, err
		}
	}
	var zero uint64
	for _, z := range zeros {
		zero += z
	}
	for pfn, ok := zeroPages.Next(0); ok; pfn, ok = zeroPages.Next(pfn + 1) {
		dumped.Clear(pfn)
	}
	pr.base = total
	return dumped, zero, nil
}
