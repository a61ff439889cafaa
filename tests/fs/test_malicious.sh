#!/usr/bin/env bash
# Hostile maps (tests/malicious.h) through the mount. A bad root: hamtfs
# refuses to mount it, naming the defect and the CID. A bad node or value:
# the mount comes up, reading the key on the defect (and, for a bad node,
# listing the directory) fails with EIO, the daemon logs a line naming the
# defect and the CID (hamtfs -f logs to stderr), and it keeps serving the
# other keys.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
S=$T/store
mkdir -p "$T/car"
# the 128 MiB root is a store-level case: tools/test_malicious covers it
HAMTFS_TEST_BIG=0 "$BUILD/tests/malicious" "$S" "$T/car" >"$T/cases" ||
	{ echo "malicious: failed"; exit 1; }

# mount_fg NAME MNT LOG: hamtfs -f in the background, stderr to LOG
mount_fg() {
	mkdir -p "$2"
	MOUNTS+=("$2")
	"$HAMTFS" -f -o store="$S" "$1" "$2" 2>"$3" &
	FGPID=$!
	for _ in $(seq 400); do
		mountpoint -q "$2" && return 0
		kill -0 $FGPID 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# eio WHAT CMD...: the command fails with "Input/output error"
eio() {
	local what=$1 out rc
	shift
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && grep -q "Input/output error" <<<"$out"; then ok; else bad "$what: rc=$rc: $out"; fi
}

n=0
while IFS=$'\t' read -r name kind cid defect badkey goodkey goodval; do
	n=$((n + 1))
	m=$T/m-$name
	log=$T/log-$name
	if [ "$kind" = root ]; then
		mkdir -p "$m"
		timeout 30 "$HAMTFS" -f -o store="$S" "$name" "$m" 2>"$log"
		rc=$?
		check '[ $rc -ne 0 ] && ! mountpoint -q "$m"'
		check 'grep -qF -- "$defect" "$log" && grep -qF -- "$cid" "$log"' ||
			echo "  case $name: $(cat "$log")" >&2
		continue
	fi
	if ! mount_fg "$name" "$m" "$log"; then
		bad "$name: mount failed: $(cat "$log")"
		continue
	fi
	check '[ "$(cat "$m/$goodkey")" = "$goodval" ]'
	eio "$name: cat $badkey" cat "$m/$badkey"
	if [ "$kind" = tree ]; then
		eio "$name: ls" ls "$m"
	else
		check '[ "$(ls "$m" | wc -l)" = 4 ]'
	fi
	check 'grep -qF -- "$defect" "$log" && grep -qF -- "$cid" "$log"' ||
		echo "  case $name: log: $(cat "$log")" >&2
	# the daemon is still there and serving
	check '[ "$(cat "$m/$goodkey")" = "$goodval" ]'
	check 'stat "$m/$goodkey" >/dev/null && kill -0 $FGPID'
	eio "$name: cat $badkey again" cat "$m/$badkey"
	umount_fs "$m"
	wait $FGPID
	check '[ $? -eq 0 ]'
done <"$T/cases"
check '[ "$n" -ge 30 ]'
echo "$n malicious cases tried through the mount"
finish
