package kexec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/internal/errs"
	"github.com/kjump/kjump/internal/sys"
	"github.com/kjump/kjump/memmap"
)

// PageSize is the x86_64 page size kexec segments are aligned to.
const PageSize = 4096

// MaxSegments is the kernel's limit on segments per image (KEXEC_SEGMENT_MAX).
const MaxSegments = 16

// Sentinel errors: callers branch with errors.Is, users read the LoadError text.
var (
	// ErrNotSupported is the root of every "this kernel or system can't"
	// error of kjump's packages (kexec's own, jump.ErrNoKexecJump, extents'
	// ErrNotSupported, physmem's missing /dev/mem): errors.Is matches them all.
	ErrNotSupported = errs.ErrNotSupported
	errNoKexec      = errs.NotSupported("kexec is not supported by this kernel")
	ErrNotPermitted = errors.New("kexec is not permitted")
	ErrTooLarge     = errors.New("the image is too large for this machine")
	ErrBadSegments  = errors.New("invalid kexec segments")
	ErrNoMemory     = errors.New("not enough free memory to load the image")
	ErrBusy         = errors.New("kexec is busy")
	ErrNotLoaded    = errors.New("no kexec image is loaded")
	ErrLoaded       = errors.New("a kexec image is already loaded")
)

// Segment is data and the physical range it goes to. Bytes of Mem beyond Data are
// zero-filled by the kernel.
type Segment struct {
	Data []byte
	Mem  memmap.Range
	Name string // for messages: "kernel", "initrd", "purgatory", ...
}

func (s Segment) String() string {
	return fmt.Sprintf("%s %s (%d bytes of data)", s.Name, s.Mem, len(s.Data))
}

// Flags modify a load.
type Flags uint64

// PreserveContext makes the image a peer to jump to and back from (KEXEC_PRESERVE_CONTEXT).
const PreserveContext Flags = sys.KexecPreserveContext

// LoadError is a failed kexec_load(2) with its arguments and what it means.
type LoadError struct {
	Entry    uint64
	Segments []Segment
	Flags    Flags
	Errno    unix.Errno
	Detail   string // the likely cause and the fix, in words
	sentinel error
}

func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kexec_load(entry %#x, %d segments, flags %#x): %v: %s", e.Entry, len(e.Segments), uint64(e.Flags), e.Errno, e.Detail)
	return b.String()
}

func (e *LoadError) Unwrap() []error { return []error{e.sentinel, e.Errno} }

// Validate checks segments the way the kernel will (sanity_check_segment_list in
// kernel/kexec_core.c), so that a refusal is explained before the syscall.
// totalRAM is the machine's RAM in bytes (0 skips the half-of-RAM check).
func Validate(segs []Segment, totalRAM uint64) error {
	if len(segs) > MaxSegments {
		return fmt.Errorf("%w: %d segments, the kernel takes at most %d", ErrBadSegments, len(segs), MaxSegments)
	}
	sorted := append([]Segment(nil), segs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Mem.Start < sorted[j].Mem.Start })
	var total uint64
	for i, s := range sorted {
		if s.Mem.Start%PageSize != 0 || s.Mem.Size%PageSize != 0 || s.Mem.Size == 0 {
			return fmt.Errorf("%w: %v is not whole pages", ErrBadSegments, s)
		}
		if uint64(len(s.Data)) > s.Mem.Size {
			return fmt.Errorf("%w: %v: more data than memory", ErrBadSegments, s)
		}
		if i > 0 && sorted[i-1].Mem.End() > s.Mem.Start {
			return fmt.Errorf("%w: %v overlaps %v", ErrBadSegments, s, sorted[i-1])
		}
		total += s.Mem.Size
	}
	if totalRAM > 0 && total > totalRAM/2 {
		return fmt.Errorf("%w: the segments need %s, more than half of the %s of RAM the kernel manages (a limit of kexec_load); use a smaller region (--mem-size) or reserve one at boot with crashkernel=SIZE",
			ErrTooLarge, memmap.FormatSize(total), memmap.FormatSize(totalRAM))
	}
	return nil
}

// Load loads an image with kexec_load(2): entry is the physical address the
// kernel jumps to. The kernel checks what Validate checks and more; its errno is
// turned into a LoadError naming the cause.
func Load(entry uint64, segs []Segment, flags Flags) error {
	raw := make([]sys.Segment, len(segs))
	for i, s := range segs {
		raw[i] = sys.Segment{Buf: s.Data, Mem: s.Mem.Start, Memsz: s.Mem.Size}
	}
	err := sys.KexecLoad(entry, raw, uint64(flags)|sys.KexecArchX8664)
	if err == nil {
		return nil
	}
	errno, _ := err.(unix.Errno)
	le := &LoadError{Entry: entry, Segments: segs, Flags: flags, Errno: errno}
	le.sentinel, le.Detail = explain("/", errno, segs)
	return le
}

// explain names the sentinel and the likely cause of a kexec_load errno,
// reading the running kernel's state under root (/proc, /sys).
func explain(root string, errno unix.Errno, segs []Segment) (error, string) {
	switch errno {
	case unix.ENOSYS:
		return errNoKexec, "the kernel has no kexec_load (build it with CONFIG_KEXEC=y; kjump doctor checks this)"
	case unix.EPERM:
		return ErrNotPermitted, permissionCause(root)
	case unix.EBUSY:
		return ErrBusy, "another kexec operation is in progress; try again"
	case unix.ENOMEM:
		return ErrNoMemory, "the kernel could not allocate the pages to hold the image: free memory (a preserve-context load needs as much free RAM as the region), or use a region reserved at boot (crashkernel=SIZE)"
	case unix.EADDRNOTAVAIL:
		return ErrBadSegments, "a segment is not page aligned or lies beyond the memory kexec can reach"
	case unix.EINVAL:
		if err := Validate(segs, kernelRAM(root)); errors.Is(err, ErrTooLarge) {
			return ErrTooLarge, err.Error()
		} else if err != nil {
			return ErrBadSegments, err.Error()
		}
		return ErrBadSegments, "the kernel refused the segments (overlapping, more data than memory, or over half of RAM) or the flags (is CONFIG_KEXEC_JUMP set? a preserve-context load needs it)"
	}
	return errNoKexec, "unexpected error"
}

// permissionCause says why kexec is not permitted on this machine.
func permissionCause(root string) string {
	if b, err := os.ReadFile(filepath.Join(root, "proc/sys/kernel/kexec_load_disabled")); err == nil && strings.TrimSpace(string(b)) == "1" {
		return "kexec is disabled (kernel.kexec_load_disabled=1, which stays set until reboot)"
	}
	if b, err := os.ReadFile(filepath.Join(root, "proc/sys/kernel/kexec_load_limit_reboot")); err == nil && strings.TrimSpace(string(b)) == "0" {
		return "no kexec loads are left (kernel.kexec_load_limit_reboot=0; it only counts down, until reboot)"
	}
	if b, err := os.ReadFile(filepath.Join(root, "sys/kernel/security/lockdown")); err == nil && !strings.Contains(string(b), "[none]") {
		return "the kernel is locked down (" + strings.TrimSpace(string(b)) + "): kexec_load is forbidden; boot without lockdown/Secure Boot"
	}
	return "kjump needs root (CAP_SYS_BOOT)"
}

// kernelRAM is the RAM the kernel manages (MemTotal), the base of its half-of-RAM limit.
func kernelRAM(root string) uint64 {
	b, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb)
			return kb * 1024
		}
	}
	return 0
}

// Loaded reports whether a kexec image is loaded (/sys/kernel/kexec_loaded).
func Loaded() (bool, error) { return loaded("/") }

func loaded(root string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(root, "sys/kernel/kexec_loaded"))
	if err != nil {
		return false, fmt.Errorf("%w: %v", errNoKexec, err)
	}
	return strings.TrimSpace(string(b)) == "1", nil
}

// Unload removes the loaded image.
func Unload() error {
	if err := sys.KexecLoad(0, nil, sys.KexecArchX8664); err != nil {
		errno, _ := err.(unix.Errno)
		le := &LoadError{Errno: errno}
		le.sentinel, le.Detail = explain("/", errno, nil)
		return le
	}
	return nil
}

// Exec jumps to the loaded image. For a preserve-context image it returns when the
// image jumps back, with the time spent away; for any other image it does not return.
// It syncs the filesystems first, as kexec -e does (and hibernation): the
// kernel's jump suspends the devices with whatever writeback is under way,
// and on QEMU's virtio-blk a request still in flight then can hang the jump
// for good (a real-roundtrip run stopped in freeze_secondary_cpus, cpuhp
// waiting in blk_mq_hctx_notify_offline for a request that never completed,
// behind the journal's writeback).
func Exec() (time.Duration, error) { return execUnder("/", unix.Sync, sys.KexecExec) }

// execUnder is Exec reading the kernel's state under root, with the sync
// and the jump given.
func execUnder(root string, sync func(), jump func() error) (time.Duration, error) {
	loaded, err := loaded(root)
	if err != nil {
		return 0, err
	}
	if !loaded {
		return 0, fmt.Errorf("%w: load one first (kjump load)", ErrNotLoaded)
	}
	sync()
	// The wall clock: the monotonic clock stops while the other kernel runs
	// (timekeeping is suspended across the jump).
	start := time.Now().Round(0)
	if err := jump(); err != nil {
		switch err {
		case unix.EPERM:
			return 0, fmt.Errorf("%w: %s", ErrNotPermitted, permissionCause(root))
		case unix.EBUSY:
			return 0, fmt.Errorf("%w: a process could not be frozen or a device refused to suspend (see dmesg)", ErrBusy)
		}
		return 0, fmt.Errorf("reboot(LINUX_REBOOT_CMD_KEXEC): %w", err)
	}
	return time.Now().Round(0).Sub(start), nil
}
