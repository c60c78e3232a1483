package image

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDocHeaderTable checks doc.go's header block table against the offset
// constants: every field is where the code puts it, and the table has no
// gaps or overlaps.
func TestDocHeaderTable(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	start := strings.Index(doc, "// Header block (offset 0, 4096 bytes):")
	end := strings.Index(doc[start:], "\n//\n// Bytes ")
	if start < 0 || end < 0 {
		t.Fatal("header table not found in doc.go")
	}
	line := regexp.MustCompile(`(?m)^//\t *(\d+) +(u16|u32|u64|i64|\[\d+\]|\.\.\.) +(.*)$`)
	type row struct {
		off  int
		typ  string
		text string
	}
	var rows []row
	for _, m := range line.FindAllStringSubmatch(doc[start:start+end], -1) {
		off, _ := strconv.Atoi(m[1])
		rows = append(rows, row{off, m[2], m[3]})
	}
	size := func(typ string) int {
		switch typ {
		case "u16":
			return 2
		case "u32":
			return 4
		case "u64", "i64":
			return 8
		case "...":
			return HeaderVarSize
		}
		n, _ := strconv.Atoi(strings.Trim(typ, "[]"))
		return n
	}
	at := map[int]row{}
	for i, r := range rows {
		at[r.off] = r
		if i > 0 && rows[i-1].off+size(rows[i-1].typ) != r.off {
			t.Errorf("doc.go header table: %d %s is followed by offset %d", rows[i-1].off, rows[i-1].typ, r.off)
		}
	}
	if len(rows) == 0 || rows[len(rows)-1].off+size(rows[len(rows)-1].typ) != BlockSize {
		t.Errorf("doc.go header table does not end at %d", BlockSize)
	}
	fields := []struct {
		off  int
		typ  string
		text string
	}{
		{offMagic, "[8]", "magic"}, {offVersion, "u32", "format version"}, {offFlags, "u32", "flags"},
		{offBlockSize, "u32", "block size"}, {offPageSize, "u32", "page size"}, {offUUID, "[16]", "UUID"},
		{offCreated, "i64", "creation time"}, {offRAM, "u64", "RAM size"}, {offMemMapHash, "[32]", "memory-map hash"},
		{offCPUs, "u32", "CPU count"}, {offPPC, "u32", "pages per chunk"}, {offJumpBack, "u64", "jump-back"},
		{offSecStart, "u64", "second kernel region start"}, {offSecSize, "u64", "second kernel region size"},
		{offMailbox, "u64", "mailbox"}, {offRuns, "u64", "number of runs"}, {offPages, "u64", "number of data pages"},
		{offZeroPages, "u64", "number of zero pages"}, {offChunks, "u64", "number of chunks"},
		{offMapOff, "u64", "map offset"}, {offMapLen, "u64", "map length"}, {offDataOff, "u64", "data offset"},
		{offCompress, "u32", "compression"}, {offKDF, "u32", "KDF"}, {offKDFTime, "u32", "Argon2id time"},
		{offKDFMem, "u32", "Argon2id memory"}, {offKDFThreads, "u32", "Argon2id threads"},
		{offReserved, "u32", "reserved"}, {offSalt, "[32]", "Argon2id salt"}, {offKeyCheck, "[32]", "key check"},
		{offDataLen, "u64", "data length"}, {offCommitOff, "u64", "commit record offset"},
		{offTotalLen, "u64", "total image length"}, {offRelLen, "u16", "release string length"},
		{offIDLen, "u16", "identity string length"}, {offFSCount, "u16", "filesystem record count"},
		{offReserved2, "u16", "reserved"}, {varOff, "...", "variable area"}, {hashOff, "[32]", "SHA-256"},
	}
	if len(fields) != len(rows) {
		t.Errorf("doc.go header table has %d rows, the code %d fields", len(rows), len(fields))
	}
	for _, f := range fields {
		r, ok := at[f.off]
		if !ok || r.typ != f.typ || !strings.Contains(r.text, f.text) {
			t.Errorf("doc.go header table at %d: %+v, want %s %q", f.off, r, f.typ, f.text)
		}
	}
	if !strings.Contains(doc, "variable area ("+strconv.Itoa(HeaderVarSize)+" bytes)") ||
		!strings.Contains(doc, "fit in the "+strconv.Itoa(HeaderVarSize)+" bytes") {
		t.Errorf("doc.go does not state the variable area's size %d", HeaderVarSize)
	}
	if !strings.Contains(doc, "(bytes "+strconv.Itoa(offDataLen)+".."+strconv.Itoa(offTotalLen+7)+")") {
		t.Errorf("doc.go does not name bytes %d..%d as the data-dependent fields", offDataLen, offTotalLen+7)
	}
	if !strings.Contains(doc, "Bytes "+strconv.Itoa(offKDF)+".."+strconv.Itoa(offDataLen-1)+" are zero in an unencrypted image") {
		t.Errorf("doc.go does not name bytes %d..%d as zero without encryption", offKDF, offDataLen-1)
	}
}
