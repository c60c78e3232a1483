package dumpfile

import (
	"errors"
	"fmt"
)

// maxVerifyErrors is how many problems Verify lists before it only counts.
const maxVerifyErrors = 20

// Verify checks what Open does not: that the redundant header fields agree,
// that every dumped page frame is also present, that the notes parse and
// that every page descriptor points into the page data area and decodes to
// exactly one block. It reads the whole file. It returns nil or all the
// problems found, joined (errors.Is matches ErrCorrupt, ErrTruncated, ...).
func (f *File) Verify() error {
	var (
		errs  []error
		extra int
	)
	add := func(err error) {
		if len(errs) < maxVerifyErrors {
			errs = append(errs, err)
		} else {
			extra++
		}
	}
	l := &f.Layout
	bs := int64(l.BlockSize)

	if f.Version >= 6 {
		if raw, err := readAt(f.r, f.size, offMaxMapnr, 4, "max_mapnr"); err == nil {
			got := uint32(raw[0]) | uint32(raw[1])<<8 | uint32(raw[2])<<16 | uint32(raw[3])<<24
			if want := truncate32(f.Header.MaxPFN); got != want {
				add(formatErr(ErrCorrupt, "max_mapnr", offMaxMapnr, "%#x, but max_mapnr_64 %#x", got, f.Header.MaxPFN))
			}
		} else {
			add(err)
		}
	}
	if pfn, ok := f.Dumped.FirstNotIn(f.Present); ok {
		add(formatErr(ErrCorrupt, "2nd bitmap", l.Bitmap2Offset, "page frame %#x is dumped but not in the 1st bitmap", pfn))
	}
	subEnd := (1 + int64(l.SubHeaderBlocks)) * bs
	if l.NoteSize > 0 {
		if l.NoteOffset < bs+subHeaderSize || l.NoteOffset+l.NoteSize > subEnd {
			add(formatErr(ErrCorrupt, "offset_note", bs+subOffsetNote, "notes [%#x, %#x) outside the sub header blocks", l.NoteOffset, l.NoteOffset+l.NoteSize))
		}
		if _, err := walkNotes(f.Header.Notes); err != nil {
			add(formatErr(ErrCorrupt, "ELF notes", l.NoteOffset, "%v", err))
		}
	}
	if l.VMCOREINFOSize > 0 && (l.VMCOREINFOOffset < bs+subHeaderSize || l.VMCOREINFOOffset+l.VMCOREINFOSize > subEnd) {
		add(formatErr(ErrCorrupt, "offset_vmcoreinfo", bs+subOffsetVMCOREINFO, "VMCOREINFO [%#x, %#x) outside the sub header blocks",
			l.VMCOREINFOOffset, l.VMCOREINFOOffset+l.VMCOREINFOSize))
	}
	if l.DataOffset > f.size {
		add(formatErr(ErrTruncated, "page_desc", l.DescOffset, "%d page descriptors end at %#x, past the end of a %d-byte file", l.Pages, l.DataOffset, f.size))
	}

	// Every page, in descriptor order.
	const chunk = 4096
	page := make([]byte, l.BlockSize)
	pfn := l.StartPFN
	for i := uint64(0); i < l.Pages; i += chunk {
		n := min(chunk, l.Pages-i)
		off := l.DescOffset + int64(i)*pageDescSize
		raw, err := readAt(f.r, f.size, off, int(n)*pageDescSize, "page_desc")
		if err != nil {
			add(err)
			break
		}
		for j := uint64(0); j < n; j++ {
			pfn, _ = f.Dumped.Next(pfn)
			d := parsePageDesc(raw[j*pageDescSize:])
			if d.Offset > 0 && d.Offset < l.DataOffset {
				add(&PageError{PFN: pfn, Err: formatErr(ErrCorrupt, "page_desc.offset", off+int64(j)*pageDescSize,
					"%#x is before the page data, which starts at %#x", d.Offset, l.DataOffset)})
			} else if err := f.readPageData(d, page); err != nil {
				add(&PageError{PFN: pfn, Err: err})
			}
			pfn++
		}
	}
	if extra > 0 {
		errs = append(errs, fmt.Errorf("dumpfile: and %d more problems", extra))
	}
	return errors.Join(errs...)
}
