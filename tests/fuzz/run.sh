#!/usr/bin/env bash
# Fuzz every target of tests/fuzz/ with libFuzzer for SECONDS each, two at
# a time (one per core), and fail if any of them finds a crash, a sanitizer
# report, a timeout or a broken invariant.
#
# usage: tests/fuzz/run.sh SECONDS [TARGET...]     (e.g. tests/fuzz/run.sh 60)
#
# Builds with clang in its own directory ($HAMTFS_FUZZ_BUILD, default
# build-fuzz/ in the checkout) with -DHAMTFS_FUZZ=ON (libFuzzer +
# AddressSanitizer + UndefinedBehaviorSanitizer). Each target starts from
# its committed corpus tests/fuzz/corpus/NAME (read only: new inputs go to
# BUILD/fuzz-out/NAME/corpus) and its dictionary tests/fuzz/NAME.dict if
# there is one. A crash leaves its input in BUILD/fuzz-out/NAME/artifacts/:
# fix the bug, then copy the input into tests/fuzz/corpus/NAME/ as
# crash-<what> so ctest replays it from then on.
set -uo pipefail
secs=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${HAMTFS_FUZZ_BUILD:-$here/build-fuzz}
out=$build/fuzz-out

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in "$here"/tests/fuzz/fuzz_*.c; do
		n=$(basename "$f" .c)
		targets+=("${n#fuzz_}")
	done
fi

cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang -DHAMTFS_FUZZ=ON \
	-DHAMTFS_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" >/dev/null || {
	echo "tests/fuzz/run.sh: build failed" >&2
	cmake --build "$build" -j1 --target "${targets[@]/#/fuzz_}" 2>&1 | tail -n 30
	exit 1
}

rm -rf "$out"
run_one() {
	local t=$1 w=$out/$1
	mkdir -p "$w/corpus" "$w/artifacts"
	local dict=()
	[ -f "$here/tests/fuzz/$t.dict" ] && dict=(-dict="$here/tests/fuzz/$t.dict")
	"$build/tests/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$w/artifacts/" "$w/corpus" \
		"$here/tests/fuzz/corpus/$t" >"$w/log" 2>&1
	echo $? >"$w/rc"
}

# two at a time: one per core
running=0
for t in "${targets[@]}"; do
	if [ ! -x "$build/tests/fuzz_$t" ]; then
		echo "tests/fuzz/run.sh: no target fuzz_$t" >&2
		exit 1
	fi
	if [ $running -ge 2 ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$t" &
	running=$((running + 1))
done
wait

failed=0
total=0
for t in "${targets[@]}"; do
	w=$out/$t
	rc=$(cat "$w/rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -n 1)
	corpus=$(find "$w/corpus" -type f | wc -l)
	crashes=$(find "$w/artifacts" -type f | wc -l)
	total=$((total + ${execs:-0}))
	if [ "$rc" = 0 ] && [ "$crashes" = 0 ] && [ -n "$execs" ]; then
		printf 'fuzz_%-6s %12s executions in %ss, %s new corpus inputs: ok\n' \
			"$t" "$execs" "$secs" "$corpus"
	else
		failed=1
		printf 'fuzz_%-6s %12s executions in %ss: FAILED (exit %s, %s crash files in %s)\n' \
			"$t" "${execs:-?}" "$secs" "$rc" "$crashes" "$w/artifacts"
		grep -E 'ERROR|SUMMARY|invariant failed|runtime error|Test unit written' "$w/log" | head -n 20
	fi
done
echo "total: $total executions"
exit $failed
