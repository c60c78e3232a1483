package elfcore_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/kjump/kjump/elfcore"
)

var sentinels = []error{
	elfcore.ErrNotELF, elfcore.ErrNotCore, elfcore.ErrWrongMachine, elfcore.ErrMalformed,
	elfcore.ErrTruncated, elfcore.ErrSegmentBeyondEOF, elfcore.ErrNoteOverflow,
}

func FuzzNewFile(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it finds, and
	// that is slow for inputs of many kilobytes.
	core := buildCore([]seg{
		{typ: elf.PT_NOTE, data: elfcore.AppendNote(nil, elfcore.RawNote{Name: "VMCOREINFO", Desc: []byte("PAGESIZE=4096\n")})},
		{typ: elf.PT_LOAD, phys: 0x100000, virt: testPageOffset + 0x100000, data: pattern(0x30, 3), memsz: 0x40},
		{typ: elf.PT_LOAD, phys: 0x100040, data: pattern(0x20, 9)},
		{typ: elf.PT_LOAD, phys: 0x100010, virt: 0xffffffff81000000, data: pattern(0x10, 3)},
		{typ: elf.PT_LOAD, phys: ^uint64(0), virt: 0xffffc90000000000, data: pattern(0x10, 77)},
	})
	f.Add(core, uint64(0x100000), uint16(16))
	f.Add(core, uint64(0x100028), uint16(0x40))
	f.Add(buildCore([]seg{{typ: elf.PT_LOAD, phys: 0, data: pattern(64, 1), memsz: 0x1000}}), uint64(0x20), uint16(0x100))
	hdr, _ := elfcore.Header{Notes: []elfcore.Note{{Phys: 0x1000, Size: 4132}}, Loads: []elfcore.Load{{Phys: 0x100000, Size: 0x1000}}}.Marshal()
	f.Add(hdr, uint64(0), uint16(1))
	f.Add([]byte("KDUMP   \x06\x00\x00\x00"), uint64(0), uint16(0))
	f.Add([]byte("makedumpfile\x00\x00\x00\x00"), uint64(0), uint16(0))
	f.Add(core[:100], uint64(0), uint16(0))

	f.Fuzz(func(t *testing.T, data []byte, phys uint64, n uint16) {
		file, err := elfcore.NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if file != nil {
				t.Fatal("File returned with an error")
			}
			var fe *elfcore.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FormatError", err, err)
			}
			if !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
				t.Fatalf("error %v matches no sentinel", err)
			}
			return
		}
		// Notes survive re-encoding.
		var enc []byte
		for _, n := range file.Notes {
			enc = elfcore.AppendNote(enc, n)
		}
		again, err := elfcore.ParseNotes(enc)
		if err != nil || !slices.EqualFunc(again, file.Notes, noteEqual) {
			t.Fatalf("notes %v re-encode to %v, %v", file.Notes, again, err)
		}
		// Every segment's first and last byte reads as the file says
		// (or as zero past FileSize), unless a lower segment covers it.
		for _, s := range file.Loads {
			if s.Phys == ^uint64(0) || s.MemSize == 0 {
				continue
			}
			for _, off := range []uint64{0, s.MemSize - 1} {
				var b [1]byte
				if n, err := file.ReadPhys(b[:], s.Phys+off); n != 1 || err != nil {
					t.Fatalf("ReadPhys(%#x) in segment %+v = %d, %v", s.Phys+off, s, n, err)
				}
				if covered(file.Loads, s, s.Phys+off) {
					continue
				}
				want := byte(0)
				if off < s.FileSize {
					want = data[s.FileOff+off]
				}
				if b[0] != want {
					t.Fatalf("ReadPhys(%#x) = %#x, file has %#x", s.Phys+off, b[0], want)
				}
			}
		}
		p := make([]byte, n)
		got, err := file.ReadPhys(p, phys)
		if got < 0 || got > len(p) || (err == nil && got != len(p)) {
			t.Fatalf("ReadPhys(%#x, %d) = %d, %v", phys, n, got, err)
		}
		if err != nil && !errors.Is(err, elfcore.ErrNotInDump) {
			t.Fatalf("ReadPhys error %v", err)
		}
	})
}

// covered reports whether a segment other than s, starting lower or equal
// and listed before s, also covers addr (then it may be the one read).
func covered(loads []elfcore.Segment, s elfcore.Segment, addr uint64) bool {
	for _, o := range loads {
		if o != s && o.Phys != ^uint64(0) && o.Phys <= addr && addr-o.Phys < o.MemSize {
			return true
		}
	}
	return false
}

func FuzzParseNotes(f *testing.F) {
	f.Add(vmcoreinfoNoteBuffer("OSRELEASE=6.12.38\n"))
	f.Add(elfcore.AppendNote(nil, elfcore.RawNote{Name: "CORE", Type: 1, Desc: make([]byte, 336)}))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 'a', 0, 0, 0})
	f.Add(make([]byte, 7))
	f.Fuzz(func(t *testing.T, data []byte) {
		notes, err := elfcore.ParseNotes(data)
		if err != nil {
			if notes != nil || !errors.Is(err, elfcore.ErrNoteOverflow) {
				t.Fatalf("ParseNotes = %v, %v", notes, err)
			}
			return
		}
		var enc []byte
		for _, n := range notes {
			enc = elfcore.AppendNote(enc, n)
		}
		again, err := elfcore.ParseNotes(enc)
		if err != nil || !slices.EqualFunc(again, notes, noteEqual) {
			t.Fatalf("round trip: %v → %v, %v", notes, again, err)
		}
	})
}

// FuzzMarshal checks that whatever Marshal accepts decodes (with the
// standard library) to exactly the header it was given.
func FuzzMarshal(f *testing.F) {
	le := binary.LittleEndian
	seed := func(words ...uint64) []byte {
		var b []byte
		for _, w := range words {
			b = le.AppendUint64(b, w)
		}
		return b
	}
	f.Add(seed(0x105e000, 4132, 0x1000, 0x9e000, 0x100000, 0x3fee0000), uint8(1), false)
	f.Add(seed(0x105e000, 4132, 0x1000, 0x800, 0x1800, 0x800), uint8(1), true)
	f.Fuzz(func(t *testing.T, words []byte, nNotes uint8, virt bool) {
		var vals []uint64
		for len(words) >= 8 {
			vals = append(vals, le.Uint64(words))
			words = words[8:]
		}
		var h elfcore.Header
		for len(vals) >= 2 {
			if int(nNotes) > len(h.Notes) {
				h.Notes = append(h.Notes, elfcore.Note{Phys: vals[0], Size: vals[1]})
			} else {
				l := elfcore.Load{Phys: vals[0], Size: vals[1]}
				if virt {
					l.Virt = testPageOffset + vals[0]
				}
				h.Loads = append(h.Loads, l)
			}
			vals = vals[2:]
		}
		b, err := h.Marshal()
		if err != nil {
			if b != nil || !errors.Is(err, elfcore.ErrInvalidHeader) {
				t.Fatalf("Marshal = %d bytes, %v", len(b), err)
			}
			return
		}
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(ef.Progs) != len(h.Notes)+len(h.Loads) {
			t.Fatalf("%d program headers for %d notes and %d loads", len(ef.Progs), len(h.Notes), len(h.Loads))
		}
		for i, p := range ef.Progs {
			if i < len(h.Notes) {
				n := h.Notes[i]
				if p.Type != elf.PT_NOTE || p.Off != n.Phys || p.Paddr != n.Phys || p.Memsz != n.Size || p.Filesz != n.Size {
					t.Fatalf("note %d: %+v for %+v", i, p.ProgHeader, n)
				}
				continue
			}
			l := h.Loads[i-len(h.Notes)]
			wantV := l.Virt
			if wantV == 0 {
				wantV = ^uint64(0)
			}
			if p.Type != elf.PT_LOAD || p.Off != l.Phys || p.Paddr != l.Phys || p.Vaddr != wantV || p.Memsz != l.Size || p.Filesz != l.Size {
				t.Fatalf("load %d: %+v for %+v", i, p.ProgHeader, l)
			}
		}
	})
}
