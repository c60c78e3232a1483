#!/bin/sh
# bench-hibernate TOOL PERCENT (first kernel): a process takes memory until
# PERCENT of RAM is in use, then the system hibernates with TOOL (kjump: the
# default --compress auto; kjump-lz4, kjump-none: --compress lz4, none;
# kjump-parked: through a writer parked before the workload; or the kernel's
# own hibernation "swsusp" to a swap partition) to /dev/vda, the image disk,
# and, once resumed, checks the process's memory. Before that, dd measures the
# image disk's raw sequential write speed (O_DIRECT, 4 MiB blocks, the first
# 512 MiB). The lab times the console markers.
set -e
tool=$1
pct=$2
cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}"; } # centiseconds
start=$(cs)
dd if=/dev/zero of=/dev/vda bs=4M count=128 oflag=direct conv=fsync 2>/dev/null
end=$(cs)
echo "bench: dd to the image disk $((536870912 / 10000 / (end - start + 1))) MB/s"
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
echo "bench: hibernating"
case $tool in
kjump | kjump-parked) kjump hibernate --to /dev/vda ;;
kjump-lz4) kjump hibernate --to /dev/vda --compress lz4 ;;
kjump-none) kjump hibernate --to /dev/vda --compress none ;;
*) echo disk >/sys/power/state || { echo "bench: swsusp failed"; exit 0; } ;;
esac
echo "bench: running again"
hog_check || exit 1
echo "bench: back to full speed" # every page of the workload touched again
