#!/bin/sh
# kexec-tools (first kernel): Debian's kexec loads and enters the second kernel,
# confined to the crashkernel= reservation; the second kernel returns with
# 'kjump back' (kexec-tools' own helper cannot, see kexec-tools-second.sh).
set -e
/lab/counter.sh /tmp/k1-counter &
while [ ! -s /tmp/k1-counter ]; do sleep 0.05; done
region=$(grep "Crash kernel" /proc/iomem | head -n 1 | sed 's/^ *//; s/ .*//')
[ -n "$region" ] || { echo "kexec-tools: no crashkernel= reservation"; exit 1; }
start=$((0x${region%-*}))
end=$((0x${region#*-} + 1))
ram=$(((end - start) / 1048576 - 1))
adds=$(sed 's/^/--add /' /lab/kexec-tools.files)
kjump initramfs $adds --add /lab/kexec-tools-second.sh -o /tmp/second.cpio.gz
kexec --load-preserve-context --mem-min=$start --mem-max=$((end - 1)) \
	--initrd=/tmp/second.cpio.gz \
	--append="console=ttyS0 nokaslr iomem=relaxed memmap=exactmap memmap=256K@128K memmap=${ram}M@$((start / 1048576))M kjump.run=/lab/kexec-tools-second.sh kjump.then=back" \
	"/boot/vmlinuz-$(uname -r)"
echo "kexec-tools: loaded the second kernel into $region"
before=$(cat /tmp/k1-counter)
kexec -e || echo "kexec-tools: 'kexec -e' returned an error after the jump back (it never expects to return)"
sleep 1
after=$(cat /tmp/k1-counter)
echo "kexec-tools: first kernel's counter $before -> $after"
[ "$after" -gt "$before" ]
kexec -u
echo "kexec-tools: ok"
