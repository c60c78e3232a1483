package elfcore_test

import (
	"debug/elf"
	"encoding/binary"
	"testing"

	"github.com/kjump/kjump/elfcore"
)

// TestPrstatusLayout checks the note against the x86_64 struct elf_prstatus
// offsets crash and drgn read: pr_pid at 32, pr_reg at 112 in
// user_regs_struct order, 336 bytes.
func TestPrstatusLayout(t *testing.T) {
	regs := elfcore.JumpRegisters(0xffffc90000013d50, [8]uint64{0x46, 15, 14, 13, 12, 0x55, 0xbb, 0xffffffff810f5a3c})
	n := elfcore.Prstatus{PID: 77, Regs: regs}.Note()
	if n.Name != "CORE" || n.Type != uint32(elf.NT_PRSTATUS) || len(n.Desc) != elfcore.PrstatusSize || !elfcore.IsPrstatus(n) {
		t.Fatalf("note %v", n)
	}
	le := binary.LittleEndian
	reg := func(i int) uint64 { return le.Uint64(n.Desc[112+8*i:]) }
	tests := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"pr_pid", uint64(le.Uint32(n.Desc[32:])), 77},
		{"r15", reg(0), 15},
		{"r12", reg(3), 12},
		{"rbp", reg(4), 0x55},
		{"rbx", reg(5), 0xbb},
		{"rax (not saved by the jump)", reg(10), 0},
		{"rip", reg(16), 0xffffffff810f5a3c},
		{"cs", reg(17), 0x10},
		{"eflags", reg(18), 0x46},
		{"rsp (after the return)", reg(19), 0xffffc90000013d50 + 64},
		{"ss", reg(20), 0x18},
		{"pr_fpvalid", uint64(le.Uint32(n.Desc[328:])), 0},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
	// In kernel memory the note is followed by an empty header that ends
	// the list, which the second kernel's vmcore code and crash stop at.
	buf := elfcore.CrashNoteBuffer(n)
	if len(buf) != 12+8+336+12 {
		t.Errorf("crash note buffer: %d bytes, want %d", len(buf), 12+8+336+12)
	}
	ns, err := elfcore.ParseNotes(buf)
	if err != nil || len(ns) != 1 || !elfcore.IsPrstatus(ns[0]) {
		t.Errorf("ParseNotes(CrashNoteBuffer) = %v, %v", ns, err)
	}
}
