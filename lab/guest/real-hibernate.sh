# real-hibernate (first boot): dist/README.md's step 6 checks, then a counter,
# a dirty write to the root ext4, and 'systemctl hibernate'. The machine powers
# off in the middle of this script; a new QEMU boots GRUB's one-shot resume
# entry, whose initramfs resumes the system right here, and the script checks
# that everything carried on (lab-run then powers off).
wait_running
check_net "before hibernating"
# Step 6 of dist/README.md.
grep -o -e 'memmap=[^ ]*' -e 'crashkernel=[^ ]*' /proc/cmdline
grep -q 'memmap=240M\$16M' /proc/cmdline || fail "memmap=240M\$16M is not on the command line"
grep -e Reserved -e 'Crash kernel' -e 'Kernel code' /proc/iomem
kjump doctor || fail "kjump doctor: not ready"
counter_start
stamp="dirty write $(cat /proc/sys/kernel/random/uuid)"
echo "$stamp" >/root/dirty
c=$(cursor)
a=$(counter)
say "counter $a; systemctl hibernate"
systemctl hibernate || fail "systemctl hibernate"
# Wait for systemd-hibernate.service to have run: logind only queues it, and
# it returns after the resume. Its end is read from the journal, which keeps
# it: the unit's own properties (InvocationID, Result) go with the unit when
# systemd unloads it, which it may do before this loop looks.
i=0
while :; do
	log=$(journalctl --after-cursor="$c" -u systemd-hibernate.service --no-pager -q -o cat)
	case $log in
	*"Finished systemd-hibernate.service"*) res=success && break ;;
	*"Failed to start systemd-hibernate.service"*) res=failed && break ;;
	esac
	i=$((i + 1))
	[ $i -lt 600 ] || fail "systemd-hibernate.service did not finish"
	sleep 1
done
journalctl --after-cursor="$c" -u systemd-hibernate.service --no-pager -q | tail -n 20
[ "$res" = success ] || fail "systemd-hibernate.service: $res"
case $log in
*"frozen and thawed so that GRUB reads it"*) ;;
*) fail "kjump-sleep did not write grubenv's journal into place (fsfreeze)" ;;
esac
sleep 1
b=$(counter)
[ "$b" -gt "$a" ] || fail "the counter did not carry on ($a -> $b)"
sync
echo 3 >/proc/sys/vm/drop_caches
[ "$(cat /root/dirty)" = "$stamp" ] || fail "the dirty write is lost"
wait_running
check_net "after the resume"
check_errors "$c" "from the hibernation"
grep -q 'kjump.resume' /proc/cmdline && fail "running in the resume kernel, not the saved system"
say "resumed: counter $a -> $b, the dirty write is on disk, system running, network up, no errors"
echo "$stamp" >/root/expect
sync
say "hibernate ok"
