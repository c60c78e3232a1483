#!/bin/sh
# mount-write (another boot): mounts the ext4 disk a hibernated system had
# mounted, writes to it and unmounts it, as a user booting normally would.
set -e
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
echo "written by another boot" >/mnt/other-boot
umount /mnt
echo "mount-write: ok"
