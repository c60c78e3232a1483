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
before=$(systemctl show -p InvocationID --value systemd-hibernate.service)
c=$(cursor)
a=$(counter)
diag_start
say "counter $a; systemctl hibernate"
systemctl hibernate || fail "systemctl hibernate"
# Wait for systemd-hibernate.service to have run (it returns after the resume).
i=0
while :; do
	inv=$(systemctl show -p InvocationID --value systemd-hibernate.service)
	st=$(systemctl show -p ActiveState --value systemd-hibernate.service)
	if [ "$inv" != "$before" ] && [ "$st" != activating ]; then break; fi
	i=$((i + 1))
	[ $i -lt 1200 ] || fail "systemd-hibernate.service did not finish"
	sleep 0.5
done
res=$(systemctl show -p Result --value systemd-hibernate.service)
journalctl --after-cursor="$c" -u systemd-hibernate.service --no-pager -q | tail -n 20
[ "$res" = success ] || fail "systemd-hibernate.service: $res"
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
