package snapshot

import (
	"encoding/json"
	"testing"
)

// TestMessages checks that request and reply survive the mailbox's JSON and fit
// its page.
func TestMessages(t *testing.T) {
	req := Request{Device: "254:0", Level: 31, Format: "kdump", Compression: "zlib"}
	b, _ := json.Marshal(req)
	var back Request
	if err := json.Unmarshal(b, &back); err != nil || back != req {
		t.Fatalf("request round trip: %+v, %v", back, err)
	}
	rep := Reply{Summary: json.RawMessage(`{"pages_written":8286}`), Seconds: 6.8, Swapped: 65600, FreeInFirst: 3}
	b, _ = json.Marshal(rep)
	if len(b) > 4064 {
		t.Errorf("reply of %d bytes does not fit a mailbox", len(b))
	}
	var rb Reply
	if err := json.Unmarshal(b, &rb); err != nil || rb.Swapped != 65600 || string(rb.Summary) != `{"pages_written":8286}` {
		t.Fatalf("reply round trip: %+v, %v", rb, err)
	}
}
