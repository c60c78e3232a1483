#!/bin/sh
# counter.sh FILE: count up forever, ten times a second, into FILE.
i=0
while :; do
	i=$((i + 1))
	echo "$i" >"$1"
	sleep 0.1
done
