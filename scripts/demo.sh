#!/usr/bin/env bash
# The demo: build a map from Open Library records (mnt-examples/ol), mount
# it, ls and cat through the mount, read the xattrs, verify the map and
# export it as a CAR. usage: scripts/demo.sh [WORK_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
build=$here/build
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
export PATH=$build:$PATH
work=${1:-$(mktemp -d /tmp/hamtfs-demo.XXXXXX)}
store=$work/store
mnt=$work/mnt
trap 'mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u "$mnt"' EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say "cut -f2,5 mnt-examples/ol/ol_dump_sample.txt | hamt build --store $store --ref main"
cut -f2,5 "$here/mnt-examples/ol/ol_dump_sample.txt" | hamt build --store "$store" --ref main
say "hamt ls --store $store main | head -3"
{ hamt ls --store "$store" main || true; } | head -3
say "hamt get --store $store main /works/OL45804W"
hamt get --store "$store" main /works/OL45804W; echo
mkdir -p "$mnt"
say "hamtfs -o store=$store main $mnt"
hamtfs -o store="$store" main "$mnt"
say "ls -f $mnt | head -5"
{ ls -f "$mnt" || true; } | head -5
say "cat $mnt/%2Fworks%2FOL45804W"
cat "$mnt/%2Fworks%2FOL45804W"; echo
say "getfattr -n user.hamtfs.root $mnt"
getfattr -n user.hamtfs.root "$mnt"
say "fusermount3 -u $mnt"
fusermount3 -u "$mnt"
say "hamt verify --store $store main"
hamt verify --store "$store" main
say "hamt export --store $store main $work/ol.car"
hamt export --store "$store" main "$work/ol.car"
ls -l "$work/ol.car"
echo
echo "demo done; files in $work"
