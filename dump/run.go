package dump

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/flattened"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageset"
)

// Run copies the ELF vmcore src (/proc/vmcore, or a file) to dst in the
// format opt asks for, leaving out the pages opt.Level names. See the
// package documentation.
func Run(src, dst string, opt Options) (Summary, error) {
	return RunContext(context.Background(), src, dst, opt)
}

// RunContext is Run with a context: when ctx is done the copy stops, the
// temporary file is removed and ctx's error is returned.
func RunContext(ctx context.Context, src, dst string, opt Options) (Summary, error) {
	return run(ctx, src, dst, opt, writeOutput)
}

// RunDevice is RunContext writing to dev in place, its first block last (as
// on a raw device): a file of the first kernel's filesystem that a second
// kernel reaches through its extents. capacity is dev's size (0: unknown);
// name names it in the summary and messages.
func RunDevice(ctx context.Context, src string, dev Device, capacity int64, name string, opt Options) (Summary, error) {
	return run(ctx, src, name, opt, func(_ string, write func(output) error) (int64, error) {
		return writeInPlace(dev, capacity, name, write)
	})
}

// RunFlattened is RunContext writing the dump as makedumpfile's flattened
// stream (package flattened) to w, a pipe or a connection that cannot seek:
// kjump dump -F. The dump is written as to a device, its first block last,
// and the stream's end record only after that, so a stream cut short
// rebuilds into no valid dump. name names w in the summary and messages.
func RunFlattened(ctx context.Context, src string, w io.Writer, name string, opt Options) (Summary, error) {
	fw, err := flattened.NewWriter(w)
	if err != nil {
		return Summary{}, err
	}
	sum, err := RunDevice(ctx, src, fw, 0, name, opt)
	if err != nil {
		return sum, err
	}
	if err := fw.Close(); err != nil {
		return sum, fmt.Errorf("dump: ending the stream on %s: %w", name, err)
	}
	return sum, nil
}

// Rebuild writes the dump file that the flattened stream r carries (from
// kjump dump -F, makedumpfile -F or QEMU's dump-guest-memory) to dst, as
// makedumpfile -R does, and returns its size. dst is written as Run writes
// its output: a new file renamed over dst when complete, so that a stream
// cut short leaves dst as it was; a device in place, its first block last
// (zeroed when the stream was cut short).
func Rebuild(r io.Reader, dst string) (int64, error) {
	size, err := writeOutput(dst, func(o output) error {
		_, err := flattened.Rebuild(r, o)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("dump: rebuilding %s: %w", dst, err)
	}
	return size, nil
}

// run is RunContext writing through writeOut (writeOutput, or in tests
// writeDevice on a plain file).
func run(ctx context.Context, src, dst string, opt Options, writeOut func(string, func(output) error) (int64, error)) (Summary, error) {
	start := time.Now()
	if err := checkOptions(&opt); err != nil {
		return Summary{}, err
	}
	s, err := openSource(src, opt.Overlay, opt.Extra)
	if err != nil {
		return Summary{}, err
	}
	defer s.close()
	if err := notSameFile(s.file, dst); err != nil {
		return Summary{}, err
	}

	present := s.present()
	sum := Summary{
		Source:      src,
		Dest:        dst,
		Format:      opt.Format.String(),
		Level:       int(opt.Level),
		Threads:     opt.Threads,
		SourceBytes: s.size,
		PagesTotal:  present.Count(),
	}
	if opt.Format == Kdump {
		sum.Compression = opt.Compression.String()
	}
	sum.InputBytes = sum.PagesTotal * pageSize
	for _, r := range s.regions {
		if r.overlay {
			sum.PagesOverlay += r.size >> pageShift
		}
	}
	if s.info != nil {
		sum.Release = s.info.OSRelease()
	}

	dumped, as, err := classify(s, present, opt.Level, &sum)
	if err != nil {
		return sum, fmt.Errorf("%s: %w", src, err)
	}
	if opt.Jumped != nil {
		if err := s.addJumpedCPU(opt.Jumped, as); err != nil {
			return sum, fmt.Errorf("%s: %w", src, err)
		}
	}

	pr := &progress{fn: opt.Progress}
	size, err := writeOut(dst, func(f output) error {
		switch opt.Format {
		case ELF:
			zero, err := writeELF(ctx, f, s, dumped, opt, pr)
			if opt.Level&pageclass.ExcludeZero != 0 {
				sum.Excluded.Zero = zero
			}
			return err
		default:
			st, err := writeKdump(ctx, f, s, as, present, dumped, opt, pr)
			if opt.Level&pageclass.ExcludeZero != 0 {
				sum.Excluded.Zero = st.ZeroPages
			}
			return err
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return sum, fmt.Errorf("dump: stopped before %s was complete; nothing written: %w", dst, ctx.Err())
		}
		return sum, fmt.Errorf("dump: %w", err)
	}
	sum.OutputBytes = size
	sum.PagesExcluded = sum.Excluded.Total()
	sum.PagesWritten = sum.PagesTotal - sum.PagesExcluded
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.MBps = float64(sum.InputBytes) / 1e6 / sum.Seconds
	}
	return sum, nil
}

// Check checks opt as Run would, filling in the defaults it fills in (the
// thread count), so a caller can refuse bad options before it starts work
// that cannot be undone (a snapshot checks them before the jump).
func (opt *Options) Check() error { return checkOptions(opt) }

func checkOptions(opt *Options) error {
	if opt.Level > pageclass.MaxLevel {
		return fmt.Errorf("dump: level %d: want 0 to 31: %w", opt.Level, ErrOptions)
	}
	switch opt.Format {
	case Kdump:
		switch opt.Compression {
		case dumpfile.None, dumpfile.Zlib, dumpfile.LZO, dumpfile.Snappy, dumpfile.Zstd:
		default:
			return fmt.Errorf("dump: compression %v: %w", opt.Compression, ErrOptions)
		}
	case ELF:
	default:
		return fmt.Errorf("dump: %v: %w", opt.Format, ErrOptions)
	}
	if opt.Threads < 0 {
		return fmt.Errorf("dump: %d threads: %w", opt.Threads, ErrOptions)
	}
	if opt.Threads == 0 {
		opt.Threads = runtime.NumCPU()
	}
	return nil
}

// notSameFile refuses a dst that is src itself.
func notSameFile(src *os.File, dst string) error {
	si, err1 := src.Stat()
	di, err2 := os.Stat(dst)
	if err1 == nil && err2 == nil && os.SameFile(si, di) {
		return fmt.Errorf("dump: %s is the source itself: %w", dst, ErrOptions)
	}
	return nil
}

// classify leaves out the page frames level names (but zero pages, found
// while copying) and counts them in sum. It also returns the address
// space for reading kernel variables, or nil without VMCOREINFO.
func classify(s *Vmcore, present *pageset.Set, level pageclass.Level, sum *Summary) (*pageset.Set, *pageclass.AddressSpace, error) {
	needs := level&^pageclass.ExcludeZero != 0
	if s.info == nil {
		if needs {
			return nil, nil, fmt.Errorf("level %d needs the kernel's VMCOREINFO to tell page classes apart (%v): use --level 0 or 1: %w", level, s.infoErr, ErrSource)
		}
		return present, nil, nil
	}
	as, err := pageclass.NewAddressSpace(s.info, s, s.pageOffset)
	if err != nil {
		as = nil
	}
	c, err := pageclass.New(s.info, s, pageclass.Config{PageOffset: s.pageOffset, MaxPFN: present.Len()})
	if err != nil {
		if needs {
			return nil, nil, fmt.Errorf("level %d: %w", level, err)
		}
		return present, as, nil // no walk for hardware-poisoned pages then
	}
	if !c.Walks(level) {
		return present, as, nil
	}
	kept, st, err := c.Exclude(level, present)
	if err != nil {
		return nil, nil, err
	}
	sum.Excluded.Cache = st.Cache
	sum.Excluded.CachePrivate = st.CachePrivate
	sum.Excluded.User = st.User
	sum.Excluded.Free = st.Free
	sum.Excluded.HWPoison = st.HWPoison
	sum.Excluded.Offline = st.Offline
	sum.PagesUnclassified = st.Unknown
	return kept, c.AddressSpace(), nil
}

// writeKdump writes a kdump-compressed file.
func writeKdump(ctx context.Context, f output, s *Vmcore, as *pageclass.AddressSpace, present, dumped *pageset.Set, opt Options, pr *progress) (dumpfile.Stats, error) {
	notes, cpus := s.notes()
	h := dumpfile.Header{
		Utsname:     s.utsname(as),
		Timestamp:   opt.Timestamp,
		NrCPUs:      max(cpus, 1),
		DumpLevel:   int(opt.Level),
		MaxPFN:      present.Len(),
		Compression: opt.Compression,
		Notes:       notes,
	}
	if h.Timestamp.IsZero() {
		h.Timestamp = time.Now()
	}
	if text, ok := s.elf.VMCOREINFO(); ok {
		h.VMCOREINFO = text
	}
	if s.info != nil {
		if pb, ok := s.info.Number("phys_base"); ok {
			h.PhysBase = uint64(pb)
		}
	}
	return dumpfile.Write(f, h, present, dumped, ctxSource{ctx, s}, dumpfile.Options{
		Threads:  opt.Threads,
		Progress: pr.set,
	})
}

// ctxSource stops Write when ctx is done, and lets go of the pages it
// has written.
type ctxSource struct {
	ctx context.Context
	s   *Vmcore
}

func (c ctxSource) ReleasePages(first, last uint64) { c.s.release(first, last) }

// PageBytes reads a page in place when SRC's mapping has all of it (nil
// once ctx is done, so that ReadPage reports why).
func (c ctxSource) PageBytes(pfn uint64) []byte {
	if c.ctx.Err() != nil {
		return nil
	}
	return c.s.direct(pfn<<pageShift, pageSize)
}

func (c ctxSource) ReadPage(pfn uint64, buf []byte) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	return c.s.ReadPage(pfn, buf)
}

// progress forwards page counts to Options.Progress, one call at a time.
type progress struct {
	mu   sync.Mutex
	fn   func(done, total uint64)
	base uint64 // pages of earlier phases, added to done and total
}

func (p *progress) set(done, total uint64) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn(p.base+done, p.base+total)
}
