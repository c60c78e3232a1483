package flattened

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzRebuild: Rebuild never panics, refuses with its errors or the
// writer's, and rebuilds a stream Writer made into what was written.
func FuzzRebuild(f *testing.F) {
	// Small seeds: the header and a few short records.
	small := []write{{100, []byte("kdump")}, {0, []byte("KDUMP   ")}, {98, []byte("overlap")}}
	f.Add(stream(f, small, true))
	f.Add(stream(f, small[:1], false))
	f.Add(stream(f, nil, true))
	f.Fuzz(func(t *testing.T, in []byte) {
		m := memFile{limit: 1 << 22}
		size, err := Rebuild(bytes.NewReader(in), &m)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCutShort) && err.Error() != "past the limit" {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if size != int64(len(m.b)) {
			t.Fatalf("size %d, wrote %d", size, len(m.b))
		}
		// What Rebuild rebuilt, streamed again by Writer, rebuilds the same.
		again, complete := rebuild(t, stream(t, []write{{0, m.b}}, true))
		if !complete || !bytes.Equal(again, m.b) {
			t.Fatal("a rebuilt file does not survive a second round")
		}
	})
}
