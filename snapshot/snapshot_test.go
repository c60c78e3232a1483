package snapshot

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kjump/kjump/dump"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/jump"
)

// TestReplyMessage: the answer always fits the mailbox, whatever the error; a
// summary too large goes first, the reason is cut on a rune boundary.
func TestReplyMessage(t *testing.T) {
	sum := &dump.Summary{PagesWritten: 8286, OutputBytes: 7 << 20}
	for _, c := range []struct {
		name    string
		reply   Reply
		err     error
		state   mailbox.State
		summary bool
	}{
		{"done", Reply{Summary: sum, Seconds: 6.8, Swapped: 65600}, nil, mailbox.Done, true},
		{"failed", Reply{Summary: sum}, errors.New("disk full"), mailbox.Failed, true},
		{"a long reason", Reply{Summary: sum}, errors.New(strings.Repeat("ä\x01", 3000)), mailbox.Failed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := replyMessage(42, c.reply, c.err)
			if m.State != c.state || m.Seq != 42 || len(m.Payload) > mailbox.MaxPayload {
				t.Fatalf("state %v seq %d, %d bytes", m.State, m.Seq, len(m.Payload))
			}
			var back Reply
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

// TestTakeRefusesOptionsFirst: bad options are refused before anything is
// read, loaded or frozen (before the fix, --level 99 was refused by the
// second kernel, after the jump).
func TestTakeRefusesOptionsFirst(t *testing.T) {
	for _, c := range []struct {
		req  Request
		want string
	}{
		{Request{Level: 99, Format: "kdump", Compression: "zlib"}, "--level 99: want 0 to 31"},
		{Request{Level: -1, Format: "kdump", Compression: "zlib"}, "--level -1"},
		{Request{Level: 31, Format: "core", Compression: "zlib"}, `format "core"`},
		{Request{Level: 31, Format: "kdump", Compression: "lz4"}, `compression "lz4"`},
		{Request{Level: 31, Format: "kdump", Compression: "lzo"}, "LZO"},
	} {
		// A root with nothing in it: any work past the options would fail otherwise.
		_, err := Take(Options{Output: "/dev/kjump-test-none", Request: c.req, Load: jump.LoadOptions{Root: t.TempDir()}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.req, err, c.want)
		}
	}
	if _, err := (Request{Level: 31, Format: "elf"}).options(); err != nil {
		t.Errorf("elf: %v", err)
	}
}
