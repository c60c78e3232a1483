package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := Write(p, 0o640, func(w io.Writer) error { _, err := w.Write([]byte("one")); return err }); err != nil {
		t.Fatal(err)
	}
	// A failing fill leaves the old content and no temporary file.
	boom := errors.New("boom")
	if err := Write(p, 0o640, func(w io.Writer) error { w.Write([]byte("half")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	entries, _ := os.ReadDir(dir)
	if string(b) != "one" || st.Mode().Perm() != 0o640 || len(entries) != 1 {
		t.Errorf("content %q, mode %v, %d entries", b, st.Mode().Perm(), len(entries))
	}
	if err := Copy(p, filepath.Join(dir, "g"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "g")); string(b) != "one" {
		t.Errorf("copy: %q", b)
	}
	if err := Copy(filepath.Join(dir, "missing"), filepath.Join(dir, "h"), 0o600); err == nil {
		t.Error("copying a missing file succeeded")
	}
}
