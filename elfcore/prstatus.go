package elfcore

import (
	"debug/elf"
	"encoding/binary"
)

// The x86_64 struct elf_prstatus (include/linux/elfcore.h) that a crashing
// kernel's crash_save_cpu writes, per CPU, as an NT_PRSTATUS note named
// "CORE" into its crash_notes buffer:
//
//	offset  size  field
//	0       12    pr_info (struct elf_siginfo: si_signo, si_code, si_errno)
//	12      2     pr_cursig, then 2 bytes of padding
//	16      8     pr_sigpend
//	24      8     pr_sighold
//	32      4     pr_pid (the task running on the CPU)
//	36      12    pr_ppid, pr_pgrp, pr_sid
//	48      64    pr_utime, pr_stime, pr_cutime, pr_cstime (16 bytes each)
//	112     216   pr_reg: 27 registers in struct user_regs_struct order
//	328     4     pr_fpvalid, then 4 bytes of padding
//
// 336 bytes in all.
const (
	PrstatusSize   = 336
	prstatusPID    = 32
	prstatusRegs   = 112
	prstatusNRegs  = 27
	prstatusCORE   = "CORE"
	kernelCS       = 0x10 // __KERNEL_CS (arch/x86/include/asm/segment.h)
	kernelDS       = 0x18 // __KERNEL_DS
	crashNoteFinal = noteHeaderSize
)

// Registers are x86_64 general-purpose registers, as pr_reg holds them
// (struct user_regs_struct). A register nobody knows is 0.
type Registers struct {
	R15, R14, R13, R12, RBP, RBX, R11, R10, R9, R8 uint64
	RAX, RCX, RDX, RSI, RDI, OrigRAX               uint64
	RIP, CS, EFLAGS, RSP, SS                       uint64
	FSBase, GSBase, DS, ES, FS, GS                 uint64
}

func (r Registers) list() [prstatusNRegs]uint64 {
	return [prstatusNRegs]uint64{r.R15, r.R14, r.R13, r.R12, r.RBP, r.RBX, r.R11, r.R10, r.R9, r.R8,
		r.RAX, r.RCX, r.RDX, r.RSI, r.RDI, r.OrigRAX, r.RIP, r.CS, r.EFLAGS, r.RSP, r.SS,
		r.FSBase, r.GSBase, r.DS, r.ES, r.FS, r.GS}
}

// Prstatus is what an NT_PRSTATUS note of a kernel CPU says: the task that
// ran on it and its registers. Signal, times and the other ids stay 0, as
// crash_save_cpu leaves them.
type Prstatus struct {
	PID  uint32
	Regs Registers
}

// Note returns p as the "CORE" NT_PRSTATUS note a crashing kernel writes.
func (p Prstatus) Note() RawNote {
	d := make([]byte, PrstatusSize)
	binary.LittleEndian.PutUint32(d[prstatusPID:], p.PID)
	for i, v := range p.Regs.list() {
		binary.LittleEndian.PutUint64(d[prstatusRegs+8*i:], v)
	}
	return RawNote{Name: prstatusCORE, Type: uint32(elf.NT_PRSTATUS), Desc: d}
}

// IsPrstatus reports whether n is a CPU's NT_PRSTATUS note.
func IsPrstatus(n RawNote) bool {
	return n.Name == prstatusCORE && n.Type == uint32(elf.NT_PRSTATUS)
}

// CrashNoteBuffer returns the bytes a CPU's crash_notes buffer holds after
// crash_save_cpu: the note, then the empty note header that ends the list
// (final_note in kernel/vmcore_info.c).
func CrashNoteBuffer(n RawNote) []byte {
	return append(AppendNote(nil, n), make([]byte, crashNoteFinal)...)
}

// JumpRegisters are a CPU's registers where a kexec jump left it: at the
// return from relocate_kernel (arch/x86/kernel/relocate_kernel_64.S, Linux
// 6.12) into machine_kexec, the state the CPU carries on from when it comes
// back. relocate_kernel pushes %rbx, %rbp, %r12-%r15 and the flags and
// saves %rsp in the control page; stack holds the 64 bytes at that saved
// %rsp: flags, r15, r14, r13, r12, rbp, rbx and the return address. The
// caller-saved registers are not kept anywhere (the C caller does not
// expect them back) and stay 0; so do the segment bases.
func JumpRegisters(savedRSP uint64, stack [8]uint64) Registers {
	return Registers{
		EFLAGS: stack[0], R15: stack[1], R14: stack[2], R13: stack[3], R12: stack[4], RBP: stack[5], RBX: stack[6],
		RIP: stack[7],
		RSP: savedRSP + 8*8, // after the ret that pops the return address
		CS:  kernelCS, SS: kernelDS,
	}
}
