// Package extents lets a kexec-jumped kernel write a file of the first
// kernel's filesystem without mounting it: the first kernel pins the file to
// known disk blocks, the other kernel reads and writes those blocks on the raw
// block device, and the first kernel reads the file again after the jump back.
//
// The first kernel calls Prepare. It creates (or reuses) a file of exactly the
// requested size, a multiple of 4096 bytes, allocates it with fallocate (a
// full disk is found at once; measured on ext4, 1 GiB takes about 0.8 s either
// way and gives as many extents) and writes every block with zeros through
// the filesystem: blocks that are only preallocated are "unwritten" extents,
// which the filesystem reads back as zeros whatever is written to them raw.
// It syncs the file and asks where its blocks are with the FS_IOC_FIEMAP
// ioctl (FIEMAP_FLAG_SYNC). The answer is a Map: the device holding the file
// ("MAJOR:MINOR" of its st_dev) and Extents, each a run of the file
// [Logical, Logical+Length) at device bytes [Physical, Physical+Length),
// sorted, covering [0, Size) with no hole; runs that are contiguous on disk
// are merged.
//
// Prepare refuses, with an *Error that names the cause and the fix and
// matches a sentinel (errors.Is): filesystems without disk blocks or FIEMAP,
// such as tmpfs (ErrNotSupported); files whose offsets are not offsets on one
// plain block device the other kernel can open (ErrNotOneDevice): btrfs
// (recognised by its statfs magic; its FIEMAP offsets are in its own
// multi-device logical space), bcachefs, ZFS, overlayfs, device-mapper (LVM,
// dm-crypt), loop, md RAID, RAM disks, XFS realtime files; extents flagged
// unknown, delayed, encoded, encrypted, not aligned, inline, tail-packed or
// unwritten, and ext4 files whose data is journaled (data=journal or
// chattr +j: a checkpoint after the jump back would write old data over the
// new) (ErrUnsafeExtent); extents shared with another file by a reflink,
// where a raw write would change the other file too (ErrShared); and holes
// (ErrHole).
//
// Right before the jump the first kernel calls Map.Verify, which syncs the
// file (so no dirty page can later overwrite the other kernel's data) and
// checks that FIEMAP still gives the same map. Nothing may truncate,
// defragment, reflink, snapshot or (on f2fs, whose garbage collector moves
// blocks; pin the file with F2FS_IOC_SET_PIN_FILE) move the file between
// Verify and the jump back. The other kernel opens the device and reads and
// writes the file through a File (NewFile), which splits every access at
// extent boundaries and refuses any outside [0, Size); it calls File.Sync
// before it jumps back. The device number is the first kernel's: the other
// kernel must find the same disk under it (same kernel and drivers, or a
// lookup by /sys/dev/block/MAJOR:MINOR). After the jump back the first kernel
// calls DropCache, which drops the file's pages from its page cache
// (posix_fadvise POSIX_FADV_DONTNEED) and checks that none remain, so it
// reads what the other kernel wrote rather than stale pages.
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
// the map rules (Map.Validate): sorted, no overlap in the file or on the
// device, covering [0, Size), no offset beyond 2^63-1.
//
// golang.org/x/sys/unix (v0.49) has no FS_IOC_FIEMAP, struct fiemap,
// FS_IOC_FSGETXATTR or FS_JOURNAL_DATA_FL; this package defines the ioctl
// numbers, struct layouts and flag values itself from the kernel's
// include/uapi/linux/fiemap.h and fs.h (a test checks the struct sizes and
// ioctl numbers).
package extents
