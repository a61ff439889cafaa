#!/usr/bin/env bash
# The demo: build a map from mnt-examples/, list it, read a record, verify
# it and export it as a CAR. Usage: scripts/demo.sh [WORK_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
build=$here/build
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
hamt=$build/hamt
work=${1:-$(mktemp -d /tmp/hamtfs-demo.XXXXXX)}
store=$work/store
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say hamt build --store "$store" --ref main --format tsv "$here/mnt-examples/books.tsv"
root=$("$hamt" build --store "$store" --ref main --format tsv "$here/mnt-examples/books.tsv" | tail -n 1)
echo "root: $root"
say "hamt ls --store $store main | head -5"
"$hamt" ls --store "$store" main | head -5
say "hamt get --store $store main /works/OL45804W"
"$hamt" get --store "$store" main /works/OL45804W; echo
say hamt verify --store "$store" main
"$hamt" verify --store "$store" main
say hamt export --store "$store" main "$work/books.car"
"$hamt" export --store "$store" main "$work/books.car"
ls -l "$work/books.car"
say "hamt import --store $work/copy $work/books.car"
"$hamt" import --store "$work/copy" "$work/books.car"
echo
echo "demo done; files in $work"
