package jump

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/memmap"
)

// CoreHeader builds the ELF core header through which the second kernel sees the
// first as /proc/vmcore: a PT_NOTE for the running kernel's VMCOREINFO note (which
// stays in the first kernel's memory), a PT_LOAD for each RAM range of fw at its
// direct-map address, and one for the kernel image's mapping. Per-CPU crash notes
// are left out: they are all zero when nothing crashed, and zero notes keep
// /proc/vmcore from initialising. The ranges in exclude (the second kernel's own
// RAM) are left out too: the second kernel refuses to read its own RAM through
// /proc/vmcore ("ioremap on RAM"), and what the first kernel had there was
// swapped elsewhere for the jump.
func CoreHeader(root string, fw memmap.Map, exclude []memmap.Range) ([]byte, error) {
	note, err := elfcore.ReadVmcoreinfoNote(root)
	if err != nil {
		return nil, fmt.Errorf("VMCOREINFO: %w (the second kernel's /proc/vmcore needs it; --no-vmcore goes without)", err)
	}
	h := elfcore.Header{Notes: []elfcore.Note{note}}
	var pageOffset uint64
	if kcore, err := os.Open(filepath.Join(root, "proc", "kcore")); err == nil {
		if po, err := elfcore.PageOffset(kcore); err == nil {
			pageOffset = po
		}
		if kt, err := elfcore.KernelText(kcore); err == nil {
			h.KernelText = &kt
		}
		kcore.Close()
	}
	for _, r := range subtract(fw.RAM(), exclude) {
		l := elfcore.Load{Phys: r.Start, Size: r.Size}
		if pageOffset != 0 {
			l.Virt = pageOffset + r.Start
		}
		h.Loads = append(h.Loads, l)
	}
	return h.Marshal()
}

// subtract returns the parts of rs outside every range of ex.
func subtract(rs, ex []memmap.Range) []memmap.Range {
	for _, e := range ex {
		var out []memmap.Range
		for _, r := range rs {
			if !r.Overlaps(e) {
				out = append(out, r)
				continue
			}
			if r.Start < e.Start {
				out = append(out, memmap.Range{Start: r.Start, Size: e.Start - r.Start})
			}
			if r.End() > e.End() {
				out = append(out, memmap.Range{Start: e.End(), Size: r.End() - e.End()})
			}
		}
		rs = out
	}
	return rs
}
