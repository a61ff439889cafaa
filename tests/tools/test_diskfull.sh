#!/usr/bin/env bash
# hamt build when the disk fills up: the bulk load into LMDB, a CAR, the
# sort's spill files (and hamt import of a CAR too large for it); and when the disk fails at writeback, after write()
# has taken the bytes (a loop device over a file on a small tmpfs: the
# block layer reports the failed writes only when they reach the device).
# Each time: exit status 1 and a message that says the disk is full, the
# ref and its blocks as they were, no file left behind, and the space the
# failed build wrote into data.mdb given back.
# Needs root (tmpfs mounts, a loop device); skips what it cannot set up.
set -uo pipefail
: "${HAMT:?}" "${TEST_TMP:?}" "${SRC:?}" "${BUILD:?}"
mkdir -p "$TEST_TMP"
t=$(mktemp -d "${TEST_TMP%/}/diskfull.XXXXXX")
MOUNTED=() LOOP= LOOP2=
cleanup() {
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" 2>/dev/null
	done
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	[ -n "$LOOP2" ] && losetup -d "$LOOP2" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
BLOCKS=$BUILD/tests/blocks
GEN=$BUILD/bench/gen_ol

ref_root() { "$HAMT" verify --store "$1" "$2" 2>/dev/null | sed -n 's/^ok //p' | head -n 1; }
size_of() { stat -c %s "$1"; }
# mount_tmpfs DIR SIZE
mount_tmpfs() {
	mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null || return 1
	MOUNTED+=("$1")
}

if ! mount_tmpfs "$t/full" 24m; then
	echo "SKIP: cannot mount a tmpfs here (not root?)"
	exit 0
fi
"$GEN" 200000 >"$t/in.ol" # ~62 MiB: more than the 24 MiB disk holds
"$GEN" 500 7 >"$t/seed.ol"

# --- the bulk load into LMDB: the commit's write finds the disk full ---
section "a store on a disk that fills up during the build"
S=$t/full/s
"$HAMT" build --store "$S" --ref main --format ol "$t/seed.ol" >/dev/null 2>&1
root0=$(ref_root "$S" main)
check '[ -n "$root0" ]'
"$BLOCKS" "$S" >"$t/blocks0"
size0=$(size_of "$S/data.mdb")
expect_err "a build larger than the disk" \
	'"$HAMT" build --store "$S" --ref main --format ol "$t/in.ol"' \
	"store .*: No space left on device .*nothing of this transaction was committed"
"$HAMT" build --store "$S" --ref main --format ol --quiet "$t/in.ol" >/dev/null 2>&1
check '[ $? -eq 1 ]'
check '[ "$(ref_root "$S" main)" = "$root0" ]'
check 'cmp -s "$t/blocks0" <("$BLOCKS" "$S")'
# what the failed build wrote is given back: the disk is not left full
check '[ "$(size_of "$S/data.mdb")" -le "$size0" ]'
check '[ "$(df --output=used -k "$t/full" | tail -n 1)" -lt 4096 ]'
check '[ -z "$(ls -A "$S" | grep -v -e "^data.mdb$" -e "^lock.mdb$")" ]'

# --- hamt import of a CAR larger than the disk (puts, not the bulk load) ---
section "hamt import onto a disk that fills up"
"$HAMT" build --car "$t/in.car" --format ol --quiet "$t/in.ol" >/dev/null 2>&1
expect_err "an import larger than the disk" \
	'"$HAMT" import --store "$S" "$t/in.car"' \
	"store .*: No space left on device .*nothing of this transaction was committed"
check '[ "$(ref_root "$S" main)" = "$root0" ]'
check 'cmp -s "$t/blocks0" <("$BLOCKS" "$S")'
check '[ "$(size_of "$S/data.mdb")" -le "$size0" ]'

# --- a CAR that does not fit: no CAR, no temporary file ---
section "a CAR on a disk that fills up"
expect_err "a CAR larger than the disk" \
	'"$HAMT" build --car "$t/full/out.car" --format ol "$t/in.ol"' \
	"out\.car.*No space left on device"
check '[ -z "$(ls -A "$t/full" | grep -v "^s$")" ]'

# --- the sort's spill files fill their disk: the store is untouched ---
section "spill files on a disk that fills up"
mkdir -p "$t/s2"
S2=$t/s2/s
"$HAMT" build --store "$S2" --ref main --format ol "$t/seed.ol" >/dev/null 2>&1
r2=$(ref_root "$S2" main)
expect_err "spilling onto a full disk" \
	'"$HAMT" build --store "$S2" --ref main --format ol --mem 4M --tmp "$t/full" "$t/in.ol"' \
	"spill file in .*No space left on device"
check '[ "$(ref_root "$S2" main)" = "$r2" ]'
check '[ -z "$(ls -A "$t/full" | grep -v "^s$")" ]'

# once there is room, the same build goes through
mount -o remount,size=400m "$t/full"
"$HAMT" build --store "$S" --ref main --format ol --quiet "$t/in.ol" >"$t/ok.out" 2>&1
check '[ $? -eq 0 ] && [ "$(ref_root "$S" main)" = "$(tail -n 1 "$t/ok.out")" ]'
check '[ "$(ref_root "$S" main)" != "$root0" ]'

# --- a disk that fails at writeback ---
section "a disk that fails when the page cache is written back"
if mount_tmpfs "$t/dev" 48m && truncate -s 1G "$t/dev/img" &&
	LOOP=$(losetup -f --show "$t/dev/img" 2>/dev/null) &&
	mkfs.ext4 -q -J size=4 -E lazy_itable_init=1,nodiscard "$LOOP" 2>/dev/null &&
	mkdir -p "$t/ext" && mount "$LOOP" "$t/ext" 2>/dev/null; then
	MOUNTED+=("$t/ext")
	S3=$t/ext/s
	"$HAMT" build --store "$S3" --ref main --format ol "$t/seed.ol" >/dev/null 2>&1
	sync
	r3=$(ref_root "$S3" main)
	"$BLOCKS" "$S3" >"$t/blocks3"
	# ext4 sees 1 GiB free; the device behind it runs out after ~40 MiB
	"$GEN" 600000 3 >"$t/big.ol" # ~185 MiB
	expect_err "writeback fails" \
		'"$HAMT" build --store "$S3" --ref main --format ol "$t/big.ol"' \
		"store .*(No space left on device|Input/output error)"
	check '[ "$(ref_root "$S3" main)" = "$r3" ]'
	check 'cmp -s "$t/blocks3" <("$BLOCKS" "$S3")'
	check '"$HAMT" verify --store "$S3" main >/dev/null'
	echo "writeback failure: $(dmesg 2>/dev/null | grep -c "I/O error.*loop") I/O errors in the kernel log"
else
	echo "SKIP: writeback failure (no loop device or mkfs.ext4 here)"
fi

# --- a new store (made aside, committed in 256 MiB steps) on a full ext4 ---
# ext4 keeps up to 16 MiB back for itself, which statfs counts as free,
# and LMDB reports the short write as EIO: still "No space left"
section "a new store on an ext4 disk that fills up during the build"
if mount_tmpfs "$t/dev2" 300m && truncate -s 280M "$t/dev2/img" &&
	LOOP2=$(losetup -f --show "$t/dev2/img" 2>/dev/null) &&
	mkfs.ext4 -q -E lazy_itable_init=1,nodiscard "$LOOP2" 2>/dev/null &&
	mkdir -p "$t/ext2" && mount "$LOOP2" "$t/ext2" 2>/dev/null; then
	MOUNTED+=("$t/ext2")
	used0=$(df --output=used -k "$t/ext2" | tail -n 1)
	"$GEN" 1200000 9 >"$t/huge.ol" # ~370 MiB, 300 MiB of records
	expect_err "a new store larger than the disk" \
		'"$HAMT" build --store "$t/ext2/a/s" --ref main --format ol --tmp "$t" "$t/huge.ol"' \
		"store .*: No space left on device .*nothing of this transaction was committed.*\\(the new store $t/ext2/a/s was being made in $t/ext2/a/\.s\.new-.*, which is removed: nothing was made at $t/ext2/a/s\\)"
	# nothing at DIR, nothing beside it, and the space is free again
	check '[ ! -e "$t/ext2/a/s" ] && [ -z "$(ls -A "$t/ext2/a")" ]'
	sync -f "$t/ext2" # ext4 frees a deleted file's blocks at its commit
	used1=$(df --output=used -k "$t/ext2" | tail -n 1)
	check '[ "$used1" -le $((used0 + 64)) ]' # the new directory a/ only
	rm -f "$t/huge.ol"
else
	echo "SKIP: a new store on a full ext4 (no loop device or mkfs.ext4 here)"
fi

finish
