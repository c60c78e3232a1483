#!/bin/sh
# flatbin.sh SRC.S OUT.bin: assemble position-independent x86_64 code (GNU as)
# into a flat binary loaded at address 0. Reproducible: a flat binary has no
# timestamps, and --build-id=none keeps ld from adding a build id. Used by the
# go:generate steps of purgatory/ and lab/guest/; their tests rerun it and
# compare with the committed blob.
set -eu
src=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
as --64 --noexecstack -o "$tmp/blob.o" "$src"
ld -nostdlib --build-id=none -Ttext=0 -e 0 --oformat binary -o "$tmp/blob.bin" "$tmp/blob.o"
mv "$tmp/blob.bin" "$out"
