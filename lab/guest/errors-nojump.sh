#!/bin/sh
# errors (a first kernel without CONFIG_KEXEC_JUMP): load and doctor refuse and say why.
if out=$(kjump load 2>&1); then
	echo "errors: FAILED: kjump load succeeded on a kernel without CONFIG_KEXEC_JUMP"
	exit 1
fi
echo "errors: running-kernel-without-kexec-jump: $out"
echo "$out" | grep -q CONFIG_KEXEC_JUMP || exit 1
if kjump doctor >/tmp/doctor 2>&1; then
	echo "errors: FAILED: doctor says ready"
	exit 1
fi
grep "not ready" /tmp/doctor
echo "errors: ok"
