#!/bin/sh
# core (second kernel): runs at every entry. The first entry logs a line and
# starts a process that fills 32 MiB with self-naming pages (it prints where
# some of them are); each later entry has it check its pages, so a poke from
# the first kernel shows as a changed page. With "quiet" it prints only a few
# of the pattern's lines (the demo).
set -e
if [ ! -f /tmp/started ]; then
	touch /tmp/started
	echo "kjump-lab: in the second kernel" >/dev/kmsg
	/lab/pattern 32 64 >/tmp/pattern.out &
	echo $! >/tmp/pattern.pid
	until grep -q "pattern: ready" /tmp/pattern.out; do sleep 0.1; done
	if [ "$1" = quiet ]; then
		grep -m 3 "pattern: phys" /tmp/pattern.out
		grep "pattern: ready" /tmp/pattern.out
	else
		cat /tmp/pattern.out
	fi
	exit 0
fi
n=$(wc -l </tmp/pattern.out)
rm -f /tmp/pattern.checked
kill -USR1 "$(cat /tmp/pattern.pid)"
until [ -f /tmp/pattern.checked ]; do sleep 0.1; done
tail -n +$((n + 1)) /tmp/pattern.out
