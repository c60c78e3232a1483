#!/bin/sh
# hibernate-refuse (first kernel): kjump hibernate TARGET ARGS must fail saying
# WANT before it loads anything, and leave no image on TARGET.
# Usage: hibernate-refuse.sh WANT TARGET [kjump hibernate flags...]; '_' in WANT
# stands for a space (the job is one quoted kernel parameter).
set -e
want=$(echo "$1" | tr _ ' ')
target=$2
shift 2
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
if out=$(kjump hibernate --to "$target" "$@" 2>&1); then
	echo "hibernate-refuse: kjump hibernate succeeded: $out"
	exit 1
fi
echo "hibernate-refuse: kjump hibernate said: $out"
case $out in
*"$want"*) ;;
*)
	echo "hibernate-refuse: it does not say '$want'"
	exit 1
	;;
esac
case $out in
*"jumping to a second kernel"*)
	echo "hibernate-refuse: it said it was jumping before it refused"
	exit 1
	;;
esac
[ "$(cat /sys/kernel/kexec_loaded)" = 0 ] || { echo "hibernate-refuse: a second kernel is still loaded"; exit 1; }
a=$(cat /tmp/k1-counter)
sleep 0.3
[ "$(cat /tmp/k1-counter)" -gt "$a" ] || { echo "hibernate-refuse: the counter stopped"; exit 1; }
echo "hibernate-refuse: ok"
