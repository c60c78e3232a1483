package jump

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kjump/kjump/elfcore"
	"github.com/kjump/kjump/internal/initmode"
	"github.com/kjump/kjump/internal/mailbox"
	"github.com/kjump/kjump/kexec"
	"github.com/kjump/kjump/memmap"
	"github.com/kjump/kjump/physmem"
)

// NotePage is the note page: a page of the first kernel's low memory, right
// above the second kernel's low range, in which a second kernel leaves the
// first a note each time it jumps back (see BackNote). Linux (since 5.13) keeps the
// whole first MiB out of its page allocator, so nothing of the first
// kernel's lives there; /dev/mem maps it in both kernels (the first MiB is
// exempt from STRICT_DEVMEM's rule for mappings; in the second kernel it is
// not RAM at all), and no jump swaps it. (A region's park page,
// kexec.ParkPage, is a parked second kernel's job mailbox instead, and works
// only where the region is not the first kernel's RAM; the note page works
// with every kind of region.)
const NotePage = kexec.LowStart + kexec.LowSize

// NoteParam names the note page on the second kernel's command line.
const NoteParam = "kjump.note="

// BackNote is what a second kernel leaves in the note page (a mailbox
// message in state Done, the JSON payload) each time it jumps back: what the
// first kernel needs to read it while it waits (kjump core).
type BackNote struct {
	Release string `json:"release"`
	// Entry is the first kernel's re-entry point (kexec_jump_back_entry=):
	// the first kernel's control page, whose page list says where the jump
	// moved each page of the second kernel (kexec.ReadSwapMap).
	Entry uint64 `json:"entry"`
	// Vmcoreinfo is the second kernel's VMCOREINFO note buffer
	// (/sys/kernel/vmcoreinfo), at its physical address in the second
	// kernel's memory.
	Vmcoreinfo elfcore.Note `json:"vmcoreinfo"`
	// RAM is the second kernel's System RAM.
	RAM []memmap.Range `json:"ram"`
	// PageOffset and KernelText are its direct-map base and kernel image
	// mapping, from its /proc/kcore (0 and nil when it has none).
	PageOffset uint64        `json:"page_offset,omitempty"`
	KernelText *elfcore.Load `json:"kernel_text,omitempty"`
	Time       time.Time     `json:"time"`
}

// ErrNoBackNote means there is no second kernel waiting that left a note.
var ErrNoBackNote = errors.New("no second kernel waiting with a note")

// offerNote puts an empty request into the note page (first kernel, before a
// load), so that a record found there later is this second kernel's. It
// fails when the firmware map does not call the page RAM (then it may be
// the firmware's) or the page cannot be mapped.
func offerNote(fw memmap.Map) error {
	ok := false
	for _, r := range fw.RAM() {
		if r.ContainsRange(memmap.Range{Start: NotePage, Size: mailbox.Size}) {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("the note page %#x is not RAM in the firmware's memory map", NotePage)
	}
	box, err := mailbox.Attach(physmem.Path, NotePage)
	if err != nil {
		return err
	}
	defer box.Close()
	return box.WriteChecked(mailbox.Message{State: mailbox.Request, Seq: uint64(time.Now().UnixNano())})
}

// LeaveNote leaves this (second) kernel's BackNote in the note page its
// command line names (kjump.note=), answering the loader's request; it does
// nothing without kjump.note= (a kernel kjump did not load). 'kjump back'
// calls it before every jump back.
func LeaveNote(root string) error {
	b, err := os.ReadFile(filepath.Join(root, "proc", "cmdline"))
	if err != nil {
		return err
	}
	p, err := initmode.ParseCmdline(string(b))
	if err != nil {
		return err
	}
	v, ok := p.Other["note"]
	if !ok {
		return nil
	}
	addr, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return fmt.Errorf("%s%s: %w", NoteParam, v, err)
	}
	rec := BackNote{Time: time.Now().UTC()}
	if rec.Entry, err = Entry(root); err != nil {
		return err
	}
	if rec.Vmcoreinfo, err = elfcore.ReadVmcoreinfoNote(root); err != nil {
		return err
	}
	iomem, err := memmap.ReadIomem(root)
	if err != nil {
		return err
	}
	rec.RAM = memmap.IomemRAM(iomem).RAM()
	if kcore, err := os.Open(filepath.Join(root, "proc", "kcore")); err == nil {
		rec.PageOffset, _ = elfcore.PageOffset(kcore)
		if kt, err := elfcore.KernelText(kcore); err == nil {
			rec.KernelText = &kt
		}
		kcore.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		rec.Release = unix.ByteSliceToString(u.Release[:])
	}
	payload, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	box, err := mailbox.Attach(physmem.Path, addr)
	if err != nil {
		return err
	}
	defer box.Close()
	m, err := box.Read()
	if err != nil || (m.State != mailbox.Request && m.State != mailbox.Done) {
		return fmt.Errorf("the note page %#x holds no request from kjump load (%v, state %v): left alone", addr, err, m.State)
	}
	return box.WriteChecked(mailbox.Message{State: mailbox.Done, Seq: m.Seq, Payload: payload})
}

// ReadBackNote reads the waiting second kernel's note from the note page
// (first kernel, after a jump back).
func ReadBackNote() (BackNote, error) {
	loaded, err := kexec.Loaded()
	if err != nil {
		return BackNote{}, err
	}
	if !loaded {
		return BackNote{}, fmt.Errorf("%w: no kernel is loaded ('kjump load', 'kjump exec', and in it 'kjump back')", ErrNoBackNote)
	}
	box, err := mailbox.Attach(physmem.Path, NotePage)
	if err != nil {
		return BackNote{}, fmt.Errorf("%w: %v", ErrNoBackNote, err)
	}
	defer box.Close()
	m, err := box.Read()
	switch {
	case err != nil:
		return BackNote{}, fmt.Errorf("%w: the note page %#x: %v (was the kernel loaded by 'kjump load'?)", ErrNoBackNote, NotePage, err)
	case m.State == mailbox.Request:
		return BackNote{}, fmt.Errorf("%w: the loaded kernel has not jumped back with 'kjump back' yet (run 'kjump exec')", ErrNoBackNote)
	case m.State != mailbox.Done:
		return BackNote{}, fmt.Errorf("%w: the note page %#x is in state %v", ErrNoBackNote, NotePage, m.State)
	}
	var rec BackNote
	if err := json.Unmarshal(m.Payload, &rec); err != nil {
		return BackNote{}, fmt.Errorf("%w: the note page's note: %v", ErrNoBackNote, err)
	}
	return rec, nil
}

// clearNote empties the note page (first kernel, after an unload), so no
// record outlives its kernel.
func clearNote() error {
	box, err := mailbox.Attach(physmem.Path, NotePage)
	if err != nil {
		return err
	}
	defer box.Close()
	return box.WriteChecked(mailbox.Message{State: mailbox.Empty})
}

// Unload unloads the loaded kernel and empties the note page.
func Unload() error {
	if err := kexec.Unload(); err != nil {
		return err
	}
	if m, err := readNoteState(); err == nil && m != mailbox.Empty {
		return clearNote()
	}
	return nil
}

func readNoteState() (mailbox.State, error) {
	box, err := mailbox.Attach(physmem.Path, NotePage)
	if err != nil {
		return 0, err
	}
	defer box.Close()
	m, err := box.Read()
	return m.State, err
}
