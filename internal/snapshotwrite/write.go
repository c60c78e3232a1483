// Package snapshotwrite is the second kernel's half of kjump snapshot (kjump
// snapshot-write): it takes the request from the mailbox, dumps the first
// kernel's memory from /proc/vmcore to the requested device or file, and
// answers. Package snapshot has the protocol and the first kernel's half.
package snapshotwrite

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/extents"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/jump"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/physmem"
	"github.com/kjump/kjump/snapshot"
)

// Write is the second kernel's half (kjump snapshot-write): it answers the request
// in the mailbox at mailboxAddr, always, with a summary or the error.
func Write(mailboxAddr uint64, root string, progress func(done, total uint64)) (*snapshot.Reply, error) {
	var req snapshot.Request
	box, m, err := mailbox.TakeRequest(physmem.Path, mailboxAddr, &req)
	if err != nil {
		return nil, err
	}
	defer box.Close()
	return Answer(box, m.Seq, req, root, progress)
}

// Answer does the snapshot request req, taken from box (the request's
// sequence number seq), and answers it there, always: with a summary or the
// error. Write is the second kernel's way in; a parked writer kernel that
// takes a snapshot request (internal/hibernatewrite) calls it directly.
func Answer(box *mailbox.Box, seq uint64, req snapshot.Request, root string, progress func(done, total uint64)) (*snapshot.Reply, error) {
	start := time.Now()
	reply := &snapshot.Reply{}
	werr := write(req, root, reply, progress)
	reply.Seconds = time.Since(start).Seconds()
	if err := box.WriteChecked(ReplyMessage(seq, *reply, werr)); err != nil {
		return reply, err
	}
	return reply, werr
}

// ReplyMessage is the answer for reply, or for werr: Failed with the reason.
// It always fits the page: the summary goes first, then the reason is cut.
func ReplyMessage(seq uint64, reply snapshot.Reply, werr error) mailbox.Message {
	state := mailbox.Done
	if werr != nil {
		state, reply.Error = mailbox.Failed, werr.Error()
	}
	if b, _ := json.Marshal(reply); len(b) > mailbox.MaxPayload {
		reply.Summary = nil // keep the answer, drop the details
	}
	return mailbox.Fit(state, seq, reply.Error, func(why string) []byte {
		reply.Error = why
		b, _ := json.Marshal(reply)
		return b
	})
}

func write(req snapshot.Request, root string, reply *snapshot.Reply, progress func(done, total uint64)) error {
	node, err := req.Names.Node(root, req.Device)
	if err != nil {
		return err
	}
	entry, err := jump.Entry(root)
	if err != nil {
		return err
	}
	readPhys := func(phys uint64, buf []byte) error { return physmem.Read(physmem.Path, phys, buf) }
	swapped, err := kexec.ReadSwapMap(readPhys, entry)
	if err != nil {
		return err
	}
	reply.Swapped = len(swapped)
	opt, err := req.Options()
	if err != nil {
		return err
	}
	// The first kernel's pages that the jump swapped out of this kernel's memory.
	mem, err := physmem.Open(physmem.Path)
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
	if req.CrashNotes != nil {
		// The registers the jump saved, for the NT_PRSTATUS note of the CPU
		// that made it.
		st, err := kexec.ReadJumpState(readPhys, entry)
		if err != nil {
			return err
		}
		opt.Jumped = &dump.JumpedCPU{PID: req.PID, SavedRSP: st.RSP, CrashNotes: req.CrashNotes.Phys, CrashNotesSize: req.CrashNotes.Size}
	}
	var summary dump.Summary
	if req.File == nil {
		summary, err = dump.Run("/proc/vmcore", node, opt)
	} else {
		summary, err = writeFile(node, req.File, opt)
	}
	if err != nil {
		return err
	}
	reply.Summary = &summary
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
