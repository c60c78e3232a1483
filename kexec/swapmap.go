package kexec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Where the first kernel's relocate_kernel (arch/x86/kernel/relocate_kernel_64.S,
// Linux 6.12) keeps the physical address of the loaded image's page list for the
// jump back: in its control page, the page holding the jump-back entry, at
// DATA(0x30) = KEXEC_CONTROL_CODE_MAX_SIZE + 0x30 (CP_PA_BACKUP_PAGES_MAP).
// DATA(0x0) to DATA(0x18) hold the CPU state the jump saved: %rsp (a kernel
// virtual address, pointing at the registers relocate_kernel pushed), %cr0,
// %cr3 and %cr4.
const (
	controlPageData       = 2048
	controlPageListOffset = controlPageData + 0x30
)

// Entries of a kexec page list (include/linux/kexec.h).
const (
	indDestination = 0x1
	indIndirection = 0x2
	indDone        = 0x4
	indSource      = 0x8
)

// ErrSwapMap means the first kernel's page list could not be read.
var ErrSwapMap = errors.New("cannot read the first kernel's kexec page list")

// SwapMap tells, while the second kernel runs, where the first kernel's pages from
// the second kernel's memory went. At the jump, relocate_kernel swapped each
// destination page of the image (the region, the low range) with its source page:
// the source page now holds what the first kernel had at the destination. The map
// is destination page address → source page address.
type SwapMap map[uint64]uint64

// ReadSwapMap walks the first kernel's page list, found through its control page
// (the page of the jump-back entry). read reads physical memory (in the second
// kernel: /dev/mem, see ReadPhys).
func ReadSwapMap(read func(phys uint64, buf []byte) error, entry uint64) (SwapMap, error) {
	page := make([]byte, PageSize)
	control := entry &^ (PageSize - 1)
	if err := read(control, page); err != nil {
		return nil, fmt.Errorf("%w: control page %#x: %v", ErrSwapMap, control, err)
	}
	head := binary.LittleEndian.Uint64(page[controlPageListOffset:])
	if head&indIndirection == 0 {
		return nil, fmt.Errorf("%w: the control page at %#x holds no page list (%#x); is this a kjump second kernel on Linux 6.12?", ErrSwapMap, control, head)
	}
	m := SwapMap{}
	var dest uint64
	haveDest := false
	entries := []uint64{head}
	const maxLists = 1 << 20
	for lists := 0; ; {
		if len(entries) == 0 {
			return nil, fmt.Errorf("%w: the list ends without a done entry", ErrSwapMap)
		}
		e := entries[0]
		entries = entries[1:]
		addr := e &^ (PageSize - 1)
		switch {
		case e&indDestination != 0:
			dest, haveDest = addr, true
		case e&indIndirection != 0:
			if lists++; lists > maxLists {
				return nil, fmt.Errorf("%w: more than %d list pages (a loop?)", ErrSwapMap, maxLists)
			}
			if err := read(addr, page); err != nil {
				return nil, fmt.Errorf("%w: list page %#x: %v", ErrSwapMap, addr, err)
			}
			entries = entries[:0]
			for i := 0; i < PageSize; i += 8 {
				entries = append(entries, binary.LittleEndian.Uint64(page[i:]))
			}
		case e&indDone != 0:
			return m, nil
		case e&indSource != 0:
			if !haveDest {
				return nil, fmt.Errorf("%w: source page %#x before any destination", ErrSwapMap, addr)
			}
			m[dest] = addr
			dest += PageSize
		}
	}
}

// JumpState is the CPU state the first kernel's relocate_kernel saved in its
// control page when it jumped (see controlPageListOffset).
type JumpState struct {
	RSP, CR0, CR3, CR4 uint64
}

// ReadJumpState reads the first kernel's saved CPU state from its control page,
// the page of the jump-back entry. read reads physical memory (in the second
// kernel: /dev/mem, see ReadPhys).
func ReadJumpState(read func(phys uint64, buf []byte) error, entry uint64) (JumpState, error) {
	control := entry &^ (PageSize - 1)
	page := make([]byte, PageSize)
	if err := read(control, page); err != nil {
		return JumpState{}, fmt.Errorf("%w: control page %#x: %v", ErrSwapMap, control, err)
	}
	b, le := page[controlPageData:], binary.LittleEndian
	st := JumpState{RSP: le.Uint64(b), CR0: le.Uint64(b[8:]), CR3: le.Uint64(b[16:]), CR4: le.Uint64(b[24:])}
	if st.RSP < 0xff00000000000000 || st.CR3 == 0 || st.CR0&1 == 0 {
		return JumpState{}, fmt.Errorf("%w: the control page at %#x holds no saved CPU state (rsp %#x, cr0 %#x, cr3 %#x); is this a kjump second kernel on Linux 6.12?", ErrSwapMap, control, st.RSP, st.CR0, st.CR3)
	}
	return st, nil
}
