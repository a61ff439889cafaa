# Shared helpers for the shell tests: source it, call check/expect_err,
# end with `finish` (prints "N passed, M failed", fails if any did).
pass=0 fail=0
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
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
