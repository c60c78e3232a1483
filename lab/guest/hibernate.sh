#!/bin/sh
# hibernate (first kernel): a counter process, a tmpfs file and a dirty write to
# an ext4 disk; then kjump hibernate. The guest powers off in the middle of this
# script; a new QEMU process boots the resume kernel, which jumps back here, and
# the script goes on to check that everything carried on.
# Usage: hibernate.sh [--parked [--late]] [--hog PERCENT] [--file PATH] [kjump hibernate flags...]
# --parked: park a writer kernel first (kjump hibernate --prepare); the disk
# writes below happen after it booted, and kjump hibernate must re-enter it.
# --late: then mount and write the ext4 disk /dev/vdc, which the writer saw
# only unmounted.
# --hog: a process first takes memory until PERCENT of RAM is in use; its pages
# are checked after the resume.
set -e
hog=0
target=/dev/vdb
parked=
late=
if [ "$1" = --parked ]; then
	parked=1
	shift
fi
if [ "$1" = --late ]; then
	late=1
	shift
fi
if [ "$1" = --hog ]; then
	hog=$2
	shift 2
fi
if [ "$1" = --file ]; then # the image goes into a file on the ext4 disk
	target=$2
	shift 2
fi
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
if [ -n "$parked" ]; then
	kjump hibernate --prepare
	kjump hibernate --status | grep 'is parked in' || { echo "hibernate: no writer is parked"; exit 1; }
	if [ -n "$late" ]; then # a disk the parked writer saw only unmounted
		mkdir -p /mnt2
		mount -t ext4 /dev/vdc /mnt2
		echo "written after the writer parked" >/mnt2/late
	fi
fi
dd if=/dev/urandom of=/tmp/tmpfs-file bs=1M count=8 2>/dev/null
before=$(md5sum </tmp/tmpfs-file)
stamp="dirty write $(cat /proc/sys/kernel/random/uuid)"
echo "$stamp" >/mnt/dirty
if [ "$hog" -gt 0 ]; then
	. /lab/hog.sh
	hog_start "$hog" || exit 1
fi
a=$(cat /tmp/k1-counter)
echo "hibernate: counter $a, tmpfs md5 $before; hibernating"
{
	kjump hibernate --to "$target" "$@" 2>&1
	echo $? >/tmp/hibernate.rc
} | tee /tmp/hibernate.out
[ "$(cat /tmp/hibernate.rc)" = 0 ] || { echo "hibernate: kjump hibernate failed"; exit 1; }
# Resumed.
if [ -n "$parked" ]; then
	grep -q 'jumping to the parked writer kernel' /tmp/hibernate.out || { echo "hibernate: the parked writer was not used"; exit 1; }
	! kjump hibernate --status | grep -q 'is parked in' || { echo "hibernate: the writer is still marked parked after the resume"; exit 1; }
	if [ -d /mnt2 ]; then
		[ "$(cat /mnt2/late)" = "written after the writer parked" ] || { echo "hibernate: the late write is lost"; exit 1; }
		umount /mnt2
	fi
fi
sleep 0.5
b=$(cat /tmp/k1-counter)
[ "$b" -gt "$a" ] || { echo "hibernate: the counter did not carry on ($a -> $b)"; exit 1; }
after=$(md5sum </tmp/tmpfs-file)
[ "$after" = "$before" ] || { echo "hibernate: tmpfs file changed: $before -> $after"; exit 1; }
if [ "$hog" -gt 0 ]; then
	hog_check || exit 1
fi
sync
echo 3 >/proc/sys/vm/drop_caches
[ "$(cat /mnt/dirty)" = "$stamp" ] || { echo "hibernate: the dirty write is lost"; exit 1; }
if [ "$target" != /dev/vdb ]; then
	# Read through the filesystem, the file shows the image the other
	# kernels wrote raw, marked consumed by the resume.
	kjump image inspect "$target" | grep consumed || { echo "hibernate: the image file does not read as consumed"; exit 1; }
fi
echo "hibernate: after resume: counter $a -> $b, tmpfs md5 matches, the disk write is there"
umount /mnt
echo "hibernate: ok"
