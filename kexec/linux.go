package kexec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kjump/kjump/bootparam"
	"github.com/kjump/kjump/internal/cmdline"
	"github.com/kjump/kjump/internal/purgatory"
	"github.com/kjump/kjump/memmap"
)

// Layout constants of a second kernel's region (see doc.go).
const (
	// TopSize is the part of the region's top kept from the second kernel's RAM: the
	// purgatory, boot_params, the command line (and later the ELF core header).
	TopSize = 1 << 20
	// LowStart and LowSize are the low memory the second kernel gets for its
	// real-mode trampoline (it cannot boot without some RAM below 1 MiB).
	LowStart = 128 << 10
	LowSize  = 256 << 10
	// minRAM is the least RAM a second kernel is given beyond its image and initrd.
	minRAM = 32 << 20

	bootParamsOffset = 64 << 10 // within the top area
	cmdlineOffset    = bootParamsOffset + bootparam.ZeroPageSize
	coreHeaderOffset = 128 << 10
	// parkOffset is the region's last page, kept out of every segment: the
	// park page (ParkPage).
	parkOffset = TopSize - PageSize
)

// ParkPage is the physical address of region r's park page: its last page,
// outside the second kernel's RAM and outside every segment, so the jump never
// swaps it and both kernels see the same page through /dev/mem. In a region
// reserved at boot (memmap=SIZE$ADDR) it is not the first kernel's RAM
// either, so STRICT_DEVMEM lets the first kernel map it: a parked second
// kernel's mailbox, which outlives the process that loaded it.
func ParkPage(r memmap.Range) uint64 { return r.End() - PageSize }

// ErrRegionTooSmall means the kernel, initrd and working RAM do not fit the region.
var ErrRegionTooSmall = errors.New("region too small for the second kernel")

// Linux describes a second kernel to load with preserved context.
type Linux struct {
	Kernel  *bootparam.BzImage
	Initrd  []byte
	Cmdline string // the caller's part; Plan adds confinement and the jump-back placeholder
	Region  memmap.Range
	// Firmware is the first kernel's firmware memory map: its non-RAM entries
	// (ACPI tables, reserved ranges) are passed on to the second kernel.
	Firmware memmap.Map
	ACPIRSDP uint64 // 0: the second kernel searches for it
	NoVerify bool   // skip the purgatory's checksums of kernel, initrd and boot data
	// CoreHeader, if set, is an ELF core header describing the first kernel's
	// memory: it goes into the top area (outside the second kernel's RAM, as the
	// kernel requires) and elfcorehdr= tells the second kernel where, so it has
	// /proc/vmcore.
	CoreHeader []byte
	// Reserved says the region was set aside at the first kernel's boot, so it
	// holds nothing of the first kernel: only the pages with data (kernel,
	// initrd, top area) and the low range are segments, and the first kernel
	// needs no copy of the rest of the region while the kernel is loaded.
	Reserved bool
}

// Plan is a computed load: kexec_load arguments plus what a user wants to see.
type Plan struct {
	Entry      uint64 // the purgatory
	Segments   []Segment
	Cmdline    string // the second kernel's full command line
	KernelAddr uint64
	CoreHeader uint64 // where the ELF core header is, 0 for none
	Gate       uint64 // the purgatory's gate: the second kernel's way back (doc.go, "The gate")
	InitrdAddr uint64
	RAM        []memmap.Range // the second kernel's RAM
}

// PlanLinux lays out a second kernel inside its region (doc.go has the picture).
func PlanLinux(l Linux) (*Plan, error) {
	r := l.Region
	if r.End() < r.Start {
		return nil, fmt.Errorf("%w: region %#x+%#x wraps around the address space", ErrBadSegments, r.Start, r.Size)
	}
	if strings.ContainsRune(l.Cmdline, 0) {
		return nil, fmt.Errorf("%w: the command line contains a NUL byte (the kernel would stop reading there)", ErrBadSegments)
	}
	if r.Start%(16<<20) != 0 || r.Size%(1<<20) != 0 {
		return nil, fmt.Errorf("%w: region %s must start on 16 MiB and be whole MiB", ErrBadSegments, r)
	}
	if l.Kernel == nil {
		return nil, fmt.Errorf("%w: no kernel", ErrBadSegments)
	}
	k := l.Kernel
	if start, _ := k.RuntimeWindow(r.Start); start != r.Start {
		return nil, fmt.Errorf("%w: the kernel would run at %#x, not at the region start %#x (pref_address %#x, alignment %#x)",
			ErrBadSegments, start, r.Start, k.Header.PrefAddress, k.Header.KernelAlignment)
	}
	kernelMem := k.MemSize()
	initrdMem := pageUp(uint64(len(l.Initrd)))
	top := r.End() - TopSize
	need := kernelMem + initrdMem + minRAM + TopSize
	if need > r.Size {
		return nil, fmt.Errorf("%w: %s region, but kernel (%s) + initrd (%s) + %s of working RAM + %s for boot data need %s: use a larger --mem-size",
			ErrRegionTooSmall, memmap.FormatSize(r.Size), memmap.FormatSize(kernelMem), memmap.FormatSize(initrdMem),
			memmap.FormatSize(minRAM), memmap.FormatSize(TopSize), memmap.FormatSize(need))
	}
	p := &Plan{KernelAddr: r.Start, Entry: top, Gate: top + purgatory.OffsetGate}
	ram := memmap.Range{Start: r.Start, Size: top - r.Start}
	p.RAM = []memmap.Range{{Start: LowStart, Size: LowSize}, ram}

	// kjump's parameters go before any "--": the kernel hands what follows it to init.
	user, initArgs, hasInitArgs := cmdline.CutDoubleDash(l.Cmdline)
	parts := []string{
		trimASCII(user),
		"nokaslr iomem=relaxed memmap=exactmap",
		fmt.Sprintf("memmap=%dK@%dK memmap=%dM@%dM", LowSize>>10, LowStart>>10, ram.Size>>20, ram.Start>>20),
		fmt.Sprintf("%s%#x", purgatory.GateParam, p.Gate),
	}
	if len(l.CoreHeader) > 0 {
		if len(l.CoreHeader) > parkOffset-coreHeaderOffset {
			return nil, fmt.Errorf("%w: ELF core header of %d bytes does not fit", ErrBadSegments, len(l.CoreHeader))
		}
		p.CoreHeader = top + coreHeaderOffset
		parts = append(parts, fmt.Sprintf("elfcorehdr=%#x", p.CoreHeader))
	}
	parts = append(parts, purgatory.JumpBackPlaceholder)
	if hasInitArgs {
		parts = append(parts, "--", trimASCII(initArgs))
	}
	cmdline := trimASCII(strings.Join(parts, " "))
	if uint64(len(cmdline)) > uint64(k.Header.CmdlineSize) || cmdlineOffset+len(cmdline)+1 > coreHeaderOffset {
		return nil, fmt.Errorf("%w: command line is %d bytes; this kernel takes at most %d", ErrBadSegments, len(cmdline), k.Header.CmdlineSize)
	}
	p.Cmdline = cmdline

	if len(l.Initrd) > 0 {
		p.InitrdAddr = top - initrdMem
	}
	e820 := secondE820(l.Firmware, p.RAM, memmap.Range{Start: top, Size: TopSize})
	zp, err := k.BootParams(bootparam.Params{
		CmdlineAddr: top + cmdlineOffset,
		CmdlineSize: uint32(len(cmdline)),
		InitrdAddr:  p.InitrdAddr,
		InitrdSize:  uint64(len(l.Initrd)),
		E820:        e820,
		ACPIRSDP:    l.ACPIRSDP,
	})
	if err != nil {
		return nil, err
	}
	hexAddr, err := purgatory.PlaceholderAddr(cmdline, top+cmdlineOffset)
	if err != nil {
		return nil, err
	}
	topData := make([]byte, cmdlineOffset+len(cmdline)+1)
	if len(l.CoreHeader) > 0 {
		topData = make([]byte, coreHeaderOffset+len(l.CoreHeader))
		copy(topData[coreHeaderOffset:], l.CoreHeader)
	}
	copy(topData[bootParamsOffset:], zp)
	copy(topData[cmdlineOffset:], cmdline)

	cfg := purgatory.Config{Entry64: k.Entry64(r.Start), BootParams: top + bootParamsOffset, CmdlineHexAddr: hexAddr}
	var verify [][]byte
	if !l.NoVerify {
		add := func(addr uint64, b []byte) {
			cfg.Verify = append(cfg.Verify, purgatory.Segment{Addr: addr, Len: uint64(len(b))})
			verify = append(verify, b)
		}
		add(r.Start, k.Kernel)
		if len(l.Initrd) > 0 {
			add(p.InitrdAddr, l.Initrd)
		}
		add(top+bootParamsOffset, zp)
	}
	blob, err := purgatory.Build(cfg, func(i int) []byte { return verify[i] })
	if err != nil {
		return nil, err
	}
	if len(blob) > bootParamsOffset {
		return nil, fmt.Errorf("purgatory blob of %d bytes does not fit its %d-byte slot", len(blob), bootParamsOffset)
	}
	copy(topData, blob)

	// Every page of the region (and the low range) is a segment, so all of it is
	// swapped with the first kernel's pages at each jump and restored on return;
	// a reserved region holds nothing of the first kernel's, so its free part
	// needs no swapping.
	p.add("low memory", memmap.Range{Start: LowStart, Size: LowSize}, nil)
	// The kernel's segment covers all the memory it needs while it starts
	// (init_size), even in a reserved region: the decompressor moves itself to
	// the end of that buffer before it builds its own page tables, so those pages
	// must be in the kexec identity map, which maps the segments.
	p.add("kernel", memmap.Range{Start: r.Start, Size: kernelMem}, k.Kernel)
	end := r.Start + kernelMem
	free := memmap.Range{Start: end, Size: top - end}
	if len(l.Initrd) > 0 {
		free.Size = p.InitrdAddr - end
	}
	if !l.Reserved {
		p.add("free", free, nil)
	}
	if len(l.Initrd) > 0 {
		p.add("initrd", memmap.Range{Start: p.InitrdAddr, Size: initrdMem}, l.Initrd)
	}
	p.add("purgatory+boot data", memmap.Range{Start: top, Size: parkOffset}, topData)
	return p, nil
}

func (p *Plan) add(name string, r memmap.Range, data []byte) {
	if r.Size > 0 {
		p.Segments = append(p.Segments, Segment{Name: name, Mem: r, Data: data})
	}
}

// secondE820 is the second kernel's memory map: its own RAM, the top area as
// reserved, and the first kernel's non-RAM entries (ACPI tables and the like), so
// the second kernel finds its firmware tables but no other RAM.
func secondE820(fw memmap.Map, ram []memmap.Range, top memmap.Range) []bootparam.E820Entry {
	// The second kernel's own entries always fit; firmware entries fill the rest.
	var out []bootparam.E820Entry
	for _, r := range ram {
		out = append(out, bootparam.E820Entry{Addr: r.Start, Size: r.Size, Type: bootparam.E820RAM})
	}
	out = append(out, bootparam.E820Entry{Addr: top.Start, Size: top.Size, Type: bootparam.E820Reserved})
	for _, e := range fw {
		if e.Type == memmap.RAM || len(out) == bootparam.E820MaxEntries {
			continue
		}
		out = append(out, bootparam.E820Entry{Addr: e.Start, Size: e.Size, Type: e820Type(e.Type)})
	}
	sortE820(out)
	return out
}

func sortE820(es []bootparam.E820Entry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Addr < es[j-1].Addr; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

func e820Type(t memmap.Type) uint32 {
	switch t {
	case memmap.ACPI:
		return bootparam.E820ACPI
	case memmap.NVS:
		return bootparam.E820NVS
	case memmap.Unusable:
		return bootparam.E820Unusable
	case memmap.PMem:
		return bootparam.E820PMEM
	}
	return bootparam.E820Reserved
}

func pageUp(n uint64) uint64 { return (n + PageSize - 1) &^ (PageSize - 1) }

// trimASCII trims ASCII white space only: the kernel's command line is bytes, and
// strings.TrimSpace would also eat multi-byte Unicode spaces the kernel keeps.
func trimASCII(s string) string { return strings.Trim(s, " \t\n\v\f\r") }
