package bootparam

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Sentinel errors. Every error from [Parse] and [Read] is a *FormatError
// that matches exactly one of them with errors.Is.
var (
	// ErrNotBzImage: the data is not an x86 bzImage (no 0xAA55 boot flag,
	// no "HdrS" setup header, or a header that cannot be right).
	ErrNotBzImage = errors.New("not a bzImage")
	// ErrTruncated: the data ends before the setup code or the
	// protected-mode kernel the header announces.
	ErrTruncated = errors.New("bzImage truncated")
	// ErrUnsupported: a bzImage kjump cannot boot with the 64-bit boot
	// protocol (protocol older than 2.12, 32-bit, or not relocatable).
	ErrUnsupported = errors.New("unsupported bzImage")
)

// FormatError explains why data is not a bzImage kjump can load.
type FormatError struct {
	Err    error  // ErrNotBzImage, ErrTruncated or ErrUnsupported
	Detail string // what is wrong with the data
	Hint   string // what to do about it
}

func (e *FormatError) Error() string {
	msg := e.Detail
	if e.Err != nil {
		msg = e.Err.Error() + ": " + msg
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(kind error, fix, format string, args ...any) error {
	return &FormatError{Err: kind, Detail: fmt.Sprintf(format, args...), Hint: fix}
}

const (
	fixPassBzImage = "pass the bzImage (arch/x86/boot/bzImage in a kernel tree, /boot/vmlinuz-* on a distribution)"
	fixRecopy      = "the file is incomplete: copy or rebuild it"
)

// SetupHeader holds the fields of the bzImage's setup header (struct
// setup_header at offset 0x1f1) that a 64-bit loader reads. Field names
// follow Documentation/arch/x86/boot.rst.
type SetupHeader struct {
	SetupSects        uint8  // setup_sects as stored (0 means 4)
	Syssize           uint32 // protected-mode code size in 16-byte paragraphs
	BootFlag          uint16 // 0xAA55
	Version           uint16 // boot protocol, (major << 8) | minor
	LoadFlags         uint8
	Code32Start       uint32
	InitrdAddrMax     uint32 // highest address an initrd byte may have, unless XLFCanBeLoadedAbove4G
	KernelAlignment   uint32 // alignment of the load address (a power of two)
	RelocatableKernel uint8
	MinAlignment      uint8 // log2 of the minimum alignment
	XLoadFlags        uint16
	CmdlineSize       uint32 // maximum command line length, without the NUL
	PayloadOffset     uint32
	PayloadLength     uint32
	PrefAddress       uint64
	InitSize          uint32 // bytes the kernel needs from its (aligned) load address while it starts
	HandoverOffset    uint32
	KernelInfoOffset  uint32 // protocol 2.15+, else 0
	// KernelVersion is the string the kernel_version field points to, or
	// "" if the pointer is 0 or does not point at a printable,
	// NUL-terminated string inside the setup code.
	KernelVersion string
}

// Protocol returns the boot protocol version as "2.15".
func (h SetupHeader) Protocol() string {
	return fmt.Sprintf("%d.%02d", h.Version>>8, h.Version&0xff)
}

// CanLoadAbove4G reports XLF_CAN_BE_LOADED_ABOVE_4G: the kernel, its
// boot_params, command line and ramdisk may lie above 4 GiB.
func (h SetupHeader) CanLoadAbove4G() bool { return h.XLoadFlags&XLFCanBeLoadedAbove4G != 0 }

// BzImage is a parsed x86 bzImage. Setup and Kernel share memory with the
// data given to Parse.
type BzImage struct {
	Header SetupHeader
	// Setup is the real-mode part: the boot sector and the setup code,
	// (setup_sects+1)*512 bytes. A 64-bit loader only copies its setup
	// header into boot_params.
	Setup []byte
	// Kernel is the protected-mode part (syssize*16 bytes after Setup):
	// what the loader places at the kernel's load address.
	Kernel []byte

	headerEnd int // 0x202 + the byte at 0x201: end of the setup header
}

// MaxImageSize bounds what [Read] accepts.
const MaxImageSize = 1 << 30

// Read reads a whole bzImage from r and parses it.
func Read(r io.Reader) (*BzImage, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImageSize+1))
	if err != nil {
		return nil, fmt.Errorf("bootparam: reading the kernel image: %w", err)
	}
	if len(data) > MaxImageSize {
		return nil, formatErr(ErrNotBzImage, fixPassBzImage, "the file is larger than %d MiB, far more than any bzImage", MaxImageSize>>20)
	}
	return Parse(data)
}

// Parse checks that data is a 64-bit, relocatable bzImage with boot
// protocol 2.12 or later and splits it into its parts. It never panics;
// on error it returns a nil *BzImage and a *FormatError.
func Parse(data []byte) (*BzImage, error) {
	if len(data) == 0 {
		return nil, formatErr(ErrTruncated, fixRecopy, "the file is empty")
	}
	if what, fix := identify(data); what != "" {
		return nil, formatErr(ErrNotBzImage, fix, "this is %s, not a bzImage", what)
	}
	if len(data) < fBootFlag.off+fBootFlag.size {
		return nil, formatErr(ErrTruncated, fixRecopy, "the file is %d bytes, shorter than the 512-byte boot sector", len(data))
	}
	if f := fBootFlag.get(data); f != bootFlagMagic {
		return nil, formatErr(ErrNotBzImage, fixPassBzImage, "no 0xAA55 boot flag at offset 0x1fe (found %#04x)", f)
	}
	if len(data) < fVersion.off+fVersion.size {
		return nil, formatErr(ErrTruncated, fixRecopy, "the file is %d bytes and ends inside the setup header", len(data))
	}
	if m := fHeader.get(data); m != headerMagic {
		return nil, formatErr(ErrNotBzImage, fixPassBzImage,
			`boot sector without the "HdrS" setup header at 0x202: not a Linux kernel, or one older than boot protocol 2.00`)
	}
	var h SetupHeader
	h.Version = uint16(fVersion.get(data))
	if h.Version < minVersion {
		return nil, formatErr(ErrUnsupported, "use a Linux 3.8 or newer kernel",
			"boot protocol %s is older than 2.12, which added the 64-bit entry flags", h.Protocol())
	}
	headerEnd := 0x202 + int(data[fJump.off+1])
	if headerEnd < minHeaderEnd || headerEnd > maxHeaderEnd {
		return nil, formatErr(ErrNotBzImage, fixPassBzImage,
			"the jump at 0x200 says the setup header ends at %#x; protocol %s needs %#x..%#x", headerEnd, h.Protocol(), minHeaderEnd, maxHeaderEnd)
	}
	if len(data) < headerEnd {
		return nil, formatErr(ErrTruncated, fixRecopy, "the file is %d bytes and ends inside the setup header (%#x bytes)", len(data), headerEnd)
	}

	h.SetupSects = uint8(fSetupSects.get(data))
	h.Syssize = uint32(fSyssize.get(data))
	h.BootFlag = uint16(fBootFlag.get(data))
	h.LoadFlags = uint8(fLoadFlags.get(data))
	h.Code32Start = uint32(fCode32Start.get(data))
	h.InitrdAddrMax = uint32(fInitrdAddrMax.get(data))
	h.KernelAlignment = uint32(fKernelAlignment.get(data))
	h.RelocatableKernel = uint8(fRelocatableKernel.get(data))
	h.MinAlignment = uint8(fMinAlignment.get(data))
	h.XLoadFlags = uint16(fXLoadFlags.get(data))
	h.CmdlineSize = uint32(fCmdlineSize.get(data))
	h.PayloadOffset = uint32(fPayloadOffset.get(data))
	h.PayloadLength = uint32(fPayloadLength.get(data))
	h.PrefAddress = fPrefAddress.get(data)
	h.InitSize = uint32(fInitSize.get(data))
	h.HandoverOffset = uint32(fHandoverOffset.get(data))
	if h.Version >= 0x020f && headerEnd >= fKernelInfoOffset.off+fKernelInfoOffset.size {
		h.KernelInfoOffset = uint32(fKernelInfoOffset.get(data))
	}

	if h.LoadFlags&LoadedHigh == 0 {
		return nil, formatErr(ErrUnsupported, fixPassBzImage, "a zImage (LOADED_HIGH clear in loadflags)")
	}
	if h.XLoadFlags&XLFKernel64 == 0 {
		return nil, formatErr(ErrUnsupported, "build the kernel with CONFIG_X86_64=y",
			"not a 64-bit kernel (XLF_KERNEL_64 clear in xloadflags)")
	}
	if h.RelocatableKernel == 0 {
		return nil, formatErr(ErrUnsupported, "build the kernel with CONFIG_RELOCATABLE=y",
			"the kernel is not relocatable (relocatable_kernel is 0), so it can only run at %#x", h.PrefAddress)
	}
	if h.KernelAlignment == 0 || bits.OnesCount32(h.KernelAlignment) != 1 {
		return nil, formatErr(ErrNotBzImage, fixPassBzImage, "kernel_alignment %#x is not a power of two", h.KernelAlignment)
	}

	sects := int(h.SetupSects)
	if sects == 0 {
		sects = 4
	}
	setupLen := (sects + 1) * sectorSize
	if len(data) < setupLen {
		return nil, formatErr(ErrTruncated, fixRecopy, "the file is %d bytes, shorter than its %d bytes of setup code", len(data), setupLen)
	}
	if h.Syssize == 0 {
		return nil, formatErr(ErrNotBzImage, fixPassBzImage, "syssize is 0: no protected-mode kernel")
	}
	kernelLen := uint64(h.Syssize) * 16
	if uint64(len(data)-setupLen) < kernelLen {
		return nil, formatErr(ErrTruncated, fixRecopy,
			"the file is %d bytes; setup (%d) plus the kernel syssize announces (%d) is %d", len(data), setupLen, kernelLen, uint64(setupLen)+kernelLen)
	}
	h.KernelVersion = kernelVersion(data[:setupLen], int(fKernelVersion.get(data)))

	end := setupLen + int(kernelLen)
	return &BzImage{
		Header:    h,
		Setup:     data[:setupLen:setupLen],
		Kernel:    data[setupLen:end:end],
		headerEnd: headerEnd,
	}, nil
}

// kernelVersion follows the kernel_version pointer (an offset from 0x200)
// into the setup code.
func kernelVersion(setup []byte, ptr int) string {
	if ptr == 0 {
		return ""
	}
	start := ptr + 0x200
	if start >= len(setup) {
		return ""
	}
	s := setup[start:min(len(setup), start+256)]
	n := bytes.IndexByte(s, 0)
	if n <= 0 {
		return ""
	}
	for _, c := range s[:n] {
		if c < 0x20 || c > 0x7e {
			return ""
		}
	}
	return string(s[:n])
}

// identify recognizes files people pass by mistake, by their magic
// numbers; it returns "" for anything else (including every bzImage, which
// starts with a boot sector or an "MZ" EFI stub).
func identify(b []byte) (what, fix string) {
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "\x7fELF"):
		return "an ELF vmlinux", "pass the bzImage (arch/x86/boot/bzImage), not vmlinux"
	case has(0, "\x1f\x8b"), has(0, "\x1f\x9e"):
		return "a gzip file", "if it holds a kernel, pass the bzImage itself"
	case has(0, "\xfd7zXZ\x00"):
		return "an xz file", "if it holds a kernel, pass the bzImage itself"
	case has(0, "\x28\xb5\x2f\xfd"):
		return "a zstd file", "if it holds a kernel, pass the bzImage itself"
	case has(0, "BZh"):
		return "a bzip2 file", "if it holds a kernel, pass the bzImage itself"
	case has(0, "070701"), has(0, "070702"):
		return "a cpio archive (an initramfs?)", "pass the kernel as the image and the archive as the initrd"
	case has(0x38, "ARM\x64"):
		return "an arm64 Image", "kjump loads x86_64 bzImages"
	case has(0x30, "RSC\x05"):
		return "a RISC-V Image", "kjump loads x86_64 bzImages"
	case len(b) >= 4 && binary.BigEndian.Uint32(b) == 0x27051956:
		return "a U-Boot uImage", "kjump loads x86_64 bzImages"
	}
	return "", ""
}
