#!/bin/sh
# bench dump (first kernel): half of RAM in use, then a second kernel times
# reading /proc/vmcore and copies it to /dev/vda for the host's dump benchmark.
set -e
/lab/pattern 512 >/tmp/pattern.out &
while ! grep -q ready /tmp/pattern.out; do sleep 0.2; done
kjump load --add /lab/bench-vmcore.sh --run /lab/bench-vmcore.sh --then poweroff >/dev/null
kjump exec
