package snapshot

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kjump/kjump/internal/blockdev"
	"github.com/kjump/kjump/jump"
)

// TestRequestRoundTrip: the request, with the names that locate its device
// in the second kernel, survives the mailbox's JSON.
func TestRequestRoundTrip(t *testing.T) {
	req := Request{Device: "254:0", Level: 31, Format: "kdump", Compression: "zlib",
		Names: blockdev.Names{"254:0": {Parent: "devices/pci0000:00/0000:00:05.0/virtio3", Partition: 1}}}
	b, _ := json.Marshal(req)
	var back Request
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, req) {
		t.Fatalf("request round trip: %+v, %v", back, err)
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
	} {
		// A root with nothing in it: any work past the options would fail otherwise.
		_, err := Take(Options{Output: "/dev/kjump-test-none", Request: c.req, Load: jump.LoadOptions{Root: t.TempDir()}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.req, err, c.want)
		}
	}
	if _, err := (Request{Level: 31, Format: "elf"}).Options(); err != nil {
		t.Errorf("elf: %v", err)
	}
}
