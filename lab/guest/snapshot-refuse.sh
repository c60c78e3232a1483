#!/bin/sh
# snapshot-refuse (first kernel): kjump snapshot refuses, before it loads or
# freezes anything, a mounted device (vda), active swap (vdb), a missing
# device, and bad options; the mounted filesystem's data stays intact.
set -e
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
dd if=/dev/urandom of=/mnt/data bs=1M count=4 2>/dev/null
sync
before=$(md5sum </mnt/data)
mkswap /dev/vdb >/dev/null
swapon /dev/vdb
refused() { # refused WANT ARGS...: kjump snapshot ARGS must fail saying WANT, with nothing loaded
	want=$1
	shift
	if out=$(kjump snapshot "$@" 2>&1); then
		echo "snapshot-refuse: kjump snapshot $* succeeded: $out"
		exit 1
	fi
	case $out in
	*"$want"*) ;;
	*)
		echo "snapshot-refuse: kjump snapshot $*: '$out' does not say '$want'"
		exit 1
		;;
	esac
	[ "$(cat /sys/kernel/kexec_loaded)" = 0 ] || { echo "snapshot-refuse: a kernel was loaded for kjump snapshot $*"; exit 1; }
	echo "snapshot-refuse: refused $*: $out"
}
refused "holds a mounted filesystem" -o /dev/vda
refused "is active swap" -o /dev/vdb
refused "no such device" -o /dev/vdz
refused "want 0 to 31" -o /dev/vdc --level 99
refused 'format "core"' -o /dev/vdc --format core
refused "want 0 to 31" -o /mnt/snap.kdump --level 99
[ ! -e /mnt/snap.kdump ] || { echo "snapshot-refuse: a refused file snapshot left its file"; exit 1; }
swapoff /dev/vdb
sync
echo 3 >/proc/sys/vm/drop_caches
after=$(md5sum </mnt/data)
[ "$after" = "$before" ] || { echo "snapshot-refuse: the mounted filesystem's data changed"; exit 1; }
umount /mnt
echo "snapshot-refuse: ok"
