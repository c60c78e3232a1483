#!/bin/sh
# dump-stream (first kernel): a second kernel sends this kernel's memory as
# makedumpfile's flattened stream (kjump dump -F), as it would down ssh, here
# to /dev/vda, and jumps back. The lab rebuilds the stream on the host with
# kjump dump -R and makedumpfile -R and reads it with makedumpfile and crash.
set -e
echo "kjump-lab: before the stream" >/dev/kmsg
kjump load --add /lab/dump-stream-second.sh --run /lab/dump-stream-second.sh --then back >/dev/null
kjump exec
echo "dump-stream: back in the first kernel"
