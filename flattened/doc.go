// Package flattened writes makedumpfile's flattened format: a dump file
// (kdump-compressed or ELF) sent as a stream, down a pipe or over ssh, where
// the writer cannot seek to the offsets it writes at. makedumpfile -R
// rebuilds the file from the stream; crash opens a flattened file as it
// is. kjump dump -F writes it, as makedumpfile -F does.
//
// # The format
//
// The stream starts with a 4096-byte header: the signature "makedumpfile"
// padded with zeros to 16 bytes, the type (1) and the version (1) as
// big-endian 64-bit integers, zeros to the end. Records follow, each a
// big-endian 64-bit offset in the dump file and a 64-bit size, then that
// many bytes, which go at that offset. Records may come in any order, and a
// later record overwrites what an earlier one wrote. A record whose offset
// and size are both -1 ends the stream: a stream without it was cut short.
//
// Measured with makedumpfile 1.7.2: its own -F output has this header and
// records of up to 65532 bytes; -R takes records of 64 KiB and more, fails
// on a record of size 0, and on a stream cut short waits for more at the
// end of its input, forever.
//
// # The writer
//
// Writer is an io.WriterAt: every WriteAt becomes records of at most 64 KiB
// (so that no reader needs a larger buffer than for makedumpfile's own
// streams), written through a buffer; Sync flushes it and Close writes the
// end record. Only Close says the stream is complete, so a dump that fails
// midway must not call it.
package flattened
