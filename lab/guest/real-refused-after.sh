# real-hibernate-refused (third boot): the refused resume rebooted into the
# default entry: all the RAM, the system running, and the previous boot's
# journal says why kjump did not resume.
wait_running
grep -q 'kjump.resume' /proc/cmdline && fail "booted the resume entry again: $(cat /proc/cmdline)"
mem=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)
[ "$mem" -gt 1500000 ] || fail "MemTotal ${mem} kB: not all the RAM"
journalctl --list-boots --no-pager
why=$(journalctl -b -1 -u kjump-resume-cleanup.service --no-pager -q -o cat)
echo "$why"
echo "$why" | grep -q 'image' || fail "the previous boot's journal does not say why the resume was refused"
say "refused ok: MemTotal $mem kB; the journal of the refused boot says: $(echo "$why" | tail -n 1)"
