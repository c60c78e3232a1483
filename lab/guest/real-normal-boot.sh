# real-normal-boot: the boot after a resume (or a refused resume) is a normal
# one: the default entry, all the RAM, the system running. With an argument,
# the previous boot's journal must contain it.
wait_running
grep -q 'kjump.resume' /proc/cmdline && fail "booted the resume entry again: $(cat /proc/cmdline)"
mem=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)
[ "$mem" -gt 1500000 ] || fail "MemTotal ${mem} kB: not all the RAM"
check_net "normal boot"
if [ -f /root/expect ]; then
	[ "$(cat /root/dirty)" = "$(cat /root/expect)" ] || fail "the dirty write did not survive the reboot"
fi
say "normal boot: MemTotal $mem kB, $(grep -o 'BOOT_IMAGE=[^ ]*' /proc/cmdline)"
say "normal boot ok"
