package lab

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestBlobsMatchSource reassembles every guest blob and compares it with the
// committed one, so a blob is never stale.
func TestBlobsMatchSource(t *testing.T) {
	for _, tool := range []string{"as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (binutils): cannot rebuild the blobs", tool)
		}
	}
	srcs, _ := filepath.Glob("guest/*.S")
	if len(srcs) == 0 {
		t.Fatal("no guest/*.S")
	}
	for _, src := range srcs {
		committed := src[:len(src)-2] + ".bin"
		out := filepath.Join(t.TempDir(), "blob.bin")
		if b, err := exec.Command("sh", "../internal/flatbin/flatbin.sh", src, out).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", src, err, b)
		}
		got, _ := os.ReadFile(out)
		want, err := os.ReadFile(committed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./lab", committed)
		}
	}
}

func TestGuestScripts(t *testing.T) {
	files, err := guestScripts()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/lab/counter.sh", "/lab/roundtrip.sh", "/lab/reenter.sh", "/lab/hello.bin"} {
		if len(files[want]) == 0 {
			t.Errorf("guest initramfs lacks %s", want)
		}
	}
}

// TestPruneOld: beyond the newest keep, only entries untouched for pruneGrace
// go; a file another lab run is still using (a long bench's initramfs, while a
// second run makes new ones) stays. Before the grace, a bench lost its
// initramfs halfway.
func TestPruneOld(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * pruneGrace)
	for i := range 5 {
		p := filepath.Join(dir, fmt.Sprintf("initramfs-new%d", i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		p = filepath.Join(dir, fmt.Sprintf("initramfs-old%d", i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old.Add(time.Duration(i)*time.Minute), old.Add(time.Duration(i)*time.Minute))
	}
	pruneOld(filepath.Join(dir, "initramfs-*"), 2)
	left, _ := filepath.Glob(filepath.Join(dir, "initramfs-*"))
	var names []string
	for _, p := range left {
		names = append(names, filepath.Base(p))
	}
	want := []string{"initramfs-new0", "initramfs-new1", "initramfs-new2", "initramfs-new3", "initramfs-new4"}
	if !slices.Equal(names, want) {
		t.Errorf("left %q, want %q (every recent one, no old one)", names, want)
	}
}
