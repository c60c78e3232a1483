#!/bin/sh
# bench jump (first kernel): load a second kernel with kjump or kexec-tools ($1),
# then three round trips; the lab times the markers with the host clock.
set -e
tool=$1
kjump initramfs --add /lab/bench-second.sh -o /tmp/second.cpio.gz >/dev/null
echo "bench: load"
if [ "$tool" = kjump ]; then
	kjump load --initrd /tmp/second.cpio.gz --run /lab/bench-second.sh >/dev/null
else
	region=$(grep "Crash kernel" /proc/iomem | head -n 1 | sed 's/^ *//; s/ .*//')
	start=$((0x${region%-*}))
	end=$((0x${region#*-} + 1))
	kexec --load-preserve-context --mem-min=$start --mem-max=$((end - 1)) --initrd=/tmp/second.cpio.gz \
		--append="console=ttyS0 nokaslr iomem=relaxed memmap=exactmap memmap=256K@128K memmap=$(((end - start) / 1048576 - 1))M@$((start / 1048576))M kjump.run=/lab/bench-second.sh kjump.then=back" \
		"/boot/vmlinuz-$(uname -r)"
fi
echo "bench: loaded"
for i in 1 2 3; do
	echo "bench: exec $i"
	if [ "$tool" = kjump ]; then kjump exec >/dev/null; else kexec -e 2>/dev/null || true; fi
	echo "bench: back $i"
done
if [ "$tool" = kjump ]; then kjump unload; else kexec -u; fi
