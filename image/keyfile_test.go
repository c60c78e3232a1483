package image

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestKeyFromFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := file("key", bytes.Repeat([]byte{7}, KeySize))
	// A passphrase file written on Windows, one with a bare "\n", one without:
	// all three are the same passphrase (a CRLF file made 'image verify' say
	// "wrong key" while resume accepted it).
	crlf := file("crlf", []byte("correct horse\r\n"))
	lf := file("lf", []byte("correct horse\n"))
	bare := file("bare", []byte("correct horse"))
	img := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2, Key: Passphrase([]byte("correct horse")), KDF: KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1}})
	for _, p := range []string{crlf, lf, bare} {
		k, err := KeyFromFiles("", p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(&memFile{b: img}, int64(len(img)), k); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}
	if k, err := KeyFromFiles(key, ""); err != nil || k.IsZero() {
		t.Errorf("key file: %v", err)
	} else if raw, pass := k.Secret(); len(raw) != KeySize || pass != nil {
		t.Errorf("Secret = %d raw bytes, passphrase %q", len(raw), pass)
	}
	if k, err := KeyFromFiles("", ""); err != nil || !k.IsZero() {
		t.Errorf("no files: %v, %v", k, err)
	}
	for _, c := range []struct{ key, pass string }{
		{key, crlf},
		{file("short", []byte("abc")), ""},
		{"", file("empty", []byte("\r\n\n"))},
		{filepath.Join(dir, "missing"), ""},
	} {
		if _, err := KeyFromFiles(c.key, c.pass); !errors.Is(err, ErrKeyFile) {
			t.Errorf("KeyFromFiles(%q, %q) = %v, want ErrKeyFile", c.key, c.pass, err)
		}
	}
}
