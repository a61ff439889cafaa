#!/usr/bin/env bash
# hamt put / rm / status / commit / log: staging from the command line and
# a commit equal to a fresh build of the final records.
set -uo pipefail
: "${HAMT:?}" "${FIXTURES:?}" "${TEST_TMP:?}"
mkdir -p "$(dirname "${TEST_TMP%/}")"
t=$(mktemp -d "${TEST_TMP%/}.stage.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/../lib.sh"

S=$t/store
P=(--store "$S" --ref main)
printf 'alpha\tone\nbeta\ttwo\n/works/OL1W\t{"title":"x"}\n100%%\tpercent\ngamma\tthree\n' > "$t/in.tsv"
root0=$("$HAMT" build --store "$S" --ref main "$t/in.tsv" 2>/dev/null | tail -n 1)
check '[[ "$root0" == bafyrei* ]]'

# --- staging
printf 'ONE' > "$t/one"
check '"$HAMT" put "${P[@]}" alpha "$t/one"'                 # update, from a file
check 'printf "new" | "$HAMT" put "${P[@]}" /works/OL2W -'    # new key, stdin "-"
check 'printf "d" | "$HAMT" put "${P[@]}" delta'              # stdin by default
check 'printf "tmp" | "$HAMT" put "${P[@]}" temp'
check '"$HAMT" rm "${P[@]}" beta'                             # committed key
check '"$HAMT" rm "${P[@]}" temp'                             # staged only: dropped
expect_err "rm of an absent key" '"$HAMT" rm "${P[@]}" nosuchkey' "nosuchkey: not found"
"$HAMT" rm "${P[@]}" nosuchkey >/dev/null 2>&1; check '[ $? -eq 1 ]'
expect_err "rm of a key already deleted" '"$HAMT" rm "${P[@]}" beta' "not found"
expect_err "rm of a dropped put" '"$HAMT" rm "${P[@]}" temp' "not found"
"$HAMT" status "${P[@]}" > "$t/status"
printf 'put %%2Fworks%%2FOL2W\nput alpha\ndelete beta\nput delta\n4 staged changes (3 puts, 1 deletes)\n' > "$t/status.want"
check 'cmp -s "$t/status" "$t/status.want"'
# nothing changes before the commit
check '[ "$("$HAMT" get --store "$S" main alpha)" = one ]'
check '[ "$("$HAMT" get --store "$S" main beta)" = two ]'

# --- limits
head -c 1048576 /dev/zero | tr '\0' x > "$t/max"
check '"$HAMT" put "${P[@]}" max "$t/max"'
check '"$HAMT" rm "${P[@]}" max'
head -c 1048577 /dev/zero > "$t/big"
expect_err "record over 1 MiB" '"$HAMT" put "${P[@]}" big "$t/big"' "record too large"
expect_err "record over 1 MiB on stdin" '"$HAMT" put "${P[@]}" big < "$t/big"' "record too large"
check '[ "$("$HAMT" status "${P[@]}" | tail -n 1)" = "4 staged changes (3 puts, 1 deletes)" ]'

# --- commit
root1=$("$HAMT" commit "${P[@]}" 2>"$t/err")
check '[[ "$root1" == bafyrei* ]] && [ "$root1" != "$root0" ]'
check 'grep -q "puts 3, deletes 1" "$t/err"'
check '[ "$("$HAMT" get --store "$S" main alpha)" = ONE ]'
check '[ "$("$HAMT" get --store "$S" main /works/OL2W)" = new ]'
expect_err "deleted key" '"$HAMT" get --store "$S" main beta' "not found"
check '[ "$("$HAMT" status "${P[@]}")" = "0 staged changes (0 puts, 0 deletes)" ]'
check '"$HAMT" verify --store "$S" main | grep -q "^keys 6$"'
# the same final records built from scratch give the same root
printf 'alpha\tONE\n/works/OL1W\t{"title":"x"}\n/works/OL2W\tnew\n100%%\tpercent\ngamma\tthree\ndelta\td\n' > "$t/final.tsv"
check '[ "$("$HAMT" build --store "$t/fresh" "$t/final.tsv" 2>/dev/null | tail -n 1)" = "$root1" ]'
# nothing staged: the unchanged root, no new log entry
check '[ "$("$HAMT" commit "${P[@]}" 2>/dev/null)" = "$root1" ]'
# a second commit, then the log
check '"$HAMT" rm "${P[@]}" gamma'
root2=$("$HAMT" commit "${P[@]}" 2>/dev/null)
"$HAMT" log --store "$S" main > "$t/log"
check '[ "$(wc -l < "$t/log")" -eq 3 ]'
iso='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
check 'grep -qxE "$iso $root1 -> $root2" <(sed -n 1p "$t/log")'
check 'grep -qxE "$iso $root0 -> $root1" <(sed -n 2p "$t/log")'
check 'grep -qxE "$iso - -> $root0" <(sed -n 3p "$t/log")'
# a new ref: the first commit makes its map
check 'printf "v" | "$HAMT" put --store "$S" --ref other k'
check 'printf "w" | "$HAMT" put --store "$S" --ref other "x y"'
ro=$("$HAMT" commit --store "$S" --ref other 2>/dev/null)
check '[ "$ro" = "$(printf "k\tv\nx y\tw\n" | "$HAMT" build --store "$t/fresh2" - 2>/dev/null | tail -n 1)" ]'
check '[ "$("$HAMT" get --store "$S" other "x y")" = w ]'
check '[ "$(wc -l < <("$HAMT" log --store "$S" other))" -eq 1 ]'
# a store that does not exist yet: put creates it
check 'printf "1" | "$HAMT" put --store "$t/new" --ref main a'
check '[ "$("$HAMT" commit --store "$t/new" --ref main 2>/dev/null)" = "$(printf "a\t1\n" | "$HAMT" build --store "$t/fresh3" - 2>/dev/null | tail -n 1)" ]'

# --- help and errors
for c in put rm status commit log; do
	check '"$HAMT" $c --help | grep -q "^usage: hamt $c"'
	check '"$HAMT" --help | grep -q "hamt $c "'
done
expect_err "put without --ref" '"$HAMT" put --store "$S" k "$t/one"' "--ref NAME is required"
expect_err "status without --store" '"$HAMT" status --ref main' "--store DIR is required"
expect_err "put without a key" '"$HAMT" put "${P[@]}"' "usage:"
expect_err "log of an unknown ref" '"$HAMT" log --store "$S" nosuchref' "^hamt log: nosuchref: unknown ref and no log$"
expect_err "commit of an unknown ref with nothing staged" '"$HAMT" commit --store "$S" --ref nosuch' "^hamt commit: nosuch: unknown ref and nothing staged$"
expect_err "status of a missing store" '"$HAMT" status --store "$t/nope" --ref main' "nope"
expect_err "missing record file" '"$HAMT" put "${P[@]}" k "$t/none"' "none"
expect_err "bad ref name" '"$HAMT" put --store "$S" --ref "a b" k "$t/one"' "ref|area"
expect_err "commit with a bad ref name" '"$HAMT" commit --store "$S" --ref "a b"' "ref name"

# --- a build over a ref with staged changes: said, and they stay staged
S2=$t/store2
P2=(--store "$S2" --ref main)
printf 'k1\tv1\nk2\tv2\n' > "$t/b1.tsv"
"$HAMT" build "${P2[@]}" "$t/b1.tsv" >/dev/null 2>"$t/b1.err"
check '! grep -q staged "$t/b1.err"'                     # nothing staged: no note
check 'printf "S" | "$HAMT" put "${P2[@]}" k3'
check '"$HAMT" rm "${P2[@]}" k1'
printf 'k1\tw1\nk2\tw2\nk4\tw4\n' > "$t/b2.tsv"
"$HAMT" build "${P2[@]}" "$t/b2.tsv" >/dev/null 2>"$t/b2.err"
check 'grep -q "ref main has 2 staged changes" "$t/b2.err"'
check '[ "$("$HAMT" get --store "$S2" main k2)" = w2 ]'
root_b=$("$HAMT" commit "${P2[@]}" 2>/dev/null)
printf 'k2\tw2\nk3\tS\nk4\tw4\n' > "$t/b.want"
check '[ -n "$root_b" ] && [ "$root_b" = "$("$HAMT" build --store "$t/bfresh" "$t/b.want" 2>/dev/null | tail -n 1)" ]'

# --- puts from two processes at once in a limited address space: none
# lost. (With the 1 TiB map refused, store_open used to let mdb_env_open
# fail and try a smaller map; a process opening the store meanwhile took
# over LMDB's half-set-up lock region and its commits undid others': 13 to
# 26 of 600 puts lost, no error.) 8 GB leaves room for a release build;
# a sanitizer build cannot start under it, and skips this (the probe's
# ASan report, that it could not map its shadow memory, goes to the stderr
# discarded here, not to ../lib.sh's report files).
S3=$t/store3
printf 'seed\t1\n' | "$HAMT" build --store "$S3" --ref main - >/dev/null 2>&1
if (ulimit -v 8000000 &&
	ASAN_OPTIONS="$ASAN_OPTIONS:log_path=stderr" TSAN_OPTIONS="$TSAN_OPTIONS:log_path=stderr" \
		"$HAMT" status --store "$S3" --ref main) >/dev/null 2>&1; then
	mkdir -p "$t/recs"
	for i in $(seq 1 300); do printf 'record %d' "$i" > "$t/recs/r-$i"; done
	(ulimit -v 8000000
	 ls "$t/recs" | awk -v d="$t/recs" '{ print $1, d "/" $1 }' |
		xargs -P 2 -L 1 "$HAMT" put --store "$S3" --ref main) 2>"$t/par.err"
	check '[ ! -s "$t/par.err" ]'
	check '[ "$("$HAMT" status --store "$S3" --ref main | tail -n 1)" = "300 staged changes (300 puts, 0 deletes)" ]'
else
	echo "skipped: puts in a limited address space (hamt does not start under ulimit -v 8000000: a sanitizer build)"
fi

# (commits killed with SIGKILL at random moments: tests/tools/test_crash.sh)

finish
