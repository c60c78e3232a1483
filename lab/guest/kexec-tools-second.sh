#!/bin/sh
# kexec-tools (second kernel): try kexec-tools' own jump-back helper, which fails
# on Linux 6.12 (a 0-size segment at address 0 makes the kernel try to allocate
# every page), then init returns with 'kjump back' (kjump.then=back).
entry=$(sed -n 's/.*kexec_jump_back_entry=\(0x[0-9a-fA-F]*\).*/\1/p' /proc/cmdline)
echo "kexec-tools: second kernel up; jump-back entry $entry"
if kexec --load-jump-back-helper --entry="$entry"; then
	echo "kexec-tools: its jump-back helper loaded; unloading it (executing it would fault)"
	kexec -u
else
	echo "kexec-tools: its jump-back helper failed to load (exit $?)"
fi
