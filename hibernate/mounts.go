package hibernate

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kjump/kjump/internal/blockdev"
)

// Mount is a block device the saved system has mounted.
type Mount = blockdev.Mount

// MountedBlockDevices lists the block devices mounted under root ("/" normally).
func MountedBlockDevices(root string) ([]Mount, error) { return blockdev.Mounted(root) }

// fingerprintSize is how much of a device an unknown filesystem's fingerprint
// covers: the superblocks of the common filesystems lie in it (ext2/3/4 and
// XFS in the first 4 KiB, btrfs at 64 KiB).
const fingerprintSize = 128 << 10

// Fingerprint identifies a filesystem's state on disk so that a later mount
// (which writes its superblock: mount count, mount time, state) shows. For
// ext2/3/4 it is the superblock, and detail says its mount count and last mount
// time; for anything else, the first 128 KiB of the device.
func Fingerprint(dev io.ReaderAt) (sum [32]byte, detail string, err error) {
	b := make([]byte, fingerprintSize)
	n, err := dev.ReadAt(b, 0)
	if n < 2048 && err != nil {
		return sum, "", fmt.Errorf("reading the superblock: %w", err)
	}
	b = b[:n]
	if sb := b[1024:2048]; binary.LittleEndian.Uint16(sb[0x38:]) == 0xef53 {
		mounts := binary.LittleEndian.Uint16(sb[0x34:])
		mtime := time.Unix(int64(binary.LittleEndian.Uint32(sb[0x2c:])), 0).UTC()
		return sha256.Sum256(sb), fmt.Sprintf("ext2/3/4, mount count %d, last mounted %s", mounts, mtime.Format(time.RFC3339)), nil
	}
	return sha256.Sum256(b), fmt.Sprintf("first %d KiB", len(b)>>10), nil
}

// ErrStaleFS means a filesystem the saved system had mounted changed since.
var ErrStaleFS = errors.New("a filesystem of the saved system changed since the image was written")
