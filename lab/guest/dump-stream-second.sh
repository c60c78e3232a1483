#!/bin/sh
# dump-stream (second kernel): the first kernel's memory, LZO, level 31, as a
# flattened stream on standard output (the summary goes to standard error);
# and its log, read straight from /proc/vmcore.
set -e
kjump dump -F -l /proc/vmcore >/dev/vda
sync
kjump dump --dump-dmesg /proc/vmcore /tmp/dmesg.txt
grep -q "kjump-lab: before the stream" /tmp/dmesg.txt
echo "dump-stream: the log from /proc/vmcore has the line before the jump ($(wc -l </tmp/dmesg.txt) lines)"
