// Package cpio reads and writes cpio archives in the SVR4 "newc" format
// (magic "070701"), the format the Linux kernel unpacks into its rootfs at
// boot (an initramfs).
//
// # The newc format, byte by byte
//
// An archive is a sequence of entries followed by an end marker. Each entry
// is a 110-byte header of ASCII text, the entry's name, and the entry's data:
//
//	offset  size  field       meaning
//	     0     6  c_magic     the six characters "070701"
//	     6     8  c_ino       inode number
//	    14     8  c_mode      st_mode: file type bits | permission bits
//	    22     8  c_uid       owner
//	    30     8  c_gid       group
//	    38     8  c_nlink     number of links
//	    46     8  c_mtime     modification time, seconds since 1970
//	    54     8  c_filesize  length of the data that follows the name
//	    62     8  c_devmajor  device holding the file (major)
//	    70     8  c_devminor  device holding the file (minor)
//	    78     8  c_rdevmajor device node: its major number
//	    86     8  c_rdevminor device node: its minor number
//	    94     8  c_namesize  length of the name including its final NUL
//	   102     8  c_check     checksum; always zero in newc
//
// Every number is written as exactly eight hexadecimal digits padded with
// '0' on the left (4780 is "000012AC"). The name follows the header, ends
// with a NUL byte, and is followed by NUL bytes so that header plus name is
// a multiple of 4 bytes long. The data follows, again padded with NUL bytes to
// a multiple of 4; every header therefore starts 4-aligned. A regular file's
// data is its contents; a symbolic link's data is its target, without a
// final NUL; directories and device nodes carry no data (c_filesize 0). The
// archive ends with an entry named "TRAILER!!!" with every number zero except
// c_nlink (1) and c_namesize (11). Like GNU cpio and the kernel's
// gen_init_cpio, this package writes hex digits in upper case and pads the
// whole archive with NUL bytes to a multiple of 512 after the trailer;
// readers accept either case and ignore what follows the trailer.
//
// The kernel's reader is described in
// Documentation/driver-api/early-userspace/buffer-format.rst. It also
// accepts the "crc" variant (magic "070702", c_check the 32-bit sum of the
// data bytes); this package neither writes nor reads it. The kernel limits
// names and symbolic link targets to PATH_MAX (4096 bytes with the NUL) and
// silently skips entries that break its rules, so [Writer] refuses such
// entries with an error instead.
//
// [Writer.Close] writes the trailer; [Reader.Next] returns [io.EOF] once it
// has read it. Every error from this package is an [*Error], which wraps one
// of the sentinel errors (ErrBadMagic, ErrTruncated, …) for [errors.Is].
package cpio
