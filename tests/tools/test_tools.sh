#!/usr/bin/env bash
# The `hamt` command: every subcommand, its help, and its error paths.
set -uo pipefail
: "${HAMT:?}" "${FIXTURES:?}" "${TEST_TMP:?}" "${SRC:?}"
t=$(mktemp -d "${TEST_TMP%/}.tools.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/../lib.sh"

S=$t/store
printf 'alpha\tone\nbeta\ttwo\n/works/OL1W\t{"title":"x"}\n100%%\tpercent\n.\tdot\n..\tdotdot\ncaf\xc3\xa9 \xe6\x97\xa5\tunicode\nspace key\twith\ttabs\n' > "$t/in.tsv"
root=$("$HAMT" build --store "$S" --ref main "$t/in.tsv" 2>"$t/err" | tail -n 1)
check '[[ "$root" == bafyrei* ]]'
check 'grep -q "keys 8" "$t/err"'
check '[ "$("$HAMT" get --store "$S" main alpha)" = one ]'
check '[ "$("$HAMT" get --store "$S" "$root" /works/OL1W)" = "{\"title\":\"x\"}" ]'
check '[ "$("$HAMT" get --store "$S" main "space key")" = "$(printf "with\ttabs")" ]'
check '[ "$("$HAMT" get --store "$S" main "caf$(printf "\xc3\xa9") $(printf "\xe6\x97\xa5")")" = unicode ]'
"$HAMT" ls --store "$S" main | LC_ALL=C sort > "$t/ls"
printf '%%2E\n%%2E.\n%%2Fworks%%2FOL1W\n100%%25\nalpha\nbeta\ncaf\xc3\xa9 \xe6\x97\xa5\nspace key\n' | LC_ALL=C sort > "$t/ls.want"
check 'cmp -s "$t/ls" "$t/ls.want"'
# the same records in another order give the same root
tac "$t/in.tsv" > "$t/rev.tsv"
check '[ "$("$HAMT" build --store "$t/s2" "$t/rev.tsv" 2>/dev/null | tail -n 1)" = "$root" ]'
# stdin, inline values, other parameters
r3=$("$HAMT" build --store "$t/s3" --values inline --bit-width 4 --bucket-size 2 - < "$t/in.tsv" 2>/dev/null | tail -n 1)
check '[ "$("$HAMT" get --store "$t/s3" "$r3" beta)" = two ]'
check '"$HAMT" verify --store "$t/s3" "$r3" | grep -q "bit_width 4"'
# jsonl
printf '{"key":"a","value":{"n":1,"l":[1,2,"x"]}}\n{"key":"b","value":"text"}\n{"key":"c","value":-5}\n' > "$t/in.jsonl"
r4=$("$HAMT" build --store "$t/s4" --format jsonl "$t/in.jsonl" 2>/dev/null | tail -n 1)
check '[ "$("$HAMT" get --store "$t/s4" "$r4" a)" = "{\"l\":[1,2,\"x\"],\"n\":1}" ]'
check '[ "$("$HAMT" get --store "$t/s4" "$r4" b)" = "\"text\"" ]'
r5=$("$HAMT" build --store "$t/s4" --format jsonl --values inline "$t/in.jsonl" 2>/dev/null | tail -n 1)
check '[ "$("$HAMT" get --store "$t/s4" "$r5" b)" = text ]'
check '[ "$("$HAMT" get --store "$t/s4" "$r5" c)" = -5 ]'
# verify, export, import round trip
check '"$HAMT" verify --store "$S" main | grep -q "^keys 8$"'
check '"$HAMT" export --store "$S" main "$t/out.car" 2>/dev/null'
check '[ "$("$HAMT" import --store "$t/s5" "$t/out.car")" = "$root" ]'
check '[ "$("$HAMT" get --store "$t/s5" "$root" beta)" = two ]'
check '"$HAMT" verify --store "$t/s5" "$root" >/dev/null'
# export to standard output ("-"): the same bytes, streamed, no file "-"
check '( cd "$t" && "$HAMT" export --store "$S" main - 2>/dev/null | cmp -s - "$t/out.car" ) && [ ! -e "$t/-" ]'
check '"$HAMT" export --store "$S" main - 2>&1 >/dev/null | grep -qx "exported 9 blocks, [0-9]* bytes to standard output"'
expect_err "build --car -" '"$HAMT" build --car - "$t/in.tsv"' "^hamt build: --car -: a build cannot write its CAR to standard output"
# the spec fixture through the tool
aroot=$("$HAMT" import --store "$t/alice" "$FIXTURES/hamt-alice-words/hamt.car")
check '[ "$aroot" = bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflova ]'
check '[ "$("$HAMT" ls --store "$t/alice" "$aroot" | wc -l)" = "$(grep -c "^  \"" "$FIXTURES/hamt-alice-words/hamt.json")" ]'
check '"$HAMT" get --store "$t/alice" "$aroot" Alice | grep -q "^\[{\"column\":1,\"line\":2},"'
check '"$HAMT" verify --store "$t/alice" "$aroot" | grep -q "^blocks 36$"'

# help
check '"$HAMT" --help | grep -q "hamt build"'
for c in build get ls import export verify; do
	check '"$HAMT" $c --help | grep -q "^usage: hamt $c"'
done
# errors: message on stderr, non-zero exit
expect_err "unknown command" '"$HAMT" frobnicate' "unknown command"
expect_err "missing store" '"$HAMT" ls --store "$t/nope" main' "nope"
expect_err "no --store" '"$HAMT" ls main' "--store DIR is required"
expect_err "unknown ref" '"$HAMT" ls --store "$S" nosuchref' "^hamt ls: unknown ref or CID: nosuchref$"
expect_err "export of an unknown ref" '"$HAMT" export --store "$S" nosuchref "$t/x.car"' "^hamt export: unknown ref or CID: nosuchref$"
expect_err "bad CID" '"$HAMT" get --store "$S" bafyBADcid alpha' "."
expect_err "absent key" '"$HAMT" get --store "$S" main nosuchkey' "not found"
"$HAMT" get --store "$S" main nosuchkey >/dev/null 2>&1; check '[ $? -eq 1 ]'
expect_err "root that is not a HAMT" '"$HAMT" ls --store "$S" "$("$HAMT" build --store "$t/s6" --values link "$t/in.tsv" 2>/dev/null >/dev/null; printf "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq")"' "."
# a root that is a record, not a map: the CID is named once
rcid=$(python3 -c 'import base64, hashlib
d = bytes([1, 0x55, 0x12, 32]) + hashlib.sha256(b"one").digest()
print("b" + base64.b32encode(d).decode().lower().rstrip("="))')
expect_err "a record as the root" '"$HAMT" ls --store "$S" "$rcid"' "^hamt ls: HAMT node $rcid: [^/]*not dag-cbor[^/]*\$"
printf 'good\tline\nno tab here\n' > "$t/badline.tsv"
expect_err "malformed tsv line" '"$HAMT" build --store "$t/s7" "$t/badline.tsv"' "badline.tsv:2: no tab"
check '[ ! -e "$t/s7/data.mdb" ] || ! "$HAMT" ls --store "$t/s7" main 2>/dev/null'
printf '{"key":"a","value":1}\n{"key":1,"value":2}\n' > "$t/bad.jsonl"
expect_err "malformed jsonl line" '"$HAMT" build --store "$t/s8" --format jsonl "$t/bad.jsonl"' "bad.jsonl:2:"
# a UTF-8 byte order mark before the first line is named as such (both
# jsonl readers: the envelope and --key)
printf '\xef\xbb\xbf{"key":"a","value":1}\n' > "$t/bom.jsonl"
expect_err "jsonl with a byte order mark" '"$HAMT" build --store "$t/s8" --format jsonl "$t/bom.jsonl"' "bom.jsonl:1: the line starts with a UTF-8 byte order mark"
expect_err "jsonl --key with a byte order mark" '"$HAMT" build --store "$t/s8" --format jsonl --key key "$t/bom.jsonl"' "bom.jsonl:1: the line starts with a UTF-8 byte order mark"
check '"$HAMT" build --store "$t/s8b" --format jsonl <(sed "1s/^\xEF\xBB\xBF//" "$t/bom.jsonl") >/dev/null 2>&1'
printf '\xef\xbb\xbfk1\tv1\nk2\tv2\n' > "$t/bom.tsv"
expect_err "tsv with a byte order mark" '"$HAMT" build --store "$t/s8" "$t/bom.tsv"' "bom.tsv:1: the key starts with a UTF-8 byte order mark"
check '[ "$("$HAMT" build --store "$t/s8c" <(sed "1s/^\xEF\xBB\xBF//" "$t/bom.tsv") 2>/dev/null | tail -n 1)" = "$(printf "k1\tv1\nk2\tv2\n" | "$HAMT" build --store "$t/s8d" - 2>/dev/null | tail -n 1)" ]'
expect_err "bad bit width" '"$HAMT" build --store "$t/s9" --bit-width 2 "$t/in.tsv"' "bit width"
expect_err "bad format" '"$HAMT" build --store "$t/s9" --format xml "$t/in.tsv"' "unknown format"
head -c 100 "$t/out.car" > "$t/trunc.car"
# the file is named once: "hamt import: PATH: what"
expect_err "truncated CAR" '"$HAMT" import --store "$t/s10" "$t/trunc.car"' "^hamt import: [^ ]*trunc\.car: truncated [^/]*$"
expect_err "missing CAR" '"$HAMT" import --store "$t/s10" "$t/none.car"' "^hamt import: [^ ]*none\.car: No such file or directory$"
expect_err "missing input" '"$HAMT" build --store "$t/s11" "$t/none.tsv"' "none.tsv"

finish
