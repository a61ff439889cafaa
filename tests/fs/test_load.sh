#!/usr/bin/env bash
# Load: 16 concurrent readers stat and read random files of a mount while a
# writer replaces records (write a temp file, rename it over the key, as
# rsync does) and commits in a loop, for LOAD_SECONDS (default 60). Every
# read must give the old or the new contents of its key (never a mix, never
# an older version after a newer one), with zero errors; the daemon's RSS
# must stay flat (bounded by its caches). Prints operations per second.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
LOADREAD=${BUILD:?}/tests/loadread
SECS=${LOAD_SECONDS:-60}
KEYS=${LOAD_KEYS:-20000}
S=$T/store
M=$T/m

seq 0 $((KEYS - 1)) | awk '{ printf "k-%d\tv0-%d\n", $1, $1 }' | "$HAMT" build --store "$S" --ref main >/dev/null 2>&1
mkdir -p "$M"; MOUNTS+=("$M")
# a small cache (8 MiB): each commit makes new nodes that readers then load,
# so the caches fill up to their bound within seconds, and from then on the
# daemon's RSS must stay flat (with the default 64 MiB it takes minutes)
# In an AddressSanitizer build, freed memory waits in ASan's quarantine
# (256 MiB by default) before it is reused, which would look like growth
# here: keep it small (the option means nothing to other builds).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4" \
	"$HAMTFS" -f -o store="$S",cache_mb=8 main "$M" 2>"$T/daemon.log" &
dpid=$!
for _ in $(seq 400); do mountpoint -q "$M" && break; sleep 0.05; done
check 'mountpoint -q "$M"'
rss() { awk '/VmRSS/ { print $2 }' "/proc/$dpid/status"; }

section "readers and a committing writer for $SECS s"
"$LOADREAD" "$M" "$KEYS" 16 "$SECS" > "$T/readers.out" 2> "$T/readers.err" &
readers=$!
end=$((SECONDS + SECS))
round=0 commits=0 written=0 werr=0
rss_samples=()
next_sample=$SECONDS
while [ $SECONDS -lt $end ]; do
	round=$((round + 1))
	for _ in $(seq 50); do
		i=$((RANDOM * 32768 + RANDOM))
		i=$((i % KEYS))
		if printf 'v%d-%d' "$round" "$i" > "$M/.tmp-$i" && mv "$M/.tmp-$i" "$M/k-$i"; then
			written=$((written + 1))
		else
			werr=$((werr + 1))
		fi
	done
	if setfattr -n user.hamtfs.commit -v 1 "$M"; then commits=$((commits + 1)); else werr=$((werr + 1)); fi
	if [ $SECONDS -ge $next_sample ]; then
		rss_samples+=("$(rss)")
		next_sample=$((SECONDS + 5))
	fi
done
wait "$readers"; rrc=$?
rss_samples+=("$(rss)")
cat "$T/readers.out"
head -n 5 "$T/readers.err"
echo "writer: $written records replaced in $commits commits, $werr errors"
echo "daemon RSS (KiB) every 5 s: ${rss_samples[*]}"
check '[ "$rrc" = 0 ] && grep -q " errors 0 " "$T/readers.out"'
check '[ "$werr" = 0 ] && [ "$commits" -ge 5 ]'
# flat: the last samples are no more than 25% (plus 8 MiB) above the
# highest of the first third
n=${#rss_samples[@]}
third=$(( (n + 2) / 3 ))
first_max=0; for v in "${rss_samples[@]:0:$third}"; do [ "$v" -gt "$first_max" ] && first_max=$v; done
last=${rss_samples[$((n - 1))]}
echo "RSS: highest of the first third $first_max KiB, last $last KiB"
check '[ "$last" -le $((first_max * 5 / 4 + 8192)) ]'
# what the readers saw last is what was committed
check '"$HAMT" verify --store "$S" main >/dev/null'
check '[ "$(getfattr --only-values -n user.hamtfs.staged "$M")" = 0 ]'
fusermount3 -u "$M"
wait "$dpid"
check '! grep -q "commit failed" "$T/daemon.log"'
finish
