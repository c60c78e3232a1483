#!/bin/sh
# roundtrip (first kernel): a counter process and a tmpfs file survive a jump to a
# second kernel and back. The second kernel prints its RAM (the lab checks that it
# is confined to the region) and jumps back.
set -e
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
dd if=/dev/urandom of=/tmp/data bs=1024 count=4096 2>/dev/null
md5sum /tmp/data >/tmp/data.md5
kjump load --run "/bin/grep System.RAM /proc/iomem" --run "/bin/ls -l /proc/vmcore"
sleep 0.5
before=$(cat /tmp/k1-counter)
cpus=$(cat /sys/devices/system/cpu/online)
kjump exec
sleep 1
after=$(cat /tmp/k1-counter)
echo "roundtrip: first kernel's counter: $before before the jump, $after after"
[ "$after" -gt "$before" ]
echo "roundtrip: CPUs online: $cpus before the jump, $(cat /sys/devices/system/cpu/online) after"
[ "$(cat /sys/devices/system/cpu/online)" = "$cpus" ]
md5sum -c /tmp/data.md5
echo "roundtrip: ok"
