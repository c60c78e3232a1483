package cpio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

type entry struct {
	hdr  Header
	data string
}

// build writes entries and closes the writer, failing the test on error.
func build(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, e := range entries {
		if err := w.WriteHeader(&e.hdr); err != nil {
			t.Fatalf("WriteHeader(%q): %v", e.hdr.Name, err)
		}
		if _, err := io.WriteString(w, e.data); err != nil {
			t.Fatalf("Write(%q): %v", e.hdr.Name, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

// readAll reads every entry of an archive, with its data.
func readAll(r io.Reader) ([]entry, error) {
	cr := NewReader(r)
	var out []entry
	for {
		h, err := cr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		data, err := io.ReadAll(cr)
		if err != nil {
			return out, err
		}
		out = append(out, entry{*h, string(data)})
	}
}

func reg(name string, perm uint32, data string) entry {
	return entry{Header{Name: name, Mode: TypeReg | perm, NLink: 1, Size: int64(len(data))}, data}
}

func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("x", MaxNameSize-1)
	in := []entry{
		{Header{Name: "bin", Mode: TypeDir | 0o755, NLink: 2}, ""},
		reg("bin/a", 0o755, ""),
		reg("bin/ab", 0o644, "1"),
		reg("bin/abc", 0o600, "12"),
		reg("bin/abcd", 0o4755, "123"),
		reg("b", 0o644, "1234"),
		reg("bc", 0o644, "12345"),
		{Header{Name: "bin/sh", Mode: TypeSymlink | 0o777, NLink: 1, Size: 7}, "busybox"},
		{Header{Name: "dev/console", Mode: TypeCharDev | 0o600, NLink: 1, RDevMajor: 5, RDevMinor: 1}, ""},
		{Header{Name: "dev/sda", Mode: TypeBlockDev | 0o660, NLink: 1, RDevMajor: 8}, ""},
		{Header{Name: "run/fifo", Mode: TypeFIFO | 0o644, NLink: 1}, ""},
		{Header{Name: "run/sock", Mode: TypeSocket | 0o755, NLink: 1}, ""},
		{Header{Name: "tmp", Mode: TypeDir | 0o1777, NLink: 2, UID: 1000, GID: 100, MTime: 1700000000,
			DevMajor: 0xFFFFFFFF, DevMinor: 3, Ino: 0xDEADBEEF}, ""},
		reg(long, 0o644, strings.Repeat("\x00\xff", 3000)),
	}
	arch := build(t, in)
	want := make([]entry, len(in))
	copy(want, in)
	for i := range want {
		if want[i].hdr.Ino == 0 {
			want[i].hdr.Ino = uint32(i)
		}
	}
	if len(arch)%512 != 0 {
		t.Errorf("archive length %d is not a multiple of 512", len(arch))
	}
	readers := map[string]func(io.Reader) io.Reader{
		"plain":   func(r io.Reader) io.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
		"dataerr": iotest.DataErrReader,
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			got, err := readAll(wrap(bytes.NewReader(arch)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d entries, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i].hdr, want[i].hdr)
				}
			}
		})
	}
}

// TestSkipUnreadData checks that Next skips data the caller did not read.
func TestSkipUnreadData(t *testing.T) {
	arch := build(t, []entry{reg("a", 0o644, "hello"), reg("b", 0o644, "world!"), reg("c", 0o644, "x")})
	r := NewReader(bytes.NewReader(arch))
	for i, want := range []struct {
		name string
		read int
	}{{"a", 0}, {"b", 3}, {"c", 1}} {
		h, err := r.Next()
		if err != nil {
			t.Fatalf("Next %d: %v", i, err)
		}
		if h.Name != want.name {
			t.Errorf("entry %d is %q, want %q", i, h.Name, want.name)
		}
		if _, err := io.ReadFull(r, make([]byte, want.read)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next after trailer: %v, want io.EOF", err)
		}
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read after trailer = %d, %v; want 0, io.EOF", n, err)
	}
}

// golden is a two-entry archive written out field by field: the file "a"
// holding "hi\n" and the symbolic link "l" -> "a".
var golden = "" +
	// offset 0: header of "a"
	"070701" + // c_magic
	"00000000" + // c_ino: first entry, numbered 0
	"000081A4" + // c_mode: S_IFREG | 0644
	"00000000" + "00000000" + // c_uid, c_gid
	"00000001" + // c_nlink
	"00000000" + // c_mtime
	"00000003" + // c_filesize
	"00000000" + "00000000" + "00000000" + "00000000" + // c_devmajor, c_devminor, c_rdevmajor, c_rdevminor
	"00000002" + // c_namesize: "a\0"
	"00000000" + // c_check
	"a\x00" + // offset 110: name; 112 is 4-aligned, no padding
	"hi\n\x00" + // offset 112: data, padded from 115 to 116
	// offset 116: header of "l"
	"070701" + "00000001" + "0000A1FF" + "00000000" + "00000000" + "00000001" + "00000000" +
	"00000001" + // c_filesize: len("a")
	"00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000" +
	"l\x00" + // offset 226
	"a\x00\x00\x00" + // offset 228: link target, padded from 229 to 232
	// offset 232: trailer
	"070701" + "00000000" + "00000000" + "00000000" + "00000000" +
	"00000001" + // c_nlink 1, as GNU cpio and gen_init_cpio write it
	"00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "00000000" +
	"0000000B" + // c_namesize: "TRAILER!!!\0"
	"00000000" +
	"TRAILER!!!\x00" + // offset 342; ends at 353
	strings.Repeat("\x00", 512-353) // pad to 512

var goldenEntries = []entry{
	reg("a", 0o644, "hi\n"),
	{Header{Name: "l", Mode: TypeSymlink | 0o777, NLink: 1, Size: 1}, "a"},
}

func TestGolden(t *testing.T) {
	if len(golden) != 512 {
		t.Fatalf("golden is %d bytes, the test itself is wrong", len(golden))
	}
	got := build(t, goldenEntries)
	if string(got) != golden {
		t.Errorf("writer output differs from golden:\n got %q\nwant %q", got, golden)
	}
	entries, err := readAll(strings.NewReader(golden))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0] != goldenEntries[0] || entries[1].hdr.Ino != 1 || entries[1].data != "a" {
		t.Errorf("read back %+v", entries)
	}
}

func TestLowerCaseHex(t *testing.T) {
	lower := strings.Replace(golden, "000081A4", "000081a4", 1)
	entries, err := readAll(strings.NewReader(lower))
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].hdr.Mode != TypeReg|0o644 {
		t.Errorf("mode = %#o", entries[0].hdr.Mode)
	}
}

// TestTruncated reads every proper prefix of the golden archive. Every
// prefix that stops before the end of the trailer's padding must fail with
// ErrTruncated; longer ones must read cleanly.
func TestTruncated(t *testing.T) {
	const end = 356 // trailer header and name end at 353, padded to 356
	for n := 0; n <= len(golden); n++ {
		_, err := readAll(strings.NewReader(golden[:n]))
		switch {
		case n < end && !errors.Is(err, ErrTruncated):
			t.Errorf("prefix of %d bytes: err = %v, want ErrTruncated", n, err)
		case n < end:
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("prefix of %d bytes: err %T is not *Error", n, err)
			}
		case err != nil:
			t.Errorf("prefix of %d bytes: %v", n, err)
		}
	}
}

// header returns a header with the given field strings (defaults from
// goldenEntries[0]) and name bytes, plus name padding.
func header(fields map[string]string, name string) string {
	vals := []string{"00000000", "000081A4", "00000000", "00000000", "00000001", "00000000",
		"00000000", "00000000", "00000000", "00000000", "00000000",
		fmt.Sprintf("%08X", len(name)), "00000000"}
	magic := Magic
	for k, v := range fields {
		if k == "magic" {
			magic = v
			continue
		}
		for i, f := range fieldNames {
			if f == k {
				vals[i] = v
			}
		}
	}
	s := magic + strings.Join(vals, "") + name
	return s + strings.Repeat("\x00", int(pad4(int64(len(s)))))
}

func TestReaderErrors(t *testing.T) {
	trailer := golden[232:]
	tests := []struct {
		name  string
		arch  string
		want  error
		entry string // the name the *Error must carry
	}{
		{"odc magic", header(map[string]string{"magic": "070707"}, "a\x00") + trailer, ErrBadMagic, ""},
		{"crc magic", header(map[string]string{"magic": "070702"}, "a\x00") + trailer, ErrBadMagic, ""},
		{"junk", strings.Repeat("\x1f\x8b", 100), ErrBadMagic, ""},
		{"zero padding instead of header", strings.Repeat("\x00", 512), ErrBadMagic, ""},
		{"hex g", header(map[string]string{"c_mode": "000081G4"}, "a\x00") + trailer, ErrBadHex, ""},
		{"hex space", header(map[string]string{"c_uid": " 0000000"}, "a\x00") + trailer, ErrBadHex, ""},
		{"hex 0x", header(map[string]string{"c_filesize": "0x000001"}, "a\x00") + trailer, ErrBadHex, ""},
		{"hex sign", header(map[string]string{"c_check": "-0000001"}, "a\x00") + trailer, ErrBadHex, ""},
		{"namesize 0", header(map[string]string{"c_namesize": "00000000"}, "") + trailer, ErrBadName, ""},
		{"namesize too big", header(map[string]string{"c_namesize": "00001001"}, "a\x00") + trailer, ErrNameTooLong, ""},
		{"namesize huge", header(map[string]string{"c_namesize": "FFFFFFFF"}, "a\x00") + trailer, ErrNameTooLong, ""},
		{"no NUL", header(nil, "ab") + trailer, ErrBadName, ""},
		{"embedded NUL", header(nil, "a\x00b\x00") + trailer, ErrBadName, "a\x00b"},
		{"empty name", header(nil, "\x00") + trailer, ErrBadName, ""},
		{"mode without type", header(map[string]string{"c_mode": "000001A4"}, "a\x00") + trailer, ErrBadMode, "a"},
		{"mode high bits", header(map[string]string{"c_mode": "000181A4"}, "a\x00") + trailer, ErrBadMode, "a"},
		{"trailer with data", header(map[string]string{"c_filesize": "00000004"}, "TRAILER!!!\x00") + "abcd", ErrBadSize, "TRAILER!!!"},
		{"no trailer", golden[:232], ErrTruncated, ""},
		{"size beyond end", header(map[string]string{"c_filesize": "FFFFFFFF"}, "a\x00") + "data", ErrTruncated, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(strings.NewReader(tt.arch))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not *Error", err)
			}
			if e.Name != tt.entry {
				t.Errorf("Error.Name = %q, want %q", e.Name, tt.entry)
			}
			// Errors are sticky.
			r := NewReader(strings.NewReader(tt.arch))
			var first error
			for first == nil {
				_, first = r.Next()
				if first == nil {
					_, first = io.Copy(io.Discard, r)
				}
			}
			if _, again := r.Next(); again != first {
				t.Errorf("second Next = %v, want the sticky %v", again, first)
			}
		})
	}
}

func TestErrorOffset(t *testing.T) {
	arch := golden[:116] + header(map[string]string{"magic": "070707"}, "b\x00")
	_, err := readAll(strings.NewReader(arch))
	var e *Error
	if !errors.As(err, &e) || e.Offset != 116 {
		t.Fatalf("err = %v, want *Error at offset 116", err)
	}
	if want := "cpio: offset 116: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q does not start with %q", err, want)
	}
}

func TestWriterHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		hdr  Header
		want error
	}{
		{"empty name", Header{Mode: TypeReg | 0o644}, ErrBadName},
		{"NUL in name", Header{Name: "a\x00b", Mode: TypeReg | 0o644}, ErrBadName},
		{"trailer name", Header{Name: TrailerName, Mode: TypeReg | 0o644}, ErrBadName},
		{"name too long", Header{Name: strings.Repeat("n", MaxNameSize), Mode: TypeReg | 0o644}, ErrNameTooLong},
		{"no file type", Header{Name: "a", Mode: 0o644}, ErrBadMode},
		{"unknown file type", Header{Name: "a", Mode: 0o030000 | 0o644}, ErrBadMode},
		{"bits above type", Header{Name: "a", Mode: 1<<16 | TypeReg | 0o644}, ErrBadMode},
		{"negative size", Header{Name: "a", Mode: TypeReg | 0o644, Size: -1}, ErrBadSize},
		{"size too large", Header{Name: "a", Mode: TypeReg | 0o644, Size: MaxSize + 1}, ErrSizeTooLarge},
		{"directory with data", Header{Name: "a", Mode: TypeDir | 0o755, Size: 1}, ErrBadSize},
		{"device with data", Header{Name: "a", Mode: TypeCharDev | 0o600, Size: 1}, ErrBadSize},
		{"empty symlink", Header{Name: "a", Mode: TypeSymlink | 0o777}, ErrBadSize},
		{"symlink target too long", Header{Name: "a", Mode: TypeSymlink | 0o777, Size: MaxNameSize}, ErrBadSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			err := w.WriteHeader(&tt.hdr)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("a refused header wrote %d bytes", buf.Len())
			}
			// A refused header leaves the writer usable.
			if err := w.Close(); err != nil {
				t.Errorf("Close after refused header: %v", err)
			}
		})
	}
}

func TestWriterDataErrors(t *testing.T) {
	t.Run("too long", func(t *testing.T) {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.WriteHeader(&goldenEntries[0].hdr); err != nil {
			t.Fatal(err)
		}
		n, err := w.Write([]byte("hi\nthere"))
		if n != 3 || !errors.Is(err, ErrWriteTooLong) {
			t.Fatalf("Write = %d, %v; want 3, ErrWriteTooLong", n, err)
		}
		if err := w.WriteHeader(&goldenEntries[1].hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("a")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != golden {
			t.Errorf("output after a too-long write differs from golden")
		}
	})
	for _, next := range []string{"WriteHeader", "Close"} {
		t.Run("too short then "+next, func(t *testing.T) {
			w := NewWriter(io.Discard)
			if err := w.WriteHeader(&goldenEntries[0].hdr); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("h")); err != nil {
				t.Fatal(err)
			}
			var err error
			if next == "Close" {
				err = w.Close()
			} else {
				err = w.WriteHeader(&goldenEntries[1].hdr)
			}
			if !errors.Is(err, ErrWriteTooShort) {
				t.Fatalf("err = %v, want ErrWriteTooShort", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Name != "a" {
				t.Errorf("err %v does not name entry \"a\"", err)
			}
		})
	}
	t.Run("after close", func(t *testing.T) {
		w := NewWriter(io.Discard)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			w.Close(),
			w.WriteHeader(&goldenEntries[0].hdr),
			func() error { _, err := w.Write(nil); return err }(),
		} {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("err = %v, want ErrClosed", err)
			}
		}
	})
	t.Run("sticky write error", func(t *testing.T) {
		boom := errors.New("disk full")
		w := NewWriter(&failWriter{after: 200, err: boom})
		if err := w.WriteHeader(&goldenEntries[0].hdr); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("hi\n"))
		if err := w.WriteHeader(&goldenEntries[1].hdr); !errors.Is(err, boom) {
			t.Fatalf("WriteHeader = %v, want %v", err, boom)
		}
		if err := w.Close(); !errors.Is(err, boom) {
			t.Errorf("Close = %v, want the sticky %v", err, boom)
		}
	})
}

type failWriter struct {
	after int
	err   error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) <= f.after {
		f.after -= len(p)
		return len(p), nil
	}
	n := f.after
	f.after = 0
	return n, f.err
}

// stat returns a Header for a file as GNU cpio --reproducible -R 0:0
// describes it.
func stat(t *testing.T, dir, name string) entry {
	t.Helper()
	p := filepath.Join(dir, name)
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	e := entry{hdr: Header{Name: name, Mode: st.Mode, NLink: uint32(st.Nlink), MTime: uint32(st.Mtim.Sec)}}
	switch st.Mode & TypeMask {
	case TypeReg:
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		e.data = string(b)
	case TypeSymlink:
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatal(err)
		}
		e.data = target
	}
	e.hdr.Size = int64(len(e.data))
	return e
}

// TestGNUCpio checks byte equality with GNU cpio's reproducible newc output,
// and that GNU cpio extracts what this package writes.
func TestGNUCpio(t *testing.T) {
	cpioBin, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("GNU cpio not installed (Debian package cpio)")
	}
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(src, "d"), 0o750))
	must(os.WriteFile(filepath.Join(src, "d/f"), []byte("hello, cpio\n"), 0o640))
	must(os.WriteFile(filepath.Join(src, "empty"), nil, 0o600))
	must(os.WriteFile(filepath.Join(src, "odd"), []byte("12345"), 0o755))
	must(os.Symlink("d/f", filepath.Join(src, "link")))
	names := []string{"d", "d/f", "empty", "link", "odd"}
	var entries []entry
	for _, n := range names {
		entries = append(entries, stat(t, src, n))
	}
	ours := build(t, entries)

	t.Run("create", func(t *testing.T) {
		cmd := exec.Command(cpioBin, "-o", "-H", "newc", "--reproducible", "-R", "0:0", "--quiet")
		cmd.Dir = src
		cmd.Stdin = strings.NewReader(strings.Join(names, "\n") + "\n")
		gnu, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -o: %v", err)
		}
		if !bytes.Equal(gnu, ours) {
			t.Errorf("GNU cpio wrote\n%q\nwe wrote\n%q", gnu, ours)
		}
		got, err := readAll(bytes.NewReader(gnu))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(entries) {
			t.Fatalf("read %d entries from GNU cpio, want %d", len(got), len(entries))
		}
		for i := range got {
			want := entries[i]
			want.hdr.Ino = uint32(i)
			if got[i] != want {
				t.Errorf("entry %d: got %+v %q, want %+v %q", i, got[i].hdr, got[i].data, want.hdr, want.data)
			}
		}
	})

	t.Run("extract", func(t *testing.T) {
		dst := t.TempDir()
		cmd := exec.Command(cpioBin, "-i", "-d", "--quiet", "--no-absolute-filenames")
		cmd.Dir = dst
		cmd.Stdin = bytes.NewReader(ours)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cpio -i: %v\n%s", err, out)
		}
		for _, want := range entries {
			got := stat(t, dst, want.hdr.Name)
			if got.hdr.Mode != want.hdr.Mode || got.data != want.data {
				t.Errorf("%s: extracted mode %#o data %q, want %#o %q",
					want.hdr.Name, got.hdr.Mode, got.data, want.hdr.Mode, want.data)
			}
		}
	})

	t.Run("list devices", func(t *testing.T) {
		arch := build(t, []entry{
			{Header{Name: "dev/console", Mode: TypeCharDev | 0o600, NLink: 1, RDevMajor: 5, RDevMinor: 1}, ""},
			{Header{Name: "dev/ttyS0", Mode: TypeCharDev | 0o600, NLink: 1, RDevMajor: 4, RDevMinor: 64}, ""},
		})
		cmd := exec.Command(cpioBin, "-t", "-v", "--quiet", "--numeric-uid-gid")
		cmd.Stdin = bytes.NewReader(arch)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -t: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 {
			t.Fatalf("cpio -tv listed %q", out)
		}
		for i, want := range [][]string{{"crw-------", "5,", "1", "dev/console"}, {"crw-------", "4,", "64", "dev/ttyS0"}} {
			f := strings.Fields(lines[i])
			if len(f) < 9 || f[0] != want[0] || f[4] != want[1] || f[5] != want[2] || f[len(f)-1] != want[3] {
				t.Errorf("cpio -tv line %q, want %v", lines[i], want)
			}
		}
	})
}

func BenchmarkWriteRead(b *testing.B) {
	data := bytes.Repeat([]byte("kjump"), 1<<18/5)
	b.SetBytes(int64(len(data)) * 16)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		w := NewWriter(&buf)
		for i := range 16 {
			w.WriteHeader(&Header{Name: fmt.Sprintf("f%d", i), Mode: TypeReg | 0o644, Size: int64(len(data))})
			w.Write(data)
		}
		w.Close()
		if _, err := readAll(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
