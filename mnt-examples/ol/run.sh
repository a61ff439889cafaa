#!/usr/bin/env bash
# Build a store from Open Library dump records (five tab-separated columns:
# type, key, revision, last-modified, JSON record), mount it, and look
# around with ls, cat and getfattr. usage: mnt-examples/ol/run.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
work=$(mktemp -d /tmp/hamtfs-ol.XXXXXX)
mnt=$work/mnt
trap 'mountpoint -q "$mnt" && fusermount3 -u "$mnt"; rm -rf "$work"' EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# key = column 2, record = column 5
say "cut -f2,5 ol_dump_sample.txt | hamt build --store STORE --ref main"
cut -f2,5 "$here/ol_dump_sample.txt" | "$build/hamt" build --store "$work/store" --ref main
mkdir -p "$mnt"
say "hamtfs -o store=STORE main MNT"
"$build/hamtfs" -o store="$work/store" main "$mnt"
say "ls -f MNT | head -5"
{ ls -f "$mnt" || true; } | head -5
say "ls MNT | wc -l"
ls "$mnt" | wc -l
say "cat MNT/%2Fworks%2FOL45804W"
cat "$mnt/%2Fworks%2FOL45804W"; echo
say "getfattr -d MNT"
getfattr -d "$mnt"
say "getfattr -d MNT/%2Fworks%2FOL45804W"
getfattr -d "$mnt/%2Fworks%2FOL45804W"
say "fusermount3 -u MNT"
fusermount3 -u "$mnt"
