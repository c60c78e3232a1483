#!/bin/sh
# gen.sh assembles purgatory.S into the flat binary purgatory.bin.
#
# Usage: sh gen.sh [OUTPUT]   (OUTPUT defaults to purgatory.bin next to this script)
#
# Needs GNU binutils (as, ld); see internal/flatbin/flatbin.sh. purgatory_test.go
# runs this script into a temporary directory and checks that the result is
# byte-identical to the committed purgatory.bin.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
exec sh "$dir/../flatbin/flatbin.sh" "$dir/purgatory.S" "${1:-"$dir/purgatory.bin"}"
