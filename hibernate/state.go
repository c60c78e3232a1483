package hibernate

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/jump"
)

// The states of a hibernation, as the other kernels leave them in the mailbox
// (the sequence number always repeats the request's):
//
//	Request    K1 asked; K2 never took it.
//	Working    K2 took the request and is writing. Set before K2 reads K1's
//	           memory, so it is also what a restored K1 finds in the page until
//	           the resume kernel reports.
//	Committed  K2 wrote and committed the image (payload: Report.Image), then
//	           came back instead of powering off.
//	Failed     K2 could not write the image (payload: Report.Error).
//	Done       The resume kernel restored K1 from the image (payload: the
//	           Report), or, in hybrid sleep, K2 woke from suspend to RAM and
//	           revoked the image (Report.Woke): the only state in which
//	           Hibernate succeeds.
//
// Back in K1 in any state but Done, the image must not outlive the system it
// saved: Hibernate revokes it on the target and fails, saying what happened.
var (
	ErrNotSaved    = errors.New("the image was not written; the system carries on")
	ErrWriterDied  = errors.New("the second kernel stopped while writing the image (it crashed or was killed); the system carries on")
	ErrNotResumed  = errors.New("the image was written, but the second kernel came back instead of powering off; the system carries on")
	ErrNoReport    = errors.New("the resume kernel left no report")
	ErrCannotServe = errors.New("the parked writer cannot serve this request")
	ErrInvalidThen = errors.New("a hibernation ends in poweroff, reboot or suspend (hybrid sleep)")
)

// outcome reads what the other kernels left in the mailbox after the jump.
func outcome(r jump.Reply) (Report, error) {
	var rep Report
	m, err := r.Answer()
	if err != nil {
		return rep, err
	}
	perr := json.Unmarshal(m.Payload, &rep)
	switch m.State {
	case mailbox.Done:
		if perr != nil {
			return rep, fmt.Errorf("%w: its report does not decode: %v", ErrNoReport, perr)
		}
		return rep, nil
	case mailbox.Working:
		return rep, fmt.Errorf("%w: see the second kernel's console for why", ErrWriterDied)
	case mailbox.Committed:
		return rep, fmt.Errorf("%w (image %s)", ErrNotResumed, rep.Image)
	case mailbox.Failed:
		if perr == nil && rep.CannotServe {
			return rep, fmt.Errorf("%w: %s", ErrCannotServe, rep.Error)
		}
		if perr != nil || rep.Error == "" {
			return rep, fmt.Errorf("%w: the second kernel failed and its reason does not decode (%v)", ErrNotSaved, perr)
		}
		return rep, fmt.Errorf("%w: in the second kernel: %s", ErrNotSaved, rep.Error)
	}
	return rep, fmt.Errorf("%w (state %v): see the second kernel's console", jump.ErrNoReply, m.State)
}
