# Shared helpers for tests that really mount hamtfs. Source it; it sets an
# EXIT trap that unmounts everything mounted through mount_fs (and the
# file systems listed in DISKS) and removes the scratch directory, also
# when a test fails half-way.
: "${HAMT:?}" "${HAMTFS:?}" "${TEST_TMP:?}"
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
mkdir -p "$TEST_TMP"
T=$(mktemp -d "$TEST_TMP/fs.XXXXXX")
MOUNTS=() # hamtfs mounts (mount_fs)
DISKS=()  # other file systems the test mounted (tmpfs): umount_disk

# umount_disk DIR: unmount a file system the test mounted. A daemon that
# had a store on it may still hold it open for a moment after
# fusermount3 -u returns (longer under ASan): retry, then detach it.
umount_disk() {
	for _ in $(seq 1 100); do
		mountpoint -q "$1" 2>/dev/null || return 0
		umount "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	umount -l "$1"
}

# mount_daemons MNT: the pids of the processes that have MNT as one whole
# argument: the daemon serving it (also under valgrind or taskset), not a
# client such as `cat MNT/key` that a failed test left hanging on it
mount_daemons() {
	local p
	for p in $(pgrep -f -- "$1"); do
		tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qxF -- "$1" && echo "$p"
	done
}

cleanup() {
	local rc=$? m
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; }
	done
	# the daemons write their last sanitizer reports (leaks) as they
	# exit: wait for them, up to a minute each (../lib.sh: SAN_LOG)
	for m in "${MOUNTS[@]}"; do
		for _ in $(seq 600); do
			[ -n "$(mount_daemons "$m")" ] || break
			sleep 0.1
		done
	done
	for m in "${DISKS[@]}"; do umount_disk "$m"; done
	san_reports || rc=1
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT

# mount_fs STORE ROOT MNT [extra hamtfs args...]: mount and wait until ready
mount_fs() {
	local store=$1 root=$2 mnt=$3
	shift 3
	mkdir -p "$mnt"
	MOUNTS+=("$mnt")
	timeout 30 "$HAMTFS" -o store="$store" "$@" "$root" "$mnt" || return 1
	wait_mounted "$mnt"
}

# wait_mounted MNT: wait until MNT is a mount point
wait_mounted() {
	for _ in $(seq 400); do # up to 20 s: a sanitizer build starts slowly
		mountpoint -q "$1" && return 0
		sleep 0.05
	done
	return 1
}

umount_fs() {
	fusermount3 -u "$1"
}

# rand_sleep MAX: sleep a random time in [0, MAX) seconds
rand_sleep() { sleep "$(awk -v r="$RANDOM" -v max="$1" 'BEGIN { printf "%.3f", r / 32768 * max }')"; }

# seconds_since T0: seconds since T0 (a `date +%s.%N`), to the millisecond
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }
