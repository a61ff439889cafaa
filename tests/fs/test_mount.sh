#!/usr/bin/env bash
# The read side of the mount: listings, contents, names, xattrs, errors.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
FSCHECK=${BUILD:?}/tests/fscheck

# --- the spec fixture, mounted from its CAR (imported into a store) ------
section "the spec fixture, mounted from its CAR (imported into a store)"
A=$T/alice
aroot=$("$HAMT" import --store "$A" "$FIXTURES/hamt-alice-words/hamt.car")
check 'mount_fs "$A" "$aroot" "$T/ma"'
nwords=$(jq 'keys | length' "$FIXTURES/hamt-alice-words/hamt.json")
check '[ "$(ls "$T/ma" | wc -l)" = "$nwords" ]'
check 'diff <(ls "$T/ma" | LC_ALL=C sort) <(jq -r "keys[]" "$FIXTURES/hamt-alice-words/hamt.json" | LC_ALL=C sort) >/dev/null'
same=0
while IFS=$'\t' read -r w json; do
	[ "$(cat "$T/ma/$w")" = "$json" ] && same=$((same + 1))
done < <(jq -S . "$FIXTURES/hamt-alice-words/hamt.json" | jq -r 'to_entries[] | "\(.key)\t\(.value | tojson)"')
check '[ "$same" = "$nwords" ]'
check '[ "$(getfattr --only-values -n user.hamtfs.root "$T/ma")" = "$aroot" ]'
check 'getfattr --only-values -n user.hamtfs.params "$T/ma" | grep -q "bitWidth=5 bucketSize=3"'
check 'getfattr -d "$T/ma" | grep -q user.hamtfs.root'
check '[ "$(getfattr --only-values -n user.hamtfs.key "$T/ma/Alice")" = Alice ]'
check '! getfattr -n user.hamtfs.cid "$T/ma/Alice" 2>/dev/null'  # inline value: no CID
check '"$FSCHECK" "$A" "$aroot" "$T/ma" --bufsize 96 | tail -n 1 | grep -q " 0 failed"'
check '! mkdir "$T/ma/dir" 2>/dev/null'
check '[ "$(stat -c %a "$T/ma/Alice")" = 644 ]'  # writable mount
ino1=$(stat -c %i "$T/ma/Alice")
umount_fs "$T/ma"

# --- keys that need escapes; linked raw and DAG-CBOR values ----------------
section "keys that need escapes; linked raw and DAG-CBOR values"
E=$T/esc
long=$(printf 'L%.0s' $(seq 300))
longslash=$(printf 'ab/%.0s' $(seq 120))
{
	printf '/works/OL1W\tslash\n%%\tpercent\n100%%\tpercent2\n.\tdot\n..\tdotdot\n...\tthree dots\n.hidden\thidden\n'
	printf 'caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\tutf8\n%%2F\tliteral escape\n%%~abc\tmarker-looking\n'
	printf '%s\tlong key\n%s\tlong key with slashes\n' "$long" "$longslash"
} > "$T/esc.tsv"
eroot=$("$HAMT" build --store "$E" --ref main "$T/esc.tsv" 2>/dev/null | tail -n 1)
check 'mount_fs "$E" main "$T/me" -o ro'
check '[ "$(cat "$T/me/%2Fworks%2FOL1W")" = slash ]'
check '[ "$(cat "$T/me/%25")" = percent ]'
check '[ "$(cat "$T/me/100%25")" = percent2 ]'
check '[ "$(cat "$T/me/%2E")" = dot ]'
check '[ "$(cat "$T/me/%2E.")" = dotdot ]'
check '[ "$(cat "$T/me/...")" = "three dots" ]'
check '[ "$(cat "$T/me/.hidden")" = hidden ]'
check '[ "$(cat "$T/me/caf$(printf "\xc3\xa9") $(printf "\xe6\x97\xa5\xe6\x9c\xac")")" = utf8 ]'
check '[ "$(cat "$T/me/%252F")" = "literal escape" ]'
check '! cat "$T/me/%41" 2>/dev/null'          # never a name hamtfs makes
short=$(ls "$T/me" | grep '^LLL')
check '[ "${#short}" -le 255 ] && [[ "$short" == *"%~"* ]]'
check '[ "$(cat "$T/me/$short")" = "long key" ]'
check '[ "$(getfattr --only-values -n user.hamtfs.key "$T/me/$short")" = "$long" ]'
check '"$FSCHECK" "$E" main "$T/me" --bufsize 300 --mmap | tail -n 1 | grep -q " 0 failed"'
cid=$(getfattr --only-values -n user.hamtfs.cid "$T/me/.hidden")
check '[[ "$cid" == bafkrei* ]]'
check '[ "$(stat -c %a "$T/me/.hidden")" = 444 ]'
check '! printf x > "$T/me/newfile" 2>/dev/null'            # -o ro
check '! setfattr -n user.hamtfs.commit -v 1 "$T/me" 2>/dev/null'
# st_mtime is the time the ref was set
now=$(date +%s)
check '[ $((now - $(stat -c %Y "$T/me/.hidden"))) -lt 120 ]'
umount_fs "$T/me"

# --- every value kind renders as DESIGN.md "Values" says -----------------
section "every value kind renders as DESIGN.md Values says"
printf '{"key":"obj","value":{"b":[1,2.5,"x"],"a":null}}\n{"key":"str","value":"plain text"}\n{"key":"num","value":-42}\n' > "$T/kinds.jsonl"
klink=$("$HAMT" build --store "$T/kinds" --format jsonl "$T/kinds.jsonl" 2>/dev/null | tail -n 1)
kinl=$("$HAMT" build --store "$T/kinds" --format jsonl --values inline "$T/kinds.jsonl" 2>/dev/null | tail -n 1)
printf 'bin\tbytes here\n' > "$T/kinds.tsv"
kbytes=$("$HAMT" build --store "$T/kinds" --values inline "$T/kinds.tsv" 2>/dev/null | tail -n 1)
check 'mount_fs "$T/kinds" "$klink" "$T/mk1" -o ro'
check '[ "$(cat "$T/mk1/obj")" = "{\"a\":null,\"b\":[1,2.5,\"x\"]}" ]'   # link to DAG-CBOR
check '[ "$(cat "$T/mk1/str")" = "\"plain text\"" ]'
check '[[ "$(getfattr --only-values -n user.hamtfs.cid "$T/mk1/obj")" == bafyrei* ]]'
umount_fs "$T/mk1"
check 'mount_fs "$T/kinds" "$kinl" "$T/mk2" -o ro'
check '[ "$(cat "$T/mk2/str")" = "plain text" ]'                   # inline string
check '[ "$(cat "$T/mk2/num")" = "-42" ]'                          # inline int: DAG-JSON
check '[ "$(cat "$T/mk2/obj")" = "{\"a\":null,\"b\":[1,2.5,\"x\"]}" ]'
umount_fs "$T/mk2"
check 'mount_fs "$T/kinds" "$kbytes" "$T/mk3" -o ro'
check '[ "$(cat "$T/mk3/bin")" = "bytes here" ]'                   # inline bytes
umount_fs "$T/mk3"

# inode numbers are stable across mounts
check 'mount_fs "$A" "$aroot" "$T/ma"'
check '[ "$(stat -c %i "$T/ma/Alice")" = "$ino1" ]'
umount_fs "$T/ma"

# --- 100,000 keys: listing == hamt ls; every file == hamt get ------------
section "100,000 keys: listing == hamt ls; every file == hamt get"
# (HAMTFS_TEST_KEYS makes it smaller for the slow sanitizer build)
B=$T/big
awk -v n="${HAMTFS_TEST_KEYS:-100000}" 'BEGIN { for (i = 0; i < n; i++) {
	k = (i % 997 == 0) ? sprintf("/works/OL%dW", i) : (i % 991 == 0) ? sprintf("%d%%", i) : sprintf("key-%d", i)
	printf "%s\t{\"n\":%d,\"text\":\"value of record %d\"}\n", k, i, i } }' > "$T/big.tsv"
broot=$("$HAMT" build --store "$B" --ref main "$T/big.tsv" 2>/dev/null | tail -n 1)
check 'mount_fs "$B" main "$T/mb"'
check 'diff <(ls -f "$T/mb" | grep -v "^\.\.\?$" | LC_ALL=C sort) <("$HAMT" ls --store "$B" main | LC_ALL=C sort) >/dev/null'
check '"$FSCHECK" "$B" main "$T/mb" --jobs 4 | tail -n 1 | grep -q " 0 failed"'
check '"$FSCHECK" "$B" main "$T/mb" --bufsize 80 --threads 8 | tail -n 1 | grep -q " 0 failed"'
for k in key-5 /works/OL997W 991%; do
	n=$(printf '%s' "$k" | sed 's/%/%25/g; s#/#%2F#g')
	check '[ "$(cat "$T/mb/$n")" = "$("$HAMT" get --store "$B" main "$k")" ]'
done
umount_fs "$T/mb"

# --- as a daemon (no -f), with a relative store path: the daemon runs in /,
# so the path must have been made absolute before it forked ----------------
section "as a daemon, with a relative store path"
mkdir -p "$T/md"; MOUNTS+=("$T/md")
check '(cd "$T" && "$HAMTFS" -o store=big main md)'
for _ in $(seq 100); do mountpoint -q "$T/md" && break; sleep 0.05; done
check 'mountpoint -q "$T/md"'
check '[ "$(cat "$T/md/key-5")" = "$("$HAMT" get --store "$B" main key-5)" ]'
umount_fs "$T/md"

# --- two daemons for one area at once: the command of the one that cannot
# have it fails and says why (it used to exit 0 before its daemon found
# the area taken, leaving nothing mounted) --------------------------------
section "two daemons for one area at once: the loser's command fails"
mkdir -p "$T/c1" "$T/c2"; MOUNTS+=("$T/c1" "$T/c2")
for round in 1 2 3; do
	timeout 60 "$HAMTFS" -o store="$B" main "$T/c1" 2>"$T/c1.err" & p1=$!
	timeout 60 "$HAMTFS" -o store="$B" main "$T/c2" 2>"$T/c2.err" & p2=$!
	wait "$p1"; rc1=$?
	wait "$p2"; rc2=$?
	m1=1; mountpoint -q "$T/c1" || m1=0
	m2=1; mountpoint -q "$T/c2" || m2=0
	check '[ $((m1 + m2)) = 1 ]'
	check '[ "$rc1" = 0 ] && [ "$m1" = 1 ] || { [ "$rc1" != 0 ] && [ "$m1" = 0 ] && grep -q "in use" "$T/c1.err"; }'
	check '[ "$rc2" = 0 ] && [ "$m2" = 1 ] || { [ "$rc2" != 0 ] && [ "$m2" = 0 ] && grep -q "in use" "$T/c2.err"; }'
	[ "$m1" = 1 ] && umount_fs "$T/c1"
	[ "$m2" = 1 ] && umount_fs "$T/c2"
done

# --- mount(8) / fstab form (mount.fuse3 runs "hamtfs main MNT -o ...") ---
section "mount(8) / fstab form (mount.fuse3 runs hamtfs main MNT -o ...)"
mkdir -p "$T/mf"
MOUNTS+=("$T/mf")
check 'mount -t fuse -o store="$E" "$HAMTFS#main" "$T/mf"'
check '[ "$(cat "$T/mf/%2E")" = dot ]'
check 'umount "$T/mf"'

# --- errors ------------------------------------------------------------
section "errors"
mkdir -p "$T/mx" "$T/full"; touch "$T/full/x"
expect_err "missing store" '"$HAMTFS" -o store="$T/nostore" main "$T/mx"' "nostore"
expect_err "no store option" '"$HAMTFS" main "$T/mx"' "store=DIR is required"
expect_err "unknown ref" '"$HAMTFS" -o store="$E" nosuchref "$T/mx"' "unknown ref or CID"
expect_err "bad CID" '"$HAMTFS" -o store="$E" bafyreiZZZ "$T/mx"' "unknown ref or CID|invalid|bad"
expect_err "missing root block" '"$HAMTFS" -o store="$E" bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku "$T/mx"' "not found|missing|no block"
expect_err "root not a HAMT" '"$HAMTFS" -o store="$E" "$cid" "$T/mx"' "not a HAMT|codec"
expect_err "non-empty mountpoint" '"$HAMTFS" -o store="$E" main "$T/full"' "not an empty directory"
expect_err "missing mountpoint" '"$HAMTFS" -o store="$E" main "$T/nodir"' "nodir"
expect_err "missing arguments" '"$HAMTFS"' "usage"
# a cache bigger than memory (or negative) is refused, not an overflow
expect_err "cache_mb too big" '"$HAMTFS" -o store="$E",cache_mb=99999999999 main "$T/mx"' "cache_mb=99999999999: want a number of MiB from 0 to"
expect_err "cache_mb negative" '"$HAMTFS" -o store="$E",cache_mb=-1 main "$T/mx"' "cache_mb=[0-9]*: want a number of MiB"
check '! mountpoint -q "$T/mx"'
check '"$HAMTFS" --help | grep -q "store=DIR"'
check '"$HAMTFS" --version | grep -q "hamtfs 0"'
check '! mountpoint -q "$T/mx"'

finish
