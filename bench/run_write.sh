#!/usr/bin/env bash
# Write-side benchmark. In one run:
#  1. `rsync -a` of 10,000 files of 1 KiB into the mount (unpinned, and with
#     the daemon and rsync pinned to one core: taskset -c 1), into tmpfs
#     and into a directory on the local disk: files/s and ratios;
#  2. a commit of 10,000 changes on a 1,000,000-key base against a full
#     `hamt build` of the same 1,000,000 keys: seconds and ratio;
#  3. for each commit, its floor: the blocks it wrote, hashed, written to
#     a plain file, and put into a copy of the store taken just before it
#     (bench_floor): what those blocks cost with no HAMT work at all.
# usage: bench/run_write.sh [BASE_KEYS] [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nbase=${1:-1000000}
build=${2:-$here/build}
work=$(mktemp -d /var/tmp/hamtfs-wbench.XXXXXX)
shm=$(mktemp -d /dev/shm/hamtfs-wbench.XXXXXX)
mnt=$work/mnt
pid=
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u "$mnt"
	rm -rf "$work" "$shm"
}
trap cleanup EXIT
mkdir -p "$mnt" "$work/src"
now() { date +%s.%N; }
# pct TOTAL PART...: the sum of the PARTs as a percentage of TOTAL
pct() { awk 'BEGIN { for (i = 2; i < ARGC; i++) s += ARGV[i]; printf "%.2f", 100 * s / ARGV[1] }' "$@"; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

# 10,000 files of 1 KiB
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1000 > "$work/one"
for i in $(seq 1 10000); do { printf '%05d\n' "$i"; cat "$work/one"; } | head -c 1024 > "$work/src/file-$i"; done

mount_it() { # $1: pin prefix
	$1 "$build/hamtfs" -f -o store="$work/store" main "$mnt" 2>>"$work/daemon.log" &
	pid=$!
	for _ in $(seq 200); do mountpoint -q "$mnt" && return; sleep 0.05; done
	echo "mount failed" >&2; exit 1
}
umount_it() { fusermount3 -u "$mnt"; wait "$pid" || true; }
fresh_store() {
	rm -rf "$work/store"
	printf 'seed\t1\n' | "$build/hamt" build --store "$work/store" --ref main >/dev/null 2>&1
}
wchar() { awk '/^wchar:/ { print $2 }' "/proc/$pid/io"; }
# after a commit: "NEW MiB of new blocks, the store wrote W MiB (Rx)" from
# the daemon's log line and its write(2) bytes since $1
amplification() {
	local w new
	w=$(($(wchar) - $1))
	new=$(sed -n 's/.* blocks of \([0-9.]*\) MiB.*/\1/p' "$work/daemon.log" | tail -n 1)
	awk -v n="$new" -v w="$w" 'BEGIN { printf "%s MiB of new blocks, the store wrote %.1f MiB (%.1fx)", n, w / 1048576, w / 1048576 / n }'
}
rsync_into() { # $1: pin prefix, $2: destination; prints files/s
	local t0 t1
	t0=$(now); $1 rsync -a "$work/src/" "$2/"; t1=$(now)
	rate 10000 "$t0" "$t1"
}

r_tmpfs=$(rsync_into "" "$shm")
rm -rf "${shm:?}"/*
r_tmpfs_pin=$(rsync_into "taskset -c 1" "$shm")
mkdir -p "$work/disk"
r_disk=$(rsync_into "" "$work/disk")
fresh_store; mount_it ""
r_mnt=$(rsync_into "" "$mnt")
umount_it
fresh_store; mount_it "taskset -c 1"
r_mnt_pin=$(rsync_into "taskset -c 1" "$mnt")
staged=$(getfattr --only-values -n user.hamtfs.staged "$mnt")
umount_it
echo "rsync -a of 10000 x 1 KiB files (files/s):"
echo "  tmpfs $r_tmpfs (pinned $r_tmpfs_pin), local disk $r_disk"
echo "  hamtfs unpinned $r_mnt: $(awk -v a="$r_mnt" -v b="$r_tmpfs" 'BEGIN { printf "%.3f", a / b }') of tmpfs, $(awk -v a="$r_mnt" -v b="$r_disk" 'BEGIN { printf "%.3f", a / b }') of local disk"
echo "  hamtfs pinned   $r_mnt_pin: $(awk -v a="$r_mnt_pin" -v b="$r_tmpfs_pin" 'BEGIN { printf "%.3f", a / b }') of tmpfs (pinned) ($staged staged)"

# commit of 10,000 changes on an N-key base vs a full build of N keys
awk -v n="$nbase" 'BEGIN { for (i = 0; i < n; i++) printf "/works/OL%dW\t{\"title\":\"record %d\"}\n", i, i }' > "$work/base.tsv"
rm -rf "$work/store"
t0=$(now)
"$build/hamt" build --store "$work/store" --ref main "$work/base.tsv" >/dev/null 2>&1
t1=$(now)
build_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
mount_it ""
rsync -a "$work/src/" "$mnt/"
snapshot() { rm -rf "$work/before"; mkdir "$work/before"; mdb_copy "$work/store" "$work/before"; sync; }
# "floor BLOCKS BYTES HASH_S FILE_S COLD_PUT_S PUT_S COMMIT_S WCHAR"
floor() { "$build/bench/bench_floor" "$work/before" "$work/store" | awk '$1 == "floor"'; }
# the daemon's phases of its last commit: "RECORDS MERGE WRITE SYNC" seconds
phases() { sed -n 's/.*(records \([0-9.]*\) s, merge \([0-9.]*\) s, write \([0-9.]*\) s, sync \([0-9.]*\) s).*/\1 \2 \3 \4/p' "$work/daemon.log" | tail -n 1; }
snapshot
w0=$(wchar)
t0=$(now)
setfattr -n user.hamtfs.commit -v 1 "$mnt"
t1=$(now)
commit_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
amp1=$(amplification "$w0")
phases1=$(phases)
floor1=$(floor)
# the next commit: 10,000 other changes (5,000 new keys, 5,000 of the
# base's rewritten) on the store the first commit left. The first commit
# after `hamt build` splits nearly every B-tree leaf it touches (the bulk
# load leaves them full); later ones mostly do not.
mkdir -p "$work/src2"
for i in $(seq 1 5000); do
	{ printf 'second %05d\n' "$i"; cat "$work/one"; } | head -c 1024 > "$work/src2/new-$i"
	printf '{"title":"record %d, rewritten"}' "$((i * 197))" > "$work/src2/%2Fworks%2FOL$((i * 197))W"
done
rsync -a "$work/src2/" "$mnt/"
snapshot
w0=$(wchar)
t0=$(now)
setfattr -n user.hamtfs.commit -v 1 "$mnt"
t1=$(now)
commit2_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
amp2=$(amplification "$w0")
phases2=$(phases)
floor2=$(floor)
umount_it
printf 'full build of %d keys: %.2f s; commit of 10000 changes on it: %.3f s (%.2f%% of the build)\n' \
	"$nbase" "$build_s" "$commit_s" "$(pct "$build_s" "$commit_s")"
printf 'the next commit of 10000 changes (5000 new keys, 5000 rewritten): %.3f s (%.2f%% of the build)\n' \
	"$commit2_s" "$(pct "$build_s" "$commit2_s")"
echo "  first commit: $amp1"
echo "  next commit:  $amp2"
# $1: the floor line, $2: the commit's seconds, $3: the daemon's phases
floor_report() {
	local f=($1) p=($3)
	printf '    in the daemon: records %.3f s + merge %.3f s (the HAMT work); puts %.3f s + durable commit %.3f s (the store) = %s%% of the build\n' \
		"${p[0]}" "${p[1]}" "${p[2]}" "${p[3]}" "$(pct "$build_s" "${p[2]}" "${p[3]}")"
	printf '    its blocks alone: SHA-256 %.3f s + written to a plain file with fdatasync %.3f s = %s%% of the build;\n' \
		"${f[3]}" "${f[4]}" "$(pct "$build_s" "${f[3]}" "${f[4]}")"
	printf '    put into a copy of the store (LMDB, one transaction, a process of its own): puts %.3f s (in its first transaction: %.3f s) + durable commit %.3f s = %s%% of the build\n' \
		"${f[6]}" "${f[5]}" "${f[7]}" "$(pct "$build_s" "${f[6]}" "${f[7]}")"
	printf '    (the commit itself: %s%% of the build)\n' "$(pct "$build_s" "$2")"
}
echo "where each commit's time goes, and its floors (bench_floor: the same new blocks, with no HAMT work):"
echo "  first commit:"
floor_report "$floor1" "$commit_s" "$phases1"
echo "  next commit:"
floor_report "$floor2" "$commit2_s" "$phases2"
