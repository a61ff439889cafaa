#!/usr/bin/env bash
# Build N synthetic records with `hamt build` into an LMDB store and print
# records/s, bytes written, peak RSS and random gets/s; then build the same
# N records with the JavaScript reference (ipld-hashmap) and print the ratio.
# usage: bench/run_build.sh N [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:?usage: bench/run_build.sh N [BUILD_DIR]}
build=${2:-$here/build}
work=$(mktemp -d /tmp/hamtfs-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# records: key "rec/<i>", a ~100-byte value (same generator as the JS side)
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
	printf "rec/%d\t{\"id\":%d,\"title\":\"record number %d\",\"body\":\"lorem ipsum dolor sit amet %08d\"}\n", i, i, i, i }' \
	> "$work/in.tsv"
bytes_in=$(stat -c %s "$work/in.tsv")

t0=$(date +%s.%N)
"$build/hamt" build --store "$work/store" --ref main "$work/in.tsv" \
	> "$work/root" 2> "$work/summary"
t1=$(date +%s.%N)
root=$(tail -n 1 "$work/root")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
rate=$(awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }')
db=$(stat -c %s "$work/store/data.mdb")
printf 'hamtfs: records=%d seconds=%.3f records_per_s=%.0f input_bytes=%d store_bytes=%d root=%s\n' \
	"$n" "$secs" "$rate" "$bytes_in" "$db" "$root"
sed 's/^/hamtfs: /' "$work/summary"
"$build/bench/bench_get" "$work/store" main "$n" 100000 | sed 's/^/hamtfs: /'

# the reference inserts one record at a time (1,700 records/s at first,
# slower as the map grows: 700/s over 100,000): REF_MAX (default 1000000)
# skips it above that N, and REF_SECONDS=S stops it after S seconds; the
# ratio is then against its rate on the records it did, a lower bound of
# the ratio at N
if [ "$n" -gt "${REF_MAX:-1000000}" ]; then
	echo "reference: not run (N > REF_MAX=${REF_MAX:-1000000})"
elif [ -d "$here/tests/interop/node_modules" ]; then
	ref=$(cd "$here/tests/interop" && node "$here/bench/js/bench-ref.mjs" "$n")
	echo "reference: $ref"
	refrate=$(echo "$ref" | sed -n 's/.*records_per_s=\([0-9.]*\).*/\1/p')
	refroot=$(echo "$ref" | sed -n 's/.*root=\([a-z0-9]*\).*/\1/p')
	ratio=$(awk -v a="$rate" -v b="$refrate" 'BEGIN { printf "%.1f", a / b }')
	if echo "$ref" | grep -q 'partial=1'; then
		refn=$(echo "$ref" | sed -n 's/^records=\([0-9]*\).*/\1/p')
		echo "ratio (hamtfs / reference records/s): at least $ratio (the reference stopped after REF_SECONDS=$REF_SECONDS at $refn of $n records; its rate only falls as the map grows)"
		# the same records through hamt: its root must equal the reference's
		head -n "$refn" "$work/in.tsv" | "$build/hamt" build --store "$work/store-part" - 2>/dev/null | tail -n 1 > "$work/root-part"
		[ "$refroot" = "$(cat "$work/root-part")" ] && echo "roots of the first $refn records: equal" || echo "roots of the first $refn records: DIFFER ($refroot)"
	else
		echo "ratio (hamtfs / reference records/s): $ratio"
		[ "$refroot" = "$root" ] && echo "roots: equal" || echo "roots: DIFFER ($refroot)"
	fi
else
	echo "reference: not run (run npm ci in tests/interop)"
fi
