package bootparam

import (
	"errors"
	"fmt"
)

// ErrInvalidParams is matched (errors.Is) by every error from
// [BzImage.BootParams]: the Params cannot work with this kernel.
var ErrInvalidParams = errors.New("invalid boot parameters")

// E820 memory types (enum e820_type in arch/x86/include/asm/e820/types.h).
const (
	E820RAM      uint32 = 1
	E820Reserved uint32 = 2
	E820ACPI     uint32 = 3 // ACPI tables, reclaimable
	E820NVS      uint32 = 4 // ACPI non-volatile storage
	E820Unusable uint32 = 5
	E820PMEM     uint32 = 7
)

// E820Entry is one entry of the memory map the kernel gets in boot_params
// (struct boot_e820_entry): Size bytes from Addr of memory type Type.
type E820Entry struct {
	Addr, Size uint64
	Type       uint32
}

// Params is what a loader decided about where things are.
type Params struct {
	// CmdlineAddr is the physical address where the loader places the
	// NUL-terminated command line. Must not be 0: the kernel reads a 0
	// cmd_line_ptr as "no command line protocol".
	CmdlineAddr uint64
	// CmdlineSize is the command line's length without the NUL; at most
	// the header's CmdlineSize.
	CmdlineSize uint32
	// InitrdAddr and InitrdSize locate the initramfs; both 0 for none.
	InitrdAddr, InitrdSize uint64
	// E820 is the memory map, 2 to E820MaxEntries entries (the kernel
	// ignores a map with fewer than 2 entries and falls back to a guess).
	E820 []E820Entry
	// ACPIRSDP is the physical address of the ACPI RSDP for
	// boot_params.acpi_rsdp_addr; 0 lets the kernel search for it. Kernels
	// that predate the field ignore it.
	ACPIRSDP uint64
}

// BootParams returns the 4096-byte zero page (struct boot_params) that
// starts this kernel with p: all zero except the setup header copied from
// the image (offset 0x1f1 up to 0x202 + the byte at 0x201) and these
// fields: type_of_loader = 0xff (no assigned id), loadflags (LOADED_HIGH
// set, CAN_USE_HEAP and KASLR_FLAG cleared), ext_loader_ver/type = 0,
// setup_data = 0, cmd_line_ptr + ext_cmd_line_ptr, ramdisk_image/size +
// ext_ramdisk_image/size, e820_entries and e820_table, acpi_rsdp_addr.
func (b *BzImage) BootParams(p Params) ([]byte, error) {
	if b.headerEnd < minHeaderEnd || len(b.Setup) < b.headerEnd {
		return nil, paramsErr("the BzImage was not made by Parse")
	}
	if err := b.checkParams(p); err != nil {
		return nil, err
	}
	zp := make([]byte, ZeroPageSize)
	copy(zp[setupHeaderStart:b.headerEnd], b.Setup[setupHeaderStart:b.headerEnd])

	fTypeOfLoader.put(zp, typeOfLoaderUndefined)
	fExtLoaderVer.put(zp, 0)
	fExtLoaderType.put(zp, 0)
	lf := fLoadFlags.get(zp)
	lf |= LoadedHigh
	lf &^= canUseHeap | kaslrFlag
	fLoadFlags.put(zp, lf)
	fSetupData.put(zp, 0)

	fCmdLinePtr.put(zp, p.CmdlineAddr&0xffffffff)
	fExtCmdLinePtr.put(zp, p.CmdlineAddr>>32)
	fRamdiskImage.put(zp, p.InitrdAddr&0xffffffff)
	fExtRamdiskImage.put(zp, p.InitrdAddr>>32)
	fRamdiskSize.put(zp, p.InitrdSize&0xffffffff)
	fExtRamdiskSize.put(zp, p.InitrdSize>>32)

	fE820Entries.put(zp, uint64(len(p.E820)))
	for i, e := range p.E820 {
		off := fE820Table.off + i*e820EntrySize
		field{off, 8}.put(zp, e.Addr)
		field{off + 8, 8}.put(zp, e.Size)
		field{off + 16, 4}.put(zp, uint64(e.Type))
	}
	fACPIRSDPAddr.put(zp, p.ACPIRSDP)
	return zp, nil
}

func paramsErr(format string, args ...any) error {
	return fmt.Errorf("bootparam: "+format+": %w", append(args, ErrInvalidParams)...)
}

const fourGiB = 1 << 32

func (b *BzImage) checkParams(p Params) error {
	h := b.Header
	above4G := h.CanLoadAbove4G()
	if p.CmdlineAddr == 0 {
		return paramsErr("CmdlineAddr is 0; place the command line (even an empty one) and pass its address")
	}
	if p.CmdlineSize > h.CmdlineSize {
		return paramsErr("the command line is %d bytes; this kernel takes at most %d (cmdline_size): shorten it",
			p.CmdlineSize, h.CmdlineSize)
	}
	// The command line occupies CmdlineSize+1 bytes (with the NUL).
	if p.CmdlineAddr > ^uint64(0)-uint64(p.CmdlineSize) {
		return paramsErr("the command line at %#x wraps around the address space", p.CmdlineAddr)
	}
	if !above4G && p.CmdlineAddr+uint64(p.CmdlineSize) >= fourGiB {
		return paramsErr("the command line at %#x reaches above 4 GiB, which this kernel cannot read (no XLF_CAN_BE_LOADED_ABOVE_4G): place it lower",
			p.CmdlineAddr)
	}
	if (p.InitrdAddr == 0) != (p.InitrdSize == 0) {
		return paramsErr("initrd at %#x with size %d: give both or neither", p.InitrdAddr, p.InitrdSize)
	}
	if p.InitrdSize != 0 {
		if p.InitrdAddr > ^uint64(0)-(p.InitrdSize-1) {
			return paramsErr("the initrd at %#x (%d bytes) wraps around the address space", p.InitrdAddr, p.InitrdSize)
		}
		last := p.InitrdAddr + p.InitrdSize - 1
		if !above4G && last > uint64(h.InitrdAddrMax) {
			return paramsErr("the initrd ends at %#x, above this kernel's initrd_addr_max %#x: place it lower", last, h.InitrdAddrMax)
		}
	}
	if len(p.E820) > E820MaxEntries {
		return paramsErr("%d e820 entries, boot_params holds %d: merge adjacent entries of the same type", len(p.E820), E820MaxEntries)
	}
	if len(p.E820) < 2 {
		return paramsErr("%d e820 entries; the kernel ignores a map with fewer than 2 and guesses instead: pass the whole map", len(p.E820))
	}
	for i, e := range p.E820 {
		if e.Size != 0 && e.Addr > ^uint64(0)-(e.Size-1) {
			// The kernel drops the whole table on such an entry.
			return paramsErr("e820 entry %d [%#x + %#x] wraps around the address space", i, e.Addr, e.Size)
		}
	}
	return nil
}

// Entry64 returns the kernel's 64-bit entry point (startup_64) when its
// protected-mode part (Kernel) is placed at loadAddr: loadAddr + 0x200.
// loadAddr should be a multiple of Header.KernelAlignment.
func (b *BzImage) Entry64(loadAddr uint64) uint64 { return loadAddr + 0x200 }

// MemSize returns how many bytes from its load address the kernel needs
// while it starts: the larger of init_size and len(Kernel), rounded up to
// a 4 KiB page (kexec segments are whole pages). That is the memsz of the
// kernel's segment, provided the load address is where the kernel runs
// (see RuntimeWindow).
func (b *BzImage) MemSize() uint64 {
	n := max(uint64(b.Header.InitSize), uint64(len(b.Kernel)))
	return (n + 0xfff) &^ 0xfff
}

// RuntimeWindow returns the memory the kernel uses while it decompresses
// and starts when its protected-mode part is loaded at loadAddr, by the
// rule of boot.rst (init_size): a relocatable kernel loaded below
// pref_address moves up to pref_address, then rounds up to a multiple of
// kernel_alignment, and uses init_size bytes from there. A loader should
// pick a loadAddr for which start == loadAddr; otherwise the kernel runs
// outside the segment it was given. (With KASLR the decompressed kernel
// may go anywhere else, so a second kernel also needs nokaslr.)
func (b *BzImage) RuntimeWindow(loadAddr uint64) (start, size uint64) {
	h := b.Header
	start = max(loadAddr, h.PrefAddress)
	if a := uint64(h.KernelAlignment); a > 1 {
		start = (start + a - 1) &^ (a - 1)
	}
	return start, uint64(h.InitSize)
}
