package pageclass

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error New, Exclude, Classify and the AddressSpace
// return matches one of these with errors.Is, or wraps the Memory's own
// read error.
var (
	// ErrMissing: VMCOREINFO lacks a key the classification needs.
	ErrMissing = errors.New("missing VMCOREINFO key")
	// ErrBadValue: a VMCOREINFO value no kernel writes (a struct member
	// past the end of its struct, a flag bit past 63, ...).
	ErrBadValue = errors.New("impossible VMCOREINFO value")
	// ErrUnsupported: a memory model other than SPARSEMEM (FLATMEM,
	// DISCONTIGMEM), which x86_64 kernels do not use.
	ErrUnsupported = errors.New("unsupported memory model")
	// ErrNotMapped: a kernel virtual address with no physical page behind
	// it (outside the direct map and the kernel image, and absent from
	// the page tables).
	ErrNotMapped = errors.New("virtual address not mapped")
	// ErrNoMemMap: a page frame whose memory section has no struct pages.
	ErrNoMemMap = errors.New("page frame has no struct page")
)

// VmcoreinfoError names the VMCOREINFO key that is missing or wrong.
type VmcoreinfoError struct {
	Key    string // as the kernel spells it: "OFFSET(page.flags)"
	Detail string // empty for a missing key
	Err    error  // ErrMissing or ErrBadValue
}

func (e *VmcoreinfoError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("pageclass: VMCOREINFO has no %s", e.Key)
	}
	return fmt.Sprintf("pageclass: VMCOREINFO %s: %s", e.Key, e.Detail)
}

func (e *VmcoreinfoError) Unwrap() error { return e.Err }

// AddrError reports a kernel virtual address that could not be translated
// or read.
type AddrError struct {
	Virt   uint64
	Detail string
	Err    error // ErrNotMapped, or the Memory's read error
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("pageclass: virtual address %#x: %s", e.Virt, e.Detail)
}

func (e *AddrError) Unwrap() error { return e.Err }
