package flattened

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// memFile is an io.WriterAt in memory that refuses to grow past limit.
type memFile struct {
	b     []byte
	limit int64
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	if m.limit > 0 && end > m.limit {
		return 0, errors.New("past the limit")
	}
	if end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

// rebuild rebuilds a stream with Rebuild and reports whether it was
// complete.
func rebuild(t testing.TB, stream []byte) (file []byte, complete bool) {
	t.Helper()
	var m memFile
	size, err := Rebuild(bytes.NewReader(stream), &m)
	if err != nil && !errors.Is(err, ErrCutShort) {
		t.Fatal(err)
	}
	if size != int64(len(m.b)) {
		t.Errorf("Rebuild says %d bytes, wrote %d", size, len(m.b))
	}
	return m.b, err == nil
}

type write struct {
	off  int64
	data []byte
}

// someWrites: out of order, overlapping, empty, and larger than a record.
func someWrites() []write {
	rnd := rand.New(rand.NewPCG(1, 2))
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	return []write{
		{8192, bytesOf(100)},
		{0, bytesOf(4096)},
		{8150, bytesOf(60)}, // overlaps the first
		{1 << 20, bytesOf(3*MaxRecord + 17)},
		{5000, nil},
		{4096, bytesOf(1)},
	}
}

func apply(ws []write) []byte {
	var file []byte
	for _, w := range ws {
		if end := w.off + int64(len(w.data)); end > int64(len(file)) {
			file = append(file, make([]byte, end-int64(len(file)))...)
		}
		copy(file[w.off:], w.data)
	}
	return file
}

func stream(t testing.TB, ws []write, close bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if n, err := fw.WriteAt(w.data, w.off); n != len(w.data) || err != nil {
			t.Fatalf("WriteAt(%d bytes, %d) = %d, %v", len(w.data), w.off, n, err)
		}
	}
	if close {
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
	} else if err := fw.Sync(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	ws := someWrites()
	file, complete := rebuild(t, stream(t, ws, true))
	if !complete {
		t.Error("no end record after Close")
	}
	if !bytes.Equal(file, apply(ws)) {
		t.Error("the rebuilt file differs from the writes")
	}
}

func TestHeader(t *testing.T) {
	s := stream(t, nil, true)
	want := make([]byte, HeaderSize+recordHeader)
	copy(want, "makedumpfile")
	want[16+7], want[24+7] = 1, 1
	for i := HeaderSize; i < len(want); i++ {
		want[i] = 0xff
	}
	if !bytes.Equal(s, want) {
		t.Errorf("an empty stream is\n% x\nwant\n% x", s[:32], want[:32])
	}
}

// TestCutShort: without Close the stream has no end record.
func TestCutShort(t *testing.T) {
	if _, complete := rebuild(t, stream(t, someWrites(), false)); complete {
		t.Error("a stream without Close reads as complete")
	}
}

// TestRebuildRefuses: streams that are not flattened, or that were cut,
// are refused with the reason.
func TestRebuildRefuses(t *testing.T) {
	good := stream(t, someWrites(), true)
	bad := func(i int, b byte) []byte {
		s := bytes.Clone(good)
		s[i] = b
		return s
	}
	negative := bytes.Clone(good[:HeaderSize])
	negative = binary.BigEndian.AppendUint64(negative, 1<<63)
	negative = binary.BigEndian.AppendUint64(negative, 1)
	// Far away and empty: it would make the rebuilt file seem that large.
	empty := bytes.Clone(good[:HeaderSize])
	empty = binary.BigEndian.AppendUint64(empty, 1<<62)
	empty = binary.BigEndian.AppendUint64(empty, 0)
	empty = binary.BigEndian.AppendUint64(empty, 1<<64-1)
	empty = binary.BigEndian.AppendUint64(empty, 1<<64-1)
	for _, tc := range []struct {
		name   string
		stream []byte
		want   error
	}{
		{"empty", nil, ErrFormat},
		{"half a header", good[:100], ErrFormat},
		{"signature", bad(0, 'M'), ErrFormat},
		{"type", bad(23, 2), ErrFormat},
		{"version", bad(31, 2), ErrFormat},
		{"negative offset", negative, ErrFormat},
		{"a record of no bytes", empty, ErrFormat},
		{"no records", good[:HeaderSize], ErrCutShort},
		{"cut in a record's header", good[:HeaderSize+10], ErrCutShort},
		{"cut in a record's data", good[:HeaderSize+recordHeader+50], ErrCutShort},
		{"no end record", good[:len(good)-recordHeader], ErrCutShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Rebuild(bytes.NewReader(tc.stream), &memFile{}); !errors.Is(err, tc.want) {
				t.Errorf("Rebuild: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAfterClose(t *testing.T) {
	fw, _ := NewWriter(&bytes.Buffer{})
	fw.Close()
	if _, err := fw.WriteAt([]byte("x"), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteAt after Close: %v", err)
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

// TestWriteError: an error of the underlying writer sticks and reaches
// every later call.
func TestWriteError(t *testing.T) {
	fw, err := NewWriter(&failAfter{n: HeaderSize + 100})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3<<20) // more than the buffer: it is written through
	if _, err := fw.WriteAt(big, 0); err == nil {
		t.Fatal("WriteAt: no error")
	}
	if _, err := fw.WriteAt([]byte("x"), 0); err == nil {
		t.Error("WriteAt after an error: no error")
	}
	if fw.Sync() == nil || fw.Close() == nil {
		t.Error("Sync or Close after an error: no error")
	}
}

// TestMakedumpfileRebuilds: makedumpfile -R rebuilds our stream into the
// file the writes make. (A stream cut short it does not refuse: it waits
// for more at the end of its input, forever.)
func TestMakedumpfileRebuilds(t *testing.T) {
	mdf, err := exec.LookPath("makedumpfile")
	if err != nil {
		t.Skip("makedumpfile not installed")
	}
	ws := someWrites()
	out := filepath.Join(t.TempDir(), "rebuilt")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, mdf, "-R", out)
	cmd.Stdin = bytes.NewReader(stream(t, ws, true))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("makedumpfile -R: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := apply(ws); !bytes.Equal(got, want) {
		t.Errorf("makedumpfile -R rebuilt %d bytes that differ from the writes' %d", len(got), len(want))
	}
}
