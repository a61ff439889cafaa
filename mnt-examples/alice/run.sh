#!/usr/bin/env bash
# Mount the IPLD spec's HashMap fixture (alice-words: bit width 5, bucket
# size 3, inline values) and look around.
# usage: mnt-examples/alice/run.sh [BUILD_DIR] [FIXTURES_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
fixtures=${2:-$here/../../../shared/fixtures}
work=$(mktemp -d /tmp/hamtfs-alice.XXXXXX)
mnt=$work/mnt
trap 'mountpoint -q "$mnt" && fusermount3 -u "$mnt"; rm -rf "$work"' EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say "hamt import --store STORE hamt.car"
root=$("$build/hamt" import --store "$work/store" "$fixtures/hamt-alice-words/hamt.car")
echo "$root"
mkdir -p "$mnt"
say "hamtfs -o store=STORE $root MNT"
"$build/hamtfs" -o store="$work/store" "$root" "$mnt"
say "ls MNT | head; ls MNT | wc -l"
ls "$mnt" | head
ls "$mnt" | wc -l
say "cat MNT/Rabbit"
cat "$mnt/Rabbit"; echo
say "getfattr -d MNT"
getfattr -d "$mnt"
say "fusermount3 -u MNT"
fusermount3 -u "$mnt"
