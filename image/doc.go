// Package image implements the kjump hibernation image: the on-disk format
// in which a second (kexec-jumped) kernel saves the first kernel's memory to
// a raw device, and from which a resume kernel restores it.
//
// An image is written once and resumed at most once. The writer puts the
// pages down first and a commit record last, so an interrupted write is
// never mistaken for an image (ErrIncomplete). The reader checks everything
// before a single page is restored: Open checks the header, the page map,
// every chunk header and the commit record; Verify also reads, authenticates
// and decompresses every chunk and reports all problems it finds; CheckChunks
// reads every chunk and checks its stored bytes against the CRC-32C in its
// header (which the commit record, and for an encrypted image its MAC, cover),
// without decoding, so a resume decodes each chunk once. The resume kernel
// then calls MarkConsumed, which destroys the commit record's magic,
// so the same image is never resumed twice (ErrConsumed).
//
// The page map lists the saved system's pages as runs sorted by page frame
// number: data runs, whose pages are stored (compressed, optionally
// encrypted) in chunks, and zero runs, which hold only zero pages, are not
// stored, and are cleared by the restorer. The header also names the saved
// kernel, a mailbox page where the resume kernel may leave a report for the
// resumed system, and the filesystems the saved system had mounted, with a
// fingerprint of each, so that resume can be refused when one of them was
// mounted elsewhere in between.
//
// # Layout
//
// All integers are little-endian. Every structure starts on a 4096-byte
// boundary (BlockSize), so the image can live on a raw block device, which
// may be larger than the image. Unused bytes are zero and are checked.
//
//	offset 0             header block        4096 bytes
//	offset 4096          page map            MapLen bytes (multiple of 4096)
//	offset DataOff       chunks              DataLen bytes (each chunk 4096-aligned)
//	offset CommitOff     commit record       4096 bytes
//	                     total Length = CommitOff + 4096
//
// Header block (offset 0, 4096 bytes):
//
//	  0  [8]  magic "KJHIBER1"
//	  8  u32  format version (1)
//	 12  u32  flags: bit 0 = encrypted; other bits zero
//	 16  u32  block size (4096)
//	 20  u32  page size (4096)
//	 24  [16] image UUID (random, fresh for every image)
//	 40  i64  creation time, Unix nanoseconds
//	 48  u64  RAM size of the saved system, bytes
//	 56  [32] memory-map hash (caller-provided)
//	 88  u32  CPU count
//	 92  u32  pages per chunk (1..4096)
//	 96  u64  jump-back entry (physical address)
//	104  u64  second kernel region start
//	112  u64  second kernel region size
//	120  u64  mailbox: physical address of a page of the saved system where
//	          the resume kernel may leave a report (page aligned; 0 = none)
//	128  u64  number of runs in the page map (data and zero runs)
//	136  u64  number of data pages (pages in data runs, stored in chunks)
//	144  u64  number of zero pages (pages in zero runs, not stored)
//	152  u64  number of chunks = ceil(data pages / pages per chunk)
//	160  u64  map offset (4096)
//	168  u64  map length = align4096(runs*16 + 32)
//	176  u64  data offset = map offset + map length
//	184  u32  compression: 0 = zstd, 1 = none, 2 = lz4
//	188  u32  KDF: 0 = none (raw 32-byte key), 1 = Argon2id (passphrase)
//	192  u32  Argon2id time (passes)
//	196  u32  Argon2id memory, KiB
//	200  u32  Argon2id threads
//	204  u32  reserved, zero
//	208  [32] Argon2id salt
//	240  [32] key check = HMAC-SHA256(master, "kjump/image/v1/check" || UUID)
//	272  u64  data length (multiple of 4096)
//	280  u64  commit record offset = data offset + data length
//	288  u64  total image length = commit offset + 4096
//	296  u16  release string length R
//	298  u16  identity string length I
//	300  u16  filesystem record count F
//	302  u16  reserved, zero
//	304  ...  variable area (3760 bytes): [R] release string, [I] identity
//	          string, F filesystem records, then zeros up to 4064
//	4064 [32] SHA-256 of bytes 0..4063
//
// Bytes 188..271 are zero in an unencrypted image; 192..239 are zero for a
// raw key.
//
// A filesystem record describes a block device the saved system had
// mounted, so the resume side can refuse to resume when it was mounted
// elsewhere since:
//
//	    0  u8   device length D (3..21)
//	    1  [D]  device, "MAJOR:MINOR" as in /proc/self/mountinfo: two
//	            numbers of 1..10 decimal digits joined by a colon
//	  1+D  u8   name length N (0..255)
//	  2+D  [N]  name, human text ("/dev/vda on / (ext4, mount count 3)")
//	2+D+N  [32] fingerprint (caller-defined)
//
// R + I + the records' sizes (34 + D + N each) must fit in the 3760 bytes.
//
// Page map (offset 4096): one 16-byte entry per run, {u64 first PFN, u64
// count}, sorted by PFN, disjoint (adjacent runs are allowed) and non-empty.
// Bit 63 of the count marks a zero run, whose pages hold only zeros and are
// not stored: the restorer clears them. The other 63 bits are the page count,
// never 0, and PFN + count <= 2^52. Then zeros; the last 32 bytes of the map
// are the SHA-256 of everything before them in the map. The data runs' pages
// add up to the header's data pages, the zero runs' to its zero pages.
//
// Chunks (from the data offset): the pages of the data runs are
// concatenated in map order (zero runs are skipped) and cut into chunks of
// pages-per-chunk pages (the last may be shorter); an image of zero runs
// alone has no chunks. Each chunk is a 64-byte chunk header, the stored
// bytes, and zero padding to the next 4096-byte boundary:
//
//	 0  [4]  magic "KJCH"
//	 4  u32  zero
//	 8  u64  chunk index
//	16  u32  raw length (pages in the chunk * 4096)
//	20  u32  stored length
//	24  u32  encoding: 0 = raw pages, 1 = zstd frame, 2 = LZ4 block (either used
//	         only when smaller, and only in an image of that compression)
//	28  u32  zero
//	32  u32  CRC-32C (Castagnoli) of the stored bytes
//	36  [28] zero
//
// Chunks are compressed independently, in parallel; the output is
// byte-identical for any number of workers. A writer may store any chunk raw
// (encoding 0) in a compressed image: WriteOptions.Adaptive compresses only
// as many chunks as the workers keep ahead of the disk with (its output then
// depends on timing). Readers have always accepted raw chunks there, so the
// format (version 1) is unchanged.
//
// Commit record (at the commit offset, 4096 bytes), written last:
//
//	  0  [8]  magic "KJCOMMIT" ("KJUSED\0\0" once consumed)
//	  8  [16] image UUID (must equal the header's; a stale record from an
//	          older image on the same device is ErrIncomplete)
//	 24  u32  format version (1), then u32 zero
//	 32  u64  total image length
//	 40  [32] image digest = SHA-256(header block || page map ||
//	          SHA-256(chunk header 0) || SHA-256(chunk header 1) || ...)
//	 72  [32] MAC = HMAC-SHA256(mac key, image digest) if encrypted, else zero
//	104  ...  zeros
//	4064 [32] SHA-256 of bytes 8..4063
//
// # Write order
//
// Write first overwrites block 0 with a begin marker (the magic and version,
// rest zero), so an older image on the device stops being valid; then the
// chunks, the page map and the header; then (after Sync, if the writer has
// one) the commit record, and Sync again.
//
// # Encryption
//
// When a Key is given, every chunk's stored bytes are AES-256-GCM sealed
// (after compression). The 32-byte master key is a raw key (a key file) or
// Argon2id(passphrase, salt, time, memory, threads) with the parameters in
// the header. From it and the image UUID, HMAC-SHA256 derives a per-image
// chunk key ("kjump/image/v1/chunk"), a MAC key ("kjump/image/v1/commit")
// and the key check value ("kjump/image/v1/check"). Because the chunk key
// is unique to the image, the 12-byte nonce is simply 4 zero bytes and the
// u64 chunk index, and never repeats under one key. The associated data of
// a chunk is SHA-256 of the header block with its data-dependent fields
// (bytes 272..295) and hash zeroed, followed by the chunk's u64 index, u32
// raw length and u32 encoding. The commit MAC authenticates the whole
// header, map and chunk headers. A wrong key fails the key check (ErrKey);
// a modified chunk fails its digest, the MAC or the GCM tag (ErrCorrupt).
package image
