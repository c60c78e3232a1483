#!/bin/sh
# bench-hibernate TOOL PERCENT (first kernel): a process takes memory until
# PERCENT of RAM is in use, then the system hibernates with TOOL (kjump,
# kjump-lz4, kjump-parked: through a writer parked before the workload, or the
# kernel's own hibernation "swsusp" to a swap partition on /dev/vda) and, once
# resumed, checks the process's memory. /dev/vdb is a scratch disk for the raw
# write speed. The lab times the console markers.
set -e
tool=$1
pct=$2
if [ "$tool" = swsusp ]; then
	mkswap /dev/vda >/dev/null
	swapon /dev/vda
	echo shutdown >/sys/power/disk
fi
if [ "$tool" = kjump-parked ]; then
	kjump hibernate --prepare
fi
. /lab/hog.sh
hog_start "$pct" || exit 1
cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}"; } # centiseconds
start=$(cs)
dd if=/dev/zero of=/dev/vdb bs=1M count=128 conv=fsync 2>/dev/null
end=$(cs)
echo "bench: raw disk write $((134 * 100 / (end - start + 1))) MB/s"
echo "bench: hibernating"
if [ "$tool" = kjump ] || [ "$tool" = kjump-parked ]; then
	kjump hibernate --to /dev/vda
elif [ "$tool" = kjump-lz4 ]; then
	kjump hibernate --to /dev/vda --compress lz4
else
	echo disk >/sys/power/state || { echo "bench: swsusp failed"; exit 0; }
fi
echo "bench: running again"
hog_check || exit 1
echo "bench: back to full speed" # every page of the workload touched again
