package lab

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
