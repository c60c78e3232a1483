package prefix

import (
	"bytes"
	"testing"
)

func TestLen(t *testing.T) {
	long := bytes.Repeat([]byte("abcdefgh"), 40)
	for _, c := range []struct {
		a, b []byte
		want int
	}{
		{nil, nil, 0},
		{[]byte("abc"), []byte("abd"), 2},
		{[]byte("abc"), []byte("abc"), 3},
		{long, long, len(long)},
		{long, append(bytes.Clone(long[:200]), 'x'), 200},
		{long, append(bytes.Clone(long[:70]), 'x'), 70},
		{[]byte("xyz"), []byte("a"), 0},
	} {
		if got := Len(c.a, c.b); got != c.want {
			t.Errorf("Len(%d bytes, %d bytes) = %d, want %d", len(c.a), len(c.b), got, c.want)
		}
	}
}
