// Package extents lets a kexec-jumped kernel write a file of the first
// kernel's filesystem without mounting it: the first kernel pins the file to
// known disk blocks, the other kernel reads and writes those blocks on the raw
// block device.
//
// The first kernel calls Prepare: it creates (or reuses) a file of exactly the
// requested size, a multiple of 4096 bytes, allocates it (fallocate) and writes
// every block with zeros through the filesystem (preallocated but unwritten
// extents would read back as zeros whatever is written to them raw), syncs it
// and asks the filesystem where the blocks are with the FS_IOC_FIEMAP ioctl
// (FIEMAP_FLAG_SYNC). The answer is a Map: the device holding the file
// ("MAJOR:MINOR" of its st_dev) and Extents, each a run of the file
// [Logical, Logical+Length) at device bytes [Physical, Physical+Length),
// sorted, covering [0, Size) with no hole. Prepare refuses, with an *Error
// that names the cause and the fix and matches a sentinel (errors.Is):
// filesystems without disk blocks or FIEMAP, such as tmpfs (ErrNotSupported);
// files whose offsets are not offsets on one plain block device the other
// kernel can open: btrfs (found by its statfs magic; its FIEMAP offsets are in
// its own multi-device logical space), bcachefs, ZFS, overlayfs, device-mapper
// (LVM, dm-crypt), loop, md RAID, RAM disks, XFS realtime files
// (ErrNotOneDevice); extents flagged unknown, delayed, encoded, encrypted,
// not aligned, inline, tail-packed or unwritten (ErrUnsafeExtent), or shared
// with another file by a reflink, where a raw write would change the other
// file too (ErrShared); and holes (ErrHole). Right before the jump the first
// kernel calls Map.Verify, which syncs the file and checks that FIEMAP still
// gives the same map. The other kernel opens the device and reads and writes
// the file through a File (NewFile), which splits every access at extent
// boundaries and refuses any outside [0, Size). After the jump back the first
// kernel calls DropCache, which drops the file's pages from its page cache
// (posix_fadvise POSIX_FADV_DONTNEED) and checks none remain, so it reads what
// the other kernel wrote rather than stale pages.
//
// A Map travels to the other kernel as JSON (the struct tags) or in this
// binary encoding (MarshalBinary, UnmarshalBinary), all integers
// little-endian:
//
//	0     8 bytes   magic "KJEXTMAP"
//	8     uint32    version (1)
//	12    uint32    n, length of the device name (1 to 32)
//	16    uint64    file size in bytes (below 2^63)
//	24    uint64    k, number of extents
//	32    n bytes   device name, "MAJOR:MINOR" in decimal
//	32+n  k × 24    extents: logical, physical, length (uint64 each)
//	end-4 uint32    CRC-32C (Castagnoli) of all the bytes before it
//
// The data ends right after the checksum. A decoder checks every field and
// the map rules (Map.Validate): sorted, no overlap on either side, covering
// [0, Size), no offset beyond 2^63.
//
// golang.org/x/sys/unix has no FS_IOC_FIEMAP, struct fiemap or
// FS_IOC_FSGETXATTR; this package defines the ioctl numbers, the struct
// layouts and the flag values itself from the kernel's
// include/uapi/linux/fiemap.h and fs.h (a test checks the struct sizes).
package extents
