package dmesg

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzEach: whatever the ring buffer's memory holds (the printk_ringbuffer,
// its descriptors, infos and text, cut from the input), Each ends, without
// a panic, having read at most one record per descriptor.
func FuzzEach(f *testing.F) {
	r := newRing()
	r.tail, r.head = 10, 12
	r.add(10, 2, 0, 40, 1e9, "first", 5)
	r.add(11, 2, 40, 80, 2e9, "second\nline", 11)
	r.add(12, 2, 240, 296, 3e9, "wraps", 5)
	m := r.memory()
	f.Add(bytes.Join([][]byte{m[rbAddr], r.descs, r.infos, r.data}, nil))
	in := info(f, layout612)
	f.Fuzz(func(t *testing.T, b []byte) {
		take := func(n int) []byte {
			p := make([]byte, n)
			b = b[copy(p, b):]
			return p
		}
		rb := take(88)
		mem := memory{prbSym: binary.LittleEndian.AppendUint64(nil, rbAddr), rbAddr: rb,
			descAddr: take(24 << countBits), infoAddr: take(88 << countBits), dataAddr: take(1 << sizeBits)}
		n := 0
		Each(in, mem, func(r Record) error {
			n++
			if len(r.Text) > 1<<16 {
				t.Fatalf("a text of %d bytes", len(r.Text))
			}
			return nil
		})
		if bits := rb[0]; bits <= maxCountBits && n > 1<<bits {
			t.Fatalf("%d records from %d descriptors", n, 1<<bits)
		}
	})
}
