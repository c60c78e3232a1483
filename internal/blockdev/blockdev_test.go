package blockdev

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNode(t *testing.T) {
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
		got, err := Node(root, tt.dev)
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

func TestNumber(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dump")
	os.WriteFile(file, nil, 0o644)
	if _, err := Number(file); !errors.Is(err, ErrNotBlock) {
		t.Errorf("regular file: err = %v", err)
	}
	if _, err := Number(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing path accepted")
	}
	if _, err := os.Stat("/dev/loop0"); err == nil {
		if dev, err := Number("/dev/loop0"); err != nil || dev != "7:0" {
			t.Errorf("/dev/loop0: %q, %v", dev, err)
		}
	}
}
