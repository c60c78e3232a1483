package elfcore_test

import (
	"bytes"
	"debug/elf"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kjump/kjump/elfcore"
)

const testPageOffset = 0xffff9e4b00000000

func TestMarshalLayout(t *testing.T) {
	h := elfcore.Header{
		Notes:      []elfcore.Note{{Phys: 0x3fd1e000, Size: 368}, {Phys: 0x105e000, Size: 4132}},
		KernelText: &elfcore.Load{Phys: 0x1000000, Size: 0x2a00000, Virt: 0xffffffff9a000000},
		Loads: []elfcore.Load{
			{Phys: 0x1000, Size: 0x9e000, Virt: testPageOffset + 0x1000},
			{Phys: 0x100000, Size: 0x3fee0000}, // Virt unknown
		},
	}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 64+5*56 {
		t.Fatalf("len = %d, want %d", len(b), 64+5*56)
	}
	// Decode with the standard library, independently of our decoder.
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_CORE || f.Machine != elf.EM_X86_64 || f.Version != elf.EV_CURRENT {
		t.Errorf("header = %+v", f.FileHeader)
	}
	type prog struct {
		typ                              elf.ProgType
		flags                            elf.ProgFlag
		off, vaddr, paddr, filesz, memsz uint64
	}
	want := []prog{
		{elf.PT_NOTE, 0, 0x3fd1e000, 0, 0x3fd1e000, 368, 368},
		{elf.PT_NOTE, 0, 0x105e000, 0, 0x105e000, 4132, 4132},
		{elf.PT_LOAD, elf.PF_R | elf.PF_W | elf.PF_X, 0x1000000, 0xffffffff9a000000, 0x1000000, 0x2a00000, 0x2a00000},
		{elf.PT_LOAD, elf.PF_R | elf.PF_W | elf.PF_X, 0x1000, testPageOffset + 0x1000, 0x1000, 0x9e000, 0x9e000},
		{elf.PT_LOAD, elf.PF_R | elf.PF_W | elf.PF_X, 0x100000, ^uint64(0), 0x100000, 0x3fee0000, 0x3fee0000},
	}
	var got []prog
	for _, p := range f.Progs {
		got = append(got, prog{p.Type, p.Flags, p.Off, p.Vaddr, p.Paddr, p.Filesz, p.Memsz})
		if p.Align != 0 {
			t.Errorf("p_align = %d, want 0", p.Align)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("program headers:\n got %+v\nwant %+v", got, want)
	}
	// Bytes the kernel checks, by offset.
	for _, c := range []struct {
		off  int
		want []byte
	}{
		{0, []byte("\x7fELF\x02\x01\x01\x00")},
		{16, []byte{4, 0, 62, 0, 1, 0, 0, 0}},
		{32, []byte{64, 0, 0, 0, 0, 0, 0, 0}},
		{52, []byte{64, 0, 56, 0, 5, 0, 0, 0, 0, 0, 0, 0}},
	} {
		if !bytes.Equal(b[c.off:c.off+len(c.want)], c.want) {
			t.Errorf("bytes at %d = % x, want % x", c.off, b[c.off:c.off+len(c.want)], c.want)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	note := []elfcore.Note{{Phys: 0x105e000, Size: 4132}}
	ram := []elfcore.Load{{Phys: 0x100000, Size: 0x100000}}
	tests := []struct {
		name string
		h    elfcore.Header
		want string // substring of the message
	}{
		{"no notes", elfcore.Header{Loads: ram}, "Notes: no note buffers"},
		{"no loads", elfcore.Header{Notes: note}, "Loads: no RAM ranges"},
		{"tiny note", elfcore.Header{Notes: []elfcore.Note{{Phys: 0x1000, Size: 11}}, Loads: ram}, "Notes[0]: size 11"},
		{"huge note", elfcore.Header{Notes: []elfcore.Note{{Phys: 0x1000, Size: 5 << 20}}, Loads: ram}, "kmalloc"},
		{"note beyond 2^52", elfcore.Header{Notes: []elfcore.Note{{Phys: 1<<52 - 8, Size: 64}}, Loads: ram}, "physical address space"},
		{"overlapping notes", elfcore.Header{Notes: []elfcore.Note{{Phys: 0x2000, Size: 368}, {Phys: 0x1000, Size: 0x1100}}, Loads: ram}, "Notes[0]: range 0x2000+0x170 overlaps Notes[1]"},
		{"empty load", elfcore.Header{Notes: note, Loads: []elfcore.Load{{Phys: 0x1000}}}, "Loads[0]: empty range"},
		{"unsorted", elfcore.Header{Notes: note, Loads: []elfcore.Load{{Phys: 0x200000, Size: 0x1000}, {Phys: 0x100000, Size: 0x1000}}}, "must be sorted"},
		{"overlap", elfcore.Header{Notes: note, Loads: []elfcore.Load{{Phys: 0x100000, Size: 0x2000}, {Phys: 0x101000, Size: 0x1000}}}, "overlaps Loads[0]"},
		{"shared page", elfcore.Header{Notes: note, Loads: []elfcore.Load{{Phys: 0x100000, Size: 0x800}, {Phys: 0x100800, Size: 0x800}}}, "shares a page"},
		{"wraps", elfcore.Header{Notes: note, Loads: []elfcore.Load{{Phys: 0xfffffffffffff000, Size: 0x2000}}}, "physical address space"},
		{"virt wraps", elfcore.Header{Notes: note, Loads: []elfcore.Load{{Phys: 0x1000, Size: 0x2000, Virt: 0xfffffffffffff000}}}, "wraps around"},
		{"virt -1", elfcore.Header{Notes: note, Loads: []elfcore.Load{{Phys: 0x1000, Size: 0x1000, Virt: ^uint64(0)}}}, "use 0 for unknown"},
		{"inconsistent direct map", elfcore.Header{Notes: note, Loads: []elfcore.Load{
			{Phys: 0x1000, Size: 0x1000, Virt: testPageOffset + 0x1000},
			{Phys: 0x100000, Size: 0x1000, Virt: testPageOffset + 0x200000},
		}}, "Loads[1]: Virt"},
		{"text without virt", elfcore.Header{Notes: note, Loads: ram, KernelText: &elfcore.Load{Phys: 0x1000000, Size: 0x1000}}, "KernelText: Virt"},
		{"text empty", elfcore.Header{Notes: note, Loads: ram, KernelText: &elfcore.Load{Phys: 0x1000000, Virt: 0xffffffff81000000}}, "KernelText: empty range"},
		{"too many", elfcore.Header{Notes: note, Loads: manyLoads(0xfffe)}, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.h.Marshal()
			if err == nil {
				t.Fatalf("Marshal succeeded (%d bytes), want error containing %q", len(b), tt.want)
			}
			if b != nil {
				t.Errorf("Marshal returned %d bytes with the error", len(b))
			}
			if !errors.Is(err, elfcore.ErrInvalidHeader) {
				t.Errorf("error %v does not match ErrInvalidHeader", err)
			}
			var he *elfcore.HeaderError
			if !errors.As(err, &he) {
				t.Errorf("error %T is not a *HeaderError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func manyLoads(n int) []elfcore.Load {
	loads := make([]elfcore.Load, n)
	for i := range loads {
		loads[i] = elfcore.Load{Phys: uint64(i) * 0x2000, Size: 0x1000}
	}
	return loads
}

func TestMarshalAcceptsUnalignedRanges(t *testing.T) {
	// e820 ranges like 0x1000-0x9fbff are not page-aligned at the end;
	// the kernel rounds them and Marshal lets them through as long as no
	// page is shared.
	h := elfcore.Header{
		Notes: []elfcore.Note{{Phys: 0x105e000, Size: 4132}},
		Loads: []elfcore.Load{{Phys: 0x1000, Size: 0x9ec00}, {Phys: 0x100000, Size: 0x1000}},
	}
	if _, err := h.Marshal(); err != nil {
		t.Fatal(err)
	}
}

// TestSecondKernel runs the header through a model of Linux 6.12's
// fs/proc/vmcore.c and reads the resulting /proc/vmcore back.
func TestSecondKernel(t *testing.T) {
	const (
		hdrAddr      = 0x10ff0000
		vmcoreinfoAt = 0x105e000
		cpu0Notes    = 0x3fd1e000
		cpu1Notes    = 0x3fd5e000
		text         = "OSRELEASE=6.12.38\nPAGESIZE=4096\n"
	)
	ram := []elfcore.Load{
		{Phys: 0x1000, Size: 0x9ec00, Virt: testPageOffset + 0x1000},
		{Phys: 0x100000, Size: 0x10000, Virt: testPageOffset + 0x100000},
		{Phys: 0x105e000, Size: 0x2000, Virt: testPageOffset + 0x105e000},
		{Phys: 0x3fd1e000, Size: 0x41000, Virt: testPageOffset + 0x3fd1e000},
	}
	prstatus := elfcore.AppendNote(nil, elfcore.RawNote{Name: "CORE", Type: uint32(elf.NT_PRSTATUS), Desc: bytes.Repeat([]byte{0xaa}, 336)})
	prstatus = append(prstatus, make([]byte, 12)...)

	tests := []struct {
		name      string
		notes     []elfcore.Note
		cpuFilled bool
		wantErr   bool
		wantWarn  []string
		wantNotes []string
	}{
		{name: "vmcoreinfo only", notes: []elfcore.Note{{vmcoreinfoAt, 4132}}, wantNotes: []string{"VMCOREINFO"}},
		{name: "zeroed cpu notes only", notes: []elfcore.Note{{cpu0Notes, 368}, {cpu1Notes, 368}}, wantErr: true,
			wantWarn: []string{"Warning: Zero PT_NOTE entries found", "Warning: Zero PT_NOTE entries found", "vmalloc_user(0) failed"}},
		{name: "zeroed cpu notes and vmcoreinfo", notes: []elfcore.Note{{cpu0Notes, 368}, {cpu1Notes, 368}, {vmcoreinfoAt, 4132}},
			wantWarn: []string{"Warning: Zero PT_NOTE entries found", "Warning: Zero PT_NOTE entries found"}, wantNotes: []string{"VMCOREINFO"}},
		{name: "filled cpu notes and vmcoreinfo", notes: []elfcore.Note{{cpu0Notes, 368}, {cpu1Notes, 368}, {vmcoreinfoAt, 4132}}, cpuFilled: true,
			wantNotes: []string{"CORE", "CORE", "VMCOREINFO"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := physMem{}
			// Recognisable contents for every RAM page.
			for _, r := range ram {
				for a := r.Phys; a < r.Phys+r.Size; a += 8 {
					mem.write(a, []byte{byte(a >> 3), byte(a >> 11), byte(a >> 19), byte(a >> 27), 0x5a, 0, 0, 0})
				}
			}
			mem.write(vmcoreinfoAt, vmcoreinfoNoteBuffer(text))
			mem.write(cpu0Notes, make([]byte, 368))
			mem.write(cpu1Notes, make([]byte, 368))
			if tt.cpuFilled {
				mem.write(cpu0Notes, prstatus)
				mem.write(cpu1Notes, prstatus)
			}
			hdr, err := elfcore.Header{Notes: tt.notes, Loads: ram}.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			mem.write(hdrAddr, hdr)

			vmcore, warn, err := simulateVmcore(mem, hdrAddr)
			if !slices.Equal(warn, tt.wantWarn) {
				t.Errorf("kernel log = %q, want %q", warn, tt.wantWarn)
			}
			if tt.wantErr {
				if err == nil {
					t.Fatal("the second kernel accepted the header")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}

			f, err := elfcore.NewFile(bytes.NewReader(vmcore), int64(len(vmcore)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, n := range f.Notes {
				names = append(names, n.Name)
			}
			if !slices.Equal(names, tt.wantNotes) {
				t.Errorf("notes = %q, want %q", names, tt.wantNotes)
			}
			if got, ok := f.VMCOREINFO(); !ok || string(got) != text {
				t.Errorf("VMCOREINFO() = %q, %v", got, ok)
			}
			if len(f.Loads) != len(ram) {
				t.Fatalf("%d loads, want %d", len(f.Loads), len(ram))
			}
			for i, r := range ram {
				s := f.Loads[i]
				if s.Phys != r.Phys || s.Virt != r.Virt || s.MemSize != r.Size || s.FileSize != r.Size {
					t.Errorf("load %d = %+v, want %+v", i, s, r)
				}
				got := make([]byte, r.Size)
				if n, err := f.ReadPhys(got, r.Phys); n != len(got) || err != nil {
					t.Fatalf("ReadPhys(%#x) = %d, %v", r.Phys, n, err)
				}
				if !bytes.Equal(got, mem.read(r.Phys, r.Size)) {
					t.Errorf("ReadPhys(%#x+%#x) differs from memory", r.Phys, r.Size)
				}
			}
			// The byte after the first (unaligned) range is not in the dump.
			var one [1]byte
			if _, err := f.ReadPhys(one[:], 0x9fc00); !errors.Is(err, elfcore.ErrNotInDump) {
				t.Errorf("ReadPhys(0x9fc00) error = %v, want ErrNotInDump", err)
			}
		})
	}
}

// TestSecondKernelNotesFirst shows why Marshal writes the PT_NOTEs first:
// the kernel replaces program headers 0..N-1 with the merged note, so a
// PT_LOAD placed before a PT_NOTE is lost.
func TestSecondKernelNotesFirst(t *testing.T) {
	hdr, err := elfcore.Header{
		Notes: []elfcore.Note{{Phys: 0x105e000, Size: 4132}},
		Loads: []elfcore.Load{{Phys: 0x100000, Size: 0x1000}, {Phys: 0x200000, Size: 0x1000}},
	}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	swapped := slices.Clone(hdr)
	copy(swapped[64:], hdr[64+56:64+112])
	copy(swapped[64+56:], hdr[64:64+56])

	for _, tt := range []struct {
		name      string
		hdr       []byte
		wantLoads int
	}{
		{"Marshal order", hdr, 2},
		{"load before note", swapped, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem := physMem{}
			mem.write(0x105e000, vmcoreinfoNoteBuffer("PAGESIZE=4096\n"))
			mem.write(0x10000000, tt.hdr)
			vmcore, _, err := simulateVmcore(mem, 0x10000000)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(bytes.NewReader(vmcore))
			if err != nil {
				t.Fatal(err)
			}
			loads := 0
			for _, p := range f.Progs {
				if p.Type == elf.PT_LOAD {
					loads++
				}
			}
			if loads != tt.wantLoads {
				t.Errorf("%d PT_LOADs in /proc/vmcore, want %d", loads, tt.wantLoads)
			}
		})
	}
}
