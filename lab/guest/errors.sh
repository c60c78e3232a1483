#!/bin/sh
# errors (first kernel): each bad input is refused with a message naming the cause,
# and the running system carries on unharmed.
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
fail() {
	echo "errors: FAILED: $*"
	exit 1
}
# refused NAME PATTERN COMMAND...: COMMAND must fail with PATTERN in its message.
refused() {
	name=$1 pattern=$2
	shift 2
	if out=$("$@" 2>&1); then
		fail "$name: '$*' succeeded: $out"
	fi
	echo "$out" | sed "s/^/errors: $name: /"
	echo "$out" | grep -q "$pattern" || fail "$name: the message does not say '$pattern'"
}
kernel=/boot/vmlinuz-$(uname -r)
head -c 300000 "$kernel" >/tmp/truncated
refused truncated-bzimage "bzImage truncated" kjump load /tmp/truncated
dd if=/dev/urandom of=/tmp/garbage bs=1024 count=256 2>/dev/null
refused garbage-bzimage "not a bzImage" kjump load /tmp/garbage
refused vmlinux-not-bzimage "ELF" kjump load /init
refused region-over-half "half" kjump load --mem-size 768M
refused second-kernel-without-kexec-jump "CONFIG_KEXEC_JUMP" kjump load /boot/vmlinuz-nojump
kjump load >/dev/null || fail "a good load failed after the refusals"
refused second-load "already loaded" kjump load
kjump unload || fail "unload failed"
a=$(cat /tmp/k1-counter)
sleep 0.5
b=$(cat /tmp/k1-counter)
[ "$b" -gt "$a" ] || fail "the counter stopped ($a, $b)"
echo "errors: the first kernel is unharmed: its counter went $a -> $b"
echo "errors: ok"
