package jump

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/physmem"
)

// Job is work for a second kernel, the one protocol every kjump command that
// sends a second kernel to work (snapshot, hibernate) speaks:
//
//  1. the first kernel puts Request (JSON) into a mailbox page outside the
//     memory the jump swaps, in state mailbox.Request with a fresh sequence
//     number, and reads it back;
//  2. it loads a second kernel (Load, into Region) whose init runs
//     "kjump COMMAND --mailbox ADDR", then does Then, or OnError when the
//     command failed;
//  3. Before runs (last checks, a message), filesystems are synced, and it
//     jumps;
//  4. back in the first kernel, RunJob returns what the mailbox holds then
//     (Reply), for the caller to judge: the second kernel answers by
//     rewriting the page with the same sequence number (mailbox.TakeRequest
//     is its side).
type Job struct {
	Command string // the second kernel's kjump subcommand, e.g. "snapshot-write"
	Request any    // marshalled to JSON into the mailbox
	Then    initmode.Action
	OnError initmode.Action // default: Then
	Region  memmap.Region
	Load    LoadOptions // the second kernel; its Region, Run, Then and OnError are the job's
	// Before, if set, runs after the load and right before the sync and the
	// jump: an error stops the job with nothing changed but the load.
	Before func(box *mailbox.Box) error
	// Mailbox, if set, is the physical address of the mailbox page to use
	// instead of a page of this process: a region's park page
	// (kexec.ParkPage), which a parked second kernel keeps reading.
	Mailbox uint64
	// Keep leaves the second kernel loaded after the job (parking it).
	Keep bool
	// Reenter runs the job in the second kernel already loaded (a parked
	// one, whose command reads Mailbox), instead of loading one.
	Reenter bool
}

// Reply is the mailbox as the job left it.
type Reply struct {
	Message mailbox.Message // what the page holds, if ReadErr is nil
	ReadErr error           // the page did not decode
	Seq     uint64          // the request's sequence number
	Took    time.Duration   // from the jump to the return
}

// ErrNoReply means the second kernel never answered the request.
var ErrNoReply = errors.New("the second kernel did not answer")

// Answer returns the reply's message when it answers the request (same
// sequence number, not the request itself), else ErrNoReply.
func (r Reply) Answer() (mailbox.Message, error) {
	if r.ReadErr != nil || r.Message.Seq != r.Seq || r.Message.State == mailbox.Request {
		return r.Message, fmt.Errorf("%w (mailbox: %v, state %v, seq %d of %d): see the second kernel's console", ErrNoReply, r.ReadErr, r.Message.State, r.Message.Seq, r.Seq)
	}
	return r.Message, nil
}

// RunJob runs j (see Job) and returns the mailbox as the jump left it. An
// error means the jump did not happen.
func RunJob(j Job) (Reply, error) {
	var box *mailbox.Box
	var err error
	if j.Mailbox != 0 {
		box, err = mailbox.Attach(physmem.Path, j.Mailbox)
	} else {
		var avoid [][2]uint64
		for _, r := range Swapped(j.Region) {
			avoid = append(avoid, [2]uint64{r.Start, r.Size})
		}
		box, err = mailbox.Open(avoid)
	}
	if err != nil {
		return Reply{}, err
	}
	defer box.Close()
	payload, err := json.Marshal(j.Request)
	if err != nil {
		return Reply{}, err
	}
	seq := uint64(time.Now().UnixNano())
	err = box.WriteChecked(mailbox.Message{State: mailbox.Request, Seq: seq, Payload: payload})
	clear(payload) // it may hold a key
	if err != nil {
		return Reply{}, err
	}
	if !j.Reenter {
		lo := j.Load
		region := j.Region
		lo.Region = &region
		lo.Run = []string{fmt.Sprintf("%s --mailbox %#x", j.Command, box.Phys)}
		lo.Then, lo.OnError = j.Then, j.OnError
		if _, err := Load(lo); err != nil {
			return Reply{}, err
		}
		if !j.Keep {
			defer kexec.Unload()
		}
	}
	if j.Before != nil {
		if err := j.Before(box); err != nil {
			return Reply{}, err
		}
	}
	took, err := kexec.Exec() // syncs first
	if err != nil {
		return Reply{}, err
	}
	m, rerr := box.Read()
	return Reply{Message: m, ReadErr: rerr, Seq: seq, Took: took}, nil
}
