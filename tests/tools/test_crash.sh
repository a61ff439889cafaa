#!/usr/bin/env bash
# Crash recovery: kill -9 of `hamt build`, of `hamt commit` and of the
# mount's daemon at random points, CRASH_ROUNDS (default 20) rounds each.
# After every kill the store opens, `hamt verify` accepts the ref, the ref
# is the old root or the new one (never anything else), the staging area is
# whole (all staged, or committed and empty), and no file whose close()
# returned before the kill is lost.
set -uo pipefail
: "${HAMT:?}" "${HAMTFS:?}" "${TEST_TMP:?}"
. "$(dirname "$0")/../fs/lib.sh"
ROUNDS=${CRASH_ROUNDS:-20}
root_of() { "$HAMT" verify --store "$1" main 2>/dev/null | sed -n 's/^ok //p'; }

section "hamt build killed ($ROUNDS rounds)"
B=$T/build
seq 1 1000 | awk '{ printf "old-%d\tv%d\n", $1, $1 }' | "$HAMT" build --store "$B" --ref main >/dev/null 2>&1
broot0=$(root_of "$B")
seq 1 400000 | awk '{ printf "key-%d\t{\"n\":%d,\"text\":\"a record of moderate length %d\"}\n", $1, $1, $1 }' > "$T/big.tsv"
cp -a "$B" "$T/build-pristine"
broot1=$("$HAMT" build --store "$T/build-ref" --ref main "$T/big.tsv" 2>/dev/null | tail -n 1)
n_old=0 n_new=0
for round in $(seq 1 "$ROUNDS"); do
	rm -rf "$B"; cp -a "$T/build-pristine" "$B"
	"$HAMT" build --store "$B" --ref main "$T/big.tsv" >/dev/null 2>&1 &
	pid=$!
	rand_sleep 1.5
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	cur=$(root_of "$B")
	if [ "$cur" = "$broot0" ]; then n_old=$((n_old + 1)); ok
	elif [ "$cur" = "$broot1" ]; then n_new=$((n_new + 1)); ok
	else bad "build killed, round $round: root '$cur' (want $broot0 or $broot1)"; fi
	# the store still takes writes: a build after the kill works
	[ "$round" = 1 ] && check '[ "$("$HAMT" build --store "$B" --ref main "$T/big.tsv" 2>/dev/null | tail -n 1)" = "$broot1" ]'
done
echo "build killed: $n_old rounds left the old root, $n_new the new one"

section "hamt commit killed ($ROUNDS rounds)"
C=$T/commit
seq 1 20000 | awk '{ printf "k-%d\tv%d\n", $1, $1 }' | "$HAMT" build --store "$C" --ref main >/dev/null 2>&1
croot0=$(root_of "$C")
mkdir -p "$T/recs"
for i in $(seq 1 3000); do printf 'record %d %0300d' "$i" 0 > "$T/recs/r-$i"; done
# staged through a mount: one process instead of 3,000 `hamt put`s (11 ms
# each, 82 ms in the sanitizer build: 170 s of that pass went on them; the
# puts' own tests, concurrent ones included, are in test_stage.sh)
CM=$T/cm
mkdir -p "$CM"; MOUNTS+=("$CM")
"$HAMTFS" -f -o store="$C" main "$CM" 2>/dev/null &
cpid=$!
check 'wait_mounted "$CM"'
check 'cp "$T/recs"/. "$CM"/ -r'
umount_fs "$CM"; wait "$cpid"
"$HAMT" status --store "$C" --ref main > "$T/commit.status"
check '[ "$(tail -n 1 "$T/commit.status")" = "3000 staged changes (3000 puts, 0 deletes)" ]'
cp -a "$C" "$T/commit-pristine"
# an unkilled commit gives the new root and how long a commit takes; the
# kills land at random times within that (from before the store is open
# to after the ref moved)
t0=$(date +%s.%N)
croot1=$("$HAMT" commit --store "$C" --ref main 2>/dev/null)
cdur=$(seconds_since "$t0")
echo "an unkilled commit of 3000 changes takes $cdur s"
n_old=0 n_new=0
for round in $(seq 1 "$ROUNDS"); do
	rm -rf "$C"; cp -a "$T/commit-pristine" "$C"
	"$HAMT" commit --store "$C" --ref main >/dev/null 2>&1 &
	pid=$!
	rand_sleep "$cdur"
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	cur=$(root_of "$C")
	"$HAMT" status --store "$C" --ref main > "$T/st.now"
	if [ "$cur" = "$croot0" ] && cmp -s "$T/st.now" "$T/commit.status"; then
		n_old=$((n_old + 1)); ok
	elif [ "$cur" = "$croot1" ] && [ "$(cat "$T/st.now")" = "0 staged changes (0 puts, 0 deletes)" ]; then
		n_new=$((n_new + 1)); ok
	else
		bad "commit killed, round $round: root $cur, $(tail -n 1 "$T/st.now")"
	fi
done
echo "commit killed: $n_old rounds left the old root and everything staged, $n_new the new root and nothing staged"

section "the daemon killed while files are written and committed ($ROUNDS rounds)"
D=$T/daemon
seq 1 20000 | awk '{ printf "k-%d\tv%d\n", $1, $1 }' | "$HAMT" build --store "$D" --ref main >/dev/null 2>&1
droot0=$(root_of "$D")
M=$T/m
mkdir -p "$M"; MOUNTS+=("$M")
lost_total=0 closed_total=0 commits=0
for round in $(seq 1 "$ROUNDS"); do
	"$HAMTFS" -f -o store="$D" main "$M" 2>/dev/null &
	dpid=$!
	for _ in $(seq 400); do mountpoint -q "$M" && break; sleep 0.05; done
	: > "$T/closed.log"
	( for i in $(seq 1 100000); do
		printf 'round %d file %d' "$round" "$i" > "$M/r$round-$i" 2>/dev/null || exit 0
		echo "$i" >> "$T/closed.log"
		if [ $((i % 400)) = 0 ]; then setfattr -n user.hamtfs.commit -v 1 "$M" 2>/dev/null || exit 0; fi
	done ) &
	writer=$!
	rand_sleep 2
	kill -9 "$dpid"; wait "$dpid" 2>/dev/null
	wait "$writer" 2>/dev/null
	fusermount3 -uz "$M" 2>/dev/null
	cur=$(root_of "$D")
	if [ -z "$cur" ]; then bad "daemon killed, round $round: the map does not verify"; continue; fi
	# the ref is a root this store's log knows (the old one or a commit's)
	"$HAMT" log --store "$D" main > "$T/log"
	check 'grep -q -- "-> $cur$" "$T/log"'
	# every closed file is there: staged (journal replayed) or committed
	check 'mount_fs "$D" main "$M"'
	lost=0
	while read -r i; do
		c=
		{ IFS= read -r c < "$M/r$round-$i"; } 2>/dev/null # no fork per file
		[ "$c" = "round $round file $i" ] || lost=$((lost + 1))
	done < "$T/closed.log"
	closed_total=$((closed_total + $(wc -l < "$T/closed.log")))
	lost_total=$((lost_total + lost))
	check '[ "$lost" = 0 ]'
	check 'setfattr -n user.hamtfs.commit -v 1 "$M"' # and it commits
	commits=$((commits + 1))
	umount_fs "$M"
done
check '[ "$(root_of "$D")" != "$droot0" ]'
echo "daemon killed: $closed_total files closed before the kills, $lost_total lost; $commits commits after recovery"

finish
