#!/usr/bin/env bash
# The demo: build a map from Open Library records (mnt-examples/ol), mount
# it, ls and cat through the mount, rsync three new records in and rm one,
# commit with setfattr and read the new root, then verify the map and
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
root0=$(getfattr --only-values -n user.hamtfs.root "$mnt")

# stage changes with ordinary tools: rsync new records in, rm one
mkdir -p "$work/new"
for n in 1 2 3; do
	printf '{"key":"/works/OL9999%dW","title":"A new work %d","type":{"key":"/type/work"}}' "$n" "$n" \
		> "$work/new/%2Fworks%2FOL9999${n}W"
done
say "rsync -a $work/new/ $mnt/"
rsync -a "$work/new/" "$mnt/"
say "rm $mnt/%2Fworks%2FOL10000W"
rm "$mnt/%2Fworks%2FOL10000W"
say "getfattr -n user.hamtfs.staged $mnt"
getfattr -n user.hamtfs.staged "$mnt"
say "cat $mnt/%2Fworks%2FOL99992W"
cat "$mnt/%2Fworks%2FOL99992W"; echo
say "setfattr -n user.hamtfs.commit -v 1 $mnt"
setfattr -n user.hamtfs.commit -v 1 "$mnt"
say "getfattr -n user.hamtfs.root $mnt"
getfattr -n user.hamtfs.root "$mnt"
root1=$(getfattr --only-values -n user.hamtfs.root "$mnt")
say "fusermount3 -u $mnt"
fusermount3 -u "$mnt"
say "hamt log --store $store main"
hamt log --store "$store" main
say "hamt verify --store $store main"
hamt verify --store "$store" main
say "hamt get --store $store main /works/OL99992W"
hamt get --store "$store" main /works/OL99992W; echo
say "hamt export --store $store main $work/ol.car"
hamt export --store "$store" main "$work/ol.car"
ls -l "$work/ol.car"
echo
echo "demo done: root $root0 -> $root1 (3 records added, 1 removed); files in $work"
