# Shared helpers for the shell tests: source it, call check/expect_err,
# end with `finish` (prints "N passed, M failed", fails if any did).
pass=0 fail=0

# What a sanitizer build reports (ASan, UBSan, TSan, LeakSanitizer's leaks
# at exit) goes to files, not to stderr: a test discards the stderr of
# some commands, and a detached daemon's is /dev/null. finish (and
# tests/fs/lib.sh's cleanup, once its daemons are gone) fails the test if
# there is a report.
SAN_LOG=${TEST_TMP:-${TMPDIR:-/tmp}}/sanitizer.$$
mkdir -p "$(dirname "$SAN_LOG")"
rm -f "$SAN_LOG".* # left by an earlier test of this pid that was killed
for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do
	export "$v=${!v:+${!v}:}log_path=$SAN_LOG"
done
# san_reports: print and remove the reports so far; fails if there was one
san_reports() {
	compgen -G "$SAN_LOG.*" >/dev/null || return 0
	echo "FAIL: sanitizer reports:" >&2
	cat "$SAN_LOG".* >&2
	rm -f "$SAN_LOG".*
	return 1
}
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# check 'shell expression'
check() { if eval "$1"; then ok; else bad "$1"; fi; }
# expect_err "description" 'command' 'pattern': non-zero exit, stderr matches
expect_err() {
	local out rc
	out=$(eval "$2" 2>&1 >/dev/null); rc=$?
	if [ $rc -ne 0 ] && grep -qE -- "$3" <<<"$out"; then ok; else bad "$1 (rc=$rc, stderr: $out)"; fi
}
# section "what": print the time since the test started, to see where a
# slow run spends it
section() { echo "[$(printf '%4d' "$SECONDS")s] $*"; }
finish() {
	san_reports || fail=$((fail + 1))
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
