#!/bin/sh
# reenter (first kernel): six switches to the same second kernel and back. Each
# kernel runs a counter; both keep counting across every switch.
set -e
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
kjump load --add /lab/counter.sh --add /lab/reenter-second.sh --run /lab/reenter-second.sh
for i in 1 2 3 4 5 6; do
	before=$(cat /tmp/k1-counter)
	kjump exec
	sleep 0.5
	after=$(cat /tmp/k1-counter)
	echo "reenter: switch $i: first kernel's counter $before -> $after"
	[ "$after" -gt "$before" ]
done
kjump unload
echo "reenter: ok"
