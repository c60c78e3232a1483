package dump

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/dumpfile"
)

// TestRealDmesg: on the real vmcore, and on kjump's kdump (zlib, LZO) and
// ELF files of it, Dmesg writes byte for byte what makedumpfile
// --dump-dmesg writes from the vmcore.
func TestRealDmesg(t *testing.T) {
	src := realVmcore(t)
	mdf := needTool(t, "makedumpfile")
	want := mdfDmesg(t, mdf, src)
	dir := t.TempDir()
	files := []string{src}
	for _, opt := range []Options{{Format: Kdump, Compression: dumpfile.Zlib}, {Format: Kdump, Compression: dumpfile.LZO}, {Format: ELF}} {
		o := DefaultOptions()
		o.Format, o.Compression = opt.Format, opt.Compression
		dst := filepath.Join(dir, "out-"+opt.Format.String()+"-"+opt.Compression.String())
		if _, err := Run(src, dst, o); err != nil {
			t.Fatal(err)
		}
		files = append(files, dst)
	}
	// makedumpfile's own kdump file too.
	theirs := filepath.Join(dir, "makedumpfile.kdump")
	if out, err := exec.Command(mdf, "-d", "31", "-l", src, theirs).CombinedOutput(); err != nil {
		t.Fatalf("makedumpfile: %v\n%s", err, out)
	}
	files = append(files, theirs)
	for _, f := range files {
		var got bytes.Buffer
		if err := Dmesg(f, &got); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: %d bytes of log, makedumpfile --dump-dmesg wrote %d; first difference at %d", filepath.Base(f), got.Len(), len(want), firstDiff(got.Bytes(), want))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
