package dump

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kjump/kjump/dmesg"
	"github.com/kjump/kjump/dumpfile"
	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/vmcoreinfo"
)

// Dmesg writes the kernel log that src holds to w as makedumpfile
// --dump-dmesg does (package dmesg): kjump dump --dump-dmesg. src is an ELF
// vmcore (/proc/vmcore, a saved copy, kjump dump --format elf) or a
// kdump-compressed file (kjump's or makedumpfile's).
func Dmesg(src string, w io.Writer) error {
	s, err := openSource(src, nil, nil)
	switch {
	case err == nil:
		defer s.close()
		if s.info == nil {
			return fmt.Errorf("%s: the log is found through VMCOREINFO (%v): %w", src, s.infoErr, ErrSource)
		}
		return writeDmesg(src, w, s.info, s, s.pageOffset)
	case !errors.Is(err, elfcore.ErrKdumpCompressed):
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	d, err := dumpfile.Open(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if len(d.Header.VMCOREINFO) == 0 {
		return fmt.Errorf("%s: the dump has no VMCOREINFO, through which the log is found: %w", src, ErrSource)
	}
	info, err := vmcoreinfo.Parse(d.Header.VMCOREINFO)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	// No direct-map base in a kdump file: direct-map addresses are
	// translated through the page tables.
	return writeDmesg(src, w, info, d, 0)
}

func writeDmesg(src string, w io.Writer, info *vmcoreinfo.Info, mem pageclass.Memory, pageOffset uint64) error {
	as, err := pageclass.NewAddressSpace(info, mem, pageOffset)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := dmesg.Write(w, info, as); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return nil
}
