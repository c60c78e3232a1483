#!/bin/sh
# hibernate (first kernel): a counter process, a tmpfs file and a dirty write to
# an ext4 disk; then kjump hibernate. The guest powers off in the middle of this
# script; a new QEMU process boots the resume kernel, which jumps back here, and
# the script goes on to check that everything carried on.
# Usage: hibernate.sh [kjump hibernate flags...]
set -e
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
dd if=/dev/urandom of=/tmp/tmpfs-file bs=1M count=8 2>/dev/null
before=$(md5sum </tmp/tmpfs-file)
stamp="dirty write $(cat /proc/sys/kernel/random/uuid)"
echo "$stamp" >/mnt/dirty
a=$(cat /tmp/k1-counter)
echo "hibernate: counter $a, tmpfs md5 $before; hibernating"
kjump hibernate --to /dev/vdb "$@"
# Resumed.
sleep 0.5
b=$(cat /tmp/k1-counter)
[ "$b" -gt "$a" ] || { echo "hibernate: the counter did not carry on ($a -> $b)"; exit 1; }
after=$(md5sum </tmp/tmpfs-file)
[ "$after" = "$before" ] || { echo "hibernate: tmpfs file changed: $before -> $after"; exit 1; }
sync
echo 3 >/proc/sys/vm/drop_caches
[ "$(cat /mnt/dirty)" = "$stamp" ] || { echo "hibernate: the dirty write is lost"; exit 1; }
echo "hibernate: after resume: counter $a -> $b, tmpfs md5 matches, the disk write is there"
umount /mnt
echo "hibernate: ok"
