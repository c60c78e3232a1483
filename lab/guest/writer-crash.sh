#!/bin/sh
# writer-crash (first kernel): the second kernel's writer is killed
# (kjump.test_fault=FAULT); kjump hibernate must come back, fail saying the
# writer stopped, and leave no image that could be resumed; the system carries on.
# Usage: writer-crash.sh FAULT
set -e
fault=$1
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
a=$(cat /tmp/k1-counter)
if out=$(kjump hibernate --to /dev/vdb --append "kjump.test_fault=$fault" 2>&1); then
	echo "writer-crash: kjump hibernate succeeded after the writer was killed: $out"
	exit 1
fi
echo "writer-crash: kjump hibernate failed: $out"
case $out in
*"stopped while writing the image"*"was revoked"*) ;;
*)
	echo "writer-crash: it does not say the writer stopped and the image was revoked"
	exit 1
	;;
esac
if kjump image inspect /dev/vdb >/tmp/inspect 2>&1; then
	echo "writer-crash: a valid image is left: $(cat /tmp/inspect)"
	exit 1
fi
echo "writer-crash: the image on /dev/vdb: $(head -c 300 /tmp/inspect)"
b=$(cat /tmp/k1-counter)
[ "$b" -gt "$a" ] || { echo "writer-crash: the counter did not carry on ($a -> $b)"; exit 1; }
echo "writer-crash: ok"
