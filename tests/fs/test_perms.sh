#!/usr/bin/env bash
# Permissions and limits: only the mounting user can use a mount unless
# -o allow_other; then others can read but not write or commit; modes set
# with chmod are enforced; a store that cannot be written mounts only with
# -o ro, and the tool still reads it; keys too long to be file names and
# records too large are refused with clear errors.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
S=$T/store
M=$T/m
printf 'a\t1\nb\t2\n' | "$HAMT" build --store "$S" --ref main >/dev/null 2>&1
# as another user (nobody), with no capabilities
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"; }
chmod 755 "$T"

section "default: only the mounting user"
check 'mount_fs "$S" main "$M"'
check '[ "$(cat "$M/a")" = 1 ]'
expect_err "another user cannot list" 'as_nobody ls "$M"' "Permission denied"
expect_err "another user cannot read" 'as_nobody cat "$M/a"' "Permission denied"
umount_fs "$M"

section "-o allow_other: others read, only the owner writes and commits"
check 'mount_fs "$S" main "$M" -o allow_other'
check '[ "$(as_nobody cat "$M/a")" = 1 ]'
check 'as_nobody ls "$M" | grep -qx b'
expect_err "another user cannot create" 'as_nobody sh -c "echo x > \"$M/new\""' "Permission denied"
expect_err "another user cannot overwrite" 'as_nobody sh -c "echo x > \"$M/a\""' "Permission denied"
expect_err "another user cannot delete" 'as_nobody rm -f "$M/a"' "Permission denied"
expect_err "another user cannot commit" 'as_nobody setfattr -n user.hamtfs.commit -v 1 "$M"' "Permission denied|not permitted"
check 'chmod 600 "$M/b"'
expect_err "chmod 600 keeps others out" 'as_nobody cat "$M/b"' "Permission denied"
check '[ "$(cat "$M/b")" = 2 ]'
check 'setfattr -n user.hamtfs.commit -v 1 "$M"' # the owner can
umount_fs "$M"

section "a store that cannot be written"
R=$T/ro
mkdir -p "$R"
if mount --bind "$T" "$R" 2>/dev/null && mount -o remount,bind,ro "$R" 2>/dev/null; then
	expect_err "writable mount of a read-only store" '"$HAMTFS" -o store="$R/store" main "$M"' "Read-only file system.*-o ro"
	check 'mount_fs "$R/store" main "$M" -o ro'
	check '[ "$(cat "$M/a")" = 1 ]'
	expect_err "writing to a -o ro mount" 'sh -c "echo x > \"$M/new\""' "Read-only file system"
	umount_fs "$M"
	check '[ "$("$HAMT" get --store "$R/store" main a)" = 1 ]'
	check '"$HAMT" ls --store "$R/store" main | grep -qx a'
	check '"$HAMT" verify --store "$R/store" main >/dev/null'
	check '"$HAMT" status --store "$R/store" --ref main >/dev/null'
	expect_err "staging into a read-only store" 'printf x | "$HAMT" put --store "$R/store" --ref main k' "Read-only file system"
	umount "$R"
else
	echo "SKIP: read-only store (no bind mount here)"
fi

section "names and records out of bounds"
check 'mount_fs "$S" main "$M"'
long=$(printf 'x%.0s' $(seq 256))
expect_err "a name over 255 bytes" 'printf x > "$M/$long"' "File name too long"
expect_err "a record over 1 MiB" 'head -c 1048577 /dev/zero > "$M/big"' "File too large"
check '[ ! -s "$M/big" ] || [ "$(stat -c %s "$M/big")" -le 1048576 ]'
rm -f "$M/big"
expect_err "a name hamtfs never shows" 'printf x > "$M/bad%zz"' "Invalid argument"
expect_err "mkdir" 'mkdir "$M/d"' "Operation not permitted"
check '[ "$(getfattr --only-values -n user.hamtfs.staged "$M")" = 0 ]'
umount_fs "$M"

finish
