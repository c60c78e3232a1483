#!/bin/sh
# snapshot (first kernel): two live snapshots through a second kernel, with a
# change in between; the system carries on. The lab reads the dumps with
# makedumpfile and crash.
set -e
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
kjump snapshot -o /dev/vda
a=$(cat /tmp/k1-counter)
sleep 0.5
b=$(cat /tmp/k1-counter)
[ "$b" -gt "$a" ]
echo "snapshot: the first kernel carries on: counter $a -> $b"
echo "kjump-lab: between the snapshots" >/dev/kmsg
kjump snapshot -o /dev/vdb --format elf
echo "snapshot: ok"
