#!/usr/bin/env bash
# hamt build, the parallel bulk build: the Open Library format, --key,
# --codec, --car; 1 or 2 threads and spilling give the same root and the
# same blocks; gzip input; malformed lines; kill -9 and SIGINT in the
# middle of a build leave the store and its refs as they were; the
# progress line on a terminal (off with --quiet or without one) and the
# summary.
set -uo pipefail
: "${HAMT:?}" "${TEST_TMP:?}" "${SRC:?}" "${BUILD:?}"
mkdir -p "$TEST_TMP"
t=$(mktemp -d "${TEST_TMP%/}/build.XXXXXX")
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/../lib.sh"
BLOCKS=$BUILD/tests/blocks
OL=$SRC/mnt-examples/ol/ol_dump_sample.txt

root_of() { tail -n 1 "$1"; }
# the ref's root as `hamt verify` prints it ("ok ROOT"), or "none"
ref_root() { "$HAMT" verify --store "$1" "$2" 2>/dev/null | sed -n 's/^ok //p' | head -n 1; }

# Open Library lines: editions with isbn_13 arrays (some repeated across
# editions, some missing, null or empty, one an integer), works, authors
gen_ol() { # N SEED
	awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed);
	for (i = 0; i < n; i++) {
		k = i % 3; rev = 1 + int(rand() * 20)
		t = sprintf("Title %d caf\xc3\xa9 %d", i, int(rand() * 1000))
		if (k == 0) {
			r = int(rand() * 10)
			if (r == 0) isbn = ""
			else if (r == 1) isbn = ",\"isbn_13\":null"
			else if (r == 2) isbn = ",\"isbn_13\":[]"
			else if (r == 3) isbn = sprintf(",\"isbn_13\":[\"978%06d\",\"979%06d\"]", i, i)
			else if (r == 4) isbn = sprintf(",\"isbn_13\":[\"978%06d\"]", int(i / 30))
			else if (r == 5) isbn = sprintf(",\"isbn_13\":%d", 97800 + i)
			else isbn = sprintf(",\"isbn_13\":[\"978%06d\"]", i)
			printf "/type/edition\t/books/OL%dM\t%d\t2023-09-14T01:52:36.%06d\t{\"key\":\"/books/OL%dM\",\"title\":\"%s\",\"type\":{\"key\":\"/type/edition\"}%s,\"revision\":%d}\n", i, rev, i, i, t, isbn, rev
		} else if (k == 1) {
			printf "/type/work\t/works/OL%dW\t%d\t2023-10-02T16:13:02.%06d\t{\"key\":\"/works/OL%dW\",\"title\":\"%s\",\"type\":{\"key\":\"/type/work\"},\"subjects\":[\"Fiction\",\"Foxes\"],\"revision\":%d}\n", i, rev, i, i, t, rev
		} else {
			printf "/type/author\t/authors/OL%dA\t%d\t2023-01-19T18:25:03.%06d\t{\"key\":\"/authors/OL%dA\",\"name\":\"Leo %d\",\"type\":{\"key\":\"/type/author\"},\"revision\":%d}\n", i, rev, i, i, i, rev
		}
	} }'
}

# --- ol: the same map as tsv of columns 2 and 5; records byte for byte ---
"$HAMT" build --store "$t/ol" --ref main --format ol "$OL" >"$t/ol.out" 2>"$t/ol.err"
check '[ $? -eq 0 ]'
r_ol=$(root_of "$t/ol.out")
cut -f2,5 "$OL" | "$HAMT" build --store "$t/tsv" - >"$t/tsv.out" 2>/dev/null
check '[ "$r_ol" = "$(root_of "$t/tsv.out")" ]'
check '[ "$("$BLOCKS" "$t/ol")" = "$("$BLOCKS" "$t/tsv")" ]'
n=$(wc -l <"$OL")
check 'grep -q "keys $n," "$t/ol.err"'
check '"$HAMT" verify --store "$t/ol" main | grep -q "^keys $n$"'
line=$(sed -n 17p "$OL")
key=$(cut -f2 <<<"$line")
check '[ "$("$HAMT" get --store "$t/ol" main "$key")" = "$(cut -f5 <<<"$line")" ]'
# --codec dag-cbor: the record as DAG-CBOR (read back as DAG-JSON)
rc=$("$HAMT" build --store "$t/olc" --format ol --codec dag-cbor "$OL" 2>/dev/null | tail -n 1)
check '[ "$("$HAMT" get --store "$t/olc" "$rc" "$key" | jq -cS .)" = "$(cut -f5 <<<"$line" | jq -cS .)" ]'
check '"$HAMT" verify --store "$t/olc" "$rc" >/dev/null'
# --car: the same blocks, no store
"$HAMT" build --car "$t/ol.car" --format ol "$OL" >"$t/car.out" 2>/dev/null
check '[ "$(root_of "$t/car.out")" = "$r_ol" ]'
check '[ "$("$HAMT" import --store "$t/fromcar" "$t/ol.car")" = "$r_ol" ]'
check '[ "$("$BLOCKS" "$t/fromcar")" = "$("$BLOCKS" "$t/ol")" ]'
check '"$HAMT" verify --store "$t/fromcar" "$r_ol" >/dev/null'

# --- threads and spilling: the same root and the same blocks ---
gen_ol 40000 7 >"$t/big.ol" # ~6 MiB: two read chunks
want=""
for v in "--threads 1" "--threads 2" "--threads 2 --mem 1K" "--threads 1 --mem 100K --tmp $t" "--threads 2 --bit-width 4 --bucket-size 2"; do
	name=$(tr -dc 'a-z0-9' <<<"$v")
	# shellcheck disable=SC2086
	"$HAMT" build --store "$t/v$name" --format ol $v "$t/big.ol" >"$t/v.out" 2>"$t/v.err"
	check '[ $? -eq 0 ]'
	r=$(root_of "$t/v.out")
	case $v in
	*bit-width*) check '[ "$r" != "$want" ]' ;; # other parameters: another map
	*)
		[ -n "$want" ] || { want=$r; wantb=$("$BLOCKS" "$t/v$name"); }
		check '[ "$r" = "$want" ]'
		check '[ "$("$BLOCKS" "$t/v$name")" = "$wantb" ]'
		;;
	esac
	case $v in
	*--mem*) check 'grep -Eq " [1-9][0-9]* spill runs" "$t/v.err"' ;;
	*) check 'grep -q " 0 spill runs" "$t/v.err"' ;;
	esac
	check '"$HAMT" verify --store "$t/v$name" "$r" >/dev/null'
done
# from a pipe (read in turns, not mapped)
cat "$t/big.ol" | "$HAMT" build --store "$t/vpipe" --format ol - >"$t/v.out" 2>/dev/null
check '[ "$(root_of "$t/v.out")" = "$want" ]'
check '[ "$("$BLOCKS" "$t/vpipe")" = "$wantb" ]'
# the same records through tsv (key column 2, record column 5)
cut -f2,5 "$t/big.ol" | "$HAMT" build --store "$t/bigtsv" - >"$t/v.out" 2>/dev/null
check '[ "$(root_of "$t/v.out")" = "$want" ]'

# --- gzip input (the Open Library dump is .txt.gz): the same map ---
head -n 20000 "$t/big.ol" | gzip -c >"$t/a.gz"
tail -n +20001 "$t/big.ol" | gzip -c >"$t/b.gz"
cat "$t/a.gz" "$t/b.gz" >"$t/big.ol.gz" # two members, as pigz and gzip -c a b write
"$HAMT" build --store "$t/gz" --format ol --mem 100K "$t/big.ol.gz" >"$t/v.out" 2>"$t/v.err"
check '[ "$(root_of "$t/v.out")" = "$want" ]'
check '[ "$("$BLOCKS" "$t/gz")" = "$wantb" ]'
check 'grep -q "MiB of gzip" "$t/v.err"'
"$HAMT" build --store "$t/gzpipe" --format ol - <"$t/big.ol.gz" >"$t/v.out" 2>/dev/null
check '[ "$(root_of "$t/v.out")" = "$want" ]'
cat "$t/big.ol.gz" | "$HAMT" build --store "$t/gzpipe2" --format ol - >"$t/v.out" 2>/dev/null
check '[ "$(root_of "$t/v.out")" = "$want" ]'
check '[ "$("$BLOCKS" "$t/gzpipe2")" = "$wantb" ]'
# gzip of a named file and pigz -9 (with the name and time in the header;
# pigz writes one member of many deflate blocks): the same map
gzip -c "$t/big.ol" >"$t/named.gz"
check '[ "$(head -c 4 "$t/named.gz" | od -An -tx1 | tr -d " ")" = 1f8b0808 ]' # FNAME set
check '[ "$(root_of <("$HAMT" build --store "$t/gzn" --format ol "$t/named.gz" 2>/dev/null))" = "$want" ]'
pigz -9 -c "$t/big.ol" >"$t/pigz.gz" # scripts/deps.sh installs pigz
check '[ "$(root_of <("$HAMT" build --store "$t/gzn" --format ol "$t/pigz.gz" 2>/dev/null))" = "$want" ]'
# an empty gzip stream is an empty map; a one-byte file is text
printf '' | gzip -c >"$t/empty.gz"
check '[ "$("$HAMT" build --store "$t/gze" --format ol "$t/empty.gz" 2>/dev/null | tail -n 1)" = "$("$HAMT" build --store "$t/gze" --format ol /dev/null 2>/dev/null | tail -n 1)" ]'
printf 'k\tv' >"$t/tiny.tsv"
check '[ -n "$("$HAMT" build --store "$t/gze" "$t/tiny.tsv" 2>/dev/null | tail -n 1)" ]'
# damaged gzip: a clear error, nothing written (the ref stays)
gr=$("$HAMT" build --store "$t/gzbad" --ref main --format ol "$OL" 2>/dev/null | tail -n 1)
size=$(stat -c %s "$t/big.ol.gz")
head -c $((size / 2)) "$t/big.ol.gz" >"$t/trunc.gz"
expect_err "a truncated gzip file" '"$HAMT" build --store "$t/gzbad" --ref main --format ol "$t/trunc.gz"' \
	"trunc\.gz: the gzip data ends early, at compressed byte [0-9]+"
expect_err "a truncated gzip stream on stdin" 'cat "$t/trunc.gz" | "$HAMT" build --store "$t/gzbad" --ref main --format ol -' \
	"stdin: the gzip data ends early"
# a byte of the last member's deflate data flipped: its CRC-32 tells
off=$(($(stat -c %s "$t/a.gz") + 2000))
cp "$t/big.ol.gz" "$t/flip.gz"
printf '\xff' | dd of="$t/flip.gz" bs=1 seek=$off conv=notrunc 2>/dev/null
expect_err "damaged gzip data" '"$HAMT" build --store "$t/gzbad" --ref main --format ol --skip-bad "$t/flip.gz"' \
	"flip\.gz: compressed byte [0-9]+: damaged gzip data"
{ cat "$t/a.gz"; printf 'not gzip\n'; } >"$t/trail.gz"
expect_err "bytes after the gzip data" '"$HAMT" build --store "$t/gzbad" --ref main --format ol "$t/trail.gz"' \
	"trail\.gz: compressed byte [0-9]+: what follows gzip member 1 is not gzip data"
check '[ "$(ref_root "$t/gzbad" main)" = "$gr" ]'

# --- --key isbn_13: arrays, missing values, the last line of a key wins ---
cut -f5 "$t/big.ol" | jq -r '(.isbn_13 // empty) | (if type == "array" then .[] else . end)
	| select(type == "string" or type == "number") | "\(.)\t\(input_line_number)"' |
	sort -t "$(printf '\t')" -k1,1 -k2,2n | awk -F'\t' '{ last[$1] = $2 } END { for (k in last) print k "\t" last[k] }' |
	sort >"$t/isbn.want"
nkeys=$(wc -l <"$t/isbn.want")
nwithout=$(cut -f5 "$t/big.ol" | jq -r 'select(has("isbn_13") | not) // select(.isbn_13 == null or .isbn_13 == []) | 1' | wc -l)
"$HAMT" build --store "$t/isbn" --ref isbn --format ol --key isbn_13 --threads 2 "$t/big.ol" >"$t/isbn.out" 2>"$t/isbn.err"
check '[ $? -eq 0 ]'
check 'grep -q "keys $nkeys," "$t/isbn.err"'
check 'grep -q "$nwithout without a key" "$t/isbn.err"'
"$HAMT" ls --store "$t/isbn" isbn | sort >"$t/isbn.got"
check 'cmp -s "$t/isbn.got" <(cut -f1 "$t/isbn.want")'
# every 97th key reads as the record of its last line
bad=0
while IFS=$'\t' read -r k ln; do
	[ "$("$HAMT" get --store "$t/isbn" isbn "$k")" = "$(sed -n "${ln}p" "$t/big.ol" | cut -f5)" ] || bad=$((bad + 1))
done < <(awk 'NR % 97 == 1' "$t/isbn.want")
check '[ $bad -eq 0 ]'
# a second map over the same records in the same store shares their blocks
"$HAMT" build --store "$t/isbn" --ref bykey --format ol "$t/big.ol" >/dev/null 2>"$t/key.err"
check 'grep -Eq "; [1-9][0-9]* already stored" "$t/key.err"'
check '"$HAMT" verify --store "$t/isbn" isbn >/dev/null && "$HAMT" verify --store "$t/isbn" bykey >/dev/null'
# jsonl records keyed by a field
cut -f5 "$t/big.ol" | head -n 300 >"$t/rec.jsonl"
rj=$("$HAMT" build --store "$t/jk" --format jsonl --key key "$t/rec.jsonl" 2>/dev/null | tail -n 1)
rk=$(head -n 300 "$t/big.ol" | "$HAMT" build --store "$t/jk2" --format ol - 2>/dev/null | tail -n 1)
check '[ -n "$rj" ] && [ "$rj" = "$rk" ]'

# --- malformed lines: nothing written, or skipped and counted ---
S=$t/store
"$HAMT" build --store "$S" --ref main --format ol "$OL" >/dev/null 2>&1
root0=$(ref_root "$S" main)
"$BLOCKS" "$S" >"$t/blocks0"
{ head -n 40 "$t/big.ol"; printf '/type/work\t/works/OLbadW\tx\t2020\t{}\n'; sed -n '41,20000p' "$t/big.ol"; } >"$t/bad.ol"
expect_err "malformed ol line" '"$HAMT" build --store "$S" --ref main --format ol --threads 2 "$t/bad.ol"' "bad.ol:41: column 3 \(revision\)"
{ head -n 5000 "$t/big.ol"; printf '/type/work\t/works/OL1W\t1\t2020\t{"a":tru}\n'; } >"$t/bad2.ol"
expect_err "bad JSON on the last line" '"$HAMT" build --store "$S" --ref main --format ol "$t/bad2.ol"' "bad2.ol:5001: column 5 \(JSON record\): JSON: expected a value"
check '[ "$(ref_root "$S" main)" = "$root0" ]'
check 'cmp -s "$t/blocks0" <("$BLOCKS" "$S")'
"$HAMT" build --store "$S" --ref skip --format ol --skip-bad "$t/bad.ol" >/dev/null 2>"$t/skip.err"
check '[ $? -eq 0 ]'
check 'grep -q "bad.ol:41: column 3 (revision) is not a number (line skipped)" "$t/skip.err"'
check 'grep -q "1 malformed (skipped)" "$t/skip.err"'
check '! "$HAMT" get --store "$S" skip /works/OLbadW >/dev/null 2>&1'
check '"$HAMT" get --store "$S" skip /books/OL0M >/dev/null'
# a tsv line without a tab, from stdin
printf 'a\t1\nb\n' | "$HAMT" build --store "$S" --ref main - >/dev/null 2>"$t/e"
check '[ $? -ne 0 ] && grep -q "stdin:2: no tab" "$t/e"'
check '[ "$(ref_root "$S" main)" = "$root0" ]'

# --- interrupted builds leave the store and its refs as they were ---
# each round other records (a round that ends before the kill must not
# leave the next one nothing to write)
"$BLOCKS" "$S" >"$t/blocks0"
rounds=0 mid_commit=0 seed=20
for d in 0.05 0.3 0.8 commit commit; do
	seed=$((seed + 1))
	gen_ol 250000 $seed >"$t/huge.ol" # ~37 MiB
	"$HAMT" build --store "$S" --ref main --format ol --threads 2 "$t/huge.ol" >/dev/null 2>&1 &
	pid=$!
	if [ "$d" = commit ]; then
		# kill once it writes (the LMDB commit: nothing else is
		# written without spilling)
		for _ in $(seq 1 4000); do
			w=$(sed -n 's/^wchar: //p' "/proc/$pid/io" 2>/dev/null)
			[ "${w:-0}" -gt 1048576 ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.002
		done
		[ "${w:-0}" -gt 1048576 ] && mid_commit=$((mid_commit + 1))
	else
		sleep "$d"
	fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	r=$(ref_root "$S" main)
	[ -n "${TEST_DEBUG:-}" ] && echo "round $d: wchar ${w:-} root ${r:0:16}..." >&2
	if [ "$r" = "$root0" ]; then
		check 'cmp -s "$t/blocks0" <("$BLOCKS" "$S")'
		rounds=$((rounds + 1))
	else
		# the kill came after the commit: the new map, whole
		check '[ -n "$r" ] && "$HAMT" verify --store "$S" "$r" >/dev/null'
		root0=$r
		"$BLOCKS" "$S" >"$t/blocks0"
	fi
	check '"$HAMT" verify --store "$S" main >/dev/null'
	check '[ -z "$(ls -A "$S" | grep -v -e "^data.mdb$" -e "^lock.mdb$")" ]'
done
check '[ $rounds -ge 3 ]'
check '[ $mid_commit -eq 2 ]'
# SIGINT: a clean stop with a message and status 130
sigint_build() { # STORE ERRFILE: a build of huge.ol stopped after 0.3 s
	"$HAMT" build --store "$1" --ref main --format ol --threads 2 "$t/huge.ol" >/dev/null 2>"$2" &
	local pid=$!
	sleep 0.3
	kill -INT "$pid"
	wait "$pid"
}
sigint_build "$S" "$t/int.err"
st=$?
if [ $st -eq 130 ]; then
	check 'grep -q "interrupted; nothing was written" "$t/int.err"'
	check '[ "$(ref_root "$S" main)" = "$root0" ]'
	check 'cmp -s "$t/blocks0" <("$BLOCKS" "$S")'
else
	check '[ $st -eq 0 ]' # finished before the signal
fi
# the store still takes a build
"$HAMT" build --store "$S" --ref main --format ol "$t/huge.ol" >"$t/final.out" 2>/dev/null
check '[ $? -eq 0 ] && [ "$(ref_root "$S" main)" = "$(root_of "$t/final.out")" ]'

# --- a new store is made beside its place and moved in when done ---
# (store/newstore.h: until the build commits, DIR does not exist)
N=$t/new
"$HAMT" build --store "$N/a/st" --ref main --format ol "$t/huge.ol" >"$t/new.out" 2>/dev/null
check '[ $? -eq 0 ] && [ "$(ref_root "$N/a/st" main)" = "$(root_of "$t/new.out")" ]'
check '[ "$(ls -A "$N/a")" = st ]' # nothing left beside it
check '[ "$(stat -c %a "$N/a/st")" = "$(mkdir "$t/mode" && stat -c %a "$t/mode")" ]'
# the same root and blocks as a build into an existing (empty) directory,
# which commits once, in place
mkdir -p "$N/b/st"
"$HAMT" build --store "$N/b/st" --ref main --format ol "$t/huge.ol" >"$t/inplace.out" 2>/dev/null
check '[ "$(root_of "$t/new.out")" = "$(root_of "$t/inplace.out")" ]'
check 'cmp -s <("$BLOCKS" "$N/a/st") <("$BLOCKS" "$N/b/st")'
# SIGINT: nothing at all is left
if sigint_build "$N/c/st" "$t/int2.err"; [ $? -eq 130 ]; then
	check '[ ! -e "$N/c/st" ] && [ -z "$(ls -A "$N/c" 2>/dev/null)" ]'
fi
# DIR made by someone else while the build ran: theirs is kept, the build
# is thrown away
"$HAMT" build --store "$N/e/st" --ref main --format ol --threads 2 "$t/huge.ol" >/dev/null 2>"$t/e.err" &
pid=$!
for _ in $(seq 1 4000); do
	ls -d "$N"/e/.st.new-* >/dev/null 2>&1 && break
	sleep 0.002
done
mkdir "$N/e/st" && echo theirs >"$N/e/st/file"
wait "$pid"
check '[ $? -eq 1 ] && grep -q "store $N/e/st was made by someone else while this build ran" "$t/e.err"'
check '[ "$(cat "$N/e/st/file")" = theirs ] && [ "$(ls -A "$N/e")" = st ]'
# kill -9 once the new store is being written: DIR still does not exist;
# the next build of DIR removes what was left (once it is old enough
# that no live build can have just made it) and says so
"$HAMT" build --store "$N/d/st" --ref main --format ol --threads 2 "$t/huge.ol" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 4000); do
	sz=$(stat -c %s "$N"/d/.st.new-*/data.mdb 2>/dev/null | head -n 1)
	[ "${sz:-0}" -gt 4194304 ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.002
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# killed while it wrote (its store passed 4 MiB, a tenth of the whole)
check '[ "${sz:-0}" -gt 4194304 ] && [ ! -e "$N/d/st" ]'
if [ ! -e "$N/d/st" ]; then
	left=$(ls -d "$N"/d/.st.new-* 2>/dev/null)
	check '[ -n "$left" ] && [ -s "$left/data.mdb" ]'
	# young: left alone (its build may have just begun)
	"$HAMT" build --store "$N/d/other" --format ol "$t/huge.ol" >/dev/null 2>&1
	check '[ -d "$left" ]'
	touch -d "1 hour ago" "$left"
	# locked by a live process: left alone
	flock -o "$left" sleep 30 >/dev/null 2>&1 &
	lpid=$!
	sleep 0.2
	"$HAMT" build --store "$N/d/st" --ref main --format ol "$t/huge.ol" >"$t/d.out" 2>"$t/d.err"
	check '[ $? -eq 0 ] && [ -d "$left" ] && ! grep -q removed "$t/d.err"'
	pkill -P "$lpid" sleep # -o: flock itself holds the lock, not sleep
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	rm -rf "$N/d/st"
	"$HAMT" build --store "$N/d/st" --ref main --format ol "$t/huge.ol" >"$t/d.out" 2>"$t/d.err"
	check '[ $? -eq 0 ] && [ ! -e "$left" ]'
	check 'grep -q "removed 1 unfinished new store of $N/d/st that killed builds left beside it" "$t/d.err"'
	check '[ "$(ref_root "$N/d/st" main)" = "$(root_of "$t/new.out")" ]'
	# a directory of that name holding anything else is not ours
	mkdir "$N/d/.st.new-ABCDEF"
	echo mine >"$N/d/.st.new-ABCDEF/notes"
	touch -d "1 hour ago" "$N/d/.st.new-ABCDEF"
	rm -rf "$N/d/st"
	"$HAMT" build --store "$N/d/st" --ref main --format ol "$t/huge.ol" >/dev/null 2>&1
	check '[ -s "$N/d/.st.new-ABCDEF/notes" ]'
fi

# --- progress on a terminal, and the summary ---
# script(1) gives the build a terminal 60 columns wide; the progress line
# is redrawn in place ("\r" + erase line) every 0.25 s, never wider than
# the terminal, and erased before the summary
"$BUILD/bench/gen_ol" 300000 5 >"$t/prog.ol" # ~95 MiB: well over 0.25 s
if command -v script >/dev/null; then
	HAMT="$HAMT" IN="$t/prog.ol" ST="$t/prog" script -qec \
		'stty cols 60; "$HAMT" build --store "$ST" --ref main --format ol "$IN"' \
		/dev/null >"$t/prog.tty" 2>&1
	tr '\r' '\n' <"$t/prog.tty" | sed 's/\x1b\[K//' >"$t/prog.lines"
	check 'grep -Eq "^read: [0-9.]+[kM]? records, [0-9.]+[kM]? records/s, [0-9.]+ [KMG]i?B, ETA [0-9-]+:[0-9-]+$" "$t/prog.lines"'
	check 'grep -Eq "^(write: [0-9.]+[kM]?/[0-9.]+[kM]? blocks|commit: syncing)" "$t/prog.lines"'
	check '! grep -E "^(read|write|commit): " "$t/prog.lines" | awk "length > 59 { bad = 1 } END { exit !bad }"'
	# erased: the summary starts a line of its own
	check 'grep -q $'"'"'\r\x1b\[Krecords 300000, keys 300000, '"'"' "$t/prog.tty"'
	check 'grep -Eq "^time: read [0-9.]+s, build [0-9.]+s, write [0-9.]+s, commit [0-9.]+s, total [0-9.]+s .*peak RSS [0-9]+ MiB" "$t/prog.lines"'
	check 'grep -Eq "^records 300000, keys 300000, blocks [0-9]+ .*bytes [0-9]+, depth [0-9]+" "$t/prog.lines"'
	# --quiet on a terminal, and stderr not a terminal: no progress line
	HAMT="$HAMT" IN="$t/prog.ol" ST="$t/prog" script -qec \
		'"$HAMT" build --store "$ST" --ref q --format ol --quiet "$IN"' \
		/dev/null >"$t/quiet.tty" 2>&1
	check '! grep -q $'"'"'\x1b\['"'"' "$t/quiet.tty" && grep -q "^records 300000" "$t/quiet.tty"'
	"$HAMT" build --store "$t/prog" --ref p --format ol "$t/prog.ol" >/dev/null 2>"$t/notty.err"
	check '! grep -q $'"'"'\x1b\['"'"' "$t/notty.err" && grep -q "^records 300000" "$t/notty.err"'
else
	echo "SKIP: progress display (no script(1) here)"
fi

# --- usage errors ---
expect_err "--key with tsv" '"$HAMT" build --store "$t/u" --key x "$OL"' "--key needs --format jsonl or ol"
expect_err "--codec raw with jsonl envelopes" '"$HAMT" build --store "$t/u" --format jsonl --codec raw "$OL"' "--codec raw needs --key"
expect_err "--car and --store" '"$HAMT" build --store "$t/u" --car "$t/u.car" "$OL"' "not both"
expect_err "no output" '"$HAMT" build "$OL"' "--store DIR or --car FILE"
expect_err "bad --mem" '"$HAMT" build --store "$t/u" --mem 12Q "$OL"' "bad size"
expect_err "bad --threads" '"$HAMT" build --store "$t/u" --threads 0 "$OL"' "--threads"
expect_err "bad codec" '"$HAMT" build --store "$t/u" --codec json "$OL"' "unknown codec"
touch "$t/afile"
expect_err "store is a file" '"$HAMT" build --store "$t/afile" "$OL"' "not a directory"
expect_err "bad --tmp" '"$HAMT" build --store "$t/u" --tmp "$t/nodir" "$OL"' "not a writable directory"
check '[ ! -e "$t/u/data.mdb" ]'
check '"$HAMT" build --help | grep -q -- "--skip-bad"'

finish
