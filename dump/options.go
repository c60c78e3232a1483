package dump

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/pageclass"
)

// Sentinel errors; errors from Run match one of them, or one of elfcore's
// (for SRC) or dumpfile's, or wrap an I/O error.
var (
	// ErrSource: SRC cannot be dumped (not a regular file, no
	// VMCOREINFO where the level needs it).
	ErrSource = errors.New("unusable source")
	// ErrOptions: an Options field out of range.
	ErrOptions = errors.New("invalid dump options")
)

// Format is the kind of file Run writes.
type Format int

const (
	// Kdump is the kdump-compressed ("diskdump") format makedumpfile -c/-l/-p/-z writes.
	Kdump Format = iota
	// ELF is an ELF core, like makedumpfile -E writes.
	ELF
)

func (f Format) String() string {
	switch f {
	case Kdump:
		return "kdump"
	case ELF:
		return "elf"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses "kdump" or "elf".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "kdump":
		return Kdump, nil
	case "elf":
		return ELF, nil
	}
	return 0, fmt.Errorf("format %q: want kdump or elf: %w", s, ErrOptions)
}

// ParseCompression parses a compression name for a kdump-compressed
// file: zlib, lzo, zstd, snappy or none.
func ParseCompression(s string) (dumpfile.Compression, error) {
	switch strings.ToLower(s) {
	case "zlib":
		return dumpfile.Zlib, nil
	case "zstd":
		return dumpfile.Zstd, nil
	case "snappy":
		return dumpfile.Snappy, nil
	case "none":
		return dumpfile.None, nil
	case "lzo":
		return dumpfile.LZO, nil
	}
	return 0, fmt.Errorf("compression %q: want zlib, lzo, zstd, snappy or none: %w", s, ErrOptions)
}

// Overlay maps page frames of the dumped kernel that SRC does not hold to
// the physical address (page-aligned, read through Options.Extra) where
// their contents are now. In a kexec jump's second kernel, the pages of
// the first kernel that the jump swapped out of the second kernel's region
// are such pages: /proc/vmcore leaves the region out, and the first
// kernel's data lives in the pages the kexec image occupied. Overlay pages
// take precedence over SRC's.
type Overlay map[uint64]uint64

// Options tune Run. The zero value writes a kdump-compressed file with no
// compression and keeps every page; use DefaultOptions for makedumpfile's
// usual -d 31 -c.
type Options struct {
	// Level is the dump level: the classes of pages to leave out
	// (makedumpfile's -d).
	Level pageclass.Level
	// Format is the output format.
	Format Format
	// Compression is the per-page compression of a Kdump file (ignored for
	// ELF). crash 8.0.2 reads all of None, Zlib, LZO, Snappy and Zstd;
	// makedumpfile 1.7.2 as Debian builds it only None, Zlib and LZO.
	Compression dumpfile.Compression
	// Threads is how many goroutines read and compress pages; 0 means
	// runtime.NumCPU(). The output does not depend on it.
	Threads int
	// Progress, if set, is called with pages done and the total while
	// pages are copied, from one goroutine at a time.
	Progress func(done, total uint64)
	// Overlay and Extra add pages SRC lacks; see Overlay.
	Overlay Overlay
	Extra   Memory
	// Timestamp goes into a Kdump file's header; the zero value means now.
	Timestamp time.Time
	// Jumped, if set, is the CPU a live (not crashed) kernel made a kexec
	// jump on; see JumpedCPU. It is ignored when SRC has NT_PRSTATUS notes.
	Jumped *JumpedCPU
}

// JumpedCPU describes the CPU on which a live kernel made the kexec jump that
// SRC was read after (kjump snapshot's second kernel). Such a kernel never
// ran crash_save_cpu: its per-CPU crash_notes buffers are zero and SRC has
// no NT_PRSTATUS note, so crash warns "cpu 0: invalid NT_PRSTATUS note" and
// knows no registers for the task that was running. Run then writes what
// crash_save_cpu would have: an NT_PRSTATUS note with the CPU's registers as
// the jump saved them (elfcore.JumpRegisters, read from the kernel stack at
// SavedRSP) and PID, first among the output's notes, and the same note into
// the output's copy of the CPU's crash_notes buffer (CrashNotes, which must
// lie in SRC's memory). The other CPUs were offline during the jump (the
// kernel takes them down first) and get no note, as a crash kernel gives
// none to offline CPUs. SRC itself and the kernel's memory are not changed.
type JumpedCPU struct {
	PID        uint32 // the task that made the jump (pr_pid)
	SavedRSP   uint64 // relocate_kernel's saved %rsp (kexec.ReadJumpState)
	CrashNotes uint64 // physical address of the CPU's crash_notes buffer
	// CrashNotesSize is the buffer's size (crash_notes_size); the note
	// and its end marker must fit.
	CrashNotesSize uint64
}

// Memory reads physical memory, e.g. /dev/mem for Options.Extra.
type Memory = pageclass.Memory

// DefaultOptions are the defaults of 'kjump dump': level 31, Kdump, Zlib.
func DefaultOptions() Options {
	return Options{Level: pageclass.MaxLevel, Format: Kdump, Compression: dumpfile.Zlib}
}

// Excluded counts the page frames left out, by class.
type Excluded struct {
	Zero         uint64 `json:"zero"`
	Cache        uint64 `json:"cache"`
	CachePrivate uint64 `json:"cache_private"`
	User         uint64 `json:"user"`
	Free         uint64 `json:"free"`
	HWPoison     uint64 `json:"hwpoison"`
	Offline      uint64 `json:"offline"`
}

// Total is the sum of the classes.
func (e Excluded) Total() uint64 {
	return e.Zero + e.Cache + e.CachePrivate + e.User + e.Free + e.HWPoison + e.Offline
}

// Summary describes a finished dump.
type Summary struct {
	Source      string `json:"source"`
	Dest        string `json:"dest"`
	Format      string `json:"format"`
	Compression string `json:"compression,omitempty"`
	Level       int    `json:"level"`
	Threads     int    `json:"threads"`
	Release     string `json:"release,omitempty"`

	SourceBytes int64  `json:"source_bytes"` // size of SRC
	InputBytes  uint64 `json:"input_bytes"`  // memory SRC and the overlay hold: PagesTotal × page size
	PagesTotal  uint64 `json:"pages_total"`  // page frames with contents
	// PagesOverlay of them came from the Overlay.
	PagesOverlay  uint64   `json:"pages_overlay"`
	Excluded      Excluded `json:"excluded"`
	PagesExcluded uint64   `json:"pages_excluded"`
	// PagesUnclassified were kept because their struct page could not be
	// read (or their memory section has none).
	PagesUnclassified uint64 `json:"pages_unclassified"`
	// PagesWritten is PagesTotal - PagesExcluded: page frames whose
	// contents are in DST (in a Kdump file zero pages are still listed,
	// all sharing one stored zero page, as makedumpfile does).
	PagesWritten uint64  `json:"pages_written"`
	OutputBytes  int64   `json:"output_bytes"`
	Seconds      float64 `json:"seconds"`
	MBps         float64 `json:"mb_per_s"` // InputBytes / 10^6 / Seconds
}
