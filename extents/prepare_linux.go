//go:build linux

package extents

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// PageSize is the unit Prepare's sizes must be a multiple of.
const PageSize = 4096

// zfsSuperMagic is ZFS on Linux's statfs magic (not in the kernel tree).
const zfsSuperMagic = 0x2fc12fc1

type fsRefusal struct {
	name       string
	kind       error
	cause, fix string
}

// refusedFS are filesystems refused by their statfs magic, before FIEMAP is tried.
var refusedFS = map[int64]fsRefusal{
	unix.TMPFS_MAGIC: {"tmpfs", ErrNotSupported, "which has no disk blocks", "put it on a disk filesystem or give a raw device"},
	unix.RAMFS_MAGIC: {"ramfs", ErrNotSupported, "which has no disk blocks", "put it on a disk filesystem or give a raw device"},
	unix.BTRFS_SUPER_MAGIC: {"btrfs", ErrNotOneDevice,
		"whose FIEMAP offsets are addresses in btrfs's own logical space (which may span several devices and RAID profiles), not offsets on one block device",
		"put it on ext4 or xfs, or give a raw device"},
	unix.BCACHEFS_SUPER_MAGIC: {"bcachefs", ErrNotOneDevice, "which can spread a file over several devices", "put it on ext4 or xfs, or give a raw device"},
	zfsSuperMagic:             {"zfs", ErrNotOneDevice, "which pools blocks over several devices", "put it on ext4 or xfs, or give a raw device (a zvol does not help either)"},
	unix.OVERLAYFS_SUPER_MAGIC: {"overlayfs", ErrNotOneDevice, "whose blocks belong to the filesystem underneath, on another device",
		"use the file's path on the underlying filesystem"},
	unix.NFS_SUPER_MAGIC:    {"nfs", ErrNotSupported, "which is not on a local disk", "put it on a local disk filesystem or give a raw device"},
	unix.CIFS_SUPER_MAGIC:   {"cifs", ErrNotSupported, "which is not on a local disk", "put it on a local disk filesystem or give a raw device"},
	unix.SMB2_SUPER_MAGIC:   {"smb", ErrNotSupported, "which is not on a local disk", "put it on a local disk filesystem or give a raw device"},
	unix.CEPH_SUPER_MAGIC:   {"ceph", ErrNotSupported, "which is not on a local disk", "put it on a local disk filesystem or give a raw device"},
	unix.V9FS_MAGIC:         {"9p", ErrNotSupported, "which is not on a local disk", "put it on a local disk filesystem or give a raw device"},
	unix.FUSE_SUPER_MAGIC:   {"fuse", ErrNotSupported, "whose blocks are known only to a user-space program", "put it on a disk filesystem or give a raw device"},
	unix.SQUASHFS_MAGIC:     {"squashfs", ErrNotSupported, "which is read-only and compressed", "put it on a writable disk filesystem"},
	unix.PROC_SUPER_MAGIC:   {"proc", ErrNotSupported, "which has no disk blocks", "put it on a disk filesystem"},
	unix.SYSFS_MAGIC:        {"sysfs", ErrNotSupported, "which has no disk blocks", "put it on a disk filesystem"},
	unix.DEVPTS_SUPER_MAGIC: {"devpts", ErrNotSupported, "which has no disk blocks", "put it on a disk filesystem"},
}

// fsNames name filesystems known to support FIEMAP, for messages.
var fsNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC: "ext4", // also ext2 and ext3
	unix.XFS_SUPER_MAGIC:  "xfs",
	unix.F2FS_SUPER_MAGIC: "f2fs",
}

func fsName(magic int64) string {
	if r, ok := refusedFS[magic]; ok {
		return r.name
	}
	if n, ok := fsNames[magic]; ok {
		return n
	}
	return fmt.Sprintf("filesystem with magic %#x", magic)
}

// where is what inspect learned about an open file.
type where struct {
	device string
	size   int64
	magic  int64
}

// inspect refuses files whose blocks the other kernel could not reach (see
// refusedFS and checkDevice) or whose filesystem lacks FIEMAP, and says where
// the file is.
func inspect(f *os.File, path string) (where, error) {
	fd := int(f.Fd())
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return where{}, fmt.Errorf("extents: statfs %s: %w", path, err)
	}
	magic := int64(sfs.Type)
	if r, ok := refusedFS[magic]; ok {
		return where{}, &Error{Path: path, Err: r.kind, Detail: fmt.Sprintf("file %s is on %s, %s", path, r.name, r.cause), Hint: r.fix}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return where{}, fmt.Errorf("extents: stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return where{}, &Error{Path: path, Err: ErrNotSupported, Detail: fmt.Sprintf("%s is not a regular file", path),
			Hint: "give a regular file; a block device needs no map: hand the device itself to the other kernel"}
	}
	major, minor := unix.Major(st.Dev), unix.Minor(st.Dev)
	if err := checkDevice("/sys", major, minor, path); err != nil {
		return where{}, err
	}
	if magic == unix.XFS_SUPER_MAGIC {
		if rt, err := xfsRealtime(fd); err != nil {
			return where{}, fmt.Errorf("extents: FS_IOC_FSGETXATTR on %s: %w", path, err)
		} else if rt {
			return where{}, &Error{Path: path, Err: ErrNotOneDevice,
				Detail: fmt.Sprintf("file %s is an XFS realtime file, whose blocks are on the realtime device, not on %s", path, formatDevice(major, minor)),
				Hint:   "clear the realtime flag (xfs_io -c 'chattr -r') on the file or its directory before creating it"}
		}
	}
	if magic == unix.EXT4_SUPER_MAGIC {
		if err := checkDataJournal(fd, path, formatDevice(major, minor)); err != nil {
			return where{}, err
		}
	}
	if err := fiemapProbe(fd); err != nil {
		return where{}, fiemapError(path, magic, err)
	}
	return where{device: formatDevice(major, minor), size: st.Size, magic: magic}, nil
}

// fiemapError explains a failed FS_IOC_FIEMAP.
func fiemapError(path string, magic int64, err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTTY) {
		return &Error{Path: path, Err: ErrNotSupported, Cause: err,
			Detail: fmt.Sprintf("file %s is on %s, which cannot report where a file's blocks are (FIEMAP)", path, fsName(magic)),
			Hint:   "put it on ext4 or xfs, or give a raw device"}
	}
	return fmt.Errorf("extents: FIEMAP on %s: %w", path, err)
}

// fsJournalDataFl is FS_JOURNAL_DATA_FL (include/uapi/linux/fs.h), ext4's
// per-file data=journal (chattr +j).
const fsJournalDataFl = 0x00004000

// checkDataJournal refuses an ext4 file whose data goes through the journal
// (see journalsData).
func checkDataJournal(fd int, path, dev string) error {
	refuse := func(how, fix string) error {
		return &Error{Path: path, Err: ErrUnsafeExtent, Hint: fix,
			Detail: fmt.Sprintf("file %s has its data journaled (%s): a journal checkpoint after the jump back could write old data over what the other kernel wrote", path, how)}
	}
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return fmt.Errorf("extents: FS_IOC_GETFLAGS on %s: %w", path, err)
	}
	if flags&fsJournalDataFl != 0 {
		return refuse("chattr +j", "clear the flag with chattr -j "+path)
	}
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("extents: cannot check the data journaling mode of %s: %w", path, err)
	}
	defer mi.Close()
	if j, err := journalsData(mi, dev); err != nil {
		return fmt.Errorf("extents: reading /proc/self/mountinfo: %w", err)
	} else if j {
		return refuse("the filesystem is mounted with data=journal", "put the file on a filesystem mounted with data=ordered (the default)")
	}
	return nil
}

// mapFile asks the filesystem where the file's [0, w.size) is.
func mapFile(f *os.File, path string, w where) (*Map, error) {
	raw, err := fiemap(int(f.Fd()), uint64(w.size))
	if err != nil {
		return nil, fiemapError(path, w.magic, err)
	}
	ext, err := buildExtents(path, raw, uint64(w.size))
	if err != nil {
		return nil, err
	}
	return &Map{Device: w.device, Size: w.size, Extents: ext}, nil
}

// Prepare makes path a file of exactly size bytes whose every block is
// allocated and written, and returns where those blocks are on the device.
// size must be a positive multiple of PageSize.
//
// An existing file is reused: if it already has the size and a clean map (no
// hole, nothing unwritten or shared) its blocks and contents are kept;
// otherwise it is truncated to size, allocated with fallocate (so a full disk
// is found at once and the blocks are close together) and filled with zeros
// through the filesystem, which turns unwritten and shared extents into
// written, private ones. Then it is synced and mapped with FIEMAP, and its
// pages are dropped from the page cache.
//
// Prepare refuses, with an *Error matching one of the sentinels, files the
// other kernel cannot write raw: see the package comment. A file Prepare
// created is removed again if it fails.
func Prepare(path string, size int64) (m *Map, err error) {
	if size <= 0 || size%PageSize != 0 {
		return nil, &Error{Path: path, Err: ErrSize,
			Detail: fmt.Sprintf("size %d for file %s is not a positive multiple of %d", size, path, PageSize),
			Hint:   fmt.Sprintf("round the size up to a multiple of %d", PageSize)}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		defer func() {
			if err != nil {
				os.Remove(path) // leave nothing behind
			}
		}()
	} else if errors.Is(err, os.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("extents: %w", err)
	}
	defer f.Close()
	w, err := inspect(f, path)
	if err != nil {
		return nil, err
	}
	if w.size == size {
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("extents: fsync %s: %w", path, err)
		}
		m, err := mapFile(f, path, w)
		if err == nil {
			forget(f)
			return m, nil
		}
		if !errors.Is(err, ErrHole) && !errors.Is(err, ErrUnsafeExtent) && !errors.Is(err, ErrShared) {
			return nil, err
		}
	}
	if err := fill(f, path, size); err != nil {
		return nil, err
	}
	w.size = size
	if m, err = mapFile(f, path, w); err != nil {
		return nil, err
	}
	forget(f)
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("extents: %w", err)
	}
	return m, nil
}

// fill makes f size bytes of zeros, every block allocated and written, synced.
func fill(f *os.File, path string, size int64) error {
	explain := func(err error) error {
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
			return &Error{Path: path, Err: ErrNoSpace, Cause: err,
				Detail: fmt.Sprintf("no room for %d bytes in file %s", size, path), Hint: "free space on that filesystem or ask for a smaller file"}
		}
		if errors.Is(err, unix.EFBIG) {
			return &Error{Path: path, Err: ErrSize, Cause: err,
				Detail: fmt.Sprintf("file %s cannot grow to %d bytes on its filesystem", path, size), Hint: "ask for a smaller file"}
		}
		return fmt.Errorf("extents: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		return explain(err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		return explain(fmt.Errorf("fallocate %s: %w", path, err))
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off); err != nil {
			return explain(err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("extents: %w", err)
	}
	return nil
}

// forget drops the file's clean pages; failure only costs memory.
func forget(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// Verify checks that path is still where m says: same device, same size, same
// extents, all still safe to write raw. The first kernel calls it right before
// the jump; nothing may truncate, defragment, reflink or snapshot the file
// between Verify and the jump back. It syncs the file first, so no dirty page
// of the first kernel can later overwrite what the other kernel wrote.
func (m *Map) Verify(path string) error {
	if err := m.Validate(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("extents: %w", err)
	}
	defer f.Close()
	w, err := inspect(f, path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("extents: fsync %s: %w", path, err)
	}
	changed := func(what string) error {
		return &Error{Path: path, Err: ErrChanged, Detail: fmt.Sprintf("file %s changed since it was mapped: %s", path, what),
			Hint: "run Prepare again and hand the new map to the other kernel; do not truncate, defragment, reflink or snapshot the file in between"}
	}
	if w.device != m.Device || w.size != m.Size {
		return changed(diff(m, &Map{Device: w.device, Size: w.size}))
	}
	cur, err := mapFile(f, path, w)
	if err != nil {
		return err
	}
	if !m.Equal(cur) {
		return changed(diff(m, cur))
	}
	return nil
}
