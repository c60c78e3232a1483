package dump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageset"
	"github.com/kjump/kjump/vmcoreinfo"
)

const (
	pageShift = 12
	pageSize  = 1 << pageShift

	directMapLow uint64 = 0xffff800000000000 // lowest direct-map base with 4-level paging
)

// Vmcore is an open ELF vmcore, the first kernel's memory it shows, and
// the pages an Overlay adds.
type Vmcore struct {
	path    string
	size    int64
	file    *os.File
	mapped  []byte // the whole file, when mmap worked
	elf     *elfcore.File
	info    *vmcoreinfo.Info // nil without a VMCOREINFO note
	infoErr error            // why info is nil

	// releasable: pages of mapped can be dropped once read (a file's page
	// cache pages count in the process's RSS; /proc/vmcore's do not, and
	// it cannot map them again).
	releasable bool

	pageOffset uint64 // direct-map base from the PT_LOADs; 0 when unknown
	regions    []region

	overlay Overlay
	extra   pageclass.Memory

	// prstatus, when set, is an NT_PRSTATUS note SRC lacks, written first
	// among the output's notes; patch holds bytes that replace SRC's at
	// patchAt (the note's crash_notes buffer). See JumpedCPU.
	prstatus *elfcore.RawNote
	patch    []byte
	patchAt  uint64
}

// region is a span of the dumped kernel's physical memory with its
// contents: one PT_LOAD of SRC, or a run of overlay page frames.
type region struct {
	phys, size uint64
	virt       uint64 // 0 when unknown
	overlay    bool
}

// openSource opens path, maps it and reads its ELF headers and VMCOREINFO.
func openSource(path string, ov Overlay, extra pageclass.Memory) (*Vmcore, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &Vmcore{path: path, size: st.Size(), file: f, overlay: ov, extra: extra}
	if !st.Mode().IsRegular() || s.size == 0 {
		f.Close()
		return nil, &SourceError{Path: path, Detail: "not a regular file with a size (want a vmcore file or /proc/vmcore)", Err: ErrSource}
	}
	var r io.ReaderAt = f
	if s.size > 0 && int64(int(s.size)) == s.size {
		if m, err := unix.Mmap(int(f.Fd()), 0, int(s.size), unix.PROT_READ, unix.MAP_SHARED); err == nil {
			s.mapped = m
			r = bytes.NewReader(m)
			var fs unix.Statfs_t
			s.releasable = unix.Fstatfs(int(f.Fd()), &fs) == nil && fs.Type != unix.PROC_SUPER_MAGIC
		}
	}
	s.elf, err = elfcore.NewFile(r, s.size)
	if err != nil {
		s.close()
		return nil, sourceError(path, err)
	}
	if text, ok := s.elf.VMCOREINFO(); ok {
		s.info, s.infoErr = vmcoreinfo.Parse(text)
	} else {
		s.infoErr = fmt.Errorf("no VMCOREINFO note")
	}
	s.pageOffset = pageOffsetOf(s.elf.Loads)
	for _, l := range s.elf.Loads {
		if l.Phys == ^uint64(0) || l.MemSize == 0 {
			continue
		}
		s.regions = append(s.regions, region{phys: l.Phys, size: l.MemSize, virt: l.Virt})
	}
	if err := s.addOverlay(); err != nil {
		s.close()
		return nil, err
	}
	if limit := s.physLimit(); s.maxPFN() > limit>>pageShift {
		s.close()
		return nil, &SourceError{Path: path, Detail: fmt.Sprintf("memory up to %#x, beyond the %#x bytes of physical address space", s.maxPFN()<<pageShift, limit), Err: ErrSource}
	}
	return s, nil
}

// physLimit is the size of the physical address space: 2^MAX_PHYSMEM_BITS
// when VMCOREINFO says, else 2^52 (x86_64's architectural limit).
func (s *Vmcore) physLimit() uint64 {
	bits := int64(52)
	if s.info != nil {
		if n, ok := s.info.Number("MAX_PHYSMEM_BITS"); ok && n > pageShift && n < 52 {
			bits = n
		}
	}
	return 1 << uint(bits)
}

// SourceError says why SRC cannot be read as an ELF vmcore. Err is
// elfcore's error (errors.Is matches its sentinels, e.g.
// elfcore.ErrKdumpCompressed) or ErrSource.
type SourceError struct {
	Path   string
	Detail string
	Err    error
}

func (e *SourceError) Error() string { return e.Path + ": " + e.Detail }
func (e *SourceError) Unwrap() error { return e.Err }

// sourceError explains why SRC is not an ELF vmcore.
func sourceError(path string, err error) error {
	reason := err.Error()
	switch {
	case errors.Is(err, elfcore.ErrKdumpCompressed):
		reason = "a kdump-compressed file already: crash and makedumpfile read it as it is (makedumpfile -d N re-filters it)"
	case errors.Is(err, elfcore.ErrFlattened):
		reason = "in makedumpfile's flattened format: rebuild it first with kjump dump -R OUT < FILE (or makedumpfile -R)"
	case errors.Is(err, elfcore.ErrNotELF):
		reason = "not a vmcore (neither an ELF core nor a kdump-compressed file)"
	case errors.Is(err, elfcore.ErrSegmentBeyondEOF), errors.Is(err, elfcore.ErrTruncated):
		reason = "truncated, a partial copy of a vmcore? (" + reason + ")"
	}
	return &SourceError{Path: path, Detail: reason, Err: err}
}

// pageOffsetOf returns the direct-map base the PT_LOADs agree on (p_vaddr -
// p_paddr of every segment mapped below the kernel image), or 0.
func pageOffsetOf(loads []elfcore.Segment) uint64 {
	var po uint64
	for _, l := range loads {
		if l.Virt < directMapLow || l.Virt >= pageclass.StartKernelMap || l.Phys == ^uint64(0) {
			continue
		}
		d := l.Virt - l.Phys
		if po != 0 && d != po {
			return 0
		}
		po = d
	}
	return po
}

// addOverlay adds the overlay's page frames as regions, one per run of
// consecutive page frames.
func (s *Vmcore) addOverlay() error {
	if len(s.overlay) == 0 {
		return nil
	}
	if s.extra == nil {
		return fmt.Errorf("an Overlay needs Options.Extra to read its pages from: %w", ErrOptions)
	}
	pfns := make([]uint64, 0, len(s.overlay))
	for pfn, phys := range s.overlay {
		if phys%pageSize != 0 || pfn > (^uint64(0))>>pageShift-1 {
			return fmt.Errorf("overlay page frame %#x at %#x: want a page-aligned physical address: %w", pfn, phys, ErrOptions)
		}
		pfns = append(pfns, pfn)
	}
	sort.Slice(pfns, func(i, j int) bool { return pfns[i] < pfns[j] })
	for i := 0; i < len(pfns); {
		j := i + 1
		for j < len(pfns) && pfns[j] == pfns[j-1]+1 {
			j++
		}
		r := region{phys: pfns[i] << pageShift, size: uint64(j-i) << pageShift, overlay: true}
		if s.pageOffset != 0 {
			r.virt = s.pageOffset + r.phys
		}
		s.regions = append(s.regions, r)
		i = j
	}
	return nil
}

func (s *Vmcore) close() {
	if s.mapped != nil {
		unix.Munmap(s.mapped)
		s.mapped = nil
	}
	s.file.Close()
}

// maxPFN is one past the highest page frame any region touches.
func (s *Vmcore) maxPFN() uint64 {
	var m uint64
	for _, r := range s.regions {
		m = max(m, (r.phys+r.size+pageSize-1)>>pageShift)
	}
	return m
}

// present is the set of page frames with contents: every page any region
// touches, a partial page included (its missing bytes read as zeros).
func (s *Vmcore) present() *pageset.Set {
	b := pageset.New(s.maxPFN())
	for _, r := range s.regions {
		b.SetRange(r.phys>>pageShift, (r.phys+r.size+pageSize-1)>>pageShift)
	}
	return b
}

// ReadPhys reads the first kernel's physical memory: overlay page frames
// from Extra, everything else from SRC's PT_LOADs. It is what the
// classifier reads struct pages and page tables through.
func (s *Vmcore) ReadPhys(p []byte, phys uint64) (int, error) {
	n, err := s.readPhys(p, phys)
	if len(s.patch) > 0 {
		lo, hi := max(phys, s.patchAt), min(phys+uint64(n), s.patchAt+uint64(len(s.patch)))
		if lo < hi {
			copy(p[lo-phys:hi-phys], s.patch[lo-s.patchAt:])
		}
	}
	return n, err
}

// readPhys is ReadPhys without the patch.
func (s *Vmcore) readPhys(p []byte, phys uint64) (int, error) {
	if len(s.overlay) == 0 {
		return s.elf.ReadPhys(p, phys)
	}
	n := 0
	for n < len(p) {
		addr := phys + uint64(n)
		chunk := p[n:min(len(p), n+int(pageSize-addr%pageSize))]
		var err error
		var m int
		if at, ok := s.overlay[addr>>pageShift]; ok {
			m, err = s.extra.ReadPhys(chunk, at+addr%pageSize)
			if err == nil && m < len(chunk) {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				err = fmt.Errorf("overlay page frame %#x from physical %#x: %w", addr>>pageShift, at, err)
			}
		} else {
			m, err = s.elf.ReadPhys(chunk, addr)
		}
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadPage fills buf with page frame pfn; bytes of the page no region has
// read as zeros. It implements dumpfile.PageSource.
func (s *Vmcore) ReadPage(pfn uint64, buf []byte) error {
	addr := pfn << pageShift
	_, err := s.ReadPhys(buf, addr)
	if err == nil || !errors.Is(err, elfcore.ErrNotInDump) {
		return err
	}
	// A page only partly covered (a segment ending mid-page): copy what
	// each region has.
	clear(buf)
	for _, r := range s.regions {
		lo, hi := max(r.phys, addr), min(r.phys+r.size, addr+uint64(len(buf)))
		if lo >= hi {
			continue
		}
		if _, err := s.ReadPhys(buf[lo-addr:hi-addr], lo); err != nil {
			return err
		}
	}
	return nil
}

// release drops the mapped pages of SRC that hold page frames first to
// last (the pages inside that span: a file page shared with a neighbour
// stays) from the process's memory; reading them again would map them
// again. The writers call it for page frames they are done with, so that
// the pages of a saved vmcore do not add up in the RSS.
func (s *Vmcore) release(first, last uint64) {
	if !s.releasable {
		return
	}
	lo, hi := first<<pageShift, (last+1)<<pageShift
	for _, l := range s.elf.Loads {
		a, b := max(lo, l.Phys), min(hi, l.Phys+l.FileSize)
		if a >= b {
			continue
		}
		off, end := l.FileOff+(a-l.Phys), l.FileOff+(b-l.Phys)
		off = (off + pageSize - 1) &^ (pageSize - 1)
		end &^= pageSize - 1
		if off < end && end <= uint64(len(s.mapped)) {
			unix.Madvise(s.mapped[off:end], unix.MADV_DONTNEED)
		}
	}
}

// direct returns SRC's mapped bytes of [phys, phys+n) when they lie in
// one PT_LOAD's file bytes and are not overlaid, or nil.
func (s *Vmcore) direct(phys, n uint64) []byte {
	if s.mapped == nil {
		return nil
	}
	for _, l := range s.elf.Loads {
		if phys < l.Phys || phys-l.Phys >= l.FileSize || l.FileSize-(phys-l.Phys) < n {
			continue
		}
		off := l.FileOff + phys - l.Phys
		if len(s.patch) > 0 && phys < s.patchAt+uint64(len(s.patch)) && s.patchAt < phys+n {
			return nil
		}
		if len(s.overlay) > 0 {
			for pfn := phys >> pageShift; pfn <= (phys+n-1)>>pageShift; pfn++ {
				if _, ok := s.overlay[pfn]; ok {
					return nil
				}
			}
		}
		return s.mapped[off : off+n]
	}
	return nil
}

// utsname reads the kernel's struct new_utsname (init_uts_ns.name), as
// makedumpfile does for the dump header, falling back on VMCOREINFO's
// OSRELEASE.
func (s *Vmcore) utsname(as *pageclass.AddressSpace) dumpfile.Utsname {
	u := dumpfile.Utsname{Sysname: "Linux", Machine: "x86_64"}
	if s.info == nil {
		return u
	}
	u.Release = s.info.OSRelease()
	if as == nil {
		return u
	}
	sym, ok1 := s.info.Symbol("init_uts_ns")
	off, ok2 := s.info.Offset("uts_namespace.name")
	if !ok1 || !ok2 || off < 0 {
		return u
	}
	const field = 65
	var raw [6 * field]byte
	if err := as.ReadVirt(raw[:], sym+uint64(off)); err != nil {
		return u
	}
	var fs [6]string
	for i := range fs {
		b := raw[i*field : (i+1)*field]
		end := bytes.IndexByte(b, 0)
		if end < 0 {
			return u
		}
		fs[i] = string(b[:end])
	}
	if fs[2] != u.Release && u.Release != "" {
		return u // not the uts name this VMCOREINFO belongs to
	}
	return dumpfile.Utsname{Sysname: fs[0], Nodename: fs[1], Release: fs[2], Version: fs[3], Machine: fs[4], Domainname: fs[5]}
}

// notes returns SRC's notes in ELF note layout, and how many are
// NT_PRSTATUS (one per CPU that saved its registers).
func (s *Vmcore) notes() ([]byte, int) {
	var b []byte
	cpus := 0
	notes := s.elf.Notes
	if s.prstatus != nil {
		notes = append([]elfcore.RawNote{*s.prstatus}, notes...)
	}
	for _, n := range notes {
		b = elfcore.AppendNote(b, n)
		if elfcore.IsPrstatus(n) {
			cpus++
		}
	}
	return b, cpus
}

// addJumpedCPU gives a live kernel's dump the NT_PRSTATUS note of the CPU
// that jumped (see JumpedCPU), reading the registers the jump saved through
// as. It does nothing when SRC has NT_PRSTATUS notes of its own.
func (s *Vmcore) addJumpedCPU(j *JumpedCPU, as *pageclass.AddressSpace) error {
	if slices.ContainsFunc(s.elf.Notes, elfcore.IsPrstatus) {
		return nil
	}
	if as == nil {
		return fmt.Errorf("the jumped CPU's registers: the kernel's address space is unknown (no usable VMCOREINFO: %v): %w", s.infoErr, ErrSource)
	}
	raw := make([]byte, 64)
	if err := as.ReadVirt(raw, j.SavedRSP); err != nil {
		return fmt.Errorf("the jumped CPU's registers on the kernel stack at %#x: %w", j.SavedRSP, err)
	}
	var stack [8]uint64
	for i := range stack {
		stack[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	note := elfcore.Prstatus{PID: j.PID, Regs: elfcore.JumpRegisters(j.SavedRSP, stack)}.Note()
	buf := elfcore.CrashNoteBuffer(note)
	if uint64(len(buf)) > j.CrashNotesSize {
		return fmt.Errorf("the jumped CPU's crash_notes buffer at %#x: %d bytes, the note needs %d: %w", j.CrashNotes, j.CrashNotesSize, len(buf), ErrOptions)
	}
	old := make([]byte, len(buf))
	if _, err := s.ReadPhys(old, j.CrashNotes); err != nil {
		return fmt.Errorf("the jumped CPU's crash_notes buffer at %#x: %w", j.CrashNotes, err)
	}
	if !pageclass.IsZero(old) {
		// Not what a kernel that never crashed has there: leave it.
		return fmt.Errorf("the jumped CPU's crash_notes buffer at %#x is not empty (%x…): not a live kernel's, or the wrong address: %w", j.CrashNotes, old[:16], ErrOptions)
	}
	s.prstatus, s.patch, s.patchAt = &note, buf, j.CrashNotes
	return nil
}
