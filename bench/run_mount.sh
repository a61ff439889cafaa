#!/usr/bin/env bash
# Mount benchmark (issue: read side). On one N-key store (default 1,000,000):
# time to the first entry and to the whole `ls -f`; stat and cat of 10,000
# random keys per second through the mount and, for the same files copied
# to tmpfs, the ratio; the daemon's RSS after the full listing. Runs twice:
# as is, and with the daemon and the client pinned to one core (taskset -c 1).
# usage: bench/run_mount.sh [N] [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000000}
build=${2:-$here/build}
work=$(mktemp -d /tmp/hamtfs-mbench.XXXXXX)
shm=$(mktemp -d /dev/shm/hamtfs-mbench.XXXXXX)
mnt=$work/mnt
pid=
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u "$mnt"
	rm -rf "$work" "$shm"
}
trap cleanup EXIT
mkdir -p "$mnt"

awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
	printf "/works/OL%dW\t{\"key\":\"/works/OL%dW\",\"title\":\"record %d\",\"revision\":%d,\"subjects\":[\"lorem\",\"ipsum\"]}\n", i, i, i, i % 40 }' > "$work/in.tsv"
"$build/hamt" build --store "$work/store" --ref main "$work/in.tsv" >/dev/null 2>&1
"$build/hamt" ls --store "$work/store" main | shuf -n 10000 --random-source=<(yes) > "$work/names"

now() { date +%s.%N; }
mount_it() { # $1: prefix command (empty or taskset)
	$1 "$build/hamtfs" -f -o store="$work/store" main "$mnt" &
	pid=$!
	for _ in $(seq 200); do mountpoint -q "$mnt" && return; sleep 0.05; done
	echo "mount failed" >&2; exit 1
}
run() { # $1: label, $2: pin prefix
	local label=$1 pin=$2
	mount_it "$pin"
	t0=$(now)
	first=$( ($pin ls -f "$mnt" || true) | head -n 3 | tail -n 1)
	t1=$(now)
	count=$($pin ls -f "$mnt" | wc -l)
	t2=$(now)
	rss=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status)
	hwm=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status)
	anon=$(awk '/RssAnon/ { print $2 }' /proc/$pid/status)
	file=$(awk '/RssFile/ { print $2 }' /proc/$pid/status)
	printf '%s: daemon RSS split: anonymous (heap) %d MiB, file-backed (LMDB map pages) %d MiB\n' "$label" $((anon / 1024)) $((file / 1024))
	printf '%s: first entry %.3f s (%s), full ls -f %.2f s (%d entries), daemon RSS %d MiB (peak %d MiB)\n' \
		"$label" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$first" \
		"$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" "$((count - 2))" \
		$((rss / 1024)) $((hwm / 1024))
	for op in stat cat; do
		m=$($pin "$build/bench/bench_fsread" "$mnt" "$work/names" $op 3)
		t=$($pin "$build/bench/bench_fsread" "$shm" "$work/names" $op 3)
		mh=$(sed -n 's/.*hot_per_s=\([0-9]*\).*/\1/p' <<<"$m")
		th=$(sed -n 's/.*hot_per_s=\([0-9]*\).*/\1/p' <<<"$t")
		printf '%s: %s hamtfs %s | tmpfs %s | hot ratio %.2f\n' "$label" "$op" "$m" "$t" \
			"$(awk -v a="$mh" -v b="$th" 'BEGIN { print a / b }')"
	done
	fusermount3 -u "$mnt"
	wait "$pid" || true
}
# the same 10,000 files copied to tmpfs, through a first mount
mount_it ""
(cd "$mnt" && xargs -d '\n' cp -t "$shm" < "$work/names")
fusermount3 -u "$mnt"
wait "$pid" || true
echo "dataset: $n keys, 10000 sampled files ($(du -sk "$shm" | cut -f1) KiB on tmpfs)"
run unpinned ""
run "pinned (taskset -c 1)" "taskset -c 1"
