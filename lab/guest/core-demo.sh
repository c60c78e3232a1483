#!/bin/sh
# demo: a second kernel starts a process that fills 32 MiB with self-naming
# pages and jumps back; the first kernel writes it as an ELF core to /dev/vda.
set -e
kjump load --add /lab/pattern --add /lab/core-second.sh --run "/lab/core-second.sh quiet"
kjump exec
kjump core -o /dev/vda
kjump unload
