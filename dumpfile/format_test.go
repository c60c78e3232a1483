package dumpfile

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/kjump/kjump/pageset"
	"github.com/klauspost/compress/zstd"
)

// goldenDump is a tiny dump whose every offset is worked out by hand in
// TestGoldenLayout: page frames [0, 100) present, 1, 2, 3 and 50 dumped;
// 1 and 50 are zero, 2 is text, 3 is random.
func goldenDump(c Compression) (Header, *pageset.Set, *pageset.Set, synthSource) {
	h := Header{
		Utsname: Utsname{
			Sysname: "Linux", Nodename: "golden", Release: "6.12.0",
			Version: "#1", Machine: "x86_64", Domainname: "(none)",
		},
		Timestamp:   time.Unix(1700000000, 123456000),
		NrCPUs:      4,
		PhysBase:    0x2000000,
		DumpLevel:   0,
		MaxPFN:      100,
		Compression: c,
		VMCOREINFO:  []byte("OSRELEASE=6.12.0\n"), // 17 bytes
	}
	present := pageset.New(100)
	present.SetRange(0, 100)
	dumped := pageset.New(100)
	for _, pfn := range []uint64{1, 2, 3, 50} {
		dumped.Set(pfn)
	}
	kinds := map[uint64]pageKind{1: kindZero, 2: kindText, 3: kindRandom, 50: kindZero}
	return h, present, dumped, synthSource{bs: PageSize, kind: func(pfn uint64) pageKind { return kinds[pfn] }}
}

func TestGoldenLayout(t *testing.T) {
	h, present, dumped, src := goldenDump(Zstd)
	var m memFile
	st, err := Write(&m, h, present, dumped, src, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := m.Bytes()
	le := binary.LittleEndian
	u32 := func(off int) uint32 { return le.Uint32(b[off:]) }
	u64 := func(off int) uint64 { return le.Uint64(b[off:]) }
	check := func(what string, got, want uint64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %#x, want %#x", what, got, want)
		}
	}

	// Block 0: struct disk_dump_header.
	if got := string(b[0:8]); got != "KDUMP   " {
		t.Errorf("signature = %q", got)
	}
	check("header_version @8", uint64(u32(8)), 6)
	for i, s := range []string{"Linux", "golden", "6.12.0", "#1", "x86_64", "(none)"} {
		off := 12 + 65*i
		field := b[off : off+65]
		if !bytes.Equal(field[:len(s)], []byte(s)) || !bytes.Equal(field[len(s):], make([]byte, 65-len(s))) {
			t.Errorf("utsname field %d @%d = %q", i, off, field)
		}
	}
	check("timestamp.tv_sec @408", u64(408), 1700000000)
	check("timestamp.tv_usec @416", u64(416), 123456)
	check("status @424", uint64(u32(424)), 0x20) // DUMP_DH_COMPRESSED_ZSTD
	check("block_size @428", uint64(u32(428)), 4096)
	// sub header (104) + one VMCOREINFO note (12 + 12 + 20 = 44) fit one block.
	check("sub_hdr_size @432", uint64(u32(432)), 1)
	// 100 bits are 13 bytes: one block per bitmap, two bitmaps.
	check("bitmap_blocks @436", uint64(u32(436)), 2)
	check("max_mapnr @440", uint64(u32(440)), 100)
	for off := 444; off < 460; off += 4 {
		check("unused field", uint64(u32(off)), 0)
	}
	check("nr_cpus @460", uint64(u32(460)), 4)
	if !bytes.Equal(b[464:4096], make([]byte, 4096-464)) {
		t.Error("header block is not zero after nr_cpus")
	}

	// Block 1: struct kdump_sub_header, then the notes.
	check("phys_base @4096", u64(4096), 0x2000000)
	check("dump_level @4104", uint64(u32(4104)), 1) // DL_EXCLUDE_ZERO added
	check("split @4108", uint64(u32(4108)), 0)
	check("start_pfn @4112", u64(4112), 0)
	check("end_pfn @4120", u64(4120), 0)
	check("offset_vmcoreinfo @4128", u64(4128), 4224) // note at 4200 + 12 header + 12 name
	check("size_vmcoreinfo @4136", u64(4136), 17)
	check("offset_note @4144", u64(4144), 4200) // block_size + sizeof(kdump_sub_header)
	check("size_note @4152", u64(4152), 44)
	check("offset_eraseinfo @4160", u64(4160), 0)
	check("size_eraseinfo @4168", u64(4168), 0)
	check("start_pfn_64 @4176", u64(4176), 0)
	check("end_pfn_64 @4184", u64(4184), 0)
	check("max_mapnr_64 @4192", u64(4192), 100)
	check("n_namesz @4200", uint64(u32(4200)), 11)
	check("n_descsz @4204", uint64(u32(4204)), 17)
	check("n_type @4208", uint64(u32(4208)), 0)
	if got := string(b[4212:4224]); got != "VMCOREINFO\x00\x00" {
		t.Errorf("note name = %q", got)
	}
	if got := string(b[4224:4244]); got != "OSRELEASE=6.12.0\n\x00\x00\x00" {
		t.Errorf("note descriptor = %q", got)
	}
	if !bytes.Equal(b[4244:8192], make([]byte, 8192-4244)) {
		t.Error("sub header block is not zero after the notes")
	}

	// Block 2: 1st bitmap, pfns 0..99: 12 bytes 0xff, then 0x0f.
	want1 := append(bytes.Repeat([]byte{0xff}, 12), 0x0f)
	if !bytes.Equal(b[8192:8205], want1) || !bytes.Equal(b[8205:12288], make([]byte, 12288-8205)) {
		t.Errorf("1st bitmap = % x", b[8192:8208])
	}
	// Block 3: 2nd bitmap, pfns 1, 2, 3 (byte 0 = 0x0e) and 50 (byte 6, bit 2).
	want2 := []byte{0x0e, 0, 0, 0, 0, 0, 0x04}
	if !bytes.Equal(b[12288:12295], want2) || !bytes.Equal(b[12295:16384], make([]byte, 16384-12295)) {
		t.Errorf("2nd bitmap = % x", b[12288:12296])
	}

	// Block 4: four page descriptors, then the data at 16384 + 96 = 16480:
	// the shared zero page first, then pfn 2 compressed, then pfn 3 raw.
	desc := func(i int) PageDesc { return parsePageDesc(b[16384+24*i:]) }
	zero := PageDesc{Offset: 16480, Size: 4096}
	if d := desc(0); d != zero {
		t.Errorf("desc[0] (pfn 1, zero) = %+v, want %+v", d, zero)
	}
	d2 := desc(1)
	if d2.Offset != 16480+4096 || d2.Flags != FlagZstd || d2.Size == 0 || d2.Size >= 4096 || d2.PageFlags != 0 {
		t.Errorf("desc[1] (pfn 2, text) = %+v", d2)
	}
	if d := desc(2); d != (PageDesc{Offset: 16480 + 4096 + int64(d2.Size), Size: 4096}) {
		t.Errorf("desc[2] (pfn 3, random) = %+v", d)
	}
	if d := desc(3); d != zero {
		t.Errorf("desc[3] (pfn 50, zero) = %+v, want %+v", d, zero)
	}
	if !bytes.Equal(b[16480:16480+4096], make([]byte, 4096)) {
		t.Error("shared zero page is not zero")
	}
	page := make([]byte, 4096)
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := dec.DecodeAll(b[d2.Offset:d2.Offset+int64(d2.Size)], nil)
	fillPage(page, 2, kindText)
	if err != nil || !bytes.Equal(got, page) {
		t.Errorf("pfn 2 data does not decode to the page: %v", err)
	}
	fillPage(page, 3, kindRandom)
	rawOff := 16480 + 4096 + int(d2.Size)
	if !bytes.Equal(b[rawOff:rawOff+4096], page) {
		t.Error("pfn 3 is not stored raw")
	}
	if wantSize := rawOff + 4096; len(b) != wantSize || st.Size != int64(wantSize) {
		t.Errorf("file size %d, Stats.Size %d, want %d", len(b), st.Size, wantSize)
	}
	wantStats := Stats{Pages: 4, ZeroPages: 2, RawPages: 1, BytesIn: 4 * 4096, BytesOut: uint64(2*4096 + d2.Size), Size: st.Size}
	if st != wantStats {
		t.Errorf("Stats = %+v, want %+v", st, wantStats)
	}

	// The reader finds the same offsets.
	f := openBytes(t, b)
	wantLayout := Layout{
		BlockSize: 4096, SubHeaderBlocks: 1, BitmapBlocks: 2,
		Bitmap1Offset: 8192, Bitmap2Offset: 12288, DescOffset: 16384, Pages: 4, DataOffset: 16480,
		NoteOffset: 4200, NoteSize: 44, VMCOREINFOOffset: 4224, VMCOREINFOSize: 17,
		EndPFN: 100,
	}
	if f.Layout != wantLayout {
		t.Errorf("Layout = %+v\nwant     %+v", f.Layout, wantLayout)
	}
	if f.Version != 6 || f.Status != FlagZstd {
		t.Errorf("Version %d Status %#x", f.Version, f.Status)
	}
}

func TestCompressionString(t *testing.T) {
	for c, want := range map[Compression]string{None: "none", Zlib: "zlib", LZO: "lzo", Snappy: "snappy", Zstd: "zstd", 9: "Compression(9)"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestCompressionOf(t *testing.T) {
	for _, tc := range []struct {
		status uint32
		want   Compression
	}{
		{0, None},
		{FlagIncomplete | FlagExcludedVmemmap, None},
		{FlagZlib, Zlib},
		{FlagLZO, LZO},
		{FlagSnappy, Snappy},
		{FlagZstd | FlagIncomplete, Zstd},
		{FlagZlib | FlagZstd, Zlib}, // makedumpfile's precedence
	} {
		if got := compressionOf(tc.status); got != tc.want {
			t.Errorf("compressionOf(%#x) = %v, want %v", tc.status, got, tc.want)
		}
	}
}
