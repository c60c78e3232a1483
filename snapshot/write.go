package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/mailbox"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/pageclass"
)

// DevMem is the physical memory device the second kernel reads and writes the
// first kernel's pages through.
const DevMem = "/dev/mem"

// Write is the second kernel's half (kjump snapshot-write): it answers the request
// in the mailbox at mailboxAddr, always, with a summary or the error.
func Write(mailboxAddr uint64, root string, progress func(done, total uint64)) (*Reply, error) {
	var req Request
	box, m, err := mailbox.TakeRequest(DevMem, mailboxAddr, &req)
	if err != nil {
		return nil, err
	}
	defer box.Close()
	start := time.Now()
	reply := &Reply{}
	werr := write(req, root, reply, progress)
	reply.Seconds = time.Since(start).Seconds()
	state := mailbox.Done
	if werr != nil {
		state, reply.Error = mailbox.Failed, werr.Error()
	}
	payload, _ := json.Marshal(reply)
	if len(payload) > mailbox.MaxPayload { // keep the answer, drop the details
		reply.Summary = nil
		payload, _ = json.Marshal(reply)
	}
	if err := box.Write(mailbox.Message{State: state, Seq: m.Seq, Payload: payload}); err != nil {
		return reply, err
	}
	return reply, werr
}

func write(req Request, root string, reply *Reply, progress func(done, total uint64)) error {
	node, err := req.Names.Node(root, req.Device)
	if err != nil {
		return err
	}
	entry, err := jump.Entry(root)
	if err != nil {
		return err
	}
	swapped, err := kexec.ReadSwapMap(func(phys uint64, buf []byte) error {
		return kexec.ReadPhys(DevMem, phys, buf)
	}, entry)
	if err != nil {
		return err
	}
	reply.Swapped = len(swapped)
	opt, err := req.options()
	if err != nil {
		return err
	}
	// The first kernel's pages that the jump swapped out of this kernel's memory.
	mem, err := kexec.OpenDevMem(DevMem)
	if err != nil {
		return err
	}
	defer mem.Close()
	opt.Extra, opt.Overlay = mem, dump.Overlay{}
	// This kernel's own RAM: what its /proc/iomem calls System RAM.
	iomem, err := memmap.ReadIomem(root)
	if err != nil {
		return err
	}
	own := memmap.IomemRAM(iomem).RAM()
	for dest, src := range swapped {
		// A source inside this kernel's own memory is a page kexec took from
		// the first kernel's free pages and filled in place: the first kernel
		// had nothing there, and this kernel cannot map its own RAM anyway.
		if slices.ContainsFunc(own, func(r memmap.Range) bool { return r.Contains(src) }) {
			reply.FreeInFirst++
			continue
		}
		opt.Overlay[dest/kexec.PageSize] = src
	}
	reply.Swapped -= reply.FreeInFirst
	opt.Progress = progress
	var summary dump.Summary
	if req.File == nil {
		summary, err = dump.Run("/proc/vmcore", node, opt)
	} else {
		summary, err = writeFile(node, req.File, opt)
	}
	if err != nil {
		return err
	}
	reply.Summary, _ = json.Marshal(summary)
	return nil
}

// writeFile writes the dump into a file of the first kernel's filesystem
// through its extents on the raw device node.
func writeFile(node string, m *extents.Map, opt dump.Options) (dump.Summary, error) {
	dev, err := os.OpenFile(node, os.O_RDWR, 0)
	if err != nil {
		return dump.Summary{}, err
	}
	defer dev.Close()
	f, err := extents.NewFile(dev, m)
	if err != nil {
		return dump.Summary{}, err
	}
	return dump.RunDevice(context.Background(), "/proc/vmcore", f, f.Size(), fmt.Sprintf("%s (a file's %d extents)", node, len(m.Extents)), opt)
}

// options turns the request into dump options, checking every one: the first
// kernel calls it before anything is loaded or frozen, the second to dump.
func (r Request) options() (dump.Options, error) {
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
