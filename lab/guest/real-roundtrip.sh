# real-roundtrip: with systemd, journald, udevd and a DHCP lease up, kjump load
# and three kjump exec round trips; after each the counter still counts, the
# system is still running, the journal has no new err-level line, the gateway
# answers.
wait_running
check_net "before the jump"
for u in systemd-journald systemd-udevd systemd-networkd; do
	systemctl is-active -q $u || fail "$u is not active"
done
kjump doctor || fail "kjump doctor: not ready"
counter_start
kjump load || fail "kjump load"
for n in 1 2 3; do
	c=$(cursor)
	a=$(counter)
	kjump exec || fail "kjump exec $n"
	sleep 1
	b=$(counter)
	[ "$b" -gt "$a" ] || fail "round trip $n: the counter stopped ($a -> $b)"
	s=$(systemctl is-system-running)
	[ "$s" = running ] || fail "round trip $n: system $s"
	for u in systemd-journald systemd-udevd systemd-networkd; do
		systemctl is-active -q $u || fail "round trip $n: $u is not active"
	done
	check_net "after round trip $n"
	check_errors "$c" "from round trip $n"
	say "round trip $n: counter $a -> $b, system running, network up, no errors"
done
kjump unload
say "roundtrip ok"
