package vmcoreinfo_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kjump/kjump/vmcoreinfo"
)

// kernelBuffer is the note buffer as the kernel keeps it: the note, an
// empty note header, zeros up to NoteSize.
func kernelBuffer(text []byte) []byte {
	b := vmcoreinfo.AppendNote(nil, text)
	b = append(b, make([]byte, 12)...)
	return append(b, make([]byte, vmcoreinfo.NoteSize-len(b))...)
}

func TestParseNote(t *testing.T) {
	text, err := os.ReadFile("testdata/x86_64-kaslr-numa.txt")
	if err != nil {
		t.Fatal(err)
	}
	buf := kernelBuffer(text)
	if len(buf) != 4132 {
		t.Fatalf("buffer is %d bytes", len(buf))
	}
	got, err := vmcoreinfo.ParseNote(buf)
	if err != nil || !bytes.Equal(got, text) {
		t.Fatalf("ParseNote = %d bytes, %v", len(got), err)
	}
	if _, err := vmcoreinfo.Parse(got); err != nil {
		t.Error(err)
	}

	le := binary.LittleEndian
	mut := func(f func(b []byte) []byte) []byte { return f(slices.Clone(buf)) }
	tests := []struct {
		name string
		note []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"zero buffer", make([]byte, vmcoreinfo.NoteSize), "empty note header"},
		{"wrong name", mut(func(b []byte) []byte { copy(b[12:], "VMCOREINFX"); return b }), `note name "VMCOREINFX\x00"`},
		{"CORE note", mut(func(b []byte) []byte { le.PutUint32(b, 5); copy(b[12:], "CORE\x00"); return b }), `note name "CORE\x00"`},
		{"long namesz", mut(func(b []byte) []byte { le.PutUint32(b, 0xffffffff); return b }), "n_namesz 4294967295"},
		{"name cut", buf[:20], "note name"},
		{"type", mut(func(b []byte) []byte { le.PutUint32(b[8:], 1); return b }), "n_type 1"},
		{"desc overflow", mut(func(b []byte) []byte { le.PutUint32(b[4:], 5000); return b }), "n_descsz 5000"},
		{"desc cut", buf[:24+len(text)-1], "only"},
		{"empty desc", mut(func(b []byte) []byte { le.PutUint32(b[4:], 0); return b }), "empty descriptor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vmcoreinfo.ParseNote(tt.note)
			if err == nil {
				t.Fatalf("ParseNote succeeded: %q", got)
			}
			var ne *vmcoreinfo.NoteError
			if got != nil || !errors.Is(err, vmcoreinfo.ErrNote) || !errors.As(err, &ne) {
				t.Errorf("ParseNote = %q, %v (%T)", got, err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestAppendNoteLayout(t *testing.T) {
	for n := range 9 {
		text := bytes.Repeat([]byte{'x'}, n)
		b := vmcoreinfo.AppendNote(nil, text)
		if len(b)%4 != 0 || len(b) != 24+(n+3)&^3 {
			t.Errorf("text of %d bytes: note of %d bytes", n, len(b))
		}
		if n > 0 {
			if got, err := vmcoreinfo.ParseNote(b); err != nil || !bytes.Equal(got, text) {
				t.Errorf("text of %d bytes: ParseNote = %q, %v", n, got, err)
			}
		}
	}
	want := "\x0b\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00VMCOREINFO\x00\x00A=1\n\n\x00\x00\x00"
	if got := vmcoreinfo.AppendNote(nil, []byte("A=1\n\n")); string(got) != want {
		t.Errorf("AppendNote = %q, want %q", got, want)
	}
}
