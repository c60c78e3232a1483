package bootparam

import "encoding/binary"

// field is a little-endian field of the setup header or of boot_params, at
// a byte offset that is the same in the bzImage file (setup header only)
// and in the 4096-byte zero page. Offsets and sizes are from
// Documentation/arch/x86/boot.rst ("The Real-Mode Kernel Header") and
// Documentation/arch/x86/zero-page.rst, cross-checked with struct
// setup_header and struct boot_params in
// arch/x86/include/uapi/asm/bootparam.h; layout_test.go restates them from
// the documents and compares.
type field struct {
	off, size int
}

// boot_params ("zero page") fields outside the setup header.
var (
	fACPIRSDPAddr    = field{0x070, 8}
	fExtRamdiskImage = field{0x0c0, 4}
	fExtRamdiskSize  = field{0x0c4, 4}
	fExtCmdLinePtr   = field{0x0c8, 4}
	fE820Entries     = field{0x1e8, 1}
	fSentinel        = field{0x1ef, 1}
	fEDDMBRSigBuffer = field{0x290, 0x40} // first field after the setup header's hole
	fE820Table       = field{0x2d0, E820MaxEntries * e820EntrySize}
	fEDDBuf          = field{0xd00, 0x1ec}
)

// Setup header fields (offsets in the image file and in boot_params).
var (
	fSetupSects          = field{0x1f1, 1}
	fRootFlags           = field{0x1f2, 2}
	fSyssize             = field{0x1f4, 4}
	fRAMSize             = field{0x1f8, 2}
	fVidMode             = field{0x1fa, 2}
	fRootDev             = field{0x1fc, 2}
	fBootFlag            = field{0x1fe, 2}
	fJump                = field{0x200, 2}
	fHeader              = field{0x202, 4}
	fVersion             = field{0x206, 2}
	fRealmodeSwtch       = field{0x208, 4}
	fStartSysSeg         = field{0x20c, 2}
	fKernelVersion       = field{0x20e, 2}
	fTypeOfLoader        = field{0x210, 1}
	fLoadFlags           = field{0x211, 1}
	fSetupMoveSize       = field{0x212, 2}
	fCode32Start         = field{0x214, 4}
	fRamdiskImage        = field{0x218, 4}
	fRamdiskSize         = field{0x21c, 4}
	fBootsectKludge      = field{0x220, 4}
	fHeapEndPtr          = field{0x224, 2}
	fExtLoaderVer        = field{0x226, 1}
	fExtLoaderType       = field{0x227, 1}
	fCmdLinePtr          = field{0x228, 4}
	fInitrdAddrMax       = field{0x22c, 4}
	fKernelAlignment     = field{0x230, 4}
	fRelocatableKernel   = field{0x234, 1}
	fMinAlignment        = field{0x235, 1}
	fXLoadFlags          = field{0x236, 2}
	fCmdlineSize         = field{0x238, 4}
	fHardwareSubarch     = field{0x23c, 4}
	fHardwareSubarchData = field{0x240, 8}
	fPayloadOffset       = field{0x248, 4}
	fPayloadLength       = field{0x24c, 4}
	fSetupData           = field{0x250, 8}
	fPrefAddress         = field{0x258, 8}
	fInitSize            = field{0x260, 4}
	fHandoverOffset      = field{0x264, 4}
	fKernelInfoOffset    = field{0x268, 4}
)

const (
	// ZeroPageSize is the size of struct boot_params.
	ZeroPageSize = 4096
	// E820MaxEntries is E820_MAX_ENTRIES_ZEROPAGE: the e820 table in
	// boot_params has room for this many entries.
	E820MaxEntries = 128
	e820EntrySize  = 20 // struct boot_e820_entry: addr u64, size u64, type u32, packed

	setupHeaderStart = 0x1f1 // the setup header starts with setup_sects
	bootFlagMagic    = 0xaa55
	headerMagic      = 0x53726448 // "HdrS"
	sectorSize       = 512
	// minHeaderEnd is where a 2.12 setup header ends (after
	// handover_offset); maxHeaderEnd is the end of the hole in boot_params
	// the header is copied into (edd_mbr_sig_buffer follows).
	minHeaderEnd = 0x268
	maxHeaderEnd = 0x290
	// minVersion is the oldest boot protocol kjump loads: 2.12 added
	// xloadflags (Linux 3.8).
	minVersion = 0x020c
	// typeOfLoaderUndefined is type_of_loader for a boot loader without
	// an assigned id.
	typeOfLoaderUndefined = 0xff
)

// loadflags bits.
const (
	LoadedHigh = 1 << 0 // LOADED_HIGH: protected-mode code at 0x100000 (a bzImage)
	kaslrFlag  = 1 << 1 // KASLR_FLAG: kernel internal
	QuietFlag  = 1 << 5 // QUIET_FLAG
	canUseHeap = 1 << 7 // CAN_USE_HEAP: heap_end_ptr is valid (real-mode setup only)
)

// xloadflags bits.
const (
	XLFKernel64           = 1 << 0 // the kernel has the 64-bit entry point at 0x200
	XLFCanBeLoadedAbove4G = 1 << 1 // kernel, boot_params, command line and ramdisk may be above 4 GiB
	XLFEFIHandover32      = 1 << 2
	XLFEFIHandover64      = 1 << 3
	XLFEFIKexec           = 1 << 4
	XLF5Level             = 1 << 5 // the kernel can run with 5-level paging
	XLF5LevelEnabled      = 1 << 6
	XLFMemEncryption      = 1 << 7
)

func (f field) get(b []byte) uint64 {
	p := b[f.off : f.off+f.size]
	switch f.size {
	case 1:
		return uint64(p[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(p))
	case 4:
		return uint64(binary.LittleEndian.Uint32(p))
	case 8:
		return binary.LittleEndian.Uint64(p)
	}
	panic("bootparam: bad field size") // unreachable: sizes are fixed above
}

func (f field) put(b []byte, v uint64) {
	p := b[f.off : f.off+f.size]
	switch f.size {
	case 1:
		p[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(p, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(p, uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(p, v)
	default:
		panic("bootparam: bad field size") // unreachable: sizes are fixed above
	}
}
