#!/bin/sh
# bench dump (second kernel): /proc/vmcore through read() and through mmap (kjump
# dump keeps every page, writes nothing), then a copy to /dev/vda.
echo "bench: read start"
dd if=/proc/vmcore of=/dev/null bs=1M 2>/dev/null
echo "bench: read done"
echo "bench: mmap start"
kjump dump --level 0 --compress none /proc/vmcore /dev/null >/dev/null
echo "bench: mmap done"
dd if=/proc/vmcore of=/dev/vda bs=1M 2>/dev/null
echo "bench: copied"
