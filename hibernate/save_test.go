package hibernate

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kjump/kjump/image"
)

func TestReadKey(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, data)
		return p
	}
	key := bytes.Repeat([]byte{0x5a}, 32)
	keyFile := file("key", key)
	short := file("short", key[:31])
	long := file("long", append(bytes.Clone(key), '\n'))
	pass := file("pass", []byte("correct horse battery staple\n"))
	passCRLF := file("pass-crlf", []byte("  spaced out \r\n"))
	passNoNL := file("pass-nonl", []byte("hunter2"))
	emptyPass := file("pass-empty", nil)
	newlinePass := file("pass-newline", []byte("\n\n"))
	missing := filepath.Join(dir, "missing")

	for _, tt := range []struct {
		name           string
		keyFile, pass  string
		wantKey        []byte
		wantPassphrase string
		wantErr        string // in the message; "" for none
		wantIs         error
	}{
		{name: "neither"},
		{name: "a 32-byte key", keyFile: keyFile, wantKey: key},
		{name: "a 31-byte key", keyFile: short, wantErr: "has 31 bytes; a key is 32 random bytes (head -c 32 /dev/urandom > " + short + ")"},
		{name: "a key with a newline", keyFile: long, wantErr: "has 33 bytes"},
		{name: "a missing key file", keyFile: missing, wantIs: fs.ErrNotExist},
		{name: "a passphrase", pass: pass, wantPassphrase: "correct horse battery staple"},
		{name: "a passphrase ending in CRLF keeps its spaces", pass: passCRLF, wantPassphrase: "  spaced out "},
		{name: "a passphrase without a newline", pass: passNoNL, wantPassphrase: "hunter2"},
		{name: "an empty passphrase file", pass: emptyPass, wantErr: "passphrase file " + emptyPass + " is empty"},
		{name: "a passphrase of newlines", pass: newlinePass, wantErr: "is empty"},
		{name: "a missing passphrase file", pass: missing, wantIs: fs.ErrNotExist},
		{name: "both", keyFile: keyFile, pass: pass, wantErr: "either a key file or a passphrase file, not both"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var req Request
			err := readKey(&req, tt.keyFile, tt.pass)
			if tt.wantErr != "" || tt.wantIs != nil {
				if err == nil {
					t.Fatal("readKey succeeded")
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %q is not %v", err, tt.wantIs)
				}
				if req.Key != nil || req.Passphrase != nil {
					t.Errorf("a key was set with the error: %+v", req)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(req.Key, tt.wantKey) || string(req.Passphrase) != tt.wantPassphrase {
				t.Errorf("key %x passphrase %q, want %x %q", req.Key, req.Passphrase, tt.wantKey, tt.wantPassphrase)
			}
			wantKDF := uint32(0)
			if tt.wantPassphrase != "" {
				wantKDF = KDFMemoryMiB
			}
			if req.KDFMemoryMi != wantKDF {
				t.Errorf("KDFMemoryMi = %d, want %d", req.KDFMemoryMi, wantKDF)
			}
		})
	}
}

// TestCompressionOptions: auto (and no name) is adaptive zstd, the default;
// the others compress every chunk the same way; anything else is refused.
func TestCompressionOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		want image.WriteOptions
		err  bool
	}{
		{"", image.WriteOptions{Compression: image.Zstd, Adaptive: true}, false},
		{"auto", image.WriteOptions{Compression: image.Zstd, Adaptive: true}, false},
		{"zstd", image.WriteOptions{Compression: image.Zstd}, false},
		{"lz4", image.WriteOptions{Compression: image.LZ4}, false},
		{"none", image.WriteOptions{Compression: image.None}, false},
		{"gzip", image.WriteOptions{}, true},
	} {
		got, err := CompressionOptions(c.name)
		if (err != nil) != c.err || got.Compression != c.want.Compression || got.Adaptive != c.want.Adaptive {
			t.Errorf("CompressionOptions(%q) = %+v, %v", c.name, got, err)
		}
	}
}
