// Package dmesg reads the kernel log out of a dumped kernel's memory (Linux
// 5.10 and later: the lockless printk ring buffer) and writes it as
// makedumpfile --dump-dmesg does, for kjump dump --dump-dmesg.
//
// # The ring buffer
//
// Everything is found through VMCOREINFO, which describes the structures of
// kernel/printk/printk_ringbuffer.h: SYMBOL(prb) is a pointer to the struct
// printk_ringbuffer. Its desc_ring holds 2^count_bits descriptors (struct
// prb_desc: an atomic state_var and the text block's logical positions
// begin and next) in the array descs, and as many struct printk_info (seq,
// ts_nsec, text_len, caller_id, …) in the parallel array infos; head_id and
// tail_id are the newest and oldest descriptor IDs. Its text_data_ring is
// 2^size_bits bytes at data.
//
// A record's ID selects descriptor and info ID mod 2^count_bits. The
// descriptor's state_var holds the ID in its low 62 bits and the state in
// the top 2: 0 reserved (being written), 1 committed, 2 finalized, 3
// reusable. Only committed and finalized records whose ID matches are read
// (a mismatch is a slot already reused). The text block lies at begin mod
// 2^size_bits up to next mod 2^size_bits; a block that would have wrapped
// starts at the ring's first byte instead (begin > next after the modulo).
// A block starts with the record's ID (8 bytes), then the text; text_len
// longer than the block (a truncated message) is cut to the block. A block
// with begin == next has no text (a record whose text was dropped).
//
// Records are read from tail_id to head_id, IDs wrapping in 62 bits, one
// descriptor, one info and one text block at a time: memory stays bounded
// by the largest record, whatever the ring's size.
//
// # The output
//
// As makedumpfile 1.7.2 (Debian 12) writes it: each record as
// "[%5d.%06d] " (seconds and microseconds of ts_nsec) then its text and a
// newline; a newline inside the text continues on a new line indented by
// the prefix's width; printable ASCII and white space are written as they
// are, any other byte as \xNN. (makedumpfile prints bytes from 0x80 up as
// \xffffffNN, its C char being signed; kjump writes \xNN as the kernel's
// /dev/kmsg does. Later makedumpfile versions add the caller ID, [T123],
// which Debian 12's does not.)
package dmesg
