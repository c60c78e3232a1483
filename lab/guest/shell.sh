#!/bin/sh
# shell (first kernel): 'kjump shell' twice while a counter runs; the lab types
# into the second kernel's shell on the console (a dump of /proc/vmcore to
# /dev/vda, a look at /proc/vmcore, then 'kjump back'; the second time
# 'exit'). The first kernel carries on after each.
set -e
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
for how in back exit; do
	a=$(cat /tmp/k1-counter)
	kjump shell
	sleep 0.5
	b=$(cat /tmp/k1-counter)
	[ "$b" -gt "$a" ]
	echo "shell: left with $how; the first kernel carries on: counter $a -> $b"
done
