package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fsList returns n filesystems with names of nameLen bytes.
func fsList(n, nameLen int) []Filesystem {
	fs := make([]Filesystem, n)
	for i := range fs {
		fs[i] = Filesystem{
			Device:      fmt.Sprintf("%d:%d", 8+i/16, i%16),
			Name:        strings.Repeat(string(rune('a'+i%26)), nameLen),
			Fingerprint: sha256.Sum256([]byte{byte(i)}),
		}
	}
	return fs
}

// fillIdentity makes h's identity exactly as long as needed for its variable
// area to fill HeaderVarSize bytes.
func fillIdentity(h Header) Header {
	h.Identity = ""
	h.Identity = strings.Repeat("i", HeaderVarSize-h.varSize())
	return h
}

// fullHeader returns a header whose variable area is exactly HeaderVarSize
// bytes: 80 filesystem records and the identity filling the rest.
func fullHeader() Header {
	h := testHeader()
	h.Filesystems = fsList(80, 1)
	return fillIdentity(h)
}

func TestFilesystemsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		fs   []Filesystem
	}{
		{"none", nil},
		{"one", []Filesystem{{Device: "253:0", Name: "/dev/vda on / (ext4, mount count 3)", Fingerprint: [32]byte{0xff, 1}}}},
		{"empty name and zero fingerprint", []Filesystem{{Device: "0:0"}}},
		{"longest name and device", []Filesystem{{Device: "4294967295:4294967295", Name: strings.Repeat("n", MaxFilesystemField), Fingerprint: [32]byte{31: 9}}}},
		{"binary name", []Filesystem{{Device: "7:1", Name: "\x00\xff/dev/loop1\n"}, {Device: "7:1", Name: "same device twice"}}},
		{"many", fsList(60, 20)},
		{"filling the header", fullHeader().Filesystems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testHeader()
			if tt.name == "filling the header" {
				h = fullHeader()
			}
			h.Filesystems = tt.fs
			b := writeImageHeader(t, h, smallRuns, WriteOptions{PagesPerChunk: 2})
			im, err := Open(&memFile{b: b}, int64(len(b)), Key{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			got := im.Header()
			if !slices.Equal(got.Filesystems, tt.fs) || got.Identity != h.Identity || got.Release != h.Release {
				t.Fatalf("Filesystems = %+v, want %+v", got.Filesystems, tt.fs)
			}
			// The header returned is a copy: changing it leaves the image's alone.
			if len(got.Filesystems) > 0 {
				got.Filesystems[0].Name = "changed"
				if im.Header().Filesystems[0].Name == "changed" {
					t.Error("Header() shares its Filesystems with the Image")
				}
			}
			s, err := Inspect(&memFile{b: b}, int64(len(b)))
			if err != nil || s.State != "valid" || !slices.Equal(s.Filesystems, tt.fs) && len(tt.fs) > 0 {
				t.Fatalf("Inspect = %+v, %v", s, err)
			}
		})
	}
}

func TestFilesystemsRefused(t *testing.T) {
	over := fullHeader()
	over.Identity += "x"
	tooMany := testHeader()
	tooMany.Filesystems = fsList(HeaderVarSize/34+1, 0)
	tooMuchText := testHeader()
	tooMuchText.Filesystems = fsList(20, MaxFilesystemField)
	longName := testHeader()
	longName.Filesystems = []Filesystem{{Device: "8:1", Name: strings.Repeat("n", MaxFilesystemField+1)}}
	longDevice := testHeader()
	longDevice.Filesystems = []Filesystem{{Device: strings.Repeat("1", MaxFilesystemField) + ":1"}}
	badDevice := testHeader()
	badDevice.Filesystems = []Filesystem{{Device: "8:1"}, {Device: "8:x", Name: "vdb"}}
	tests := []struct {
		name     string
		h        Header
		full     bool   // error wraps ErrHeaderFull
		contains string // error text
	}{
		{"one byte over", over, true, "3761 bytes, the header has room for 3760 (HeaderVarSize)"},
		{"too many filesystems", tooMany, true, "HeaderVarSize"},
		{"too much text", tooMuchText, true, "20 filesystem records"},
		{"name too long", longName, false, "name is 256 bytes, at most 255 (MaxFilesystemField)"},
		{"device too long", longDevice, false, "device is 257 bytes, at most 255 (MaxFilesystemField)"},
		{"device not MAJOR:MINOR", badDevice, false, `filesystem 1: device "8:x" is not MAJOR:MINOR`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &memFile{}
			_, err := Write(f, tt.h, smallRuns, patternSource{}, WriteOptions{Rand: detRand(1)})
			if err == nil || errors.Is(err, ErrHeaderFull) != tt.full || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("Write = %v; want an error containing %q (ErrHeaderFull %v)", err, tt.contains, tt.full)
			}
			if len(f.b) != 0 {
				t.Errorf("refused Write wrote %d bytes", len(f.b))
			}
		})
	}
}

func TestMailboxRoundTrip(t *testing.T) {
	for _, mb := range []uint64{0, PageSize, 0x9f000, 1 << 40, 1<<64 - PageSize} {
		t.Run(fmt.Sprintf("%#x", mb), func(t *testing.T) {
			h := testHeader()
			h.Mailbox = mb
			b := writeImageHeader(t, h, smallRuns, WriteOptions{})
			im, err := Open(&memFile{b: b}, int64(len(b)), Key{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := im.Header().Mailbox; got != mb {
				t.Errorf("Mailbox = %#x, want %#x", got, mb)
			}
			s, err := Inspect(&memFile{b: b}, int64(len(b)))
			if err != nil || s.Mailbox != mb {
				t.Errorf("Inspect = %+v, %v; want mailbox %#x", s, err, mb)
			}
		})
	}
}

// TestHeaderVarRejects edits the header's variable area and reseals every
// checksum, so the header's structural checks alone must reject the image.
func TestHeaderVarRejects(t *testing.T) {
	// orig has room after its records; full's records end at the hash.
	h := testHeader()
	orig := writeImageHeader(t, h, smallRuns, WriteOptions{PagesPerChunk: 2})
	hf := fillIdentity(h)
	full := writeImageHeader(t, hf, smallRuns, WriteOptions{PagesPerChunk: 2})
	rec0 := varOff + len(h.Release) + len(h.Identity) // first filesystem record
	rec1 := rec0 + h.Filesystems[0].recordSize()
	end := rec1 + h.Filesystems[1].recordSize()
	frec1 := varOff + len(hf.Release) + len(hf.Identity) + hf.Filesystems[0].recordSize()
	fname1 := frec1 + 1 + len(hf.Filesystems[1].Device) // name length of full's record 1
	tests := []struct {
		name   string
		full   bool
		edit   func(b []byte)
		detail string
	}{
		{"count one too many", false, func(b []byte) { le.PutUint16(b[offFSCount:], 3) }, `filesystem record 2: device "" is not MAJOR:MINOR`},
		{"count one too many, full", true, func(b []byte) { le.PutUint16(b[offFSCount:], 3) }, "filesystem record 2 runs past"},
		{"count cannot fit", false, func(b []byte) { le.PutUint16(b[offFSCount:], 200) }, "200 filesystem records cannot fit"},
		{"count cannot fit, full", true, func(b []byte) { le.PutUint16(b[offFSCount:], 5) }, "5 filesystem records cannot fit in 136 bytes"},
		{"count one too few", false, func(b []byte) { le.PutUint16(b[offFSCount:], 1) }, "padding not zero"},
		{"reserved after count", false, func(b []byte) { b[offReserved2] = 1 }, "reserved field not zero"},
		{"strings too long", false, func(b []byte) { le.PutUint16(b[offIDLen:], HeaderVarSize) }, "exceeds 3760"},
		{"device longer", false, func(b []byte) { b[rec0]++ }, `device "253:0#"`},
		{"device shorter", false, func(b []byte) { b[rec0] = 3 }, `device "253"`},
		{"device runs past the area", true, func(b []byte) { b[frec1] = 255 }, "filesystem record 1 runs past"},
		{"name runs past the area", true, func(b []byte) { b[fname1]++ }, "filesystem record 1 runs past"},
		{"padding after records", false, func(b []byte) { b[end+10] = 1 }, "padding not zero"},
		{"padding at the end", false, func(b []byte) { b[hashOff-1] = 1 }, "padding not zero"},
		{"unaligned mailbox", false, func(b []byte) { le.PutUint64(b[offMailbox:], 0x9f001) }, "not page aligned"},
		{"zero pages overflow", false, func(b []byte) { le.PutUint64(b[offZeroPages:], 1<<52) }, "zero pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(orig)
			if tt.full {
				b = bytes.Clone(full)
			}
			tt.edit(b)
			reseal(b)
			im, err := Open(&memFile{b: b}, int64(len(b)), Key{})
			var fe *FormatError
			if im != nil || !errors.Is(err, ErrCorrupt) || !errors.As(err, &fe) || fe.Where != "header" || !strings.Contains(fe.Detail, tt.detail) {
				t.Fatalf("Open = %v, %v; want a header ErrCorrupt saying %q", im, err, tt.detail)
			}
			if _, err := Inspect(&memFile{b: b}, int64(len(b))); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Inspect = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestInspectJSON(t *testing.T) {
	b := writeImage(t, smallRuns, WriteOptions{PagesPerChunk: 2})
	s, err := Inspect(&memFile{b: b}, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Pages       uint64 `json:"pages"`
		ZeroPages   uint64 `json:"zero_pages"`
		Mailbox     uint64 `json:"mailbox"`
		Filesystems []struct {
			Device, Name, Fingerprint string
		} `json:"filesystems"`
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	h := testHeader()
	if got.Pages != 8 || got.ZeroPages != 9 || got.Mailbox != h.Mailbox || len(got.Filesystems) != len(h.Filesystems) {
		t.Fatalf("JSON %s", js)
	}
	for i, f := range got.Filesystems {
		want := h.Filesystems[i]
		if f.Device != want.Device || f.Name != want.Name || f.Fingerprint != hex.EncodeToString(want.Fingerprint[:]) {
			t.Errorf("filesystem %d in JSON = %+v, want %+v with hex fingerprint", i, f, want)
		}
	}
	// The summary decodes back into a Summary, fingerprints included.
	var back Summary
	if err := json.Unmarshal(js, &back); err != nil || !slices.Equal(back.Filesystems, h.Filesystems) {
		t.Errorf("Summary round trip = %+v, %v", back.Filesystems, err)
	}
	// An image without filesystems shows an empty list, not null.
	h.Filesystems = nil
	b = writeImageHeader(t, h, nil, WriteOptions{})
	s, err = Inspect(&memFile{b: b}, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if js, _ := json.Marshal(s); !bytes.Contains(js, []byte(`"filesystems":[]`)) || !bytes.Contains(js, []byte(`"zero_pages":0`)) {
		t.Errorf("JSON of an image without filesystems: %s", js)
	}
}

func TestFilesystemUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Filesystem
		ok   bool
	}{
		{`{"device":"8:1","name":"sda1","fingerprint":"` + strings.Repeat("ab", 32) + `"}`, Filesystem{Device: "8:1", Name: "sda1", Fingerprint: [32]byte(bytes.Repeat([]byte{0xab}, 32))}, true},
		{`{"device":"8:1","fingerprint":"abcd"}`, Filesystem{}, false},
		{`{"device":"8:1","fingerprint":"` + strings.Repeat("zz", 32) + `"}`, Filesystem{}, false},
		{`{"device":"8:1"}`, Filesystem{}, false},
		{`[1]`, Filesystem{}, false},
	}
	for _, tt := range tests {
		var f Filesystem
		err := json.Unmarshal([]byte(tt.in), &f)
		if (err == nil) != tt.ok || f != tt.want {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v ok=%v", tt.in, f, err, tt.want, tt.ok)
		}
	}
}
