package hibernate

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/doctor"
	"github.com/kjump/kjump/image"
	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/mailbox"
	"github.com/kjump/kjump/memmap"
)

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
}

// ErrCannotJump means this kernel could restore the memory but not jump back.
var ErrCannotJump = errors.New("this kernel cannot resume")

// ErrOverlap means the resume kernel runs in memory the image restores.
var ErrOverlap = errors.New("this kernel's memory overlaps the saved system's")

// Opened is an image Check found resumable.
type Opened struct {
	*image.Image
	dev  *os.File
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
	key, err := openKey(o.KeyFile, o.PassphraseFile)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(o.From, os.O_RDWR, 0)
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
	im, err := image.Open(op.rw, op.size, key)
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
	// The jump back needs kexec_load after the memory is restored: make sure
	// now that nothing will refuse it. (This kernel does not load a second
	// kernel of its own, so the region checks do not apply.)
	var missing []string
	for _, c := range doctor.Run(o.Root).Checks {
		if c.Status == doctor.Missing && c.Name != "region" && c.Name != "RAM map" {
			missing = append(missing, c.Name+": "+c.Detail)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: this kernel could not jump back to the saved system after restoring it: %s", ErrCannotJump, strings.Join(missing, "; "))
	}
	logf("resume: same kernel build, machine and filesystems; reading and checking all %d chunks", h.Chunks)
	// Every chunk's stored bytes against its digest (tied to the commit
	// record and, when encrypted, its MAC): decoding them twice, here and
	// while restoring, would double the resume's slowest part.
	if err := im.CheckChunks(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.From, err)
	}
	ok = true
	return op, nil
}

// Resume restores the system saved in the image on o.From and jumps back to it.
// It returns only on failure. Until the image is marked consumed nothing is
// written anywhere, so a failed check leaves the image and the memory as they
// were and the caller boots normally.
func Resume(o ResumeOptions) error {
	im, err := Check(o)
	if err != nil {
		return err
	}
	defer im.Close()
	h := im.Header()
	// One-shot: once memory is overwritten, the image must never be used again.
	if err := image.MarkConsumed(im.rw, im.size); err != nil {
		return fmt.Errorf("marking the image consumed: %w", err)
	}
	if err := im.dev.Sync(); err != nil {
		return fmt.Errorf("marking the image consumed: %w", err)
	}
	start := time.Now()
	mem, err := os.OpenFile(DevMem, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w (needs CONFIG_DEVMEM)", err)
	}
	defer mem.Close()
	if err := restore(mem, im.Image, o.Progress); err != nil {
		return fmt.Errorf("restoring memory (the saved system is lost; the image is consumed): %w", err)
	}
	rep := Report{Image: hex.EncodeToString(h.UUID[:]), Saved: h.Created, Resumed: time.Now(),
		RestoreSeconds: time.Since(start).Seconds(), Pages: h.Pages, ZeroPages: h.ZeroPages}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "resume: restored %d pages and cleared %d in %.2fs; jumping back to %#x\n", h.Pages, h.ZeroPages, rep.RestoreSeconds, h.JumpBack)
	}
	if h.Mailbox != 0 {
		if box, err := mailbox.Attach(DevMem, h.Mailbox); err == nil {
			payload, _ := json.Marshal(rep)
			if m, err := box.Read(); err == nil && m.State == mailbox.Working {
				box.Write(mailbox.Message{State: mailbox.Done, Seq: m.Seq, Payload: payload})
			}
			box.Close()
		}
	}
	_, err = jump.Back(h.JumpBack, nil)
	return fmt.Errorf("jumping back to the restored system at %#x: %w", h.JumpBack, err)
}

func openKey(keyFile, passFile string) (image.Key, error) {
	var req Request
	if err := readKey(&req, keyFile, passFile); err != nil {
		return image.Key{}, err
	}
	switch {
	case req.Key != nil:
		return image.RawKey(req.Key)
	case req.Passphrase != "":
		return image.Passphrase([]byte(req.Passphrase)), nil
	}
	return image.Key{}, nil
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
func restore(mem *os.File, im *image.Image, progress Progress) error {
	h := im.Header()
	total, done := h.Pages+h.ZeroPages, uint64(0)
	last := time.Now()
	report := func(n uint64) {
		done += n
		if progress != nil && (time.Since(last) > 500*time.Millisecond || done == total) {
			last = time.Now()
			progress(done, total)
		}
	}
	put := func(phys uint64, n int, fill func(dst []byte)) error {
		m, err := unix.Mmap(int(mem.Fd()), int64(phys), n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("mapping %#x+%#x of %s: %w", phys, n, DevMem, err)
		}
		fill(m)
		return unix.Munmap(m)
	}
	const zeroWindow = 64 << 20
	for _, r := range im.Runs() {
		if !r.Zero {
			continue
		}
		for off := uint64(0); off < r.Count*image.PageSize; off += zeroWindow {
			n := min(zeroWindow, r.Count*image.PageSize-off)
			if err := put(r.PFN*image.PageSize+off, int(n), func(dst []byte) { clear(dst) }); err != nil {
				return err
			}
			report(n / image.PageSize)
		}
	}
	return im.Pages(func(pfn uint64, data []byte) error {
		if err := put(pfn*image.PageSize, len(data), func(dst []byte) { copy(dst, data) }); err != nil {
			return err
		}
		report(uint64(len(data)) / image.PageSize)
		return nil
	})
}
