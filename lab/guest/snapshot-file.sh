#!/bin/sh
# snapshot-file (first kernel): a live snapshot into a file of a mounted ext4
# filesystem; the second kernel writes the file's blocks raw. Read back here
# right away, the file must show the dump, not the zeros kjump preallocated
# (no stale page cache). The lab then reads it from the disk image.
set -e
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
echo "kjump-lab: snapshot into a file" >/dev/kmsg
kjump snapshot -o /mnt/live.kdump
sig=$(head -c 8 /mnt/live.kdump)
[ "$sig" = "KDUMP   " ] || { echo "snapshot-file: the file reads '$sig', not a kdump header: stale page cache"; exit 1; }
ls -l /mnt/live.kdump
a=$(cat /tmp/k1-counter)
sleep 0.5
[ "$(cat /tmp/k1-counter)" -gt "$a" ]
umount /mnt
echo "snapshot-file: ok"
