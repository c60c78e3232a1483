// Package image implements the kjump hibernation image: the on-disk format
// in which a second (kexec-jumped) kernel saves the first kernel's memory to
// a raw device, and from which a resume kernel restores it.
//
// An image is written once and resumed at most once. The writer puts the
// pages down first and a commit record last, so an interrupted write is
// never mistaken for an image (ErrIncomplete). The reader checks everything
// before a single page is restored: Open checks the header, the page map,
// every chunk header and the commit record; Verify also reads, authenticates
// and decompresses every chunk and reports all problems it finds. The resume
// kernel then calls MarkConsumed, which destroys the commit record's magic,
// so the same image is never resumed twice (ErrConsumed).
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
//	120  u64  number of runs in the page map
//	128  u64  number of saved pages
//	136  u64  number of chunks = ceil(pages / pages per chunk)
//	144  u64  map offset (4096)
//	152  u64  map length = align4096(runs*16 + 32)
//	160  u64  data offset = map offset + map length
//	168  u32  compression: 0 = zstd, 1 = none
//	172  u32  KDF: 0 = none (raw 32-byte key), 1 = Argon2id (passphrase)
//	176  u32  Argon2id time (passes)
//	180  u32  Argon2id memory, KiB
//	184  u32  Argon2id threads
//	188  u32  reserved, zero
//	192  [32] Argon2id salt
//	224  [32] key check = HMAC-SHA256(master, "kjump/image/v1/check" || UUID)
//	256  u64  data length (multiple of 4096)
//	264  u64  commit record offset = data offset + data length
//	272  u64  total image length = commit offset + 4096
//	280  u16  release string length R
//	282  u16  identity string length I
//	284  [R]  release string, then [I] identity string (R+I <= 3780), then zeros
//	4064 [32] SHA-256 of bytes 0..4063
//
// Bytes 172..255 are zero in an unencrypted image; 176..223 are zero for a
// raw key.
//
// Page map (offset 4096): one 16-byte entry per run, {u64 first PFN, u64
// page count}, sorted by PFN, disjoint and non-empty; then zeros; the last
// 32 bytes of the map are the SHA-256 of everything before them in the map.
//
// Chunks (from the data offset): the saved pages are concatenated in map
// order and cut into chunks of pages-per-chunk pages (the last may be
// shorter). Each chunk is a 64-byte chunk header, the stored bytes, and zero
// padding to the next 4096-byte boundary:
//
//	 0  [4]  magic "KJCH"
//	 4  u32  zero
//	 8  u64  chunk index
//	16  u32  raw length (pages in the chunk * 4096)
//	20  u32  stored length
//	24  u32  encoding: 0 = raw pages, 1 = zstd frame (used only when smaller)
//	28  u32  zero
//	32  [32] SHA-256 of the stored bytes
//
// Chunks are compressed independently, in parallel; the output is
// byte-identical for any number of workers.
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
// (bytes 256..279) and hash zeroed, followed by the chunk's u64 index, u32
// raw length and u32 encoding. The commit MAC authenticates the whole
// header, map and chunk headers. A wrong key fails the key check (ErrKey);
// a modified chunk fails its digest, the MAC or the GCM tag (ErrCorrupt).
package image
