#!/bin/sh
# demo: a counter runs; kjump snapshot writes the system's memory to /dev/vda
# through a second kernel and comes back; the counter carries on.
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
sleep 0.3
kjump snapshot -o /dev/vda
echo "demo: the counter carries on: $(cat /tmp/k1-counter)"
