package dmesg

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/kjump/kjump/pageclass"
	"github.com/kjump/kjump/vmcoreinfo"
)

// Memory is the dumped kernel's virtual memory (pageclass.AddressSpace).
type Memory interface {
	ReadVirt(p []byte, virt uint64) error
}

// Record is one message of the log.
type Record struct {
	Seq      uint64
	TSNsec   uint64 // nanoseconds since boot (the local clock)
	CallerID uint32 // a task ID, or a CPU number with bit 31 set
	Text     []byte
}

// ErrCorrupt: a ring buffer whose sizes no kernel uses.
var ErrCorrupt = errors.New("corrupt printk ring buffer")

const (
	idBits         = 62
	idMask         = 1<<idBits - 1
	stateCommitted = 1
	stateFinalized = 2
	// maxCountBits and maxSizeBits bound the rings a kernel can have
	// (log_buf_len is at most 2 GiB; count_bits is size_bits - 5).
	maxCountBits = 31
	maxSizeBits  = 31
)

// layout holds the offsets and sizes of the ring buffer's structures.
type layout struct {
	prb                                      uint64
	rbSize, descRing, textRing               int64
	countBits, descs, infos, headID, tailID  int64
	sizeBits, data                           int64
	descSize, stateVar, textBegin, textNext  int64
	infoSize, seq, tsNsec, textLen, callerID int64
	counter                                  int64
}

func newLayout(info *vmcoreinfo.Info) (*layout, error) {
	var err error
	off := func(name string) int64 {
		v, ok := info.Offset(name)
		if !ok && err == nil {
			err = &pageclass.VmcoreinfoError{Key: "OFFSET(" + name + ")", Err: pageclass.ErrMissing}
		}
		return v
	}
	size := func(name string) int64 {
		v, ok := info.Size(name)
		if !ok && err == nil {
			err = &pageclass.VmcoreinfoError{Key: "SIZE(" + name + ")", Err: pageclass.ErrMissing}
		}
		return v
	}
	prb, ok := info.Symbol("prb")
	if !ok {
		return nil, fmt.Errorf("dmesg: no lockless printk ring buffer (a kernel before 5.10 keeps its log in log_buf, which kjump does not read): %w",
			&pageclass.VmcoreinfoError{Key: "SYMBOL(prb)", Err: pageclass.ErrMissing})
	}
	l := &layout{
		prb:       prb,
		rbSize:    size("printk_ringbuffer"),
		descRing:  off("printk_ringbuffer.desc_ring"),
		textRing:  off("printk_ringbuffer.text_data_ring"),
		countBits: off("prb_desc_ring.count_bits"),
		descs:     off("prb_desc_ring.descs"),
		infos:     off("prb_desc_ring.infos"),
		headID:    off("prb_desc_ring.head_id"),
		tailID:    off("prb_desc_ring.tail_id"),
		sizeBits:  off("prb_data_ring.size_bits"),
		data:      off("prb_data_ring.data"),
		descSize:  size("prb_desc"),
		stateVar:  off("prb_desc.state_var"),
		textBegin: off("prb_desc.text_blk_lpos") + off("prb_data_blk_lpos.begin"),
		textNext:  off("prb_desc.text_blk_lpos") + off("prb_data_blk_lpos.next"),
		infoSize:  size("printk_info"),
		seq:       off("printk_info.seq"),
		tsNsec:    off("printk_info.ts_nsec"),
		textLen:   off("printk_info.text_len"),
		callerID:  off("printk_info.caller_id"),
		counter:   off("atomic_long_t.counter"),
	}
	if err != nil {
		return nil, fmt.Errorf("dmesg: %w", err)
	}
	// Every field must lie inside its structure, and the structures be of
	// sizes a kernel has.
	for _, f := range []struct {
		what      string
		off, n, s int64
	}{
		{"printk_ringbuffer", 0, 0, l.rbSize},
		{"desc_ring.count_bits", l.descRing + l.countBits, 4, l.rbSize},
		{"desc_ring.descs", l.descRing + l.descs, 8, l.rbSize},
		{"desc_ring.infos", l.descRing + l.infos, 8, l.rbSize},
		{"desc_ring.head_id", l.descRing + l.headID + l.counter, 8, l.rbSize},
		{"desc_ring.tail_id", l.descRing + l.tailID + l.counter, 8, l.rbSize},
		{"text_data_ring.size_bits", l.textRing + l.sizeBits, 4, l.rbSize},
		{"text_data_ring.data", l.textRing + l.data, 8, l.rbSize},
		{"prb_desc.state_var", l.stateVar + l.counter, 8, l.descSize},
		{"prb_desc.text_blk_lpos.begin", l.textBegin, 8, l.descSize},
		{"prb_desc.text_blk_lpos.next", l.textNext, 8, l.descSize},
		{"printk_info.seq", l.seq, 8, l.infoSize},
		{"printk_info.ts_nsec", l.tsNsec, 8, l.infoSize},
		{"printk_info.text_len", l.textLen, 2, l.infoSize},
		{"printk_info.caller_id", l.callerID, 4, l.infoSize},
	} {
		if f.s <= 0 || f.s > 4096 || f.off < 0 || f.off+f.n > f.s {
			return nil, fmt.Errorf("dmesg: %s at %d (%d bytes) in a structure of %d: %w", f.what, f.off, f.n, f.s, ErrCorrupt)
		}
	}
	return l, nil
}

// Each calls fn with each record of the log, oldest first. The record's
// Text is valid only during the call. An error of fn stops Each and is
// returned.
func Each(info *vmcoreinfo.Info, mem Memory, fn func(Record) error) error {
	l, err := newLayout(info)
	if err != nil {
		return err
	}
	var ptr [8]byte
	if err := mem.ReadVirt(ptr[:], l.prb); err != nil {
		return fmt.Errorf("dmesg: reading prb at %#x: %w", l.prb, err)
	}
	rbAddr := binary.LittleEndian.Uint64(ptr[:])
	rb := make([]byte, l.rbSize)
	if err := mem.ReadVirt(rb, rbAddr); err != nil {
		return fmt.Errorf("dmesg: reading the printk_ringbuffer at %#x: %w", rbAddr, err)
	}
	u64 := func(b []byte, off int64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	countBits := binary.LittleEndian.Uint32(rb[l.descRing+l.countBits:])
	sizeBits := binary.LittleEndian.Uint32(rb[l.textRing+l.sizeBits:])
	if countBits > maxCountBits || sizeBits > maxSizeBits {
		return fmt.Errorf("dmesg: %d descriptors, %d bytes of text: %w", uint64(1)<<countBits, uint64(1)<<sizeBits, ErrCorrupt)
	}
	count, ringSize := uint64(1)<<countBits, uint64(1)<<sizeBits
	descs, infos := u64(rb, l.descRing+l.descs), u64(rb, l.descRing+l.infos)
	data := u64(rb, l.textRing+l.data)
	head := u64(rb, l.descRing+l.headID+l.counter) & idMask
	tail := u64(rb, l.descRing+l.tailID+l.counter) & idMask

	desc := make([]byte, l.descSize)
	inf := make([]byte, l.infoSize)
	var text []byte
	// At most count records: a tail further back than that is corrupt.
	for n, id := uint64(0), tail; n < count; n, id = n+1, (id+1)&idMask {
		slot := id % count
		if err := mem.ReadVirt(desc, descs+slot*uint64(l.descSize)); err != nil {
			return fmt.Errorf("dmesg: descriptor %d: %w", id, err)
		}
		sv := u64(desc, l.stateVar+l.counter)
		state := sv >> idBits
		if sv&idMask == id && (state == stateCommitted || state == stateFinalized) {
			begin, next := u64(desc, l.textBegin)%ringSize, u64(desc, l.textNext)%ringSize
			if begin != next {
				if err := mem.ReadVirt(inf, infos+slot*uint64(l.infoSize)); err != nil {
					return fmt.Errorf("dmesg: info %d: %w", id, err)
				}
				if begin > next {
					begin = 0 // the block starts the ring over
				}
				begin += 8 // the block's copy of the ID
				tlen := uint64(binary.LittleEndian.Uint16(inf[l.textLen:]))
				if next < begin {
					tlen = 0
				} else {
					tlen = min(tlen, next-begin)
				}
				if uint64(cap(text)) < tlen {
					text = make([]byte, tlen)
				}
				text = text[:tlen]
				if tlen > 0 {
					if err := mem.ReadVirt(text, data+begin); err != nil {
						return fmt.Errorf("dmesg: text of record %d: %w", id, err)
					}
				}
				r := Record{
					Seq:      u64(inf, l.seq),
					TSNsec:   u64(inf, l.tsNsec),
					CallerID: binary.LittleEndian.Uint32(inf[l.callerID:]),
					Text:     text,
				}
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		if id == head {
			return nil
		}
	}
	return fmt.Errorf("dmesg: no head record %d within %d records of the tail %d: %w", head, count, tail, ErrCorrupt)
}

// Write writes the log of the kernel info describes, read from mem, to w
// as makedumpfile --dump-dmesg does (see the package documentation).
func Write(w io.Writer, info *vmcoreinfo.Info, mem Memory) error {
	bw := bufio.NewWriter(w)
	if err := Each(info, mem, func(r Record) error {
		writeRecord(bw, r)
		return nil
	}); err != nil {
		return err
	}
	return bw.Flush()
}

func writeRecord(w *bufio.Writer, r Record) {
	prefix := fmt.Sprintf("[%5d.%06d] ", r.TSNsec/1e9, r.TSNsec%1e9/1000)
	w.WriteString(prefix)
	for _, c := range r.Text {
		switch {
		case c == '\n':
			w.WriteByte('\n')
			for range len(prefix) {
				w.WriteByte(' ')
			}
		case c >= 0x20 && c < 0x7f, c == ' ', c == '\t', c == '\v', c == '\f', c == '\r':
			w.WriteByte(c)
		default:
			fmt.Fprintf(w, "\\x%02x", c)
		}
	}
	w.WriteByte('\n')
}
