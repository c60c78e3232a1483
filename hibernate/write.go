package hibernate

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/internal/cmdline"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/mailbox"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/vmcoreinfo"
)

// DevMem is the physical memory device the other kernel's memory is read and
// written through.
const DevMem = "/dev/mem"

// Progress is called now and then while pages are written or restored.
type Progress func(done, total uint64)

// Write is the second kernel's half (kjump hibernate-write): it takes the
// request from the mailbox at mailboxAddr and writes the first kernel's memory
// as an image, leaving the state in the mailbox (see outcome): Working before
// it reads the memory, then Committed with the image's UUID, or Failed with
// the reason. A failure after the image's first write revokes it. Init then
// powers off, or on failure jumps back and the first kernel reports it.
func Write(mailboxAddr uint64, root string, progress Progress) (*image.Stats, error) {
	var req Request
	box, m, err := mailbox.TakeRequest(DevMem, mailboxAddr, &req)
	if err != nil {
		return nil, err
	}
	defer box.Close()
	// Take the request (and any key) out of the first kernel's memory before
	// that memory is saved. A restored system finds this state until the
	// resume kernel reports.
	if err := box.WriteChecked(mailbox.Message{State: mailbox.Working, Seq: m.Seq}); err != nil {
		return nil, err
	}
	fault := testFault(root)
	stats, werr := write(req, mailboxAddr, root, progress, fault)
	if werr == nil {
		if fault == FaultCommitted {
			killSelf("after the commit record")
		}
		payload, _ := json.Marshal(Report{Image: hex.EncodeToString(stats.Header.UUID[:]), Saved: stats.Header.Created})
		werr = box.WriteChecked(mailbox.Message{State: mailbox.Committed, Seq: m.Seq, Payload: payload})
		if werr != nil {
			werr = errors.Join(werr, revokeDevice(root, req))
		}
	}
	if werr != nil {
		if err := box.WriteChecked(failedMessage(m.Seq, werr)); err != nil {
			return nil, errors.Join(werr, fmt.Errorf("and the first kernel cannot be told: %w", err))
		}
		return nil, werr
	}
	return stats, nil
}

// Faults a lab scenario can make the writer suffer, by the second kernel's
// parameter kjump.test_fault= (the lab passes it with kjump hibernate
// --append): the writer is killed (SIGKILL, like the OOM killer) halfway
// through the pages, or right after the commit record. Nothing else reads it.
const (
	FaultMidWrite  = "writer-killed-midway"
	FaultCommitted = "writer-killed-committed"
)

func testFault(root string) string {
	b, _ := os.ReadFile(filepath.Join(root, "proc/cmdline"))
	for _, p := range cmdline.Split(string(b)) {
		if v, ok := strings.CutPrefix(p, "kjump.test_fault="); ok {
			return cmdline.Unquote(v)
		}
	}
	return ""
}

func killSelf(when string) {
	fmt.Fprintf(os.Stderr, "hibernate-write: kjump.test_fault: killed %s\n", when)
	unix.Kill(os.Getpid(), unix.SIGKILL)
	select {}
}

// revokeDevice revokes the image the request's target holds (best effort, in
// the second kernel: the first kernel revokes it again).
func revokeDevice(root string, req Request) error {
	node, err := req.Names.Node(root, req.Device)
	if err != nil {
		return err
	}
	dev, err := os.OpenFile(node, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer dev.Close()
	if req.File != nil {
		f, err := extents.NewFile(dev, req.File)
		if err != nil {
			return err
		}
		return image.Revoke(newSection(f))
	}
	return image.Revoke(dev)
}

func write(req Request, mailboxAddr uint64, root string, progress Progress, fault string) (*image.Stats, error) {
	node, err := req.Names.Node(root, req.Device)
	if err != nil {
		return nil, err
	}
	entry, err := jump.Entry(root)
	if err != nil {
		return nil, err
	}
	iomem, err := memmap.ReadIomem(root)
	if err != nil {
		return nil, err
	}
	own := memmap.IomemRAM(iomem).RAM()
	h := image.Header{
		Release:  req.System.Release,
		Identity: req.System.Identity,
		RAMSize:  req.System.RAMSize,
		CPUs:     req.System.CPUs,
		JumpBack: entry,
		Mailbox:  mailboxAddr,
	}
	if b, err := hex.DecodeString(req.MemMapHash); err != nil || len(b) != 32 {
		return nil, fmt.Errorf("the request's memory-map hash %q is not 32 bytes of hex", req.MemMapHash)
	} else {
		copy(h.MemMapHash[:], b)
	}
	if len(own) > 0 {
		largest := own[0]
		for _, r := range own {
			if r.Size > largest.Size {
				largest = r
			}
		}
		h.SecondKernel = image.Range{Start: largest.Start, Size: largest.Size}
	}
	for _, mnt := range req.Mounts {
		fs, err := fingerprintDevice(root, req.Names, mnt)
		if err != nil {
			return nil, err
		}
		h.Filesystems = append(h.Filesystems, fs)
	}

	vm, err := openVmcore("/proc/vmcore")
	if err != nil {
		return nil, err
	}
	defer vm.close()
	runs, err := vm.runs()
	if err != nil {
		return nil, err
	}

	dev, err := os.OpenFile(node, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	var out imageWriter = dev
	if req.File != nil {
		f, err := extents.NewFile(dev, req.File)
		if err != nil {
			return nil, err
		}
		out = newSection(f)
	}
	budget, err := MemoryBudget(root)
	if err != nil {
		return nil, err
	}
	opt := image.WriteOptions{Workers: writeWorkers(budget, image.DefaultPagesPerChunk)}
	if opt.Compression, err = ParseCompression(req.Compression); err != nil {
		return nil, err
	}
	switch {
	case len(req.Key) > 0:
		if opt.Key, err = image.RawKey(req.Key); err != nil {
			return nil, err
		}
	case req.Passphrase != "":
		opt.Key = image.Passphrase([]byte(req.Passphrase))
		opt.KDF = image.DefaultKDF
		opt.KDF.MemoryKiB = req.KDFMemoryMi << 10
		if uint64(req.KDFMemoryMi)<<20 > budget/2 {
			return nil, fmt.Errorf("the passphrase's Argon2id needs %d MiB, more than half of the %s this kernel can spare: give the second kernel a larger region", req.KDFMemoryMi, memmap.FormatSize(budget))
		}
	}
	var total uint64
	for _, r := range runs {
		if !r.Zero {
			total += r.Count
		}
	}
	if size, err := writerSize(out); err == nil && size < int64(total)*image.PageSize/8 {
		// Not even an 8:1 compression would fit: fail now, not after minutes.
		return nil, fmt.Errorf("%s has %s; the image holds %s of pages and would not fit", node, memmap.FormatSize(uint64(size)), memmap.FormatSize(total*image.PageSize))
	}
	src := &pageSource{vm: vm, total: total, progress: progress, killMidway: fault == FaultMidWrite}
	stats, err := image.Write(out, h, runs, src, opt)
	if err != nil {
		// The commit record may be on the device already (a failed final sync).
		return nil, errors.Join(fmt.Errorf("writing the image to %s: %w", node, err), image.Revoke(out))
	}
	return &stats, nil
}

func fingerprintDevice(root string, names blockdev.Names, m Mount) (image.Filesystem, error) {
	node, err := names.Node(root, m.Device)
	if err != nil {
		return image.Filesystem{}, err
	}
	f, err := os.Open(node)
	if err != nil {
		return image.Filesystem{}, err
	}
	defer f.Close()
	sum, detail, err := Fingerprint(f)
	if err != nil {
		return image.Filesystem{}, fmt.Errorf("%s (%s): %w", node, m.Name, err)
	}
	return image.Filesystem{Device: m.Device, Name: m.Name + ": " + detail, Fingerprint: sum}, nil
}

// writeWorkers is how many compression workers fit budget: each holds a raw
// and a compressed chunk of ppc pages in flight (two per worker) and a zstd
// encoder of a few MiB.
func writeWorkers(budget uint64, ppc int) int {
	per := 4*uint64(ppc)*image.PageSize + 8<<20
	return int(max(1, min(uint64(runtime.GOMAXPROCS(0)), budget/2/per)))
}

// imageWriter is where the image goes: the raw device, or the image part of a file.
type imageWriter interface {
	io.WriterAt
	Sync() error
}

func writerSize(w imageWriter) (int64, error) {
	if s, ok := w.(*section); ok {
		return s.size, nil
	}
	return deviceSize(w.(*os.File))
}

func deviceSize(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode().IsRegular() {
		return st.Size(), nil
	}
	return f.Seek(0, 2)
}

// vmcore is the first kernel's memory as the second kernel's /proc/vmcore
// shows it, mapped.
type vmcore struct {
	mapped []byte
	elf    *elfcore.File
}

func openVmcore(path string) (*vmcore, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w (the second kernel needs CONFIG_PROC_VMCORE and an ELF core header from kjump)", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	e, err := elfcore.NewFile(bytes.NewReader(m), st.Size())
	if err != nil {
		unix.Munmap(m)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &vmcore{mapped: m, elf: e}, nil
}

func (v *vmcore) close() { unix.Munmap(v.mapped) }

// page returns the first kernel's page frame pfn, or nil if no PT_LOAD has it.
func (v *vmcore) pages(pfn, n uint64) []byte {
	phys := pfn * image.PageSize
	for _, l := range v.elf.Loads {
		if phys >= l.Phys && phys+n*image.PageSize <= l.Phys+l.FileSize {
			off := l.FileOff + (phys - l.Phys)
			return v.mapped[off : off+n*image.PageSize]
		}
	}
	return nil
}

// runs lists what an image of the first kernel saves: every page frame of its
// memory except free pages (by its struct pages), with all-zero pages as zero
// runs. The memory is saved as it is while the second kernel runs, including
// where the jump put the pages it moved out of the region: the first kernel
// moves them back itself on the way back.
func (v *vmcore) runs() ([]image.Run, error) {
	var maxPFN uint64
	for _, l := range v.elf.Loads {
		maxPFN = max(maxPFN, (l.Phys+l.FileSize)/image.PageSize)
	}
	present := dumpfile.NewBitmap(maxPFN)
	for _, l := range v.elf.Loads {
		present.SetRange((l.Phys+image.PageSize-1)/image.PageSize, (l.Phys+l.FileSize)/image.PageSize)
	}
	text, ok := v.elf.VMCOREINFO()
	if !ok {
		return nil, fmt.Errorf("/proc/vmcore has no VMCOREINFO note: cannot tell free pages")
	}
	info, err := vmcoreinfo.Parse(text)
	if err != nil {
		return nil, err
	}
	cls, err := pageclass.New(info, v.elf, pageclass.Config{MaxPFN: maxPFN})
	if err != nil {
		return nil, err
	}
	keep, _, err := cls.Exclude(pageclass.Level(16), present)
	if err != nil {
		return nil, err
	}
	return buildRuns(keep, func(pfn uint64) []byte { return v.pages(pfn, 1) }), nil
}

// buildRuns turns the kept page frames into image runs, all-zero pages into
// zero runs. page returns a frame's contents.
func buildRuns(keep *dumpfile.Bitmap, page func(pfn uint64) []byte) []image.Run {
	var runs []image.Run
	for pfn, ok := keep.Next(0); ok; pfn, ok = keep.Next(pfn + 1) {
		p := page(pfn)
		if p == nil {
			continue
		}
		zero := pageclass.IsZero(p)
		if n := len(runs); n > 0 && runs[n-1].PFN+runs[n-1].Count == pfn && runs[n-1].Zero == zero {
			runs[n-1].Count++
			continue
		}
		runs = append(runs, image.Run{PFN: pfn, Count: 1, Zero: zero})
	}
	return runs
}

// pageSource feeds Write from the mapped vmcore.
type pageSource struct {
	killMidway bool // kjump.test_fault=writer-killed-midway
	vm         *vmcore
	done       uint64
	total      uint64
	progress   Progress
	lastReport time.Time
}

func (s *pageSource) ReadPages(pfn uint64, n int, buf []byte) error {
	for i := 0; i < n; {
		// One PT_LOAD may end inside the stretch: copy page by page then.
		if p := s.vm.pages(pfn+uint64(i), uint64(n-i)); p != nil {
			copy(buf[i*image.PageSize:], p)
			break
		}
		p := s.vm.pages(pfn+uint64(i), 1)
		if p == nil {
			return fmt.Errorf("page frame %#x is not in /proc/vmcore", pfn+uint64(i))
		}
		copy(buf[i*image.PageSize:], p)
		i++
	}
	s.done += uint64(n)
	if s.killMidway && s.done >= s.total/2 {
		killSelf("halfway through the pages")
	}
	if s.progress != nil && (time.Since(s.lastReport) > 500*time.Millisecond || s.done == s.total) {
		s.lastReport = time.Now()
		s.progress(s.done, s.total)
	}
	return nil
}
