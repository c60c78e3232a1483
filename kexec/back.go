package kexec

import (
	"errors"
	"fmt"

	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/physmem"
)

// ErrNoJumpBack means this kernel was not started by a jump it can return from.
var ErrNoJumpBack = errors.New("no jump-back entry")

// LoadJumpBack loads the image that returns to the first kernel: entry is the
// purgatory's gate (kjump.gate=) or the first kernel's re-entry point
// (kexec_jump_back_entry=). Its one segment is the page holding entry, with that
// page's current contents, so the swap at the jump changes nothing and the page
// is in this kernel's kexec identity map (a segment
// of size 0, as kexec-tools' helper passes, makes Linux 6.12 fail the load, and an
// entry outside the map faults).
//
// Load it once per second-kernel lifetime: after a re-entry the page no longer
// holds what the first kernel needs, and a reload crashes the first kernel.
func LoadJumpBack(devmem string, entry uint64) error {
	if entry == 0 {
		return fmt.Errorf("%w: entry 0", ErrNoJumpBack)
	}
	page := entry &^ (PageSize - 1)
	buf := make([]byte, PageSize)
	if err := physmem.Read(devmem, page, buf); err != nil {
		return err
	}
	seg := Segment{Name: "jump-back page", Mem: memmap.Range{Start: page, Size: PageSize}, Data: buf}
	return Load(entry, []Segment{seg}, PreserveContext)
}
