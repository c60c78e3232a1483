package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/hibernate"
	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/modules"
	"github.com/kjump/kjump/pageclass"
)

// Request is what the first kernel asks of the second, through the mailbox.
type Request struct {
	Device string `json:"device"` // "MAJOR:MINOR" of the output block device
	// File, when the output is a file of the first kernel's filesystem: where
	// its blocks are on Device (the second kernel writes them raw).
	File *extents.Map `json:"file,omitempty"`
	// Names locate Device in the second kernel, whose modular disk drivers
	// may number it differently.
	Names       blockdev.Names `json:"names,omitempty"`
	Level       int            `json:"level"`
	Format      string         `json:"format"`
	Compression string         `json:"compression"`
	// PID and CrashNotes describe the CPU the first kernel jumps on (the
	// kernel takes the others offline first and jumps on the lowest-numbered
	// CPU, CPU 0): the task making the jump (the thread calling reboot) and
	// the CPU's crash_notes buffer. The second kernel writes the NT_PRSTATUS note a crash would
	// have left there into the dump (see dump.JumpedCPU).
	PID        uint32        `json:"pid"`
	CrashNotes *elfcore.Note `json:"crash_notes,omitempty"`
}

// Reply is the second kernel's answer.
type Reply struct {
	Error   string        `json:"error,omitempty"`
	Summary *dump.Summary `json:"summary,omitempty"` // the dump's summary; nil if it did not fit the mailbox
	Seconds float64       `json:"seconds"`
	Swapped int           `json:"swapped_pages"` // pages read from where the jump moved them
	// FreeInFirst pages of the swapped memory held nothing of the first kernel's
	// (kexec filled free pages in place); the dump leaves them out.
	FreeInFirst int `json:"free_in_first_pages"`
	// CannotServe: a parked writer kernel cannot take this snapshot (it has
	// no such device: a disk added after it booted); nothing was written, and
	// a fresh second kernel may.
	CannotServe bool `json:"cannot_serve,omitempty"`
}

// Options of a snapshot.
type Options struct {
	Output string // a raw block device, or a file on a disk filesystem
	// FileSize is the size to preallocate for a file output; 0 means the
	// memory in use plus 16 MiB, which a dump at any level fits.
	FileSize uint64
	Request
	Load jump.LoadOptions // how to load the second kernel (Run and Then are set here)
	Log  io.Writer        // told when the jump is about to happen
}

// Result is a finished snapshot.
type Result struct {
	Reply
	Output string
	Took   time.Duration // from the jump to the return
}

// Take takes a snapshot (see the package documentation). Every option and
// the output are checked before anything is loaded or frozen: a device must
// not be mounted, active swap or held by another device. A file it
// preallocated is removed when the snapshot fails.
func Take(o Options) (*Result, error) {
	if _, err := o.Request.Options(); err != nil {
		return nil, err
	}
	root := o.Load.Root
	if root == "" {
		root = "/"
	}
	o.Load.Root = root
	mounts, err := blockdev.Mounted(root)
	if err != nil {
		return nil, err
	}
	dev, err := blockdev.Unused(root, o.Output, mounts)
	isFile := errors.Is(err, blockdev.ErrNotBlock) || errors.Is(err, fs.ErrNotExist)
	if err != nil && !isFile {
		return nil, fmt.Errorf("output %w", err)
	}
	notes, err := elfcore.ReadCrashNotes(root)
	if err != nil {
		return nil, fmt.Errorf("the CPUs' crash note buffers (the dump's NT_PRSTATUS note goes into CPU 0's): %w", err)
	}
	// The task that makes the jump is this thread (the kernel's current->pid
	// is a thread id): keep the rest of Take, kexec.Exec included, on it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	o.Request.PID, o.Request.CrashNotes = uint32(unix.Gettid()), &notes[0]
	// A parked writer kernel (kjump hibernate --prepare) takes the snapshot
	// when it can: a re-entry instead of a load and a boot.
	parked, err := hibernate.ParkedWriter(root)
	if err != nil {
		return nil, err
	}
	var region memmap.Region
	if parked != nil {
		region = memmap.Region{Range: parked.Region, Reserved: true}
	} else if region, err = jump.ChooseRegion(o.Load); err != nil {
		return nil, err
	}
	var file *extents.Map
	if isFile {
		if file, err = prepareFile(o.Output, o.FileSize); err != nil {
			return nil, err
		}
		dev = file.Device
	}
	o.Request.Device, o.Request.File = dev, file
	o.Request.Names = blockdev.NameAll(root, dev)
	o.Load.Modules, err = modules.ForDevices(root, dev)
	if err != nil {
		if file != nil {
			os.Remove(o.Output)
		}
		return nil, err
	}
	res, err := take(o, file, region, parked)
	if errors.Is(err, hibernate.ErrCannotServe) {
		// take unloaded it: the fresh kernel needs the region.
		if o.Log != nil {
			fmt.Fprintf(o.Log, "snapshot: %v; the parked writer is unloaded (kjump hibernate --prepare parks a new one); loading a fresh second kernel\n", err)
		}
		if region, err = jump.ChooseRegion(o.Load); err == nil {
			res, err = take(o, file, region, nil)
		}
	}
	if err != nil && file != nil {
		os.Remove(o.Output)
	}
	return res, err
}

// take is Take once the output is ready: the job in the second kernel, a
// fresh one or the parked writer (which it unloads when it cannot serve:
// hibernate.ErrCannotServe).
func take(o Options, file *extents.Map, region memmap.Region, parked *jump.Parked) (*Result, error) {
	job := jump.Job{
		Command: "snapshot-write",
		Request: o.Request,
		Then:    initmode.Back,
		Region:  region,
		Load:    o.Load,
		Before: func(*mailbox.Box) error {
			if file != nil {
				// Nothing may have moved the file's blocks since Prepare.
				if err := file.Verify(o.Output); err != nil {
					return err
				}
			}
			if o.Log != nil {
				how := "a second kernel"
				if parked != nil {
					how = "the parked writer kernel"
				}
				fmt.Fprintf(o.Log, "snapshot: jumping to %s to write the dump to %s\n", how, o.Output)
			}
			return nil
		},
	}
	if parked != nil {
		raw, err := json.Marshal(o.Request)
		if err != nil {
			return nil, err
		}
		job.Request = hibernate.Request{Parked: true, Snapshot: raw}
		job.Reenter, job.Mailbox = true, parked.Mailbox
	}
	r, err := jump.RunJob(job)
	if err != nil {
		return nil, err
	}
	m, err := r.Answer()
	if err != nil {
		return nil, err
	}
	took := r.Took
	res := &Result{Output: o.Output, Took: took}
	if err := json.Unmarshal(m.Payload, &res.Reply); err != nil {
		return nil, fmt.Errorf("the second kernel's answer: %w", err)
	}
	if parked != nil && m.State == mailbox.Failed && res.CannotServe {
		jump.Unpark(o.Load.Root)
		return nil, fmt.Errorf("%w: %s", hibernate.ErrCannotServe, res.Error)
	}
	if m.State == mailbox.Failed || res.Error != "" {
		return nil, fmt.Errorf("in the second kernel: %s", res.Error)
	}
	if file == nil {
		if err := blockdev.DropCache(o.Output); err != nil {
			return nil, err
		}
		return res, nil
	}
	// The file: forget the zeros Prepare wrote through the cache, and cut it
	// to the dump's size.
	if err := extents.DropCache(o.Output); err != nil {
		return nil, err
	}
	if res.Summary != nil && res.Summary.OutputBytes > 0 {
		if err := os.Truncate(o.Output, res.Summary.OutputBytes); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// prepareFile preallocates a file output; size 0 means the memory in use plus
// 16 MiB (a dump holds at most every page in use, plus its headers).
func prepareFile(path string, want uint64) (*extents.Map, error) {
	size, err := memmap.OutputSize(want, 16<<20)
	if err != nil {
		return nil, err
	}
	m, err := extents.Prepare(path, size)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", path, err)
	}
	return m, nil
}

// Options turns the request into dump options, checking every one: the first
// kernel calls it before anything is loaded or frozen, the second to dump.
func (r Request) Options() (dump.Options, error) {
	opt := dump.DefaultOptions()
	if r.Level < 0 || r.Level > int(pageclass.MaxLevel) {
		return opt, fmt.Errorf("--level %d: want 0 to 31, the sum of makedumpfile's -d bits (1 zero, 2 cache, 4 private cache, 8 user, 16 free pages): %w", r.Level, dump.ErrOptions)
	}
	opt.Level = pageclass.Level(r.Level)
	var err error
	if opt.Format, err = dump.ParseFormat(r.Format); err != nil {
		return opt, err
	}
	if opt.Format == dump.Kdump {
		if opt.Compression, err = dump.ParseCompression(r.Compression); err != nil {
			return opt, err
		}
	}
	return opt, opt.Check()
}
