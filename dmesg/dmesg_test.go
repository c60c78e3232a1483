package dmesg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/vmcoreinfo"
)

// The layout of Linux 6.12 on x86_64, as its VMCOREINFO gives it.
const layout612 = `SYMBOL(prb)=ffffffff81000000
SIZE(printk_ringbuffer)=88
OFFSET(printk_ringbuffer.desc_ring)=0
OFFSET(printk_ringbuffer.text_data_ring)=48
OFFSET(printk_ringbuffer.fail)=80
SIZE(prb_desc_ring)=48
OFFSET(prb_desc_ring.count_bits)=0
OFFSET(prb_desc_ring.descs)=8
OFFSET(prb_desc_ring.infos)=16
OFFSET(prb_desc_ring.head_id)=24
OFFSET(prb_desc_ring.tail_id)=32
SIZE(prb_desc)=24
OFFSET(prb_desc.state_var)=0
OFFSET(prb_desc.text_blk_lpos)=8
SIZE(prb_data_blk_lpos)=16
OFFSET(prb_data_blk_lpos.begin)=0
OFFSET(prb_data_blk_lpos.next)=8
SIZE(printk_info)=88
OFFSET(printk_info.seq)=0
OFFSET(printk_info.ts_nsec)=8
OFFSET(printk_info.text_len)=16
OFFSET(printk_info.caller_id)=20
OFFSET(printk_info.dev_info)=24
SIZE(prb_data_ring)=32
OFFSET(prb_data_ring.size_bits)=0
OFFSET(prb_data_ring.data)=8
OFFSET(atomic_long_t.counter)=0
`

// Where the synthetic kernel keeps its ring buffer.
const (
	prbSym   = 0xffffffff81000000
	rbAddr   = 0xffffffff81001000
	descAddr = 0xffffffff81002000
	infoAddr = 0xffffffff81003000
	dataAddr = 0xffffffff81004000
)

// memory is a kernel's virtual memory made of regions.
type memory map[uint64][]byte

func (m memory) ReadVirt(p []byte, virt uint64) error {
	for base, b := range m {
		if virt >= base && virt-base <= uint64(len(b)) && uint64(len(p)) <= uint64(len(b))-(virt-base) {
			copy(p, b[virt-base:])
			return nil
		}
	}
	return fmt.Errorf("%#x: %w", virt, pageclass.ErrNotMapped)
}

// ring builds a ring buffer of 8 descriptors and 256 bytes of text.
type ring struct {
	descs, infos, data []byte
	head, tail         uint64
}

const (
	countBits = 3
	sizeBits  = 8
)

func newRing() *ring {
	return &ring{descs: make([]byte, 24<<countBits), infos: make([]byte, 88<<countBits), data: make([]byte, 1<<sizeBits)}
}

// add writes record id with its text block at logical positions begin to
// next (the block's ID, then the text), in state.
func (r *ring) add(id, state, begin, next uint64, ts uint64, text string, textLen int) {
	slot := id % (1 << countBits)
	d := r.descs[slot*24:]
	binary.LittleEndian.PutUint64(d, state<<62|id)
	binary.LittleEndian.PutUint64(d[8:], begin)
	binary.LittleEndian.PutUint64(d[16:], next)
	in := r.infos[slot*88:]
	binary.LittleEndian.PutUint64(in, id+100) // seq
	binary.LittleEndian.PutUint64(in[8:], ts)
	binary.LittleEndian.PutUint16(in[16:], uint16(textLen))
	size := uint64(len(r.data))
	at := begin % size
	if at > next%size { // wrapped: the block starts the ring over
		at = 0
	}
	binary.LittleEndian.PutUint64(r.data[at:], id)
	copy(r.data[at+8:], text)
}

func (r *ring) memory() memory {
	rb := make([]byte, 88)
	rb[0] = countBits
	binary.LittleEndian.PutUint64(rb[8:], descAddr)
	binary.LittleEndian.PutUint64(rb[16:], infoAddr)
	binary.LittleEndian.PutUint64(rb[24:], r.head)
	binary.LittleEndian.PutUint64(rb[32:], r.tail)
	rb[48] = sizeBits
	binary.LittleEndian.PutUint64(rb[56:], dataAddr)
	ptr := binary.LittleEndian.AppendUint64(nil, rbAddr)
	return memory{prbSym: ptr, rbAddr: rb, descAddr: r.descs, infoAddr: r.infos, dataAddr: r.data}
}

func info(t testing.TB, text string) *vmcoreinfo.Info {
	t.Helper()
	i, err := vmcoreinfo.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestWrite: every kind of record, and the output makedumpfile writes
// for them.
func TestWrite(t *testing.T) {
	r := newRing()
	r.tail, r.head = 10, 17
	r.add(10, 2, 40, 80, 1_500_000_000, "first: finalized", 16)
	r.add(11, 1, 80, 128, 2_000_001_000, "second: committed\nand a second line", 35)
	r.add(12, 0, 128, 140, 3e9, "reserved", 8)
	r.add(13, 3, 140, 150, 3e9, "reusable", 8)
	r.add(14, 2, 150, 150, 3e9, "", 0) // no text block
	// 40 bytes of block: 8 of ID, 32 of text, of which text_len 40 is cut
	// to 32: the 19 bytes written and 13 zeros.
	r.add(15, 2, 150, 190, 4e9, "truncated message!!", 40)
	r.add(16, 2, 190, 220, 123456789_000_000_000, "bytes \x01\x7f\xc3\xa9\t", 11)
	r.add(17, 2, 240, 256+40, 5e9, "wraps to the start", 18) // begin 240 > next 40: at 0
	want := "[    1.500000] first: finalized\n" +
		"[    2.000001] second: committed\n" +
		"               and a second line\n" +
		"[    4.000000] truncated message!!" + strings.Repeat("\\x00", 13) + "\n" +
		"[123456789.000000] bytes \\x01\\x7f\\xc3\\xa9\t\n" +
		"[    5.000000] wraps to the start\n"
	var got bytes.Buffer
	if err := Write(&got, info(t, layout612), r.memory()); err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Errorf("got\n%s\nwant\n%s", got.String(), want)
	}
}

// TestReusedSlot: a descriptor whose ID is not the one asked for (its slot
// was reused by a newer record) is skipped.
func TestReusedSlot(t *testing.T) {
	r := newRing()
	r.tail, r.head = 3, 4
	r.add(3+8, 2, 0, 20, 1e9, "newer, in slot 3", 16) // ID 11 in the slot of 3
	r.add(4, 2, 20, 40, 2e9, "four", 4)
	var got bytes.Buffer
	if err := Write(&got, info(t, layout612), r.memory()); err != nil {
		t.Fatal(err)
	}
	if want := "[    2.000000] four\n"; got.String() != want {
		t.Errorf("got %q, want %q", got.String(), want)
	}
}

// TestRefuses: a kernel without the lockless ring buffer, a layout or a
// ring no kernel has, and a head the tail never reaches are errors.
func TestRefuses(t *testing.T) {
	r := newRing()
	r.tail, r.head = 0, 0
	r.add(0, 2, 0, 16, 0, "x", 1)
	far := newRing()
	far.tail, far.head = 0, 100 // more than 8 records apart
	huge := newRing()
	hm := huge.memory()
	hm[rbAddr][0] = 40 // 2^40 descriptors
	for _, tc := range []struct {
		name string
		info string
		mem  memory
		want error
	}{
		{"no prb", strings.Replace(layout612, "SYMBOL(prb)", "SYMBOL(log_buf)", 1), r.memory(), pageclass.ErrMissing},
		{"no offset", strings.Replace(layout612, "OFFSET(printk_info.text_len)", "OFFSET(printk_info.text_length)", 1), r.memory(), pageclass.ErrMissing},
		{"offset past its struct", strings.Replace(layout612, "OFFSET(printk_info.text_len)=16", "OFFSET(printk_info.text_len)=87", 1), r.memory(), ErrCorrupt},
		{"head out of reach", layout612, far.memory(), ErrCorrupt},
		{"2^40 descriptors", layout612, hm, ErrCorrupt},
		{"unmapped ring", layout612, memory{prbSym: binary.LittleEndian.AppendUint64(nil, rbAddr)}, pageclass.ErrNotMapped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Write(&bytes.Buffer{}, info(t, tc.info), tc.mem); !errors.Is(err, tc.want) {
				t.Errorf("Write: %v, want %v", err, tc.want)
			}
		})
	}
}
