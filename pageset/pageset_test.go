package pageset

import (
	"bytes"
	"testing"
)

func TestBitmapSetRange(t *testing.T) {
	for _, tc := range []struct {
		n, start, end uint64
		want          uint64 // Count
	}{
		{100, 0, 0, 0},
		{100, 5, 5, 0},
		{100, 0, 1, 1},
		{100, 3, 9, 6},
		{100, 60, 70, 10},  // across a word
		{200, 0, 128, 128}, // whole words
		{200, 1, 199, 198},
		{200, 150, 1000, 50}, // clipped
		{64, 0, 64, 64},
		{65, 63, 65, 2},
	} {
		b := New(tc.n)
		b.SetRange(tc.start, tc.end)
		if got := b.Count(); got != tc.want {
			t.Errorf("n %d SetRange(%d, %d): Count = %d, want %d", tc.n, tc.start, tc.end, got, tc.want)
		}
		for pfn := range tc.n + 2 {
			want := pfn >= tc.start && pfn < min(tc.end, tc.n)
			if b.Test(pfn) != want {
				t.Errorf("n %d SetRange(%d, %d): Test(%d) = %v", tc.n, tc.start, tc.end, pfn, !want)
			}
		}
	}
}

func TestBitmapNextAndRank(t *testing.T) {
	b := New(10000)
	set := []uint64{0, 1, 63, 64, 65, 4095, 4096, 4097, 8191, 9999}
	for _, pfn := range set {
		b.Set(pfn)
	}
	b.Set(5000)
	b.Clear(5000)
	var got []uint64
	for pfn, ok := b.Next(0); ok; pfn, ok = b.Next(pfn + 1) {
		got = append(got, pfn)
	}
	if len(got) != len(set) {
		t.Fatalf("Next walk = %v, want %v", got, set)
	}
	r := NewRank(b)
	for i, pfn := range set {
		if got[i] != pfn {
			t.Fatalf("Next walk = %v, want %v", got, set)
		}
		if got := r.Below(pfn); got != uint64(i) {
			t.Errorf("Below(%d) = %d, want %d", pfn, got, i)
		}
		if got := r.Below(pfn + 1); got != uint64(i+1) {
			t.Errorf("Below(%d) = %d, want %d", pfn+1, got, i+1)
		}
	}
	if got := r.Below(1 << 40); got != uint64(len(set)) {
		t.Errorf("Below(past the end) = %d", got)
	}
	if _, ok := b.Next(10000); ok {
		t.Error("Next past the end found a bit")
	}
}

func TestBitmapBytes(t *testing.T) {
	// The on-disk order: bit pfn%8 of byte pfn/8.
	b := New(20)
	for _, pfn := range []uint64{0, 3, 9, 19} {
		b.Set(pfn)
	}
	got := make([]byte, 16)
	b.PutBytes(got, 0)
	want := []byte{0x09, 0x02, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("PutBytes = % x, want % x", got, want)
	}
	back := New(20)
	back.FillBytes(append(want[:3:3], 0xff), 0) // bits past Len are dropped
	if !back.Equal(b) {
		t.Error("FillBytes did not give the set back")
	}
	if back.Count() != 4 {
		t.Errorf("Count after FillBytes = %d", back.Count())
	}
}

func TestBitmapSetOutOfRange(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Set past Len did not panic")
		}
	}()
	New(10).Set(10)
}
