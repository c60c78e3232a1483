package extents

import "testing"

// manyExtents is a map of n extents of one page each, scattered on the device.
func manyExtents(n int) *Map {
	m := &Map{Device: "254:0", Size: int64(n) * 4096}
	for i := range n {
		m.Extents = append(m.Extents, Extent{Logical: uint64(i) * 4096, Physical: uint64((i*7919)%n) * 4096, Length: 4096})
	}
	return m
}

func BenchmarkFileReadAt(b *testing.B) {
	m := manyExtents(4096)
	f, err := NewFile(&memDev{b: make([]byte, m.Size)}, m)
	if err != nil {
		b.Fatal(err)
	}
	p := make([]byte, 1<<20)
	b.SetBytes(int64(len(p)))
	for i := 0; b.Loop(); i++ {
		off := int64(i%15) * int64(len(p))
		if _, err := f.ReadAt(p, off+100); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalBinary(b *testing.B) {
	data, err := manyExtents(4096).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var m Map
		if err := m.UnmarshalBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}
