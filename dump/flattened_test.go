package dump

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/flattened"
)

// TestRunFlattened: the flattened stream of a dump, rebuilt by Rebuild and
// by makedumpfile -R, is byte for byte the file Run writes, in both
// formats; a stream cut short rebuilds into nothing.
func TestRunFlattened(t *testing.T) {
	k := fakeKernel(true)
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))
	for _, tc := range []struct {
		format Format
		comp   dumpfile.Compression
	}{{Kdump, dumpfile.LZO}, {Kdump, dumpfile.Zlib}, {ELF, dumpfile.None}} {
		t.Run(tc.format.String()+"/"+tc.comp.String(), func(t *testing.T) {
			opt := Options{Level: 31, Format: tc.format, Compression: tc.comp, Threads: 2, Timestamp: fixedTime}
			want := filepath.Join(dir, "file")
			if _, err := Run(src, want, opt); err != nil {
				t.Fatal(err)
			}
			var stream bytes.Buffer
			sum, err := RunFlattened(context.Background(), src, &stream, "the stream", opt)
			if err != nil {
				t.Fatal(err)
			}
			wantBytes := readAll(t, want)
			if sum.OutputBytes != int64(len(wantBytes)) {
				t.Errorf("summary: %d bytes, the file has %d", sum.OutputBytes, len(wantBytes))
			}
			got := filepath.Join(dir, "rebuilt")
			if size, err := Rebuild(bytes.NewReader(stream.Bytes()), got); err != nil || size != int64(len(wantBytes)) {
				t.Fatalf("Rebuild: %d bytes, %v", size, err)
			}
			if !bytes.Equal(readAll(t, got), wantBytes) {
				t.Error("the rebuilt file differs from Run's")
			}

			// Cut short: Rebuild refuses it and leaves the old file.
			cut := stream.Bytes()[:stream.Len()/2]
			if _, err := Rebuild(bytes.NewReader(cut), got); !errors.Is(err, flattened.ErrCutShort) {
				t.Errorf("a stream cut in half: %v", err)
			}
			if !bytes.Equal(readAll(t, got), wantBytes) {
				t.Error("a failed Rebuild changed the file there")
			}
			noTempFiles(t, dir)

			if mdf, err := exec.LookPath("makedumpfile"); err == nil {
				out := filepath.Join(dir, "makedumpfile-R")
				os.Remove(out)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, mdf, "-R", out)
				cmd.Stdin = bytes.NewReader(stream.Bytes())
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("makedumpfile -R: %v\n%s", err, msg)
				}
				if !bytes.Equal(readAll(t, out), wantBytes) {
					t.Error("makedumpfile -R rebuilt a file that differs from Run's")
				}
			}
		})
	}
}
