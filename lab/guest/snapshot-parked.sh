#!/bin/sh
# snapshot-parked (first kernel): park a writer kernel (kjump hibernate
# --prepare), take a live snapshot through it to /dev/vdc (kjump snapshot must
# re-enter it, and it stays parked), then hibernate through the same parked
# writer (hibernate.sh --parked, whose --prepare finds it parked). The lab reads
# the snapshot with makedumpfile and crash, and resumes the image.
set -e
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
/lab/counter.sh /tmp/snap-counter &
counter=$!
while [ ! -s /tmp/snap-counter ]; do sleep 0.05; done
kjump hibernate --prepare
kjump hibernate --status | grep 'is parked in' || { echo "snapshot-parked: no writer is parked"; exit 1; }
echo "kjump-lab: snapshot through the parked writer" >/dev/kmsg
kjump snapshot -o /dev/vdc 2>&1 | tee /tmp/snapshot.out
grep -q 'jumping to the parked writer kernel' /tmp/snapshot.out || { echo "snapshot-parked: the parked writer was not used"; exit 1; }
a=$(cat /tmp/snap-counter)
sleep 0.5
b=$(cat /tmp/snap-counter)
[ "$b" -gt "$a" ] || { echo "snapshot-parked: the counter did not carry on ($a -> $b)"; exit 1; }
kjump hibernate --status | grep 'is parked in' || { echo "snapshot-parked: the writer is no longer parked after the snapshot"; exit 1; }
kill "$counter"
umount /mnt
echo "snapshot-parked: snapshot ok, counter $a -> $b, the writer is still parked; hibernating through it"
exec /lab/hibernate.sh --parked
