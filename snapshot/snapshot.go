package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/initmode"
	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/mailbox"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/modules"
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
}

// Reply is the second kernel's answer.
type Reply struct {
	Error   string          `json:"error,omitempty"`
	Summary json.RawMessage `json:"summary,omitempty"` // the dump's summary
	Seconds float64         `json:"seconds"`
	Swapped int             `json:"swapped_pages"` // pages read from where the jump moved them
	// FreeInFirst pages of the swapped memory held nothing of the first kernel's
	// (kexec filled free pages in place); the dump leaves them out.
	FreeInFirst int `json:"free_in_first_pages"`
}

// Options of a snapshot.
type Options struct {
	Output string // a raw block device, or a file on a disk filesystem
	// FileSize is the size to preallocate for a file output; 0 means the
	// memory in use plus 16 MiB, which a dump at any level fits.
	FileSize uint64
	Request
	Load jump.LoadOptions // how to load the second kernel (Run and Then are set here)
}

// Result is a finished snapshot.
type Result struct {
	Reply
	Output string
	Took   time.Duration // from the jump to the return
}

// ErrNoReply means the second kernel never wrote its answer.
var ErrNoReply = errors.New("the second kernel did not answer")

// Take takes a snapshot (see the package documentation). Every option and
// the output are checked before anything is loaded or frozen: a device must
// not be mounted, active swap or held by another device. A file it
// preallocated is removed when the snapshot fails.
func Take(o Options) (*Result, error) {
	if _, err := o.Request.options(); err != nil {
		return nil, err
	}
	root := o.Load.Root
	if root == "" {
		root = "/"
	}
	mounts, err := blockdev.Mounted(root)
	if err != nil {
		return nil, err
	}
	dev, err := blockdev.Unused(root, o.Output, mounts)
	isFile := errors.Is(err, blockdev.ErrNotBlock) || errors.Is(err, fs.ErrNotExist)
	if err != nil && !isFile {
		return nil, fmt.Errorf("output %w", err)
	}
	region, err := jump.ChooseRegion(o.Load)
	if err != nil {
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
	res, err := take(o, file, region)
	if err != nil && file != nil {
		os.Remove(o.Output)
	}
	return res, err
}

// take is Take once the output is ready: the mailbox, the load, the jump.
func take(o Options, file *extents.Map, region memmap.Region) (*Result, error) {
	var avoid [][2]uint64
	for _, r := range jump.Swapped(region) {
		avoid = append(avoid, [2]uint64{r.Start, r.Size})
	}
	box, err := mailbox.Open(avoid)
	if err != nil {
		return nil, err
	}
	defer box.Close()
	req, _ := json.Marshal(o.Request)
	seq := uint64(time.Now().UnixNano())
	if err := box.Write(mailbox.Message{State: mailbox.Request, Seq: seq, Payload: req}); err != nil {
		return nil, err
	}
	lo := o.Load
	lo.Region = &region
	lo.Run = []string{fmt.Sprintf("snapshot-write --mailbox %#x", box.Phys)}
	lo.Then = string(initmode.Back)
	if _, err := jump.Load(lo); err != nil {
		return nil, err
	}
	defer kexec.Unload()
	unix.Sync()
	if file != nil {
		// Nothing may have moved the file's blocks since Prepare.
		if err := file.Verify(o.Output); err != nil {
			return nil, err
		}
	}
	took, err := kexec.Exec()
	if err != nil {
		return nil, err
	}
	m, err := box.Read()
	if err != nil || m.Seq != seq || m.State == mailbox.Request {
		return nil, fmt.Errorf("%w (mailbox: %v, state %v): see the console for what happened there", ErrNoReply, err, m.State)
	}
	res := &Result{Output: o.Output, Took: took}
	if err := json.Unmarshal(m.Payload, &res.Reply); err != nil {
		return nil, fmt.Errorf("the second kernel's answer: %w", err)
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
	var sum struct {
		OutputBytes int64 `json:"output_bytes"`
	}
	if json.Unmarshal(res.Summary, &sum) == nil && sum.OutputBytes > 0 {
		if err := os.Truncate(o.Output, sum.OutputBytes); err != nil {
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
