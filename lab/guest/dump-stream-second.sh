#!/bin/sh
# dump-stream (second kernel): the first kernel's memory, LZO, level 31, as a
# flattened stream on standard output; the summary goes to standard error.
set -e
kjump dump -F -l /proc/vmcore >/dev/vda
sync
