#!/bin/sh
# counter.sh FILE: count up forever, ten times a second, into FILE. Each value is
# written to a temporary file and renamed over FILE, so a reader never sees the
# file empty (as "echo > FILE" would show it between truncating and writing).
i=0
while :; do
	i=$((i + 1))
	echo "$i" >"$1.tmp"
	mv "$1.tmp" "$1"
	sleep 0.1
done
