#!/bin/sh
# gen.sh assembles purgatory.S into the flat binary purgatory.bin.
#
# Usage: sh gen.sh [OUTPUT]   (OUTPUT defaults to purgatory.bin next to this script)
#
# Needs GNU binutils (as, ld). The output is reproducible: a flat binary has
# no timestamps, and --build-id=none keeps ld from adding a build id.
# purgatory_test.go runs this script into a temporary directory and checks
# that the result is byte-identical to the committed purgatory.bin.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$dir/purgatory.bin"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
as --64 --noexecstack -o "$tmp/purgatory.o" "$dir/purgatory.S"
ld -nostdlib --build-id=none -Ttext=0 -e 0 --oformat binary \
	-o "$tmp/purgatory.bin" "$tmp/purgatory.o"
mv "$tmp/purgatory.bin" "$out"
