package hibernate

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kjump/kjump/doctor"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/physmem"
)

// Progress is called after every step while pages are written or restored
// (a chunk or a run): the caller throttles what it prints.
type Progress func(done, total uint64)

// ResumeOptions say where the image is and how to open it.
type ResumeOptions struct {
	From           string // the device holding the image
	InFile         bool   // the image is in a file on From whose locator block is at Offset
	Offset         uint64
	KeyFile        string // 32-byte key of an encrypted image
	PassphraseFile string // or its passphrase
	Root           string // default "/"
	Log            io.Writer
	Progress       Progress
	// Memory is the saved system's physical memory; default physmem.Path.
	// Tests give a file.
	Memory string
}

// ErrCannotJump means this kernel could restore the memory but not jump back.
var ErrCannotJump = errors.New("this kernel cannot resume")

// ErrOverlap means the resume kernel runs in memory the image restores.
var ErrOverlap = errors.New("this kernel's memory overlaps the saved system's")

// Opened is an image Check found resumable.
type Opened struct {
	*image.Image
	dev  blockdev.Device    // O_DIRECT where the kernel takes it
	rw   image.ReadWriterAt // the image: dev, or the image part of a file on it
	size int64
}

// Close closes the device.
func (o *Opened) Close() error { return o.dev.Close() }

// Check opens the image on o.From and checks everything a resume needs
// without writing anything: the image itself (every chunk read and checked),
// that it belongs to this machine and kernel build, that no saved filesystem
// changed since, and that this kernel's RAM is outside the restored memory.
// The caller closes the result.
func Check(o ResumeOptions) (*Opened, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	key, err := image.KeyFromFiles(o.KeyFile, o.PassphraseFile)
	if err != nil {
		return nil, err
	}
	f, err := blockdev.Open(o.From)
	if err != nil {
		return nil, err
	}
	op := &Opened{dev: f, rw: f}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	if op.size, err = deviceSize(f); err != nil {
		return nil, err
	}
	budget, err := MemoryBudget(o.Root)
	if err != nil {
		return nil, err
	}
	if o.InFile {
		num, err := blockdev.Number(o.From)
		if err != nil {
			return nil, err
		}
		sec, err := openImageFile(f, num, int64(o.Offset))
		if err != nil {
			return nil, err
		}
		op.rw, op.size = sec, sec.size
	}
	im, err := image.OpenLimited(op.rw, op.size, key, image.Limits{Memory: budget})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.From, err)
	}
	op.Image = im
	h := im.Header()
	logf("resume: image %x of %s, saved %s: %d pages, %d zero pages", h.UUID, h.Release, h.Created.Format(time.RFC3339), h.Pages, h.ZeroPages)

	sys, err := ReadSystem(o.Root)
	if err != nil {
		return nil, err
	}
	if err := sys.Compare(System{Release: h.Release, Identity: h.Identity, MemMapHash: h.MemMapHash, RAMSize: h.RAMSize, CPUs: h.CPUs}); err != nil {
		return nil, err
	}
	if err := checkFilesystems(o.Root, h.Filesystems); err != nil {
		return nil, err
	}
	iomem, err := memmap.ReadIomem(o.Root)
	if err != nil {
		return nil, err
	}
	if err := checkOverlap(memmap.IomemRAM(iomem).RAM(), im.Runs(), h.SecondKernel); err != nil {
		return nil, err
	}
	fw, err := memmap.ReadFirmwareMemmap(o.Root)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(h, im.Runs(), fw.RAM()); err != nil {
		return nil, fmt.Errorf("%s: %w", o.From, err)
	}
	// The jump back needs kexec_load after the memory is restored: make sure
	// now that nothing will refuse it. (This kernel does not load a second
	// kernel of its own, so the region checks do not apply.)
	if missing := jumpBackProblems(doctor.Run(o.Root)); len(missing) > 0 {
		return nil, fmt.Errorf("%w: this kernel could not jump back to the saved system after restoring it: %s", ErrCannotJump, strings.Join(missing, "; "))
	}
	logf("resume: same kernel build, machine and filesystems; %s of memory for reading the image", memmap.FormatSize(budget))
	ok = true
	return op, nil
}

// jumpBackProblems are the rows of a doctor report on the resume kernel that
// would stop the kexec_load of the jump back. The region rows do not apply
// (this kernel loads no second kernel of its own), and neither do the kernel
// config rows: the image's kernel build has matched this one's (release,
// version and GNU build ID), and that build ran the kexec jump that wrote the
// image, so it has every option the jump needs. A resume kernel often has no
// config to read: Debian has no CONFIG_IKCONFIG and its initramfs no /boot.
func jumpBackProblems(rep doctor.Report) []string {
	var missing []string
	for _, c := range rep.Checks {
		if c.Status != doctor.Missing || c.Name == "region" || c.Name == "RAM map" ||
			c.Name == "kernel config" || strings.HasPrefix(c.Name, "CONFIG_") {
			continue
		}
		missing = append(missing, c.Name+": "+c.Detail)
	}
	return missing
}

// Resume restores the system saved in the image on o.From and jumps back to it.
// It returns only on failure. The order makes every failure before the jump
// recoverable: Check validates the header, the map and this machine; then
// each chunk is read, checked, decoded and written into the saved system's
// memory once (nothing runs there until the jump, so a chunk that fails
// leaves nothing harmed); then the report goes into the saved system's
// mailbox; then the jump-back helper is loaded; and only then is the image
// marked consumed, after checking it is still the image that was restored.
// Until that mark the image stays resumable and the caller boots on.
func Resume(o ResumeOptions) error {
	im, err := Check(o)
	if err != nil {
		return err
	}
	defer im.Close()
	if o.Memory == "" {
		o.Memory = physmem.Path
	}
	return resume(im, o, jump.Back)
}

// resume is Resume after Check, with the jump (jump.Back) given.
func resume(im *Opened, o ResumeOptions, back func(uint64, func(bool) error) (time.Duration, error)) error {
	h := im.Header()
	start := time.Now()
	mem, err := physmem.OpenWritable(o.Memory)
	if err != nil {
		return err
	}
	defer mem.Close()
	if err := restore(mem, im.Image, o.Progress); err != nil {
		return fmt.Errorf("restoring memory: %w; the image was not marked consumed and can be resumed again", err)
	}
	rep := Report{Image: hex.EncodeToString(h.UUID[:]), Saved: h.Created, Resumed: time.Now(),
		RestoreSeconds: time.Since(start).Seconds(), Pages: h.Pages, ZeroPages: h.ZeroPages}
	if h.Mailbox != 0 {
		if err := leaveReport(o.Memory, h.Mailbox, rep); err != nil {
			return fmt.Errorf("%w; the image was not marked consumed", err)
		}
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "resume: restored %d pages and cleared %d in %.2fs; jumping back to %#x\n", h.Pages, h.ZeroPages, rep.RestoreSeconds, h.JumpBack)
	}
	_, err = back(h.JumpBack, func(bool) error {
		// The point of no return: one-shot from here.
		if err := image.MarkConsumed(im.rw, im.size, h.UUID); err != nil {
			return fmt.Errorf("marking the image consumed: %w", err)
		}
		if err := im.dev.Sync(); err != nil {
			return fmt.Errorf("marking the image consumed: %w", err)
		}
		return nil
	})
	return fmt.Errorf("jumping back to the restored system at %#x: %w", h.JumpBack, err)
}

// leaveReport tells the restored system it was resumed: the Done state, in the
// mailbox page the image names (restored as Working, the state the second
// kernel left while it read the memory).
func leaveReport(memory string, phys uint64, rep Report) error {
	box, err := mailbox.Attach(memory, phys)
	if err != nil {
		return fmt.Errorf("the restored system's mailbox: %w", err)
	}
	defer box.Close()
	m, err := box.Read()
	if err != nil || m.State != mailbox.Working {
		return fmt.Errorf("the restored system's mailbox at %#x holds no hibernation at work (state %v, %v)", phys, m.State, err)
	}
	payload, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := box.WriteChecked(mailbox.Message{State: mailbox.Done, Seq: m.Seq, Payload: payload}); err != nil {
		return fmt.Errorf("the restored system's mailbox: %w", err)
	}
	return nil
}

// ErrLayout means the image would write outside the saved system's RAM or jump
// somewhere it did not save.
var ErrLayout = errors.New("the image's memory layout does not fit this machine")

// checkLayout checks what the image steers before a byte is written: every
// run lies in the firmware's RAM (an unencrypted map is not keyed, and /dev/mem
// writes must never reach device memory), the pages fit the RAM size the
// header names, and the jump-back entry and the mailbox lie in saved pages.
func checkLayout(h image.Header, runs []image.Run, ram []memmap.Range) error {
	inRAM := func(r memmap.Range) bool {
		for _, m := range ram {
			if m.ContainsRange(r) {
				return true
			}
		}
		return false
	}
	saved := func(addr uint64) bool {
		for _, r := range runs {
			if addr/image.PageSize >= r.PFN && addr/image.PageSize-r.PFN < r.Count {
				return true
			}
		}
		return false
	}
	var pages uint64
	for _, r := range runs {
		rr := memmap.Range{Start: r.PFN * image.PageSize, Size: r.Count * image.PageSize}
		if !inRAM(rr) {
			return fmt.Errorf("%w: saved pages %s are not RAM in the firmware's memory map", ErrLayout, rr)
		}
		pages += r.Count
	}
	if pages > h.RAMSize/image.PageSize {
		return fmt.Errorf("%w: %d pages saved, more than the %s of RAM the image names", ErrLayout, pages, memmap.FormatSize(h.RAMSize))
	}
	if h.JumpBack == 0 || !saved(h.JumpBack) {
		return fmt.Errorf("%w: the jump-back entry %#x is not in the saved memory", ErrLayout, h.JumpBack)
	}
	if h.Mailbox != 0 && !saved(h.Mailbox) {
		return fmt.Errorf("%w: the mailbox page %#x is not in the saved memory", ErrLayout, h.Mailbox)
	}
	return nil
}

func checkFilesystems(root string, fss []image.Filesystem) error {
	var why []string
	for _, fs := range fss {
		node, err := blockdev.Node(root, fs.Device)
		if err != nil {
			why = append(why, fmt.Sprintf("%s is gone (%v)", fs.Name, err))
			continue
		}
		d, err := os.Open(node)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", fs.Name, err))
			continue
		}
		sum, detail, err := Fingerprint(d)
		d.Close()
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", fs.Name, err))
		} else if sum != fs.Fingerprint {
			why = append(why, fmt.Sprintf("%s changed: now %s", fs.Name, detail))
		}
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s; the saved system still has it mounted with the old state cached, and resuming would corrupt it: boot normally", ErrStaleFS, strings.Join(why, "; "))
}

// checkOverlap refuses when this kernel's RAM holds pages the image restores.
func checkOverlap(own []memmap.Range, runs []image.Run, second image.Range) error {
	for _, r := range own {
		for _, run := range runs {
			rr := memmap.Range{Start: run.PFN * image.PageSize, Size: run.Count * image.PageSize}
			if rr.Overlaps(r) {
				return fmt.Errorf("%w: RAM %s holds saved pages (%s): boot the resume kernel with '%s' (the region the image was written from)",
					ErrOverlap, r, rr.Intersect(r), ResumeCommandLine(memmap.Range{Start: second.Start, Size: second.Size}))
			}
		}
	}
	return nil
}

// restore writes the image's pages into physical memory through mem (/dev/mem),
// mapping each stretch of pages where it goes.
func restore(mem *physmem.Mem, im *image.Image, progress Progress) error {
	h := im.Header()
	total, done := h.Pages+h.ZeroPages, uint64(0)
	report := func(n uint64) {
		done += n
		if progress != nil {
			progress(done, total)
		}
	}
	const zeroWindow = 64 << 20
	for _, r := range im.Runs() {
		if !r.Zero {
			continue
		}
		for off := uint64(0); off < r.Count*image.PageSize; off += zeroWindow {
			n := min(zeroWindow, r.Count*image.PageSize-off)
			if err := mem.Fill(r.PFN*image.PageSize+off, int(n), func(dst []byte) { clear(dst) }); err != nil {
				return err
			}
			report(n / image.PageSize)
		}
	}
	// On all the decoding workers: each stretch goes to its own pages.
	var mu sync.Mutex
	return im.PagesConcurrently(func(pfn uint64, data []byte) error {
		if err := mem.Fill(pfn*image.PageSize, len(data), func(dst []byte) { copy(dst, data) }); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		report(uint64(len(data)) / image.PageSize)
		return nil
	})
}

func deviceSize(f blockdev.Device) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode().IsRegular() {
		return st.Size(), nil
	}
	return f.Seek(0, 2)
}
