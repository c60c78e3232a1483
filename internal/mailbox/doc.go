// Package mailbox is how two kernels of a kexec jump pass data: a page of the first
// kernel's memory whose physical address the second kernel is told (a kernel
// parameter or a command flag) and reads and writes through /dev/mem.
//
// The first kernel (Open) allocates an anonymous page, locks it, finds its
// physical address in /proc/self/pagemap, and checks that it lies outside the
// memory the jump swaps (the second kernel's region): a page there would be moved
// away during the jump. The process keeps the page until it reads the reply.
//
// Layout of the page (little-endian):
//
//	0   8 bytes   magic "KJMAILBX"
//	8   uint32    version (1)
//	12  uint32    state: 0 empty, 1 request, 2 done, 3 failed, 4 working, 5 committed
//	16  uint64    sequence number of the request; a reply repeats it
//	24  uint32    payload length
//	28  uint32    CRC-32 (Castagnoli) of the payload
//	32  …         payload, at most 4064 bytes (kjump puts JSON there)
//
// The writer sets state last, after the payload and its checksum, and a reader
// checks magic, version, length and checksum, so a torn or stale page is never
// taken for a message.
package mailbox
