package snapshotwrite

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/snapshot"
)

// TestReplyMessage: the answer always fits the mailbox, whatever the error; a
// summary too large goes first, the reason is cut on a rune boundary.
func TestReplyMessage(t *testing.T) {
	sum := &dump.Summary{PagesWritten: 8286, OutputBytes: 7 << 20}
	for _, c := range []struct {
		name    string
		reply   snapshot.Reply
		err     error
		state   mailbox.State
		summary bool
	}{
		{"done", snapshot.Reply{Summary: sum, Seconds: 6.8, Swapped: 65600}, nil, mailbox.Done, true},
		{"failed", snapshot.Reply{Summary: sum}, errors.New("disk full"), mailbox.Failed, true},
		{"a long reason", snapshot.Reply{Summary: sum}, errors.New(strings.Repeat("ä\x01", 3000)), mailbox.Failed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := ReplyMessage(42, c.reply, c.err)
			if m.State != c.state || m.Seq != 42 || len(m.Payload) > mailbox.MaxPayload {
				t.Fatalf("state %v seq %d, %d bytes", m.State, m.Seq, len(m.Payload))
			}
			var back snapshot.Reply
			if err := json.Unmarshal(m.Payload, &back); err != nil {
				t.Fatal(err)
			}
			if (back.Summary != nil) != c.summary || !utf8.ValidString(back.Error) {
				t.Errorf("summary %v, error %q…", back.Summary, back.Error[:min(20, len(back.Error))])
			}
			if c.err != nil && !strings.HasPrefix(c.err.Error(), strings.TrimSuffix(back.Error, "…")) {
				t.Errorf("the reason %q… is not the error's start", back.Error[:20])
			}
		})
	}
}
