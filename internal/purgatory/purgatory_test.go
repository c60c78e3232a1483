package purgatory_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kjump/kjump/internal/purgatory"
)

// needTools skips the test unless every named program is on $PATH.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (install binutils / qemu-system-x86): %v", tool, err)
		}
	}
}

// assemble assembles src (relative to the package directory) into an ELF
// object in dir and returns its path.
func assemble(t *testing.T, src, dir string) string {
	t.Helper()
	obj := filepath.Join(dir, filepath.Base(src)+".o")
	cmd := exec.Command("as", "--64", "--noexecstack", "-o", obj, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as %s: %v\n%s", src, err, out)
	}
	return obj
}

func symbols(t *testing.T, path string) map[string]uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]uint64)
	for _, s := range syms {
		m[s.Name] = s.Value
	}
	return m
}

// TestBlobMatchesSource rebuilds purgatory.bin with gen.sh and checks that
// the committed blob is exactly what purgatory.S assembles to.
func TestBlobMatchesSource(t *testing.T) {
	needTools(t, "sh", "as", "ld")
	out := filepath.Join(t.TempDir(), "purgatory.bin")
	cmd := exec.Command("sh", "gen.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, purgatory.Blob) {
		t.Fatalf("purgatory.bin is stale: gen.sh produced %d bytes that differ from the committed %d; run go generate ./internal/purgatory",
			len(got), len(purgatory.Blob))
	}
	// A second build must be byte-identical (no timestamps, no build id).
	out2 := filepath.Join(t.TempDir(), "again.bin")
	if b, err := exec.Command("sh", "gen.sh", out2).CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, b)
	}
	again, err := os.ReadFile(out2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, got) {
		t.Fatal("two builds of purgatory.bin differ")
	}
}

// TestPositionIndependent checks that the object has no relocations: every
// reference is %rip-relative, so the blob runs at any address.
func TestPositionIndependent(t *testing.T) {
	needTools(t, "as")
	obj := assemble(t, "purgatory.S", t.TempDir())
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if (s.Type == elf.SHT_RELA || s.Type == elf.SHT_REL) && s.Size > 0 {
			t.Errorf("section %s has relocations (%d bytes): an absolute reference crept in", s.Name, s.Size)
		}
	}
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && s.Name != ".text" && s.Size > 0 {
			t.Errorf("allocated section %s (%d bytes) outside .text would be lost or misplaced in the flat binary", s.Name, s.Size)
		}
	}
}

// TestHeaderSymbols checks the Go offsets against the labels in purgatory.S.
func TestHeaderSymbols(t *testing.T) {
	needTools(t, "as")
	syms := symbols(t, assemble(t, "purgatory.S", t.TempDir()))
	for _, tc := range []struct {
		sym  string
		want uint64
	}{
		{"_start", 0},
		{"hdr_magic", purgatory.OffsetMagic},
		{"hdr_entry64", purgatory.OffsetEntry64},
		{"hdr_boot_params", purgatory.OffsetBootParams},
		{"hdr_cmdline_hex", purgatory.OffsetCmdlineHexAddr},
		{"hdr_nsegs", purgatory.OffsetNumSegments},
		{"hdr_maxsegs", purgatory.OffsetMaxSegments},
		{"hdr_jump_back", purgatory.OffsetJumpBack},
		{"hdr_segs", purgatory.OffsetSegments},
		{"hdr_first_cr3", purgatory.OffsetFirstCR3},
		{"hdr_second_entry", purgatory.OffsetSecondEntry},
		{"hdr_second_cr3", purgatory.OffsetSecondCR3},
		{"kj_gate_second", purgatory.OffsetGate},
		{"kj_gate_stack_top", uint64(len(purgatory.Blob))},
	} {
		got, ok := syms[tc.sym]
		if !ok {
			t.Errorf("symbol %s missing from purgatory.S", tc.sym)
			continue
		}
		if got != tc.want {
			t.Errorf("%s at %#x, Go expects %#x", tc.sym, got, tc.want)
		}
	}
	if gdt := syms["kj_gdt"]; gdt%8 != 0 {
		t.Errorf("kj_gdt at %#x is not 8-byte aligned", gdt)
	}
}

// TestBlobHeader checks the committed blob itself, without binutils.
func TestBlobHeader(t *testing.T) {
	b := purgatory.Blob
	if len(b) < purgatory.HeaderSize || len(b) > 4096 {
		t.Fatalf("blob is %d bytes; want a header of %d and at most one page", len(b), purgatory.HeaderSize)
	}
	if got := string(b[purgatory.OffsetMagic : purgatory.OffsetMagic+8]); got != purgatory.Magic {
		t.Errorf("magic %q at %#x, want %q", got, purgatory.OffsetMagic, purgatory.Magic)
	}
	// 0: e9 rel32, a near jmp to the first byte after the header.
	if b[0] != 0xe9 {
		t.Fatalf("byte 0 is %#x, want 0xe9 (jmp rel32)", b[0])
	}
	if target := 5 + int32(binary.LittleEndian.Uint32(b[1:])); target <= purgatory.HeaderSize || int(target) >= len(b) {
		t.Errorf("entry jmp goes to %#x, want past the header (%#x) and inside the blob", target, purgatory.HeaderSize)
	}
	if n := binary.LittleEndian.Uint32(b[purgatory.OffsetMaxSegments:]); n != purgatory.MaxSegments {
		t.Errorf("maxsegs = %d, want %d", n, purgatory.MaxSegments)
	}
	for i := purgatory.OffsetEntry64; i < purgatory.HeaderSize; i++ {
		if i >= purgatory.OffsetMaxSegments && i < purgatory.OffsetMaxSegments+4 {
			continue
		}
		if b[i] != 0 {
			t.Fatalf("unpatched blob has %#x at %#x; patchable fields must start zero", b[i], i)
		}
	}
}

func TestBuildPatchesHeader(t *testing.T) {
	data := [][]byte{[]byte("hello, purgatory"), bytes.Repeat([]byte{0xa5}, 4097), {}}
	cfg := purgatory.Config{
		Entry64:        0x1000200,
		BootParams:     0x7f000,
		CmdlineHexAddr: 0x7e018,
		Verify: []purgatory.Segment{
			{Addr: 0x2000000, Len: uint64(len(data[0]))},
			{Addr: 0x3000000, Len: uint64(len(data[1]))},
			{Addr: 0x4000000, Len: 0},
		},
	}
	got, err := purgatory.Build(cfg, func(i int) []byte { return data[i] })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(purgatory.Blob) {
		t.Fatalf("Build returned %d bytes, blob has %d", len(got), len(purgatory.Blob))
	}
	// Expected: the blob with exactly these bytes changed.
	want := bytes.Clone(purgatory.Blob)
	put := func(off int, v uint64) { binary.LittleEndian.PutUint64(want[off:], v) }
	put(0x10, 0x1000200)
	put(0x18, 0x7f000)
	put(0x20, 0x7e018)
	binary.LittleEndian.PutUint32(want[0x28:], 3)
	for i, s := range cfg.Verify {
		put(0x38+24*i, s.Addr)
		put(0x38+24*i+8, s.Len)
		put(0x38+24*i+16, purgatory.Checksum(data[i]))
	}
	if !bytes.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("first difference at %#x: got %#x, want %#x", i, got[i], want[i])
			}
		}
	}
	if bytes.Equal(got[:purgatory.HeaderSize], purgatory.Blob[:purgatory.HeaderSize]) {
		t.Fatal("Build did not patch anything")
	}
	// Build must not modify Blob.
	if binary.LittleEndian.Uint64(purgatory.Blob[purgatory.OffsetEntry64:]) != 0 {
		t.Fatal("Build modified purgatory.Blob")
	}
}

func TestBuildErrors(t *testing.T) {
	ok := purgatory.Config{Entry64: 0x1000200, BootParams: 0x7f000}
	seg := func(n int) []purgatory.Segment {
		s := make([]purgatory.Segment, n)
		for i := range s {
			s[i] = purgatory.Segment{Addr: uint64(i+1) << 20, Len: 8}
		}
		return s
	}
	eight := func(int) []byte { return make([]byte, 8) }
	for _, tc := range []struct {
		name string
		cfg  func(c *purgatory.Config)
		data func(int) []byte
		want error
	}{
		{"no entry", func(c *purgatory.Config) { c.Entry64 = 0 }, nil, purgatory.ErrInvalidConfig},
		{"no boot params", func(c *purgatory.Config) { c.BootParams = 0 }, nil, purgatory.ErrInvalidConfig},
		{"cmdline wraps", func(c *purgatory.Config) { c.CmdlineHexAddr = ^uint64(0) - 3 }, nil, purgatory.ErrInvalidConfig},
		{"too many", func(c *purgatory.Config) { c.Verify = seg(purgatory.MaxSegments + 1) }, eight, purgatory.ErrTooManySegments},
		{"no data func", func(c *purgatory.Config) { c.Verify = seg(1) }, nil, purgatory.ErrInvalidConfig},
		{"short data", func(c *purgatory.Config) { c.Verify = seg(2) }, func(i int) []byte { return make([]byte, 8-i) }, purgatory.ErrInvalidConfig},
		{"segment wraps", func(c *purgatory.Config) {
			c.Verify = []purgatory.Segment{{Addr: ^uint64(0) - 3, Len: 8}}
		}, eight, purgatory.ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.cfg(&cfg)
			b, err := purgatory.Build(cfg, tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Build: err = %v, want %v", err, tc.want)
			}
			if b != nil {
				t.Fatal("Build returned a blob with an error")
			}
		})
	}
	// The maximum is allowed.
	cfg := ok
	cfg.Verify = seg(purgatory.MaxSegments)
	if _, err := purgatory.Build(cfg, eight); err != nil {
		t.Fatalf("Build with %d segments: %v", purgatory.MaxSegments, err)
	}
}

// refChecksum is an independent implementation of the documented
// algorithm: it pads a copy to whole words, assembles words byte by byte,
// multiplies through 32-bit halves and rotates with shifts.
func refChecksum(data []byte) uint64 {
	padded := append([]byte(nil), data...)
	for len(padded)%8 != 0 {
		padded = append(padded, 0)
	}
	h := uint64(len(data))
	for i := 0; i < len(padded); i += 8 {
		var w uint64
		for j := 7; j >= 0; j-- {
			w = w<<8 | uint64(padded[i+j])
		}
		x := h ^ w
		h = rotl31(mul64(x, 0x9e3779b97f4a7c15))
	}
	return h
}

func mul64(a, b uint64) uint64 {
	aLo, aHi := a&0xffffffff, a>>32
	bLo, bHi := b&0xffffffff, b>>32
	return aLo*bLo + (aLo*bHi+aHi*bLo)<<32
}

func rotl31(x uint64) uint64 { return x<<31 | x>>33 }

func TestChecksumMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200; n++ {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		if got, want := purgatory.Checksum(data), refChecksum(data); got != want {
			t.Fatalf("len %d: Checksum = %#x, reference = %#x", n, got, want)
		}
	}
	for _, n := range []int{4095, 4096, 4097, 1 << 20} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		if got, want := purgatory.Checksum(data), refChecksum(data); got != want {
			t.Fatalf("len %d: Checksum = %#x, reference = %#x", n, got, want)
		}
	}
}

// TestChecksumKnownAnswers pins the algorithm with fixed values (the first
// non-trivial one worked by hand: rotl64(1 * 0x9e3779b97f4a7c15, 31)).
// purgatory.S computes the same values, so a change here needs the same
// change there.
func TestChecksumKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"", 0},
		{"\x00", 0xbfa53e0acf1bbcdc},
		{"abc", 0x9d1145057048eac5},
		{"kjump purgatory!", 0x21cf33403b822539},
		{"0123456789abcdefXYZ", 0x07c1fe2fec20f446},
	} {
		if got := purgatory.Checksum([]byte(tc.in)); got != tc.want {
			t.Errorf("Checksum(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
		if got := refChecksum([]byte(tc.in)); got != tc.want {
			t.Errorf("reference(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestChecksumDetects(t *testing.T) {
	base := make([]byte, 4096)
	for i := range base {
		base[i] = byte(i * 7)
	}
	sum := purgatory.Checksum(base)
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
	}{
		{"flip first bit", func(b []byte) []byte { b[0] ^= 1; return b }},
		{"flip last bit", func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
		{"swap words", func(b []byte) []byte {
			var w [8]byte
			copy(w[:], b[0:8])
			copy(b[0:8], b[8:16])
			copy(b[8:16], w[:])
			return b
		}},
		{"zero page", func(b []byte) []byte { clear(b); return b }},
		{"append zero", func(b []byte) []byte { return append(b, 0) }},
		{"drop last byte", func(b []byte) []byte { return b[:len(b)-1] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if purgatory.Checksum(tc.mod(bytes.Clone(base))) == sum {
				t.Fatal("change not detected")
			}
		})
	}
}
