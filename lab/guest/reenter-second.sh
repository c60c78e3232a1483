#!/bin/sh
# reenter (second kernel): runs at every entry. Starts a counter on the first entry
# and reports it each time: it carries on from where the last entry left it.
if [ ! -f /tmp/started ]; then
	touch /tmp/started
	/lab/counter.sh /tmp/k2-counter &
	while [ ! -s /tmp/k2-counter ]; do sleep 0.05; done
	sleep 0.3
fi
a=$(cat /tmp/k2-counter)
sleep 0.3
echo "reenter: second kernel's counter: $a -> $(cat /tmp/k2-counter)"
