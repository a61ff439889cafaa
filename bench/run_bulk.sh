#!/usr/bin/env bash
# The bulk-build benchmark: N synthetic Open Library records (bench/gen_ol:
# deterministic, ~260-byte JSON records, keys /books/OL..M, /works/OL..W,
# /authors/OL..A) built with `hamt build --format ol` into a fresh LMDB
# store; prints records/s per phase and overall, bytes written and peak
# RSS, and what writing as many bytes with dd costs on this machine then,
# and after each run what touching fresh memory costs (bench/touch_mem).
# Then the JavaScript reference (ipld-hashmap, one insert at a time)
# on the first REF_N (default 100,000) of the same records, hamt on the same
# REF_N records, both roots (they must be equal) and the ratios.
#
# usage: bench/run_bulk.sh N [BUILD_DIR]
# env:   WORK=DIR      where the input and the store go (default: a new
#                      directory under /tmp, removed at the end; the 10M
#                      input is ~3.2 GB and the store ~3.3 GB)
#        THREADS=N     hamt build --threads (default: all cores)
#        MEM=SIZE      hamt build --mem (default: hamt's)
#        SMALL=1       16-byte keys and 32-byte values (tsv) instead
#        REF_N=N       records for the reference (0: skip it)
#        RUNS=K        builds of the N records, each into a new store
#                      (default 3): the figures are the median run's,
#                      and every run's time is printed (on a VM whose
#                      host is shared, the same build varies by 20-30%)
#        VERIFY=1      run hamt verify on the result
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:?usage: bench/run_bulk.sh N [BUILD_DIR]}
build=${2:-$here/build}
ref_n=${REF_N:-100000}
runs=${RUNS:-3}
if [ -n "${WORK:-}" ]; then
	work=$WORK
	mkdir -p "$work"
else
	work=$(mktemp -d /tmp/hamtfs-bulk.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi
opts=()
[ -n "${THREADS:-}" ] && opts+=(--threads "$THREADS")
[ -n "${MEM:-}" ] && opts+=(--mem "$MEM")
if [ "${SMALL:-0}" = 1 ]; then
	gen=(--small)
	fmt=tsv
else
	gen=()
	fmt=ol
fi

echo "generating $n records ($fmt) in $work ..."
"$build/bench/gen_ol" "${gen[@]}" "$n" >"$work/in.txt"
bytes_in=$(stat -c %s "$work/in.txt")
rm -rf "$work/store"
sync

# one build; the summary lines give the phases
run_build() { # INPUT STORE SUMMARY -> prints the root
	local t0 t1
	t0=$(date +%s.%N)
	"$build/hamt" build --store "$2" --ref main --format "$fmt" --quiet "${opts[@]}" "$1" >"$3.root" 2>"$3"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >"$3.wall"
	tail -n 1 "$3.root"
}
field() { # SUMMARY REGEX: the number after REGEX in the summary
	sed -n "s/.*$2 \([0-9.]*\).*/\1/p" "$1" | head -n 1
}

# RUNS builds of the same input into a new store each: the median one (by
# wall clock) gives the figures; the stores are all the same, the last one
# is kept for the size, the floor and verify below
walls=()
for i in $(seq 1 "$runs"); do
	rm -rf "$work/store"
	sync
	root=$(run_build "$work/in.txt" "$work/store" "$work/summary.$i")
	walls+=("$(cat "$work/summary.$i.wall") $i $root")
	# what the next build's fresh memory will cost (after the run, not
	# before it: memory touched and freed just before a build is cheap
	# for it to touch again)
	echo "run $i: $(cat "$work/summary.$i.wall") s; then $("$build/bench/touch_mem" 512)"
done
mid=$(printf '%s\n' "${walls[@]}" | sort -n |
	sed -n "$(((runs + 1) / 2))p" | cut -d' ' -f2)
nroots=$(printf '%s\n' "${walls[@]}" | cut -d' ' -f3 | sort -u | wc -l)
cp "$work/summary.$mid" "$work/summary"
wall=$(cat "$work/summary.$mid.wall")
echo "hamt: $runs runs of $(printf '%s\n' "${walls[@]}" | cut -d' ' -f1 | tr '\n' ' ')s wall clock (process start to exit); the figures below are the median run's; roots: $([ "$nroots" = 1 ] && echo "all equal" || echo "DIFFER")"
sed 's/^/hamt: /' "$work/summary"
t_read=$(sed -n 's/.*time: read \([0-9.]*\)s.*/\1/p' "$work/summary")
t_build=$(sed -n 's/.*, build \([0-9.]*\)s.*/\1/p' "$work/summary")
t_write=$(sed -n 's/.*, write \([0-9.]*\)s.*/\1/p' "$work/summary")
t_commit=$(sed -n 's/.*, commit \([0-9.]*\)s.*/\1/p' "$work/summary")
rss=$(sed -n 's/.*peak RSS \([0-9]*\) MiB.*/\1/p' "$work/summary")
blocks=$(field "$work/summary" "blocks")
bytes=$(field "$work/summary" "bytes")
db=$(stat -c %s "$work/store/data.mdb")
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "inf" }'; }
echo "hamt: N=$n input_bytes=$bytes_in root=$root"
echo "hamt: read   $(rate "$n" "$t_read") records/s ($t_read s: parse, hash, partition)"
echo "hamt: build  $(rate "$n" "$t_build") records/s ($t_build s from the end of read: sort, sub-trees, root)"
echo "hamt: write  $(rate "$blocks" "$t_write") blocks/s, $(rate "$n" "$t_write") records/s ($t_write s from the end of read, $blocks blocks, $bytes bytes)"
echo "hamt: commit $t_commit s (fsync)"
echo "hamt: overall $(rate "$n" "$wall") records/s ($wall s wall clock, process start to exit)"
echo "hamt: store data.mdb $db bytes; peak RSS $rss MiB"
# What writing the store's bytes costs this machine as it is: dd of as many
# bytes into a new file on the same file system, into the page cache (no
# sync). Once on memory nobody has touched for 20 s, as most of the
# build's is (on a VM that hands idle memory back to its host, the first
# touch of such memory is what costs), and once right after, on the
# memory the first dd just freed.
mib=$((db >> 20))
dd_secs() {
	local t0
	t0=$(date +%s.%N)
	dd if=/dev/zero of="$work/dd.out" bs=1M count="$mib" 2>/dev/null
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
	rm -f "$work/dd.out"
}
# (only with room for it and 1 GiB more: the 200M-record store is 30 GiB)
free_mib=$(($(df --output=avail -k "$work" | tail -n 1) >> 10))
if [ "$free_mib" -ge $((mib + 1024)) ]; then
	sleep 20
	dd_cold=$(dd_secs)
	dd_warm=$(dd_secs)
	echo "floor: dd of the store's $mib MiB into a new file: $dd_cold s on memory idle for 20 s, $dd_warm s right after (hamt's total: $wall s)"
else
	echo "floor: not measured: $free_mib MiB free in $work, and the store is $mib MiB"
fi
if [ "${VERIFY:-0}" = 1 ]; then
	"$build/hamt" verify --store "$work/store" main | sed 's/^/verify: /'
fi

if [ "$ref_n" -gt 0 ] && [ "$fmt" = ol ]; then
	if [ ! -d "$here/tests/interop/node_modules" ]; then
		echo "reference: not run (run npm ci in tests/interop)"
		exit 0
	fi
	head -n "$ref_n" "$work/in.txt" >"$work/ref.txt"
	rm -rf "$work/refstore"
	ref_root=$(run_build "$work/ref.txt" "$work/refstore" "$work/refsum")
	our_wall=$(cat "$work/refsum.wall")
	ref=$(cd "$here/tests/interop" && node "$here/bench/js/bench-ref-ol.mjs" "$work/ref.txt")
	echo "reference (ipld-hashmap, N=$ref_n): $ref"
	refrate=$(echo "$ref" | sed -n 's/.*records_per_s=\([0-9.]*\).*/\1/p')
	their_root=$(echo "$ref" | sed -n 's/.*root=\([a-z0-9]*\).*/\1/p')
	echo "hamt (N=$ref_n): $(rate "$ref_n" "$our_wall") records/s ($our_wall s) root=$ref_root"
	[ "$their_root" = "$ref_root" ] && echo "roots: equal" || echo "roots: DIFFER"
	printf 'ratio hamt/reference, both at N=%d: %.0f\n' "$ref_n" \
		"$(awk -v a="$(rate "$ref_n" "$our_wall")" -v b="$refrate" 'BEGIN { print a / b }')"
	printf 'ratio hamt at N=%d / reference at N=%d: %.0f\n' "$n" "$ref_n" \
		"$(awk -v a="$(rate "$n" "$wall")" -v b="$refrate" 'BEGIN { print a / b }')"
fi
