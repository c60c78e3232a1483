package purgatory

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

//go:generate sh gen.sh purgatory.bin

// Blob is the assembled purgatory (purgatory.S, built by gen.sh), unpatched.
// Use [Build] to get a copy with the header filled in; do not modify Blob.
//
//go:embed purgatory.bin
var Blob []byte

// Header layout of [Blob]: byte offsets of the patchable fields, all
// little-endian. purgatory.S pins each one with .org; the tests check that
// the blob agrees.
const (
	OffsetMagic          = 0x08 // [8]byte Magic
	OffsetEntry64        = 0x10 // u64: the kernel's 64-bit entry (load address + 0x200)
	OffsetBootParams     = 0x18 // u64: physical address of boot_params
	OffsetCmdlineHexAddr = 0x20 // u64: physical address of the first hex digit, or 0
	OffsetNumSegments    = 0x28 // u32: entries of the segment table in use
	OffsetMaxSegments    = 0x2c // u32: capacity of the segment table (MaxSegments), read-only
	OffsetJumpBack       = 0x30 // u64: jump-back address, written by the purgatory at run time
	OffsetSegments       = 0x38 // [MaxSegments]{addr, len, sum u64}
	SegmentEntrySize     = 24
	OffsetFirstCR3       = 0x1b8 // u64: the first kernel's kexec page-table root, written at run time
	OffsetSecondEntry    = 0x1c0 // u64: the second kernel's re-entry point, written by the gate
	OffsetSecondCR3      = 0x1c8 // u64: the second kernel's kexec page-table root, written by the gate
	HeaderSize           = 0x1d0 // code starts here
	// OffsetGate is the gate's entry for the second kernel's way back: the
	// entry of its jump-back helper (see doc.go, "The gate").
	OffsetGate = HeaderSize
)

// Magic identifies the blob and its header version.
const Magic = "KJPURG02"

// MaxSegments is how many segments the purgatory can verify.
const MaxSegments = 16

// JumpBackParam is the kernel command-line parameter that carries the
// jump-back entry into the second kernel (the name kexec-tools uses, so
// other tools can read it from /proc/cmdline). The loader puts
// [JumpBackPlaceholder] on the second kernel's command line and tells the
// purgatory where its hex digits are (see [PlaceholderAddr]).
const JumpBackParam = "kexec_jump_back_entry=0x"

// JumpBackPlaceholder is JumpBackParam followed by 16 zero digits, which
// the purgatory overwrites with the jump-back address.
const JumpBackPlaceholder = JumpBackParam + "0000000000000000"

// Errors returned by [Build] and [PlaceholderAddr].
var (
	// ErrTooManySegments: more than MaxSegments segments to verify.
	ErrTooManySegments = errors.New("purgatory: too many segments to verify")
	// ErrInvalidConfig: a Config field the purgatory cannot work with.
	ErrInvalidConfig = errors.New("purgatory: invalid configuration")
	// ErrNoPlaceholder: the command line lacks JumpBackPlaceholder, or has it twice.
	ErrNoPlaceholder = errors.New("purgatory: jump-back placeholder not found")
)

// Segment is a range of physical memory the purgatory verifies before it
// starts the kernel.
type Segment struct {
	Addr, Len uint64
}

// Config is what the loader patches into the blob.
type Config struct {
	// Entry64 is the second kernel's 64-bit entry point: its load address
	// + 0x200 (bootparam.BzImage.Entry64). Must not be 0.
	Entry64 uint64
	// BootParams is the physical address of the kernel's boot_params
	// (zero page). Must not be 0.
	BootParams uint64
	// CmdlineHexAddr is the physical address of the first of the 16 hex
	// digits of JumpBackPlaceholder in the second kernel's command line
	// (PlaceholderAddr computes it), or 0 to leave the command line alone.
	CmdlineHexAddr uint64
	// Verify lists up to MaxSegments ranges to checksum. The purgatory's
	// own segment must not be listed (it writes to itself), and zero-filled
	// ranges are better left out (checksumming them is slow and proves
	// little).
	Verify []Segment
}

// Build returns a copy of [Blob] with cfg patched into its header. For each
// cfg.Verify[i], segmentData(i) must return the bytes that will be at
// [Addr, Addr+Len) when the purgatory runs (exactly Len bytes); Build
// stores their [Checksum]. segmentData may be nil when Verify is empty.
func Build(cfg Config, segmentData func(i int) []byte) ([]byte, error) {
	if err := checkBlob(Blob); err != nil {
		return nil, err
	}
	if cfg.Entry64 == 0 {
		return nil, fmt.Errorf("purgatory: Entry64 is 0; set it to the kernel's load address + 0x200: %w", ErrInvalidConfig)
	}
	if cfg.BootParams == 0 {
		return nil, fmt.Errorf("purgatory: BootParams is 0; set it to the physical address of the zero page: %w", ErrInvalidConfig)
	}
	if cfg.CmdlineHexAddr != 0 && cfg.CmdlineHexAddr > ^uint64(0)-16 {
		return nil, fmt.Errorf("purgatory: CmdlineHexAddr %#x: 16 digits would wrap around the address space: %w", cfg.CmdlineHexAddr, ErrInvalidConfig)
	}
	if len(cfg.Verify) > MaxSegments {
		return nil, fmt.Errorf("purgatory: %d segments to verify, room for %d; leave out the least important ones: %w",
			len(cfg.Verify), MaxSegments, ErrTooManySegments)
	}
	if len(cfg.Verify) > 0 && segmentData == nil {
		return nil, fmt.Errorf("purgatory: %d segments to verify but no segment data: %w", len(cfg.Verify), ErrInvalidConfig)
	}
	out := make([]byte, len(Blob))
	copy(out, Blob)
	le := binary.LittleEndian
	le.PutUint64(out[OffsetEntry64:], cfg.Entry64)
	le.PutUint64(out[OffsetBootParams:], cfg.BootParams)
	le.PutUint64(out[OffsetCmdlineHexAddr:], cfg.CmdlineHexAddr)
	le.PutUint32(out[OffsetNumSegments:], uint32(len(cfg.Verify)))
	for i, s := range cfg.Verify {
		if s.Len > ^uint64(0)-s.Addr {
			return nil, fmt.Errorf("purgatory: segment %d [%#x + %#x] wraps around the address space: %w", i, s.Addr, s.Len, ErrInvalidConfig)
		}
		data := segmentData(i)
		if uint64(len(data)) != s.Len {
			return nil, fmt.Errorf("purgatory: segment %d at %#x: %d bytes of data for a length of %d; pass exactly the bytes that will be in memory: %w",
				i, s.Addr, len(data), s.Len, ErrInvalidConfig)
		}
		e := out[OffsetSegments+i*SegmentEntrySize:]
		le.PutUint64(e[0:], s.Addr)
		le.PutUint64(e[8:], s.Len)
		le.PutUint64(e[16:], Checksum(data))
	}
	return out, nil
}

// checkBlob guards against a purgatory.bin that does not match this file.
func checkBlob(b []byte) error {
	if len(b) < HeaderSize || string(b[OffsetMagic:OffsetMagic+len(Magic)]) != Magic {
		return fmt.Errorf("purgatory: embedded blob lacks the %q header; run go generate: %w", Magic, ErrInvalidConfig)
	}
	if n := binary.LittleEndian.Uint32(b[OffsetMaxSegments:]); n != MaxSegments {
		return fmt.Errorf("purgatory: embedded blob has room for %d segments, the Go side expects %d; run go generate: %w", n, MaxSegments, ErrInvalidConfig)
	}
	return nil
}

// checksumMul is an odd 64-bit constant (2^64 / golden ratio), so the
// multiplication is invertible.
const checksumMul = 0x9e3779b97f4a7c15

// Checksum is the purgatory's segment checksum (kj_checksum in
// purgatory.S):
//
//	h = len(data)
//	for each 8-byte little-endian word w of data (the last one zero-padded):
//	    h = rotl64((h ^ w) * 0x9e3779b97f4a7c15, 31)
//
// Each step is a bijection of h for a fixed w, so a change confined to one
// word always changes the result, and starting from the length makes
// zero padding visible. It detects accidents (a misplaced or unswapped
// page), not attacks.
func Checksum(data []byte) uint64 {
	h := uint64(len(data))
	for len(data) >= 8 {
		h = bits.RotateLeft64((h^binary.LittleEndian.Uint64(data))*checksumMul, 31)
		data = data[8:]
	}
	if len(data) > 0 {
		var w [8]byte
		copy(w[:], data)
		h = bits.RotateLeft64((h^binary.LittleEndian.Uint64(w[:]))*checksumMul, 31)
	}
	return h
}
