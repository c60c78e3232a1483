package snapshot

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeviceNode(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "sys/dev/block/254:16")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "uevent"), []byte("MAJOR=254\nMINOR=16\nDEVNAME=vdb\nDEVTYPE=disk\n"), 0o644)
	bad := filepath.Join(root, "sys/dev/block/254:32")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "uevent"), []byte("MAJOR=254\n"), 0o644)

	tests := []struct {
		dev, want, wantErr string
	}{
		{"254:16", filepath.Join(root, "dev/vdb"), ""},
		{"254:32", "", "no DEVNAME"},
		{"8:0", "", "block device 8:0"},
	}
	for _, tt := range tests {
		got, err := DeviceNode(root, tt.dev)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.dev, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.dev, got, err, tt.want)
		}
	}
}

func TestBlockDevice(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dump")
	os.WriteFile(file, nil, 0o644)
	if _, err := blockDevice(file); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("regular file: err = %v", err)
	}
	if _, err := blockDevice(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing path accepted")
	}
	if _, err := os.Stat("/dev/loop0"); err == nil {
		if dev, err := blockDevice("/dev/loop0"); err != nil || dev != "7:0" {
			t.Errorf("/dev/loop0: %q, %v", dev, err)
		}
	}
}

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
