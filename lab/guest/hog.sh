# hog.sh: functions for lab scripts (". /lab/hog.sh"), around the hog tool.
# hog_start PERCENT: start /lab/hog, wait until it holds its memory, show it.
# hog_check: have it check every one of its pages; fails unless all are intact.
hog_start() {
	/lab/hog "$1" >/tmp/hog.out 2>&1 &
	hogpid=$!
	while ! grep -q '^hog: holding' /tmp/hog.out; do
		kill -0 $hogpid 2>/dev/null || { cat /tmp/hog.out; return 1; }
		sleep 0.2
	done
	cat /tmp/hog.out
}

hog_check() {
	kill -USR1 $hogpid
	while ! grep -q '^hog: verified\|^hog: CORRUPT' /tmp/hog.out; do sleep 0.2; done
	grep '^hog: verified' /tmp/hog.out || { cat /tmp/hog.out; return 1; }
}
