#!/bin/sh
# snapshot-region (first kernel): fill memory with self-naming pages, put the
# second kernel's region where many of them are (the jump swaps them out), and
# snapshot at a level that keeps user pages; the lab checks those pages in the
# dump.
set -e
/lab/pattern 560 >/tmp/pattern.out &
while ! grep -q ready /tmp/pattern.out; do sleep 0.2; done
cat /tmp/pattern.out
for w in $(sed -n 's/^pattern: window \(0x[0-9a-f]*\) .*/\1/p' /tmp/pattern.out); do
	if kjump snapshot -o /dev/vda --level 17 --mem-min "$w" --mem-max $((w + 0x10000000 - 1)); then
		echo "snapshot-region: window $w"
		exit 0
	fi
done
echo "snapshot-region: no window of the pattern could hold the region"
exit 1
