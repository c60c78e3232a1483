package cpio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the Reader. Invariants: no panic; every
// header Next returns is sane; an entry's data is exactly Size bytes unless
// the read fails with an *Error; and an archive read to its end, if the
// Writer accepts its headers, survives a write/read round trip unchanged.
func FuzzReader(f *testing.F) {
	f.Add([]byte(golden))
	f.Add([]byte(golden[:200]))
	f.Add([]byte(strings.Replace(golden, "000081A4", "000041ed", 1)))
	f.Add([]byte(header(map[string]string{"c_mode": "000021B6", "c_rdevmajor": "00000005", "c_rdevminor": "00000001"}, "dev/console\x00") + golden[232:]))
	f.Add([]byte(header(map[string]string{"magic": "070707"}, "a\x00")))
	f.Add([]byte(header(map[string]string{"c_namesize": "00001000"}, "a\x00")))
	f.Fuzz(func(t *testing.T, arch []byte) {
		r := NewReader(bytes.NewReader(arch))
		var entries []entry
		for len(entries) < 1000 {
			h, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Next error %T %v is not *Error", err, err)
				}
				if h != nil {
					t.Fatalf("Next returned a header with error %v", err)
				}
				return
			}
			switch {
			case h.Name == "" || h.Name == TrailerName || strings.IndexByte(h.Name, 0) >= 0:
				t.Fatalf("bad name %q", h.Name)
			case len(h.Name) >= MaxNameSize:
				t.Fatalf("name of %d bytes", len(h.Name))
			case h.Size < 0 || h.Size > MaxSize:
				t.Fatalf("size %d", h.Size)
			case !knownType(h.Mode) || h.Mode > 0o177777:
				t.Fatalf("mode %#o", h.Mode)
			}
			data, err := io.ReadAll(r)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, ErrTruncated) {
					t.Fatalf("data read error %v is not a truncation *Error", err)
				}
				return
			}
			if int64(len(data)) != h.Size {
				t.Fatalf("read %d data bytes, header says %d", len(data), h.Size)
			}
			entries = append(entries, entry{*h, string(data)})
		}
		for _, e := range entries {
			if checkHeader(&e.hdr) != nil {
				return // legal to read, refused by the stricter Writer
			}
		}
		again, err := readAll(bytes.NewReader(build(t, entries)))
		if err != nil {
			t.Fatalf("reading rewritten archive: %v", err)
		}
		if len(again) != len(entries) {
			t.Fatalf("rewritten archive has %d entries, want %d", len(again), len(entries))
		}
		for i := range entries {
			want := entries[i]
			if want.hdr.Ino == 0 {
				want.hdr.Ino = uint32(i)
			}
			if again[i] != want {
				t.Fatalf("entry %d: %+v after round trip, want %+v", i, again[i].hdr, want.hdr)
			}
		}
	})
}

// FuzzRoundTrip writes one entry built from fuzzed fields. Invariant: the
// Writer either refuses the header, writing nothing, or the entry reads
// back identical.
func FuzzRoundTrip(f *testing.F) {
	f.Add("bin/kjump", uint32(TypeReg|0o755), uint32(0), uint32(7), []byte("\x7fELF"))
	f.Add("bin/sh", uint32(TypeSymlink|0o777), uint32(0), uint32(0), []byte("busybox"))
	f.Add("dev/null", uint32(TypeCharDev|0o666), uint32(1), uint32(3), []byte(nil))
	f.Add("", uint32(0), uint32(0), uint32(0), []byte(nil))
	f.Fuzz(func(t *testing.T, name string, mode, rmaj, rmin uint32, data []byte) {
		h := Header{Name: name, Mode: mode, RDevMajor: rmaj, RDevMinor: rmin, Size: int64(len(data)), NLink: 1}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.WriteHeader(&h); err != nil {
			if buf.Len() != 0 {
				t.Fatalf("refused header (%v) wrote %d bytes", err, buf.Len())
			}
			return
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != (entry{h, string(data)}) {
			t.Fatalf("read back %+v, want %+v", got, h)
		}
	})
}
