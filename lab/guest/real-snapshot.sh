# real-snapshot: kjump snapshot into a file on the root ext4, as a user would;
# a marker in the kernel log lets the host find this moment in the dump.
wait_running
check_net "before the snapshot"
counter_start
marker="kjump-lab snapshot marker $(cat /proc/sys/kernel/random/uuid)"
echo "$marker" >/dev/kmsg
say "marker: $marker"
mkdir -p /var/crash
c=$(cursor)
a=$(counter)
kjump snapshot -o /var/crash/live.kdump || fail "kjump snapshot"
sleep 1
b=$(counter)
[ "$b" -gt "$a" ] || fail "the counter stopped ($a -> $b)"
[ "$(head -c 5 /var/crash/live.kdump)" = KDUMP ] || fail "/var/crash/live.kdump does not start with the kdump signature"
ls -l /var/crash/live.kdump
wait_running
check_net "after the snapshot"
check_errors "$c" "from the snapshot"
sync
say "snapshot ok"
