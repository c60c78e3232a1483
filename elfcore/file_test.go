package elfcore_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kjump/kjump/elfcore"
)

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// sampleCore is a small vmcore: notes, a RAM segment with a zero tail,
// an adjacent one, a kernel-text segment repeating part of the first and a
// vmalloc-like segment without a physical address.
func sampleCore() ([]byte, map[string][]byte) {
	notes := elfcore.AppendNote(nil, elfcore.RawNote{Name: "CORE", Type: 1, Desc: pattern(336, 1)})
	notes = elfcore.AppendNote(notes, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte("PAGESIZE=4096\n")})
	a := pattern(0x1800, 3) // phys 0x100000, memsz 0x2000: 0x800 zero bytes
	b := pattern(0x1000, 9) // phys 0x102000, adjacent
	return buildCore([]seg{
			{typ: elf.PT_NOTE, data: notes},
			{typ: elf.PT_LOAD, phys: 0x100000, virt: testPageOffset + 0x100000, data: a, memsz: 0x2000},
			{typ: elf.PT_LOAD, phys: 0x102000, virt: ^uint64(0), data: b},
			{typ: elf.PT_LOAD, phys: 0x100800, virt: 0xffffffff81000000, data: a[0x800:0x1000]},
			{typ: elf.PT_LOAD, phys: ^uint64(0), virt: 0xffffc90000000000, data: pattern(0x100, 77)},
		}), map[string][]byte{
			"a": a, "b": b,
		}
}

func TestNewFileRoundTrip(t *testing.T) {
	core, parts := sampleCore()
	f, err := elfcore.NewFile(bytes.NewReader(core), int64(len(core)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Notes) != 2 || f.Notes[0].Name != "CORE" || f.Notes[0].Type != 1 || !bytes.Equal(f.Notes[0].Desc, pattern(336, 1)) {
		t.Errorf("notes = %v", f.Notes)
	}
	if vi, ok := f.VMCOREINFO(); !ok || string(vi) != "PAGESIZE=4096\n" {
		t.Errorf("VMCOREINFO() = %q, %v", vi, ok)
	}
	if _, ok := f.Note("CORE", 2); ok {
		t.Error("Note(CORE, 2) found a note that is not there")
	}
	wantLoads := []elfcore.Segment{
		{Phys: 0x100000, Virt: testPageOffset + 0x100000, FileSize: 0x1800, MemSize: 0x2000},
		{Phys: 0x102000, Virt: 0, FileSize: 0x1000, MemSize: 0x1000},
		{Phys: 0x100800, Virt: 0xffffffff81000000, FileSize: 0x800, MemSize: 0x800},
		{Phys: ^uint64(0), Virt: 0xffffc90000000000, FileSize: 0x100, MemSize: 0x100},
	}
	gotLoads := slices.Clone(f.Loads)
	for i := range gotLoads {
		gotLoads[i].FileOff = 0 // layout detail of buildCore
	}
	if !slices.Equal(gotLoads, wantLoads) {
		t.Errorf("loads:\n got %+v\nwant %+v", gotLoads, wantLoads)
	}

	// Physical memory as the dump describes it.
	mem := append(slices.Clone(parts["a"]), make([]byte, 0x800)...)
	mem = append(mem, parts["b"]...)
	tests := []struct {
		name    string
		phys    uint64
		n       int
		wantN   int
		wantErr error
	}{
		{"start", 0x100000, 16, 16, nil},
		{"file bytes into zero tail", 0x1017f8, 16, 16, nil},
		{"zero tail", 0x101900, 0x100, 0x100, nil},
		{"zero tail into next segment", 0x101ff0, 0x20, 0x20, nil},
		{"everything", 0x100000, 0x3000, 0x3000, nil},
		{"last byte", 0x102fff, 1, 1, nil},
		{"past the end", 0x102ff8, 16, 8, elfcore.ErrNotInDump},
		{"before the start", 0xfffff, 2, 0, elfcore.ErrNotInDump},
		{"nowhere", 0x7fff0000, 4, 0, elfcore.ErrNotInDump},
		{"top of the address space", ^uint64(0), 1, 0, elfcore.ErrNotInDump},
		{"empty", 0x7fff0000, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := bytes.Repeat([]byte{0xee}, tt.n)
			n, err := f.ReadPhys(p, tt.phys)
			if n != tt.wantN || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("ReadPhys(%#x, %d) = %d, %v; want %d, %v", tt.phys, tt.n, n, err, tt.wantN, tt.wantErr)
			}
			if off := tt.phys - 0x100000; n > 0 && !bytes.Equal(p[:n], mem[off:off+uint64(n)]) {
				t.Errorf("ReadPhys(%#x) returned wrong bytes", tt.phys)
			}
			var ae *elfcore.AddrError
			if tt.wantErr != nil && (!errors.As(err, &ae) || ae.Phys != tt.phys+uint64(n)) {
				t.Errorf("error %v: want an *AddrError for %#x", err, tt.phys+uint64(n))
			}
		})
	}
}

func TestOpen(t *testing.T) {
	core, _ := sampleCore()
	path := filepath.Join(t.TempDir(), "vmcore")
	if err := os.WriteFile(path, core, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := elfcore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [4]byte
	if _, err := f.ReadPhys(b[:], 0x102000); err != nil || !bytes.Equal(b[:], pattern(4, 9)) {
		t.Errorf("ReadPhys = % x, %v", b, err)
	}

	if err := os.WriteFile(path, []byte("KDUMP   \x06\x00\x00\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = elfcore.Open(path)
	if !errors.Is(err, elfcore.ErrKdumpCompressed) || !strings.Contains(err.Error(), path) {
		t.Errorf("Open(kdump-compressed) error = %v", err)
	}
	if _, err := elfcore.Open(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) error = %v", err)
	}
}

// mutate returns a copy of b with f applied.
func mutate(b []byte, f func(b []byte)) []byte {
	b = slices.Clone(b)
	f(b)
	return b
}

func TestNewFileErrors(t *testing.T) {
	le := binary.LittleEndian
	good := buildCore([]seg{
		{typ: elf.PT_NOTE, data: elfcore.AppendNote(nil, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte("PAGESIZE=4096\n")})},
		{typ: elf.PT_LOAD, phys: 0x1000, data: pattern(0x100, 0)},
	})
	tests := []struct {
		name string
		data []byte
		kind error
		want string // substring of the message
	}{
		{"empty", nil, elfcore.ErrNotELF, "empty file"},
		{"text", []byte("hello, world"), elfcore.ErrNotELF, `magic "hell"`},
		{"kdump-compressed", []byte("KDUMP   \x06\x00\x00\x00rest"), elfcore.ErrKdumpCompressed, "is this a kdump-compressed file?"},
		{"diskdump", []byte("DISKDUMP\x01\x00"), elfcore.ErrKdumpCompressed, "kdump-compressed"},
		{"flattened", []byte("makedumpfile\x00\x00\x00\x00"), elfcore.ErrFlattened, "makedumpfile -R"},
		{"short header", good[:40], elfcore.ErrTruncated, "ELF header needs 64 bytes"},
		{"ELF32", mutate(good, func(b []byte) { b[4] = byte(elf.ELFCLASS32) }), elfcore.ErrWrongMachine, "ELFCLASS32"},
		{"big-endian", mutate(good, func(b []byte) { b[5] = byte(elf.ELFDATA2MSB) }), elfcore.ErrWrongMachine, "ELFDATA2MSB"},
		{"executable", mutate(good, func(b []byte) { le.PutUint16(b[16:], uint16(elf.ET_EXEC)) }), elfcore.ErrNotCore, "vmlinux"},
		{"aarch64", mutate(good, func(b []byte) { le.PutUint16(b[18:], uint16(elf.EM_AARCH64)) }), elfcore.ErrWrongMachine, "EM_AARCH64"},
		{"version", mutate(good, func(b []byte) { le.PutUint32(b[20:], 2) }), elfcore.ErrMalformed, "ELF version"},
		{"ehsize", mutate(good, func(b []byte) { le.PutUint16(b[52:], 52) }), elfcore.ErrMalformed, "e_ehsize"},
		{"phentsize", mutate(good, func(b []byte) { le.PutUint16(b[54:], 32) }), elfcore.ErrMalformed, "e_phentsize"},
		{"no program headers", mutate(good, func(b []byte) { le.PutUint16(b[56:], 0) }), elfcore.ErrMalformed, "no program headers"},
		{"truncated program headers", good[:64+56+20], elfcore.ErrTruncated, "2 program headers"},
		{"phoff past end", mutate(good, func(b []byte) { le.PutUint64(b[32:], 1<<40) }), elfcore.ErrTruncated, "program headers"},
		{"PN_XNUM without section header", mutate(good, func(b []byte) {
			le.PutUint16(b[56:], 0xffff)
			le.PutUint16(b[58:], 64)
			le.PutUint64(b[40:], uint64(len(b)))
		}), elfcore.ErrTruncated, "PN_XNUM"},
		{"PN_XNUM bad shentsize", mutate(good, func(b []byte) { le.PutUint16(b[56:], 0xffff) }), elfcore.ErrMalformed, "e_shentsize"},
		{"load beyond EOF", mutate(good, func(b []byte) { le.PutUint64(b[phdrAt(1)+32:], 0x10000); le.PutUint64(b[phdrAt(1)+40:], 0x10000) }), elfcore.ErrSegmentBeyondEOF, "PT_LOAD 1"},
		{"load offset beyond EOF", mutate(good, func(b []byte) { le.PutUint64(b[phdrAt(1)+8:], ^uint64(0)-8) }), elfcore.ErrSegmentBeyondEOF, "PT_LOAD 1"},
		{"note beyond EOF", mutate(good, func(b []byte) { le.PutUint64(b[phdrAt(0)+32:], 0x10000) }), elfcore.ErrSegmentBeyondEOF, "PT_NOTE 0"},
		{"filesz > memsz", mutate(good, func(b []byte) { le.PutUint64(b[phdrAt(1)+40:], 0x80) }), elfcore.ErrMalformed, "p_filesz"},
		{"physical wrap", mutate(good, func(b []byte) { le.PutUint64(b[phdrAt(1)+24:], ^uint64(0)-0x10) }), elfcore.ErrMalformed, "wraps"},
		{"note overflow", mutate(good, func(b []byte) { le.PutUint32(b[phdrAt(2)+4:], 0x1000) }), elfcore.ErrNoteOverflow, "n_descsz 0x1000"},
		{"note header cut", mutate(good, func(b []byte) { le.PutUint64(b[phdrAt(0)+32:], 8) }), elfcore.ErrNoteOverflow, "too few for a note header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := elfcore.NewFile(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err == nil {
				t.Fatal("NewFile succeeded")
			}
			if f != nil {
				t.Error("NewFile returned a File with the error")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v does not match %v", err, tt.kind)
			}
			var fe *elfcore.FormatError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FormatError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	if _, err := elfcore.NewFile(bytes.NewReader(good), int64(len(good))); err != nil {
		t.Errorf("the unmutated file fails: %v", err)
	}
}

func TestNewFileOnElfcorehdr(t *testing.T) {
	hdr, err := elfcore.Header{
		Notes: []elfcore.Note{{Phys: 0x105e000, Size: 4132}},
		Loads: []elfcore.Load{{Phys: 0x100000, Size: 0x1000}},
	}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	_, err = elfcore.NewFile(bytes.NewReader(hdr), int64(len(hdr)))
	if !errors.Is(err, elfcore.ErrSegmentBeyondEOF) || !strings.Contains(err.Error(), "is this an ELF core header (elfcorehdr)") {
		t.Errorf("NewFile(elfcorehdr) error = %v", err)
	}
}

func TestNewFileNotELFMatchesErrNotELF(t *testing.T) {
	for _, magic := range []string{"KDUMP   ", "makedumpfile"} {
		_, err := elfcore.NewFile(strings.NewReader(magic), int64(len(magic)))
		if !errors.Is(err, elfcore.ErrNotELF) {
			t.Errorf("%q: %v does not match ErrNotELF", magic, err)
		}
	}
}

func TestNewFilePNXNUM(t *testing.T) {
	// makedumpfile -E writes e_phnum = PN_XNUM and the real count in
	// section header 0's sh_info when there are 0xffff or more segments;
	// check the mechanism with two.
	le := binary.LittleEndian
	core := buildCore([]seg{
		{typ: elf.PT_NOTE, data: elfcore.AppendNote(nil, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte("X=1\n")})},
		{typ: elf.PT_LOAD, phys: 0x1000, data: pattern(0x40, 5)},
	})
	shoff := len(core)
	core = append(core, make([]byte, 64)...)
	le.PutUint32(core[shoff+44:], 2) // sh_info
	le.PutUint64(core[40:], uint64(shoff))
	le.PutUint16(core[56:], 0xffff)
	le.PutUint16(core[58:], 64)
	le.PutUint16(core[60:], 1)
	f, err := elfcore.NewFile(bytes.NewReader(core), int64(len(core)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Loads) != 1 || len(f.Notes) != 1 {
		t.Errorf("loads %v notes %v", f.Loads, f.Notes)
	}
	le.PutUint32(core[shoff+44:], 0)
	if _, err := elfcore.NewFile(bytes.NewReader(core), int64(len(core))); !errors.Is(err, elfcore.ErrMalformed) {
		t.Errorf("sh_info 0: error %v, want ErrMalformed", err)
	}
}

// shortReader claims more bytes than it has.
type shortReader struct{ b []byte }

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(r.b).ReadAt(p, off)
}

func TestNewFileSizeLies(t *testing.T) {
	core, _ := sampleCore()
	// The header says the notes are there, the reader ends early.
	_, err := elfcore.NewFile(shortReader{core[:64+56*5+8]}, int64(len(core)))
	if !errors.Is(err, elfcore.ErrTruncated) {
		t.Errorf("error %v, want ErrTruncated", err)
	}
	// Loads are read lazily: a short read shows up in ReadPhys.
	f, err := elfcore.NewFile(shortReader{core[:len(core)-0x1000]}, int64(len(core)))
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 0x2000)
	if n, err := f.ReadPhys(p, 0x101000); err == nil || n == len(p) {
		t.Errorf("ReadPhys past the real end = %d, %v; want an error", n, err)
	}
	if _, err := elfcore.NewFile(bytes.NewReader(core), -1); !errors.Is(err, elfcore.ErrTruncated) {
		t.Errorf("negative size: error %v", err)
	}
}

func TestParseNotes(t *testing.T) {
	le := binary.LittleEndian
	two := elfcore.AppendNote(nil, elfcore.RawNote{Name: "CORE", Type: 1, Desc: []byte{1, 2, 3}})
	two = elfcore.AppendNote(two, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte("A=1\n")})
	tests := []struct {
		name    string
		data    []byte
		want    []elfcore.RawNote
		wantErr bool
	}{
		{name: "empty", data: nil},
		{name: "zeros", data: make([]byte, 368)},
		{name: "short zeros", data: make([]byte, 5)},
		{name: "two", data: two, want: []elfcore.RawNote{{"CORE", 1, []byte{1, 2, 3}}, {"VMCOREINFO", 0, []byte("A=1\n")}}},
		{name: "two then terminator and junk", data: append(append(slices.Clone(two), make([]byte, 12)...), 0xff, 0xff),
			want: []elfcore.RawNote{{"CORE", 1, []byte{1, 2, 3}}, {"VMCOREINFO", 0, []byte("A=1\n")}}},
		{name: "empty name and desc", data: elfcore.AppendNote(nil, elfcore.RawNote{Name: "", Type: 7}), want: []elfcore.RawNote{{"", 7, []byte{}}}},
		{name: "short garbage", data: []byte{1, 0, 0, 0, 0}, wantErr: true},
		{name: "name overflow", data: mutate(two, func(b []byte) { le.PutUint32(b[0:], 0x100) }), wantErr: true},
		{name: "desc overflow", data: mutate(two, func(b []byte) { le.PutUint32(b[4:], 0xffffffff) }), wantErr: true},
		{name: "cut padding", data: two[:len(two)-1], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := elfcore.ParseNotes(tt.data)
			if tt.wantErr {
				if err == nil || got != nil || !errors.Is(err, elfcore.ErrNoteOverflow) {
					t.Fatalf("ParseNotes = %v, %v; want nil, ErrNoteOverflow", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tt.want, noteEqual) {
				t.Errorf("ParseNotes = %v, want %v", got, tt.want)
			}
		})
	}
}

func noteEqual(a, b elfcore.RawNote) bool {
	return a.Name == b.Name && a.Type == b.Type && bytes.Equal(a.Desc, b.Desc)
}

func TestAppendNoteLayout(t *testing.T) {
	got := elfcore.AppendNote(nil, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte("PAGESIZE=4096\n")})
	want := []byte{
		11, 0, 0, 0, // n_namesz: "VMCOREINFO\0"
		14, 0, 0, 0, // n_descsz
		0, 0, 0, 0, // n_type
		'V', 'M', 'C', 'O', 'R', 'E', 'I', 'N', 'F', 'O', 0, 0, // name, padded to 12
		'P', 'A', 'G', 'E', 'S', 'I', 'Z', 'E', '=', '4', '0', '9', '6', '\n', 0, 0, // desc, padded to 16
	}
	if !bytes.Equal(got, want) {
		t.Errorf("AppendNote =\n% x\nwant\n% x", got, want)
	}
}
