# real-lib.sh: shell functions for the scripts the real machine runs (lab-run
# puts this file before each script). Output goes to the serial console; the
# lab matches "lab: " lines.
say() { echo "lab: $*"; }
fail() {
	echo "lab: FAIL: $*"
	exit 1
}
# wait_running: the boot has finished and nothing failed.
wait_running() {
	s=$(systemctl is-system-running --wait 2>/dev/null)
	if [ "$s" != running ]; then
		systemctl --failed --no-legend --no-pager
		fail "systemctl is-system-running: $s"
	fi
}
# gateway: QEMU's user-net gateway, from the DHCP lease's default route.
gateway() { ip -4 route show default | awk '{print $3; exit}'; }
check_net() {
	gw=$(gateway)
	[ -n "$gw" ] || fail "no default route: no DHCP lease ($1)"
	ping -c 1 -W 5 "$gw" >/dev/null || fail "the gateway $gw does not answer ($1)"
}
# counter_start: a process counting ten times a second into /run/counter.
counter_start() {
	(
		i=0
		while :; do
			i=$((i + 1))
			echo "$i" >/run/counter.tmp
			mv /run/counter.tmp /run/counter
			sleep 0.1
		done
	) &
	while [ ! -s /run/counter ]; do sleep 0.1; done
}
counter() { cat /run/counter; }
# cursor: where the journal is now.
cursor() { journalctl -n 0 --show-cursor --no-pager -q | sed -n 's/^-- cursor: //p'; }
# check_errors CURSOR WHAT: no err-level (or worse) journal line since CURSOR;
# the journal holds the kernel's messages too.
check_errors() {
	errs=$(journalctl --after-cursor="$1" -p err --no-pager -q -o short-monotonic)
	if [ -n "$errs" ]; then
		echo "$errs"
		fail "err-level journal lines $2"
	fi
}
