package dump

import (
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/pageset"
)

// OpenVmcore opens an ELF vmcore — /proc/vmcore in a second kernel, or a
// saved file — mapped where the file allows. It is kjump's one reader of
// vmcores: kjump dump and the snapshot writer (through Run) and the
// hibernation writer read the first kernel's memory through it. Close it.
func OpenVmcore(path string) (*Vmcore, error) { return openSource(path, nil, nil) }

// Close unmaps and closes the vmcore.
func (s *Vmcore) Close() { s.close() }

// WholePages is the set of page frames every byte of which the vmcore holds
// (a page that a PT_LOAD only partly covers is not in it: restoring it would
// write beyond the memory the vmcore describes).
func (s *Vmcore) WholePages() *pageset.Set {
	b := pageset.New(s.maxPFN())
	for _, r := range s.regions {
		if first, end := (r.phys+pageSize-1)>>pageShift, (r.phys+r.size)>>pageShift; first < end {
			b.SetRange(first, end)
		}
	}
	return b
}

// Keep returns the page frames of present that the page classes of level
// (makedumpfile's -d bits, read from the kernel's struct pages through
// VMCOREINFO) do not leave out.
func (s *Vmcore) Keep(level pageclass.Level, present *pageset.Set) (*pageset.Set, error) {
	var sum Summary
	kept, _, err := classify(s, present, level, &sum)
	return kept, err
}

// Page returns page frame pfn as mapped from the vmcore, or nil when it is
// not one piece of the mapping (ReadPage reads it then).
func (s *Vmcore) Page(pfn uint64) []byte { return s.direct(pfn<<pageShift, pageSize) }
