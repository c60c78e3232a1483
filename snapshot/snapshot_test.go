package snapshot

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/jump"
)

// TestMessages checks that request and reply survive the mailbox's JSON and fit
// its page.
func TestMessages(t *testing.T) {
	req := Request{Device: "254:0", Level: 31, Format: "kdump", Compression: "zlib",
		Names: blockdev.Names{"254:0": {Parent: "devices/pci0000:00/0000:00:05.0/virtio3", Partition: 1}}}
	b, _ := json.Marshal(req)
	var back Request
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, req) {
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
