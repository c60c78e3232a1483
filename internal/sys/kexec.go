package sys

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kexec_load(2) flags, from include/uapi/linux/kexec.h.
const (
	KexecOnCrash         = 0x00000001
	KexecPreserveContext = 0x00000002
	KexecArchX8664       = 62 << 16 // EM_X86_64 << 16
)

// KexecSegment is struct kexec_segment: a user buffer and where it goes in physical
// memory. The kernel zero-fills Memsz beyond Bufsz.
type KexecSegment struct {
	Buf   uintptr
	Bufsz uintptr
	Mem   uintptr
	Memsz uintptr
}

// Segment is a buffer and its physical destination.
type Segment struct {
	Buf   []byte
	Mem   uint64
	Memsz uint64
}

// KexecLoad calls kexec_load(2). With no segments it unloads the current image.
func KexecLoad(entry uint64, segs []Segment, flags uint64) error {
	raw := make([]KexecSegment, len(segs))
	for i, s := range segs {
		raw[i] = KexecSegment{Bufsz: uintptr(len(s.Buf)), Mem: uintptr(s.Mem), Memsz: uintptr(s.Memsz)}
		if len(s.Buf) > 0 {
			raw[i].Buf = uintptr(unsafe.Pointer(&s.Buf[0]))
		}
	}
	var p uintptr
	if len(raw) > 0 {
		p = uintptr(unsafe.Pointer(&raw[0]))
	}
	_, _, errno := unix.Syscall6(unix.SYS_KEXEC_LOAD, uintptr(entry), uintptr(len(raw)), p, uintptr(flags), 0, 0)
	runtime.KeepAlive(segs)
	runtime.KeepAlive(raw)
	if errno != 0 {
		return errno
	}
	return nil
}

// KexecExec executes the loaded image: reboot(LINUX_REBOOT_CMD_KEXEC). For an image
// loaded with KexecPreserveContext it returns when the image jumps back.
func KexecExec() error {
	return unix.Reboot(unix.LINUX_REBOOT_CMD_KEXEC)
}
