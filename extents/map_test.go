package extents

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := func(e ...Extent) []Extent { return e }
	tests := []struct {
		name string
		m    Map
		want string // substring of the error; "" for valid
	}{
		{"valid", testMap, ""},
		{"empty file", Map{Device: "8:0", Size: 0}, ""},
		{"one extent", Map{Device: "254:0", Size: 4096, Extents: ok(Extent{0, 1 << 40, 4096})}, ""},
		{"largest device number", Map{Device: "4095:1048575", Size: 1, Extents: ok(Extent{0, 0, 1})}, ""},
		{"device without colon", Map{Device: "8", Size: 0}, "not MAJOR:MINOR"},
		{"device with leading zero", Map{Device: "08:1", Size: 0}, "decimal"},
		{"device with sign", Map{Device: "+8:1", Size: 0}, "decimal"},
		{"device with junk", Map{Device: "8:1x", Size: 0}, "decimal"},
		{"empty device", Map{Size: 0}, "not MAJOR:MINOR"},
		{"major too big", Map{Device: "4096:0", Size: 0}, "out of range"},
		{"minor too big", Map{Device: "8:1048576", Size: 0}, "out of range"},
		{"negative size", Map{Device: "8:0", Size: -1}, "negative size"},
		{"no extents for a size", Map{Device: "8:0", Size: 10}, "cover [0, 0x0)"},
		{"empty extent", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, 0, 10}, Extent{10, 50, 0})}, "is empty"},
		{"hole at the start", Map{Device: "8:0", Size: 10, Extents: ok(Extent{2, 0, 8})}, "hole [0x0, 0x2)"},
		{"hole in the middle", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, 0, 4}, Extent{5, 10, 5})}, "hole [0x4, 0x5)"},
		{"overlap", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, 0, 6}, Extent{5, 10, 5})}, "overlaps or is out of order"},
		{"out of order", Map{Device: "8:0", Size: 10, Extents: ok(Extent{5, 10, 5}, Extent{0, 0, 5})}, "hole [0x0, 0x5)"},
		{"short of the size", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, 0, 8})}, "cover [0, 0x8)"},
		{"beyond the size", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, 0, 12})}, "beyond the size"},
		{"physical overflow", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, math.MaxUint64 - 4, 10})}, "beyond 2^63"},
		{"physical beyond int64", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, math.MaxInt64 - 4, 10})}, "beyond 2^63"},
		{"logical overflow", Map{Device: "8:0", Size: math.MaxInt64, Extents: ok(Extent{0, 0, math.MaxUint64})}, "beyond 2^63"},
		{"shared device bytes", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, 100, 5}, Extent{5, 104, 5})}, "share device bytes"},
		{"shared device bytes, reversed", Map{Device: "8:0", Size: 10, Extents: ok(Extent{0, 104, 5}, Extent{5, 100, 5})}, "share device bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidMap) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v; want ErrInvalidMap containing %q", err, tt.want)
			}
		})
	}
}

func TestBuildExtents(t *testing.T) {
	const path = "/f"
	tests := []struct {
		name    string
		raw     []rawExtent
		size    uint64
		want    []Extent
		wantErr error
		msg     string
	}{
		{name: "empty", size: 0},
		{name: "one", raw: []rawExtent{{0, 4096, 8192, extentLast}}, size: 8192, want: []Extent{{0, 4096, 8192}}},
		{name: "merges neighbours on disk", size: 12288,
			raw:  []rawExtent{{0, 4096, 4096, 0}, {4096, 8192, 4096, extentMerged}, {8192, 12288, 4096, extentLast}},
			want: []Extent{{0, 4096, 12288}}},
		{name: "keeps apart what is apart on disk", size: 8192,
			raw:  []rawExtent{{0, 4096, 4096, 0}, {4096, 65536, 4096, extentLast}},
			want: []Extent{{0, 4096, 4096}, {4096, 65536, 4096}}},
		{name: "clips the last block to the size", size: 4096,
			raw: []rawExtent{{0, 65536, 65536, extentLast}}, want: []Extent{{0, 65536, 4096}}},
		{name: "ignores preallocation beyond the end", size: 4096,
			raw:  []rawExtent{{0, 4096, 4096, 0}, {4096, 8192, 1 << 20, extentUnwritten | extentShared | extentLast}},
			want: []Extent{{0, 4096, 4096}}},
		{name: "hole at the start", size: 8192, raw: []rawExtent{{4096, 0, 4096, extentLast}}, wantErr: ErrHole, msg: "no blocks at [0x0, 0x1000)"},
		{name: "hole inside", size: 12288, raw: []rawExtent{{0, 0, 4096, 0}, {8192, 8192, 4096, extentLast}}, wantErr: ErrHole, msg: "[0x1000, 0x2000)"},
		{name: "hole at the end", size: 12288, raw: []rawExtent{{0, 0, 4096, extentLast}}, wantErr: ErrHole, msg: "[0x1000, 0x3000)"},
		{name: "no extents", size: 4096, wantErr: ErrHole},
		{name: "overlap", size: 8192, raw: []rawExtent{{0, 0, 8192, 0}, {4096, 65536, 4096, extentLast}}, wantErr: ErrInvalidMap, msg: "overlapping"},
		{name: "zero length", size: 8192, raw: []rawExtent{{0, 0, 0, 0}}, wantErr: ErrInvalidMap, msg: "bad extent"},
		{name: "physical overflow", size: 8192, raw: []rawExtent{{0, math.MaxUint64 - 100, 8192, 0}}, wantErr: ErrInvalidMap, msg: "bad extent"},
		{name: "unwritten", size: 4096, raw: []rawExtent{{0, 0, 4096, extentUnwritten | extentLast}}, wantErr: ErrUnsafeExtent, msg: "allocated but not written"},
		{name: "shared", size: 4096, raw: []rawExtent{{0, 0, 4096, extentShared}}, wantErr: ErrShared, msg: "cp --reflink=never"},
		{name: "delalloc", size: 4096, raw: []rawExtent{{0, 0, 4096, extentDelalloc | extentUnknown}}, wantErr: ErrUnsafeExtent, msg: "delayed allocation"},
		{name: "unknown", size: 4096, raw: []rawExtent{{0, 0, 4096, extentUnknown}}, wantErr: ErrUnsafeExtent, msg: "does not know"},
		{name: "encoded", size: 4096, raw: []rawExtent{{0, 0, 4096, extentEncoded}}, wantErr: ErrUnsafeExtent, msg: "compressed"},
		{name: "encrypted", size: 4096, raw: []rawExtent{{0, 0, 4096, extentDataEncrypted}}, wantErr: ErrUnsafeExtent, msg: "fscrypt"},
		{name: "inline", size: 4096, raw: []rawExtent{{0, 0, 4096, extentDataInline | extentNotAligned}}, wantErr: ErrUnsafeExtent, msg: "inline"},
		{name: "tail", size: 4096, raw: []rawExtent{{0, 0, 4096, extentDataTail | extentNotAligned}}, wantErr: ErrUnsafeExtent, msg: "tail packing"},
		{name: "not aligned", size: 4096, raw: []rawExtent{{0, 0, 4096, extentNotAligned}}, wantErr: ErrUnsafeExtent, msg: "not block aligned"},
		{name: "flag from the future", size: 4096, raw: []rawExtent{{0, 0, 4096, 0x10000}}, wantErr: ErrUnsafeExtent, msg: "flags 0x10000"},
		{name: "bad flag in the second extent", size: 8192,
			raw: []rawExtent{{0, 0, 4096, 0}, {4096, 4096, 4096, extentShared}}, wantErr: ErrShared, msg: "at [0x1000, 0x2000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := buildExtents(path, tt.raw, tt.size)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.msg) || got != nil {
					t.Fatalf("buildExtents = %v, %v; want nil, %v containing %q", got, err, tt.wantErr, tt.msg)
				}
				var e *Error
				if !errors.As(err, &e) || e.Path != path || e.Hint == "" {
					t.Fatalf("error %#v is not an *Error with the path and a fix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("buildExtents = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("buildExtents = %v, want %v", got, tt.want)
				}
			}
			m := Map{Device: "8:0", Size: int64(tt.size), Extents: got}
			if err := m.Validate(); err != nil {
				t.Fatalf("the built map is invalid: %v", err)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	a := Map{Device: "8:0", Size: 8192, Extents: []Extent{{0, 0, 4096}, {4096, 8192, 4096}}}
	tests := []struct {
		name string
		b    Map
		want string
	}{
		{"same", a, "no difference"},
		{"device", Map{Device: "8:1", Size: 8192}, "device 8:0, now 8:1"},
		{"size", Map{Device: "8:0", Size: 4096}, "size 8192, now 4096"},
		{"moved", Map{Device: "8:0", Size: 8192, Extents: []Extent{{0, 0, 4096}, {4096, 65536, 4096}}}, "extent 1 was"},
		{"fewer", Map{Device: "8:0", Size: 8192, Extents: []Extent{{0, 0, 4096}}}, "2 extents, now 1"},
		{"more", Map{Device: "8:0", Size: 8192, Extents: []Extent{{0, 0, 4096}, {4096, 8192, 4096}, {8192, 0, 1}}}, "2 extents, now 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diff(&a, &tt.b); !strings.Contains(got, tt.want) {
				t.Errorf("diff = %q, want it to contain %q", got, tt.want)
			}
			if eq := a.Equal(&tt.b); eq != (tt.name == "same") {
				t.Errorf("Equal = %v", eq)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Path: "/x", Detail: "file /x is on tmpfs, which has no disk blocks", Hint: "put it on a disk filesystem or give a raw device", Err: ErrNotSupported}
	want := "extents: file /x is on tmpfs, which has no disk blocks; put it on a disk filesystem or give a raw device"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(e, ErrNotSupported) || errors.Is(e, ErrNotOneDevice) {
		t.Errorf("errors.Is does not match Kind only")
	}
}
