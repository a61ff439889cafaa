#!/usr/bin/env bash
# Hostile maps (tests/malicious.h) through the `hamt` command: verify, get
# and ls each refuse every one with a non-zero exit and a message naming
# the defect and the block's CID; keys elsewhere in the map still read;
# a CAR holding a block over 2 MiB is refused at import, all or nothing.
set -uo pipefail
: "${HAMT:?}" "${TEST_TMP:?}" "${BUILD:?}"
. "$(dirname "$0")/../lib.sh"
mkdir -p "$TEST_TMP"
t=$(mktemp -d "$TEST_TMP/malicious.XXXXXX")
trap 'rm -rf "$t"' EXIT
S=$t/store
mkdir -p "$t/car"
"$BUILD/tests/malicious" "$S" "$t/car" >"$t/cases" || { echo "malicious: failed"; exit 1; }

# refused: exit status 1 (not 2: not a usage error), stderr names the
# defect and the CID, and does not pass for an absent key
refused() {
	local what=$1 cid=$2 defect=$3
	shift 3
	local out rc
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 1 ] && grep -qF -- "$defect" <<<"$out" &&
		grep -qF -- "$cid" <<<"$out" && ! grep -q ': not found$' <<<"$out"; then
		ok
	else
		bad "$what: rc=$rc, stderr: $out (want \"$defect\" and $cid)"
	fi
}

n=0
while IFS=$'\t' read -r name kind cid defect badkey goodkey goodval; do
	n=$((n + 1))
	refused "$name: verify" "$cid" "$defect" "$HAMT" verify --store "$S" "$name"
	if [ "$kind" = root ]; then
		refused "$name: ls" "$cid" "$defect" "$HAMT" ls --store "$S" "$name"
		refused "$name: get" "$cid" "$defect" "$HAMT" get --store "$S" "$name" anykey
		continue
	fi
	refused "$name: get" "$cid" "$defect" "$HAMT" get --store "$S" "$name" "$badkey"
	check '[ "$("$HAMT" get --store "$S" "$name" "$goodkey")" = "$goodval" ]'
	if [ "$kind" = tree ]; then
		refused "$name: ls" "$cid" "$defect" "$HAMT" ls --store "$S" "$name"
	else
		# a listing reads no values: it works, and shows the bad key
		check '[ "$("$HAMT" ls --store "$S" "$name" | wc -l)" = 4 ]'
		check '"$HAMT" ls --store "$S" "$name" | grep -qx "$badkey"'
	fi
done <"$t/cases"
check '[ "$n" -ge 30 ]'

# blocks over 2 MiB: refused at import, nothing imported
I=$t/imp
for v in v1 v2; do
	n=$((n + 1))
	expect_err "big block in a CAR$v" '"$HAMT" import --store "$I" "$t/car/big-$v.car"' \
		"blocks over 2097152 bytes are refused"
	check '[ "$(mdb_stat -s blocks "$I" | sed -n "s/ *Entries: //p")" = 0 ]'
done
root=$("$HAMT" import --store "$I" "$t/car/limit.car")
check '[[ "$root" == bafkrei* ]]'
check '[ "$(mdb_stat -s blocks "$I" | sed -n "s/ *Entries: //p")" = 1 ]'

echo "$n malicious cases tried with hamt verify, get, ls and import"
finish
