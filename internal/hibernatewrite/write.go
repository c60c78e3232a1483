// Package hibernatewrite is the second kernel's half of kjump hibernate (kjump
// hibernate-write): it takes the request from the mailbox, writes the first
// kernel's memory from /proc/vmcore as an image, and leaves the states the
// first kernel and the resume kernel read (package hibernate has the protocol,
// the first kernel's half and the resume kernel's).
package hibernatewrite

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/internal/cmdline"
	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/internal/snapshotwrite"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageset"
	"github.com/kjump/kjump/physmem"
	"github.com/kjump/kjump/snapshot"
)

// Write is the second kernel's half (kjump hibernate-write): it takes the
// request from the mailbox at mailboxAddr and writes the first kernel's memory
// as an image, leaving the state in the mailbox (see outcome): Working before
// it reads the memory, then Committed with the image's UUID, or Failed with
// the reason. A failure after the image's first write revokes it. Init then
// powers off, or on failure jumps back and the first kernel reports it.
func Write(mailboxAddr uint64, root string, progress hibernate.Progress) (*image.Stats, error) {
	start := time.Now()
	var req hibernate.Request
	box, m, err := mailbox.TakeRequest(physmem.Path, mailboxAddr, &req)
	if err != nil {
		return nil, err
	}
	defer box.Close()
	if req.Park {
		// A parked writer's first entry: say so; init jumps back.
		payload, _ := json.Marshal(hibernate.Report{Parked: true})
		return nil, box.WriteChecked(mailbox.Message{State: mailbox.Done, Seq: m.Seq, Payload: payload})
	}
	if req.Parked && len(req.Snapshot) > 0 {
		return nil, snapshotParked(box, m.Seq, req.Snapshot, root)
	}
	if req.Report != 0 {
		// Take the request (and any key) out of the park page too.
		if err := box.WriteChecked(mailbox.Message{State: mailbox.Working, Seq: m.Seq}); err != nil {
			return nil, err
		}
		rb, err := mailbox.Attach(physmem.Path, req.Report)
		if err != nil {
			return nil, err
		}
		defer rb.Close()
		box = rb
	}
	if req.Parked {
		devs := []string{req.Device}
		for _, m := range req.Mounts {
			devs = append(devs, m.Device)
		}
		if err := freshView(root, req.Names, devs); err != nil {
			return nil, errors.Join(err, box.WriteChecked(failedMessage(m.Seq, err, hibernate.Report{CannotServe: true})))
		}
	}
	// Take the request (and any key) out of the first kernel's memory before
	// that memory is saved. A restored system finds this state until the
	// resume kernel reports.
	if err := box.WriteChecked(mailbox.Message{State: mailbox.Working, Seq: m.Seq}); err != nil {
		return nil, err
	}
	fault := testFault(root)
	stats, werr := write(req, box.Phys, root, progress, fault)
	if werr == nil {
		if fault == FaultCommitted {
			killSelf("after the commit record")
		}
		rep := hibernate.Report{Image: hex.EncodeToString(stats.Header.UUID[:]), Saved: stats.Header.Created}
		payload, _ := json.Marshal(rep)
		werr = box.WriteChecked(mailbox.Message{State: mailbox.Committed, Seq: m.Seq, Payload: payload})
		if werr != nil {
			werr = errors.Join(werr, revokeDevice(root, req))
		} else if req.Suspend {
			werr = hybridSleep(root, req, box, m.Seq, rep)
		} else if req.Parked {
			// A parked writer's init jumps back: end as asked here.
			finish(req.Then, stats, time.Since(start))
		}
	}
	if werr != nil {
		if err := box.WriteChecked(failedMessage(m.Seq, werr, hibernate.Report{})); err != nil {
			return nil, errors.Join(werr, fmt.Errorf("and the first kernel cannot be told: %w", err))
		}
		return nil, werr
	}
	return stats, nil
}

// hybridSleep suspends to RAM with the image committed. On wake it revokes the
// image and reports Done (Woke) so that init jumps back; whenever it cannot
// make sure the image is revoked, it powers off instead, leaving the image for
// the next boot to resume: the first kernel never carries on beside a valid
// image of itself.
func hybridSleep(root string, req hibernate.Request, box *mailbox.Box, seq uint64, rep hibernate.Report) error {
	powerOff := func(why error) { end(initmode.PowerOff, fmt.Sprintf("%v; the next boot resumes from the image", why)) }
	unix.Sync()
	fmt.Fprintf(os.Stderr, "hibernate-write: image %s committed; suspending to RAM (hybrid sleep)\n", rep.Image)
	// Let the line reach the console before the kernel's own suspend lines,
	// which otherwise land in the middle of it.
	initmode.DrainConsole(os.Stderr)
	if err := os.WriteFile(filepath.Join(root, "sys/power/state"), []byte("mem"), 0); err != nil {
		powerOff(fmt.Errorf("suspend to RAM failed (%w)", err))
	}
	fmt.Fprintf(os.Stderr, "hibernate-write: woke from suspend to RAM; revoking the image\n")
	if err := revokeDevice(root, req); err != nil {
		powerOff(fmt.Errorf("woke, but cannot revoke the image (%w)", err))
	}
	rep.Woke, rep.Resumed = true, time.Now()
	payload, _ := json.Marshal(rep)
	if err := box.WriteChecked(mailbox.Message{State: mailbox.Done, Seq: seq, Payload: payload}); err != nil {
		// The image is revoked: going back is safe, and the first kernel,
		// finding Committed, reports that it was not resumed.
		return fmt.Errorf("woke and revoked the image, but cannot report it: %w", err)
	}
	return nil
}

// snapshotParked takes a snapshot in a parked writer (kjump snapshot re-entered
// it): with a fresh view of the output's device, as a fresh snapshot-write
// kernel does, answering in the park page; init then jumps back, still parked.
// A device it does not have makes it answer CannotServe (the first kernel
// loads a fresh snapshot kernel).
func snapshotParked(box *mailbox.Box, seq uint64, raw json.RawMessage, root string) error {
	var req snapshot.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		err = fmt.Errorf("the snapshot request: %w", err)
		return errors.Join(err, box.WriteChecked(snapshotwrite.ReplyMessage(seq, snapshot.Reply{}, err)))
	}
	if err := freshView(root, req.Names, []string{req.Device}); err != nil {
		return errors.Join(err, box.WriteChecked(snapshotwrite.ReplyMessage(seq, snapshot.Reply{CannotServe: true}, err)))
	}
	r, err := snapshotwrite.Answer(box, seq, req, root, nil)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(r)
	fmt.Fprintf(os.Stderr, "hibernate-write: snapshot taken by the parked writer: %s\n", b)
	return nil
}

// freshView makes a re-entered parked writer forget what it saw before: the
// page cache of the disks (the first kernel wrote to them since), and it
// checks it has every device devs names (a disk added since it booted is not
// there: it cannot serve, and the first kernel loads a fresh second kernel).
func freshView(root string, names blockdev.Names, devs []string) error {
	if err := os.WriteFile(filepath.Join(root, "proc/sys/vm/drop_caches"), []byte("3"), 0); err != nil {
		return fmt.Errorf("dropping the parked writer's caches: %w", err)
	}
	for _, d := range devs {
		node, err := names.Node(root, d)
		if err != nil {
			return fmt.Errorf("the parked writer has no block device %s (added after it booted?): %w", d, err)
		}
		blockdev.DropCache(node)
	}
	return nil
}

// finish ends a parked writer's hibernation as the request asked: power off
// (the default) or reboot. It does not return.
func finish(then initmode.Action, st *image.Stats, took time.Duration) {
	if then == "" {
		then = initmode.PowerOff
	}
	// The line kjump hibernate-write prints when it returns, and why it does not.
	end(then, Summary(st, took)+"; by the parked writer")
}

// Summary is the line that describes a written image (kjump hibernate-write
// prints it after "hibernate-write: ").
func Summary(st *image.Stats, took time.Duration) string {
	return fmt.Sprintf("image %x: %d pages (%s) stored in %s, %d zero pages, %d of %d chunks compressed, in %.2fs; written in %.2fs at %.0f MB/s",
		st.Header.UUID, st.Header.Pages, memmap.FormatSize(st.RawBytes), memmap.FormatSize(st.StoredBytes), st.Header.ZeroPages,
		st.Tried, st.Header.Chunks, took.Seconds(), st.Took.Seconds(), float64(st.StoredBytes)/1e6/max(st.Took.Seconds(), 1e-9))
}

// end syncs, says why, and powers off or reboots. It does not return.
func end(then initmode.Action, why string) {
	unix.Sync()
	fmt.Fprintf(os.Stderr, "hibernate-write: %s; %s\n", why, then)
	initmode.Halt(os.Stderr, then)
	select {}
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
func revokeDevice(root string, req hibernate.Request) error {
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
		return image.Revoke(hibernate.NewSection(f))
	}
	return image.Revoke(dev)
}

func write(req hibernate.Request, mailboxAddr uint64, root string, progress hibernate.Progress, fault string) (*image.Stats, error) {
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

	vm, err := dump.OpenVmcore("/proc/vmcore")
	if err != nil {
		return nil, fmt.Errorf("%w (the second kernel needs CONFIG_PROC_VMCORE and an ELF core header from kjump)", err)
	}
	defer vm.Close()
	runs, err := vmcoreRuns(vm)
	if err != nil {
		return nil, err
	}

	dev, err := blockdev.Open(node)
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
		out = hibernate.NewSection(f)
	}
	budget, err := hibernate.MemoryBudget(root)
	if err != nil {
		return nil, err
	}
	opt, err := writeOptions(req.Compression, budget, root, node)
	if err != nil {
		return nil, err
	}
	switch {
	case len(req.Key) > 0:
		if opt.Key, err = image.RawKey(req.Key); err != nil {
			return nil, err
		}
	case len(req.Passphrase) > 0:
		opt.Key = image.Passphrase(req.Passphrase)
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
	if size, err := writerSize(out, node); err == nil && size < int64(total)*image.PageSize/8 {
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

func fingerprintDevice(root string, names blockdev.Names, m hibernate.Mount) (image.Filesystem, error) {
	node, err := names.Node(root, m.Device)
	if err != nil {
		return image.Filesystem{}, err
	}
	f, err := os.Open(node)
	if err != nil {
		return image.Filesystem{}, err
	}
	defer f.Close()
	sum, detail, err := hibernate.Fingerprint(f)
	if err != nil {
		return image.Filesystem{}, fmt.Errorf("%s (%s): %w", node, m.Name, err)
	}
	return image.Filesystem{Device: m.Device, Name: m.Name + ": " + detail, Fingerprint: sum}, nil
}

// writeOptions are the options of an image written to node: compression
// (auto, zstd, lz4 or none), the workers and the writes in flight sized from
// budget, pages read on every worker (pageSource allows it), and for auto the
// disk's busy time as the kernel under root counts it.
func writeOptions(compression string, budget uint64, root, node string) (image.WriteOptions, error) {
	opt, err := hibernate.CompressionOptions(compression)
	if err != nil {
		return opt, err
	}
	if busy, err := blockdev.Busy(root, node); err == nil {
		opt.DiskBusy = busy
	}
	opt.Workers = writeWorkers(budget, image.DefaultPagesPerChunk)
	opt.InFlight = writesInFlight(budget, image.DefaultPagesPerChunk)
	opt.ConcurrentSource = true
	return opt, nil
}

// writeWorkers is how many compression workers fit budget: each holds a raw
// and a compressed chunk of ppc pages in flight (two per worker) and a zstd
// encoder of a few MiB.
func writeWorkers(budget uint64, ppc int) int {
	per := 4*uint64(ppc)*image.PageSize + 8<<20
	return int(max(1, min(uint64(runtime.GOMAXPROCS(0)), budget/2/per)))
}

// writesInFlight is how many chunk writes may be under way at once: enough to
// keep a device written with O_DIRECT busy (each holds a chunk), at most an
// eighth of budget.
func writesInFlight(budget uint64, ppc int) int {
	return int(max(1, min(8, budget/8/(uint64(ppc)*image.PageSize))))
}

// imageWriter is where the image goes: the raw device, or the image part of a file.
type imageWriter interface {
	io.WriterAt
	Sync() error
}

func writerSize(w imageWriter, node string) (int64, error) {
	if s, ok := w.(*hibernate.Section); ok {
		return s.Size(), nil
	}
	return blockdev.Size(node)
}

// vmcoreRuns lists what an image of the first kernel saves: every whole page
// frame of its memory in the vmcore except free pages (by its struct pages),
// with all-zero pages as zero runs. The memory is saved as it is while the
// second kernel runs, including where the jump put the pages it moved out of
// the region: the first kernel moves them back itself on the way back.
func vmcoreRuns(v *dump.Vmcore) ([]image.Run, error) {
	keep, err := v.Keep(pageclass.ExcludeFree, v.WholePages())
	if err != nil {
		return nil, fmt.Errorf("telling free pages: %w", err)
	}
	buf := make([]byte, image.PageSize)
	return buildRuns(keep, func(pfn uint64) []byte {
		if p := v.Page(pfn); p != nil {
			return p
		}
		if v.ReadPage(pfn, buf) != nil {
			return nil
		}
		return buf
	}), nil
}

// buildRuns turns the kept page frames into image runs, all-zero pages into
// zero runs. page returns a frame's contents.
func buildRuns(keep *pageset.Set, page func(pfn uint64) []byte) []image.Run {
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

// pageSource feeds Write from the vmcore, from several workers at once
// (image.WriteOptions.ConcurrentSource: the vmcore's reads share no state).
type pageSource struct {
	killMidway bool // kjump.test_fault=writer-killed-midway
	vm         *dump.Vmcore
	total      uint64
	progress   hibernate.Progress

	mu   sync.Mutex
	done uint64
}

func (s *pageSource) ReadPages(pfn uint64, n int, buf []byte) error {
	// The run in one copy; page by page where the vmcore does not hold it
	// whole (ReadPage fills in a page a segment covers only in part).
	if _, err := s.vm.ReadPhys(buf, pfn*image.PageSize); err != nil {
		for i := range uint64(n) {
			if err := s.vm.ReadPage(pfn+i, buf[i*image.PageSize:(i+1)*image.PageSize]); err != nil {
				return fmt.Errorf("page frame %#x of /proc/vmcore: %w", pfn+i, err)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done += uint64(n)
	if s.killMidway && s.done >= s.total/2 {
		killSelf("halfway through the pages")
	}
	if s.progress != nil {
		s.progress(s.done, s.total)
	}
	return nil
}

// failedMessage is the Failed state for err, with rep's other fields; the
// reason always fits the page (mailbox.Fit).
func failedMessage(seq uint64, err error, rep hibernate.Report) mailbox.Message {
	return mailbox.Fit(mailbox.Failed, seq, err.Error(), func(why string) []byte {
		rep.Error = why
		b, _ := json.Marshal(rep)
		return b
	})
}
