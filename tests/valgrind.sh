#!/usr/bin/env bash
# Run every unit-test program (tests/AREA/test_NAME.c, built as
# BUILD_DIR/tests/AREA_test_NAME) and every fuzz corpus replay
# (BUILD_DIR/tests/fuzz_NAME_replay over tests/fuzz/corpus/NAME) under
# valgrind memcheck; fail on any invalid access, use of uninitialised
# memory, definite or indirect leak, or failing test.
#
# usage: tests/valgrind.sh BUILD_DIR      (a normal build, not a sanitizer one)
# VALGRIND_JOBS (default 2) programs run at once; logs go to
# BUILD_DIR/valgrind/NAME.log.
set -uo pipefail
build=$(cd "${1:?usage: tests/valgrind.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
jobs=${VALGRIND_JOBS:-2}
export FIXTURES=${FIXTURES:-$here/../shared/fixtures}
# the fault test tries every point in the normal pass; here (about 30 times
# slower, and without allocation faults: valgrind owns malloc) every 20th
export FAULT_STRIDE=${FAULT_STRIDE:-20}
# test_store's bulk load: 3,000 blocks, not the ~600 MB it takes to make
# LMDB write pages before the commit
export BULK_DROP_BLOCKS=${BULK_DROP_BLOCKS:-3000}
export TEST_TMP=${TEST_TMP:-$build/tests/tmp-valgrind}
out=$build/valgrind
rm -rf "$out"
mkdir -p "$out" "$TEST_TMP"
command -v valgrind >/dev/null || { echo "tests/valgrind.sh: valgrind is not installed" >&2; exit 1; }

# NAME|PROGRAM|ARGS...
progs=()
for src in "$here"/tests/*/test_*.c; do
	area=$(basename "$(dirname "$src")")
	name=${area}_$(basename "$src" .c)
	progs+=("$name|$build/tests/$name")
done
for src in "$here"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	progs+=("${t}_replay|$build/tests/${t}_replay|$here/tests/fuzz/corpus/${t#fuzz_}")
done

run_one() {
	local name=$1 prog=$2 arg=${3:-} start=$SECONDS
	if [ ! -x "$prog" ]; then
		echo "missing $prog (build BUILD_DIR first)" >"$out/$name.log"
		echo 2 >"$out/$name.rc"
		return
	fi
	# 97: valgrind found an error (a test failure exits 1)
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=97 "$prog" ${arg:+"$arg"} >"$out/$name.log" 2>&1
	echo $? >"$out/$name.rc"
	echo $((SECONDS - start)) >"$out/$name.time"
}

start=$SECONDS
running=0
for p in "${progs[@]}"; do
	IFS='|' read -r name prog arg <<<"$p"
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$name" "$prog" "$arg" &
	running=$((running + 1))
done
wait

failed=0
for p in "${progs[@]}"; do
	IFS='|' read -r name prog arg <<<"$p"
	rc=$(cat "$out/$name.rc" 2>/dev/null || echo 2)
	t=$(cat "$out/$name.time" 2>/dev/null || echo "?")
	case $rc in
	0) printf 'ok    %-28s %4ss\n' "$name" "$t" ;;
	97)
		failed=1
		printf 'FAIL  %-28s %4ss  valgrind errors (%s):\n' "$name" "$t" "$out/$name.log"
		grep -E '^==[0-9]+==' "$out/$name.log" | head -n 40
		;;
	*)
		failed=1
		printf 'FAIL  %-28s %4ss  exit %s (%s):\n' "$name" "$t" "$rc" "$out/$name.log"
		tail -n 20 "$out/$name.log"
		;;
	esac
done
echo "valgrind: ${#progs[@]} programs in $((SECONDS - start))s"
exit $failed
