#!/bin/sh
# core (first kernel): a second kernel starts a pattern process and jumps back;
# this kernel writes the parked second kernel as an ELF core to /dev/vda and
# carries on. The lab then pokes into the second kernel by hand (its console).
set -e
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
kjump load --add /lab/pattern --add /lab/core-second.sh --run /lab/core-second.sh
kjump exec
kjump core -o /dev/vda
a=$(cat /tmp/k1-counter)
sleep 0.5
b=$(cat /tmp/k1-counter)
[ "$b" -gt "$a" ]
echo "core: the first kernel carries on: counter $a -> $b"
