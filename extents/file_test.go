package extents

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// memDev is a block device in memory that counts accesses.
type memDev struct {
	b          []byte
	reads      int
	writes     int
	failAfter  int // fail accesses after this many (0: never)
	shortWrite bool
}

var errDevice = errors.New("device failure")

func (d *memDev) ReadAt(p []byte, off int64) (int, error) {
	d.reads++
	if d.failAfter > 0 && d.reads > d.failAfter {
		return 0, errDevice
	}
	if off >= int64(len(d.b)) {
		return 0, io.EOF
	}
	n := copy(p, d.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (d *memDev) WriteAt(p []byte, off int64) (int, error) {
	d.writes++
	if d.failAfter > 0 && d.writes > d.failAfter {
		return 0, errDevice
	}
	if d.shortWrite {
		return len(p) / 2, nil
	}
	if off+int64(len(p)) > int64(len(d.b)) {
		n := copy(d.b[off:], p)
		return n, errors.New("write beyond the device")
	}
	return copy(d.b[off:], p), nil
}

// testMap has extents out of physical order, of different lengths.
var testMap = Map{Device: "8:1", Size: 40, Extents: []Extent{
	{Logical: 0, Physical: 100, Length: 10},
	{Logical: 10, Physical: 20, Length: 5},
	{Logical: 15, Physical: 60, Length: 24},
	{Logical: 39, Physical: 0, Length: 1},
}}

// physOf is the device offset of file byte i, the slow obvious way.
func physOf(m *Map, i int64) int64 {
	for _, e := range m.Extents {
		if uint64(i) >= e.Logical && uint64(i) < e.Logical+e.Length {
			return int64(e.Physical + uint64(i) - e.Logical)
		}
	}
	panic("unmapped")
}

func newDev() *memDev {
	d := &memDev{b: make([]byte, 200)}
	for i := range d.b {
		d.b[i] = byte(i)
	}
	return d
}

func TestFileReadAt(t *testing.T) {
	tests := []struct {
		name    string
		off     int64
		n       int
		want    int   // bytes read
		wantErr error // nil, io.EOF or a sentinel
		pieces  int   // device reads
	}{
		{"inside one extent", 2, 5, 5, nil, 1},
		{"exactly one extent", 10, 5, 5, nil, 1},
		{"ends at a boundary", 12, 3, 3, nil, 1},
		{"starts at a boundary", 15, 4, 4, nil, 1},
		{"spans two", 8, 4, 4, nil, 2},
		{"spans three", 9, 7, 7, nil, 3},
		{"whole file", 0, 40, 40, nil, 4},
		{"last byte", 39, 1, 1, nil, 1},
		{"straddles the end", 35, 10, 5, io.EOF, 2},
		{"at the end", 40, 1, 0, io.EOF, 0},
		{"past the end", 100, 1, 0, io.EOF, 0},
		{"empty at the end", 40, 0, 0, nil, 0},
		{"empty inside", 3, 0, 0, nil, 0},
		{"negative offset", -1, 1, 0, ErrOutOfRange, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := newDev()
			f, err := NewFile(dev, &testMap)
			if err != nil {
				t.Fatal(err)
			}
			p := make([]byte, tt.n)
			n, err := f.ReadAt(p, tt.off)
			if n != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; want %d, %v", tt.n, tt.off, n, err, tt.want, tt.wantErr)
			}
			for i := range n {
				if want := byte(physOf(&testMap, tt.off+int64(i))); p[i] != want {
					t.Errorf("byte %d of the file = %d, want %d", tt.off+int64(i), p[i], want)
				}
			}
			if dev.reads != tt.pieces {
				t.Errorf("%d device reads, want %d", dev.reads, tt.pieces)
			}
		})
	}
}

func TestFileWriteAt(t *testing.T) {
	tests := []struct {
		name    string
		off     int64
		n       int
		wantErr error
		pieces  int
	}{
		{"inside one extent", 1, 3, nil, 1},
		{"spans two", 13, 5, nil, 2},
		{"spans all", 0, 40, nil, 4},
		{"ends at the end", 30, 10, nil, 2},
		{"empty at the end", 40, 0, nil, 0},
		{"straddles the end", 35, 6, ErrOutOfRange, 0},
		{"past the end", 41, 1, ErrOutOfRange, 0},
		{"negative offset", -2, 4, ErrOutOfRange, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := newDev()
			before := bytes.Clone(dev.b)
			f, err := NewFile(dev, &testMap)
			if err != nil {
				t.Fatal(err)
			}
			p := make([]byte, tt.n)
			for i := range p {
				p[i] = byte(0xA0 + i)
			}
			n, err := f.WriteAt(p, tt.off)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("WriteAt(%d bytes, %d) = %d, %v; want error %v", tt.n, tt.off, n, err, tt.wantErr)
			}
			want := bytes.Clone(before)
			if err == nil {
				if n != tt.n {
					t.Fatalf("wrote %d bytes, want %d", n, tt.n)
				}
				for i := range p {
					want[physOf(&testMap, tt.off+int64(i))] = p[i]
				}
			} else if n != 0 {
				t.Fatalf("a refused write wrote %d bytes", n)
			}
			if !bytes.Equal(dev.b, want) {
				t.Errorf("device after the write:\n got %v\nwant %v", dev.b, want)
			}
			if dev.writes != tt.pieces {
				t.Errorf("%d device writes, want %d", dev.writes, tt.pieces)
			}
		})
	}
}

func TestFileDeviceErrors(t *testing.T) {
	t.Run("device too small", func(t *testing.T) {
		f, err := NewFile(&memDev{b: make([]byte, 105)}, &testMap)
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.ReadAt(make([]byte, 10), 0)
		if n != 5 || !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt = %d, %v; want 5, io.ErrUnexpectedEOF", n, err)
		}
	})
	t.Run("read fails in the second extent", func(t *testing.T) {
		f, _ := NewFile(&memDev{b: make([]byte, 200), failAfter: 1}, &testMap)
		n, err := f.ReadAt(make([]byte, 12), 0)
		if n != 10 || !errors.Is(err, errDevice) {
			t.Fatalf("ReadAt = %d, %v; want 10, errDevice", n, err)
		}
	})
	t.Run("write fails in the second extent", func(t *testing.T) {
		f, _ := NewFile(&memDev{b: make([]byte, 200), failAfter: 1}, &testMap)
		n, err := f.WriteAt(make([]byte, 12), 0)
		if n != 10 || !errors.Is(err, errDevice) {
			t.Fatalf("WriteAt = %d, %v; want 10, errDevice", n, err)
		}
	})
	t.Run("short write", func(t *testing.T) {
		f, _ := NewFile(&memDev{b: make([]byte, 200), shortWrite: true}, &testMap)
		n, err := f.WriteAt(make([]byte, 8), 0)
		if n != 4 || !errors.Is(err, io.ErrShortWrite) {
			t.Fatalf("WriteAt = %d, %v; want 4, io.ErrShortWrite", n, err)
		}
	})
}

func TestNewFileRefusesInvalidMap(t *testing.T) {
	m := testMap
	m.Size = 41
	if _, err := NewFile(newDev(), &m); !errors.Is(err, ErrInvalidMap) {
		t.Fatalf("NewFile with a map short of its size: %v, want ErrInvalidMap", err)
	}
}

func TestNewFileCopiesMap(t *testing.T) {
	m := testMap
	m.Extents = append([]Extent(nil), testMap.Extents...)
	f, err := NewFile(newDev(), &m)
	if err != nil {
		t.Fatal(err)
	}
	m.Extents[0].Physical = 0
	p := make([]byte, 1)
	if _, err := f.ReadAt(p, 0); err != nil || p[0] != 100 {
		t.Fatalf("after the caller changed its map, byte 0 = %d, %v; want 100", p[0], err)
	}
}

// A File works with io.SectionReader, which relies on ReadAt's io.EOF.
func TestFileSectionReader(t *testing.T) {
	f, _ := NewFile(newDev(), &testMap)
	got, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 {
		t.Fatalf("read %d bytes, want 40", len(got))
	}
	for i, b := range got {
		if want := byte(physOf(&testMap, int64(i))); b != want {
			t.Fatalf("byte %d = %d, want %d", i, b, want)
		}
	}
}
