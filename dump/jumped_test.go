package dump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageclass/pageclasstest"
)

// TestJumpedCPU: a live kernel's dump gets the NT_PRSTATUS note of the CPU
// that jumped, in its notes and in its copy of the CPU's crash_notes buffer,
// in both output formats (crash 8.0.6 warns "cpu 0: invalid NT_PRSTATUS
// note" without them).
func TestJumpedCPU(t *testing.T) {
	const (
		stackPFN   = 600
		stackOff   = 0xd48 // the saved %rsp's offset in its page
		notesPFN   = 700
		notesOff   = 0x800
		notesSize  = 0x1a0 // crash_notes_size on Linux 6.12 x86_64 (note_buf_t)
		pid        = 1234
		returnAddr = 0xffffffff810f5a3c
	)
	k := fakeKernel(false)
	stack := fullPage(stackPFN)
	saved := [8]uint64{0x46, 15, 14, 13, 12, 0xffffc90000013e00, 0xb, returnAddr} // flags r15 r14 r13 r12 rbp rbx ret
	for i, v := range saved {
		binary.LittleEndian.PutUint64(stack[stackOff+8*i:], v)
	}
	k.WritePage(stackPFN, stack)
	notesPage := fullPage(notesPFN)
	clear(notesPage[notesOff : notesOff+notesSize])
	k.WritePage(notesPFN, notesPage)
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))
	jumped := &JumpedCPU{PID: pid, SavedRSP: pageclasstest.PageOffset + stackPFN*pageSize + stackOff,
		CrashNotes: notesPFN*pageSize + notesOff, CrashNotesSize: notesSize}

	wantRegs := elfcore.Registers{EFLAGS: 0x46, R15: 15, R14: 14, R13: 13, R12: 12, RBP: 0xffffc90000013e00, RBX: 0xb,
		RIP: returnAddr, RSP: jumped.SavedRSP + 64, CS: 0x10, SS: 0x18}
	wantNote := elfcore.Prstatus{PID: pid, Regs: wantRegs}.Note()
	wantPage := append([]byte(nil), notesPage...)
	copy(wantPage[notesOff:], elfcore.CrashNoteBuffer(wantNote))

	// check finds the note first among notes, the patched crash_notes page,
	// and every other page as it was.
	check := func(t *testing.T, notes []byte, read func(pfn uint64, buf []byte) error) {
		t.Helper()
		ns, err := elfcore.ParseNotes(notes)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 2 || !elfcore.IsPrstatus(ns[0]) || ns[1].Name != "VMCOREINFO" {
			t.Fatalf("notes %v, want NT_PRSTATUS then VMCOREINFO", ns)
		}
		if !bytes.Equal(ns[0].Desc, wantNote.Desc) {
			t.Errorf("NT_PRSTATUS descriptor\n%x\nwant\n%x", ns[0].Desc, wantNote.Desc)
		}
		if got := binary.LittleEndian.Uint64(ns[0].Desc[112+16*8:]); got != returnAddr {
			t.Errorf("pr_reg rip = %#x, want %#x", got, uint64(returnAddr))
		}
		buf := make([]byte, pageSize)
		if err := read(notesPFN, buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, wantPage) {
			t.Errorf("crash_notes page: got %x…, want %x…", buf[notesOff:notesOff+48], wantPage[notesOff:notesOff+48])
		}
		for _, pfn := range []uint64{stackPFN, notesPFN - 1, notesPFN + 1} {
			if err := read(pfn, buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, k.Bytes()[pfn*pageSize:(pfn+1)*pageSize]) {
				t.Errorf("page %d changed", pfn)
			}
		}
	}

	tests := []struct {
		name   string
		format Format
		level  uint8
	}{
		{"kdump, level 31", Kdump, 31},
		{"kdump, level 0", Kdump, 0},
		{"elf, level 31", ELF, 31},
		{"elf, level 1", ELF, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			opt := Options{Level: pageclass.Level(tc.level), Format: tc.format, Compression: dumpfile.Zlib, Timestamp: fixedTime, Jumped: jumped}
			if _, err := Run(src, out, opt); err != nil {
				t.Fatal(err)
			}
			if tc.format == Kdump {
				d := openKdump(t, out)
				if d.Header.NrCPUs != 1 {
					t.Errorf("nr_cpus %d, want 1", d.Header.NrCPUs)
				}
				check(t, d.Header.Notes, d.ReadPage)
				return
			}
			f := openELF(t, out)
			var notes []byte
			for _, n := range f.Notes {
				notes = elfcore.AppendNote(notes, n)
			}
			check(t, notes, func(pfn uint64, buf []byte) error { _, err := f.ReadPhys(buf, pfn*pageSize); return err })
		})
	}

	// Without Jumped the output has no NT_PRSTATUS and the buffer stays zero.
	out := filepath.Join(dir, "plain")
	if _, err := Run(src, out, Options{Level: 31, Timestamp: fixedTime}); err != nil {
		t.Fatal(err)
	}
	d := openKdump(t, out)
	if ns, _ := elfcore.ParseNotes(d.Header.Notes); len(ns) != 1 || elfcore.IsPrstatus(ns[0]) {
		t.Errorf("notes without Jumped: %v", ns)
	}
}

func TestJumpedCPUErrors(t *testing.T) {
	k := fakeKernel(false)
	dir := t.TempDir()
	src := writeFile(t, dir, "vmcore", k.ELF(nil, true))
	rsp := pageclasstest.PageOffset + 600*pageSize
	tests := []struct {
		name string
		j    JumpedCPU
		want error
	}{
		{"buffer holds something", JumpedCPU{SavedRSP: rsp, CrashNotes: 700 * pageSize, CrashNotesSize: 0x1a0}, ErrOptions},
		{"buffer too small", JumpedCPU{SavedRSP: rsp, CrashNotes: 523 * pageSize, CrashNotesSize: 64}, ErrOptions},
		{"buffer not in the dump", JumpedCPU{SavedRSP: rsp, CrashNotes: 1 << 40, CrashNotesSize: 0x1a0}, elfcore.ErrNotInDump},
		{"stack not mapped", JumpedCPU{SavedRSP: 0xffffc90000013d50, CrashNotes: 523 * pageSize, CrashNotesSize: 0x1a0}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, err := Run(src, out, Options{Level: 31, Jumped: &tc.j})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%v does not match %v", err, tc.want)
			}
			noTempFiles(t, filepath.Dir(out))
		})
	}
}

// fullPage is a whole page of pageBytes(pfn).
func fullPage(pfn uint64) []byte {
	return bytes.Repeat(pageBytes(pfn), pageSize/len(pageBytes(pfn))+1)[:pageSize]
}
