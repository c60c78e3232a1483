package extents

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

func TestMarshalBinaryLayout(t *testing.T) {
	m := Map{Device: "8:1", Size: 8192, Extents: []Extent{{0, 0x10000, 4096}, {4096, 0x3000, 4096}}}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	want = append(want, "KJEXTMAP"...)
	want = append(want, 1, 0, 0, 0)                // version
	want = append(want, 3, 0, 0, 0)                // device name length
	want = append(want, 0, 0x20, 0, 0, 0, 0, 0, 0) // size 8192
	want = append(want, 2, 0, 0, 0, 0, 0, 0, 0)    // 2 extents
	want = append(want, "8:1"...)
	for _, v := range []uint64{0, 0x10000, 4096, 4096, 0x3000, 4096} {
		want = binary.LittleEndian.AppendUint64(want, v)
	}
	want = binary.LittleEndian.AppendUint32(want, crc32.Checksum(want, crc32.MakeTable(crc32.Castagnoli)))
	if !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary:\n got %x\nwant %x", b, want)
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, m := range []Map{testMap, {Device: "0:0", Size: 0}, {Device: "4095:1048575", Size: 1 << 62, Extents: []Extent{{0, 1<<62 - 1, 1 << 62}}}} {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Map
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(&m) {
			t.Fatalf("round trip: got %+v, want %+v", got, m)
		}
	}
}

func TestMarshalBinaryRefusesInvalid(t *testing.T) {
	m := Map{Device: "8:1", Size: 10, Extents: []Extent{{0, 0, 5}}}
	if b, err := m.MarshalBinary(); !errors.Is(err, ErrInvalidMap) || b != nil {
		t.Fatalf("MarshalBinary of an invalid map = %x, %v", b, err)
	}
}

// reseal recomputes the checksum of an encoding whose body was edited.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli))
}

func TestUnmarshalBinaryRefuses(t *testing.T) {
	good, err := testMap.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	put64 := func(off int, v uint64) []byte {
		return edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[off:], v); return reseal(b) })
	}
	put32 := func(off int, v uint32) []byte {
		return edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return reseal(b) })
	}
	ext := headerSize + len(testMap.Device)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than a header"},
		{"truncated", good[:len(good)-1], "checksum"},
		{"trailing byte", append(bytes.Clone(good), 0), "checksum"},
		{"trailing byte, resealed", reseal(append(good[:len(good)-4:len(good)-4], 0, 0, 0, 0, 0)), "do not hold"},
		{"magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), "magic"},
		{"version", put32(8, 2), "version 2"},
		{"flipped bit", edit(func(b []byte) []byte { b[ext+3] ^= 1; return b }), "checksum"},
		{"device length zero", put32(12, 0), "device name of 0 bytes"},
		{"device length huge", put32(12, 1<<31), "device name of"},
		{"device length off by one", put32(12, 4), "do not hold"},
		{"count too large", put64(24, 5), "do not hold"},
		{"count huge", put64(24, 1<<62), "do not hold"},
		{"count too small", put64(24, 3), "do not hold"},
		{"size beyond 2^63", put64(16, 1<<63), "beyond 2^63"},
		{"size mismatch", put64(16, 41), "cover [0, 0x28)"},
		{"bad device", edit(func(b []byte) []byte { b[headerSize] = 'x'; return reseal(b) }), "MAJOR:MINOR"},
		{"hole", put64(ext+24, 11), "hole"},
		{"zero length", put64(ext+16, 0), "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Map{Device: "1:2", Size: 3}
			err := m.UnmarshalBinary(tt.data)
			if !errors.Is(err, ErrInvalidMap) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("UnmarshalBinary = %v; want ErrInvalidMap containing %q", err, tt.want)
			}
			if m.Device != "1:2" || m.Size != 3 || m.Extents != nil {
				t.Fatalf("a failed UnmarshalBinary changed the map to %+v", m)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	b, err := json.Marshal(&Map{Device: "8:1", Size: 4096, Extents: []Extent{{0, 8192, 4096}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"device":"8:1","size":4096,"extents":[{"logical":0,"physical":8192,"length":4096}]}`
	if string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
}

func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, m := range []Map{testMap, {Device: "0:0"}, {Device: "254:0", Size: 4096, Extents: []Extent{{0, 1 << 30, 4096}}}} {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzUnmarshalBinary: a decoded map is valid and encodes back to the same
// bytes; a refused one leaves the receiver alone.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
		f.Add(s[:len(s)/2])
	}
	f.Add([]byte("KJEXTMAP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
	})
}

// FuzzUnmarshalBinaryBody fuzzes what lies under the checksum: the fuzzer's
// bytes get a correct CRC-32C, so the field and map checks are reached.
func FuzzUnmarshalBinaryBody(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s[:len(s)-4])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode(t, binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli)))
	})
}

func checkDecode(t *testing.T, data []byte) {
	m := Map{Device: "1:2", Size: 3}
	if err := m.UnmarshalBinary(data); err != nil {
		if !errors.Is(err, ErrInvalidMap) {
			t.Fatalf("error %v does not match ErrInvalidMap", err)
		}
		if m.Device != "1:2" || m.Size != 3 || m.Extents != nil {
			t.Fatalf("a failed UnmarshalBinary changed the map to %+v", m)
		}
		return
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("decoded an invalid map: %v", err)
	}
	again, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary of a decoded map: %v", err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("round trip changed the bytes:\n got %x\nwant %x", again, data)
	}
	f, err := NewFile(&memDev{b: nil}, &m)
	if err != nil || f.Size() != m.Size {
		t.Fatalf("NewFile of a decoded map: %v", err)
	}
}
