#!/usr/bin/env bash
# The write side of the mount: tools that write files work unchanged,
# changes are staged, commit merges them into the root `hamt build` gives
# for the same final records, and nothing closed is lost.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
S=$T/store
M=$T/m
seq 1 1000 | awk '{ printf "k-%d\tvalue %d\n", $1, $1 }' > "$T/base.tsv"
root0=$("$HAMT" build --store "$S" --ref main "$T/base.tsv" 2>/dev/null | tail -n 1)
check 'mount_fs "$S" main "$M"'

# --- ordinary tools ------------------------------------------------------
section "ordinary tools"
printf 'new one' > "$M/new1";                     check '[ "$(cat "$M/new1")" = "new one" ]'
printf ' more' >> "$M/new1";                      check '[ "$(cat "$M/new1")" = "new one more" ]'
check '[ "$(stat -c %s "$M/new1")" = 12 ]'
printf 'replaced' > "$M/k-1";                     check '[ "$(cat "$M/k-1")" = replaced ]'
printf 'short' > "$M/k-1";                        check '[ "$(cat "$M/k-1")" = short ]'   # O_TRUNC
cp "$M/k-2" "$M/copy-of-2";                       check '[ "$(cat "$M/copy-of-2")" = "value 2" ]'
mv "$M/k-3" "$M/moved-3";                         check '[ "$(cat "$M/moved-3")" = "value 3" ] && [ ! -e "$M/k-3" ]'
mv "$M/new1" "$M/k-4";                            check '[ "$(cat "$M/k-4")" = "new one more" ] && [ ! -e "$M/new1" ]'
rm "$M/k-5";                                      check '[ ! -e "$M/k-5" ]'
check '! ls "$M" | grep -qx k-5'
check 'ls "$M" | grep -qx moved-3'
printf 'staged' > "$M/tmp-x"; rm "$M/tmp-x";      check '[ ! -e "$M/tmp-x" ]'
truncate -s 3 "$M/k-6";                           check '[ "$(cat "$M/k-6")" = val ]'
printf 'abcdef' > "$M/pos"; printf 'XY' | dd of="$M/pos" bs=1 seek=2 conv=notrunc 2>/dev/null
check '[ "$(cat "$M/pos")" = abXYef ]'
check '( set -o noclobber; ! printf x > "$M/k-7" ) 2>/dev/null'   # O_EXCL
check '[ "$(cat "$M/k-7")" = "value 7" ]'
# a truncate moves mtime, to the same size too (: > f of an empty file
# must: O_TRUNC)
: > "$M/empty-t"; touch -d 2020-01-01 "$M/empty-t"; : > "$M/empty-t"
check '[ "$(stat -c %Y "$M/empty-t")" -gt "$(date -d 2021-01-01 +%s)" ]'
printf abc > "$M/same-t"; touch -d 2020-01-01 "$M/same-t"; truncate -s 3 "$M/same-t"
check '[ "$(stat -c %Y "$M/same-t")" -gt "$(date -d 2021-01-01 +%s)" ] && [ "$(cat "$M/same-t")" = abc ]'
rm -f "$M/empty-t" "$M/same-t"
touch -d "2020-02-03 04:05:06" "$M/k-8";          check '[ "$(stat -c %Y "$M/k-8")" = "$(date -d "2020-02-03 04:05:06" +%s)" ]'
chmod 600 "$M/k-9";                               check '[ "$(stat -c %a "$M/k-9")" = 600 ]'
check '[ "$(cat "$M/k-9")" = "value 9" ]'          # chmod alone stages nothing
vim -es -c '%s/value/VALUE/' -c 'wq' "$M/k-10" </dev/null
check '[ "$(cat "$M/k-10")" = "VALUE 10" ]'
check '[ "$(stat -c %s "$M/k-10")" = 9 ]'           # vim ends it with a newline
printf 'VALUE 10' > "$M/k-10"                        # (a tsv value cannot)
# refused with a clear errno, and nothing else affected
# pyerr 'python code' (M is the mount): the errno name of the OSError the
# code raises, or "ok"
pyerr() {
	python3 -c 'import errno, os, sys
M = sys.argv[1]
try:
    exec(sys.argv[2])
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))' "$M" "$1"
}
check '[ "$(pyerr "os.mkdir(M + \"/dir\")")" = EPERM ]'
check '[ "$(pyerr "os.symlink(\"k-2\", M + \"/sym\")")" = EPERM ]'
check '[ "$(pyerr "os.mkfifo(M + \"/fifo\")")" = EPERM ]'
check '[ "$(pyerr "os.link(M + \"/k-2\", M + \"/hard\")")" = EPERM ]'
check '[ ! -e "$M/dir" ] && [ ! -e "$M/sym" ] && [ ! -e "$M/fifo" ] && [ ! -e "$M/hard" ]'
# renameat2(RENAME_EXCHANGE) is not supported: EINVAL (as rename(2) says
# for such a flag), both files as they were; RENAME_NOREPLACE works
printf one > "$M/ex-1"; printf two > "$M/ex-2"
check '[ "$(pyerr "import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.renameat2(-100, (M + \"/ex-1\").encode(), -100, (M + \"/ex-2\").encode(), 2):
    raise OSError(ctypes.get_errno(), \"renameat2\")")" = EINVAL ]'
check '[ "$(cat "$M/ex-1")" = one ] && [ "$(cat "$M/ex-2")" = two ]'
check '[ "$(pyerr "import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.renameat2(-100, (M + \"/ex-1\").encode(), -100, (M + \"/ex-2\").encode(), 1):
    raise OSError(ctypes.get_errno(), \"renameat2\")")" = EEXIST ]'
rm -f "$M/ex-1" "$M/ex-2"
# chown is accepted (rsync -a as root does it) and not kept
check 'chown 1000:1000 "$M/k-2"'
check '[ "$(stat -c %u:%g "$M/k-2")" = "$(stat -c %u:%g "$M")" ]'
# a record over 1 MiB: EFBIG once the writes pass it
check '[ "$(pyerr "fd = os.open(M + \"/huge\", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
d = bytes(1100000)
o = 0
while o < len(d):
    o += os.write(fd, d[o:])
os.close(fd)")" = EFBIG ]'
check '! [ -s "$M/huge" ] || [ "$(stat -c %s "$M/huge")" -le 1048576 ]'
rm -f "$M/huge"
# statfs: the space of the store's file system, names up to 255 bytes
check '[ "$(stat -f -c %l "$M")" = 255 ]'
check '[ "$(stat -f -c "%S %b" "$M")" = "$(stat -f -c "%S %b" "$S")" ]'
check 'df "$M" >/dev/null'
check '[ "$(cat "$M/k-2")" = "value 2" ]'
check '! printf x > "$M/bad%name" 2>/dev/null'  # not a name hamtfs makes
check '[ "$(getfattr --only-values -n user.hamtfs.staged "$M")" -gt 5 ]'

# --- rsync ---------------------------------------------------------------
section "rsync"
mkdir -p "$T/src"
for i in $(seq 1 300); do printf 'rsync %d' "$i" > "$T/src/r-$i"; done
touch -d "2021-01-01" "$T/src/r-1"
check 'rsync -a "$T/src/" "$M/"'
check '[ "$(cat "$M/r-150")" = "rsync 150" ]'
check '[ "$(stat -c %Y "$M/r-1")" = "$(stat -c %Y "$T/src/r-1")" ]'
check '[ "$(rsync -a --stats "$T/src/" "$M/" | sed -n "s/^Number of regular files transferred: //p")" = 0 ]'
# a different size: rsync's quick check compares whole seconds only
printf 'changed!' > "$T/src/r-2"; rm "$T/src/r-3"
check 'rsync -a --delete --exclude "k-*" --exclude "moved-3" --exclude "copy-of-2" --exclude pos "$T/src/" "$M/"'
check '[ "$(cat "$M/r-2")" = "changed!" ]'
check '[ ! -e "$M/r-3" ]'
printf 'inplace!' > "$T/src/r-4"
check 'rsync -a --inplace "$T/src/" "$M/"'
check '[ "$(cat "$M/r-4")" = "inplace!" ]'

# --- listing staged puts and deletes through small getdents buffers ------
section "listing with staged changes through small buffers"
# the kernel re-asks from inside hamtfs's last reply (the readdir window)
ls -f "$M" | grep -vx '\.\|\.\.' | sort > "$T/ls.big"
check '[ "$(wc -l < "$T/ls.big")" -gt 1000 ] && ! grep -qx k-5 "$T/ls.big" && grep -qx moved-3 "$T/ls.big"'
for b in 80 300 1000; do
	"$BUILD/tests/lsbuf" "$M" "$b" > "$T/ls.$b"
	check '[ $? -eq 0 ] && [ -z "$(sort "$T/ls.$b" | uniq -d)" ] && sort "$T/ls.$b" | cmp -s - "$T/ls.big"'
done

# --- commit: the same root as a fresh build of the final records ----------
section "commit: the same root as a fresh build of the final records"
staged=$(getfattr --only-values -n user.hamtfs.staged "$M")
# only the value 1 commits: 0, 2 or nothing at all is EINVAL, and nothing moves
for v in 0 2 "" yes; do
	check '[ "$(pyerr "os.setxattr(M, \"user.hamtfs.commit\", b\"$v\")")" = EINVAL ]'
done
check '[ "$(getfattr --only-values -n user.hamtfs.staged "$M")" = "$staged" ]'
check '[ "$(getfattr --only-values -n user.hamtfs.root "$M")" = "$root0" ]'
check 'setfattr -n user.hamtfs.commit -v 1 "$M"'
root1=$(getfattr --only-values -n user.hamtfs.root "$M")
check '[ "$root1" != "$root0" ] && [ "$(getfattr --only-values -n user.hamtfs.staged "$M")" = 0 ]'
check '[ "$("$HAMT" ls --store "$S" main | wc -l)" = "$(ls "$M" | wc -l)" ]'
for f in $(ls "$M"); do printf '%s\t%s\n' "$f" "$(cat "$M/$f")"; done > "$T/final.tsv"
check '[ "$("$HAMT" build --store "$T/fresh" "$T/final.tsv" 2>/dev/null | tail -n 1)" = "$root1" ]'
check '"$HAMT" verify --store "$S" main >/dev/null'
check '[ "$(stat -c %Y "$M/r-1")" = "$(stat -c %Y "$T/src/r-1")" ]'   # mtime kept
check '! getfattr -n user.hamtfs.error "$M" 2>/dev/null'
# nothing staged: a no-op that keeps the root ("1\n" is 1 too)
check '[ "$(pyerr "os.setxattr(M, \"user.hamtfs.commit\", b\"1\\n\")")" = ok ]'
check '[ "$(getfattr --only-values -n user.hamtfs.root "$M")" = "$root1" ]'
umount_fs "$M"
# mtime and mode survive a remount: a second rsync transfers nothing
check 'mount_fs "$S" main "$M"'
check '[ "$(rsync -a --stats --exclude "k-*" --exclude "moved-3" --exclude "copy-of-2" --exclude pos "$T/src/" "$M/" | sed -n "s/^Number of regular files transferred: //p")" = 0 ]'
check '[ "$(stat -c %a "$M/k-9")" = 600 ]'
umount_fs "$M"

# --- a mount of a bare CID commits too: root in the xattr and the log -----
section "a mount of a bare CID commits too: root in the xattr and the log"
check 'mount_fs "$S" "$root1" "$M"'
printf 'by cid' > "$M/cid-file"
check 'setfattr -n user.hamtfs.commit -v 1 "$M"'
root2=$(getfattr --only-values -n user.hamtfs.root "$M")
check '[ "$root2" != "$root1" ] && [ "$("$HAMT" get --store "$S" "$root2" cid-file)" = "by cid" ]'
check '[ "$("$HAMT" log --store "$S" "@$root1" 2>/dev/null | grep -c "$root2")" -ge 1 ]'
check '[ "$("$HAMT" verify --store "$S" main | head -n 1)" = "ok $root1" ]'  # the ref did not move
umount_fs "$M"

# --- a file open for writing during a commit -------------------------------
section "a file open for writing during a commit"
check 'mount_fs "$S" main "$M"'
exec 3> "$M/open-w"
printf 'part1' >&3
check 'setfattr -n user.hamtfs.commit -v 1 "$M"'
check '[ "$("$HAMT" get --store "$S" main open-w)" = part1 ]'  # as far as written
printf ' part2' >&3                                            # the fd still works
exec 3>&-
check '[ "$(cat "$M/open-w")" = "part1 part2" ] && [ "$(getfattr --only-values -n user.hamtfs.staged "$M")" = 1 ]'
check 'setfattr -n user.hamtfs.commit -v 1 "$M"'
check '[ "$("$HAMT" get --store "$S" main open-w)" = "part1 part2" ]'
# fsync makes staged changes durable in LMDB at once (a tool sees them)
printf 'synced' > "$M/fsynced"
check 'python3 -c "import os,sys; f=os.open(sys.argv[1], os.O_RDONLY); os.fsync(f)" "$M/fsynced"'
check '"$HAMT" status --store "$S" --ref main 2>/dev/null | grep -qx "put fsynced"'
# a tool cannot stage into an area a mount holds
# (at once: the lock names the mount, and it is still in the mount table)
expect_err "hamt put while mounted" 'printf x | "$HAMT" put --store "$S" --ref main other' "in use by the mount on $(realpath "$M") \\(pid [0-9]+\\)"
umount_fs "$M"
check '[ "$("$HAMT" status --store "$S" --ref main | tail -n 1)" = "1 staged changes (1 puts, 0 deletes)" ]'

# --- mounting again the moment fusermount3 -u returns ------------------------
# The old daemon may still be making its final flush then: the new mount
# waits for it and sees every change; a mount of an area that stays mounted
# is refused with "in use". A daemon stopped with SIGSTOP across the
# unmount stands for one that is slow to finish on a loaded machine.
section "mounting again the moment fusermount3 -u returns"
check 'mount_fs "$S" main "$M"'
mkdir -p "$T/m2"; MOUNTS+=("$T/m2")
expect_err "a second mount of a mounted area" 'timeout 30 "$HAMTFS" -o store="$S" main "$T/m2"' "in use by the mount on $(realpath "$M")"
for i in $(seq 10); do
	printf 'round %d' "$i" > "$M/remount-$i"
	for j in $(seq 100); do echo "$j" > "$M/remount-$i-$j"; done
	pid=
	if [ "$i" -le 3 ]; then
		pid=$(mount_daemons "$M")
		check '[ -n "$pid" ] && kill -STOP "$pid"'
	fi
	fusermount3 -u "$M"
	if [ -n "$pid" ]; then
		(sleep 0.5; kill -CONT "$pid") &
	fi
	check 'mount_fs "$S" main "$M"'
	check '[ "$(cat "$M/remount-$i" 2>/dev/null)" = "round $i" ]'
	wait
done
umount_fs "$M"
check '[ "$("$HAMT" status --store "$S" --ref main | tail -n 1)" = "1011 staged changes (1011 puts, 0 deletes)" ]'

# --- a commit writes O(changes x depth) blocks -----------------------------
section "a commit writes O(changes x depth) blocks"
B=$T/big
seq 1 "${HAMTFS_TEST_KEYS:-100000}" | awk '{ printf "b-%d\tv%d\n", $1, $1 }' > "$T/big.tsv"
"$HAMT" build --store "$B" --ref main "$T/big.tsv" >/dev/null 2>&1
depth=$("$HAMT" verify --store "$B" main | sed -n 's/^depth //p')
blocks() { mdb_stat -s blocks "$B" | sed -n 's/ *Entries: //p'; }
check 'mount_fs "$B" main "$T/mb"'
for n in 1 100; do
	before=$(blocks)
	for i in $(seq 1 $n); do printf 'changed %d' "$i" > "$T/mb/b-$((i * 7))"; done
	setfattr -n user.hamtfs.commit -v 1 "$T/mb"
	written=$(( $(blocks) - before ))
	echo "commit of $n change(s) on ${HAMTFS_TEST_KEYS:-100000} keys (depth $depth): $written new blocks"
	check '[ "$written" -le $((n * depth + n)) ] && [ "$written" -ge $((n + 1)) ]'
done

# --- readers during a commit see the old or the new contents ----------------
section "readers during a commit see the old or the new contents"
for i in $(seq 1 200); do printf 'next %d' "$i" > "$T/mb/b-$i"; done
( end=$((SECONDS + 4)); bad=0
  while [ $SECONDS -lt $end ]; do
	for i in 13 57 101 150 199; do
		c=$(cat "$T/mb/b-$i") || bad=1
		[ "$c" = "next $i" ] || [ "$c" = "v$i" ] || bad=1
	done
  done; exit $bad ) &
reader=$!
sleep 0.3
check 'setfattr -n user.hamtfs.commit -v 1 "$T/mb"'
check 'wait $reader'
check '[ "$(cat "$T/mb/b-57")" = "next 57" ]'
umount_fs "$T/mb"

# --- killing the daemon loses nothing that was closed -----------------------
section "killing the daemon loses nothing that was closed"
K=$T/kill
printf 'seed\t1\n' | "$HAMT" build --store "$K" --ref main >/dev/null 2>&1
mkdir -p "$T/mk"; MOUNTS+=("$T/mk")
"$HAMTFS" -f -o store="$K" main "$T/mk" 2>/dev/null &
dpid=$!
for _ in $(seq 100); do mountpoint -q "$T/mk" && break; sleep 0.05; done
( for i in $(seq 1 100000); do printf 'closed %d' "$i" > "$T/mk/c-$i" 2>/dev/null || exit 0; echo "$i" >> "$T/closed.log"; done ) &
writer=$!
sleep 1.5
kill -9 "$dpid"; wait "$dpid" 2>/dev/null
wait "$writer" 2>/dev/null
fusermount3 -uz "$T/mk" 2>/dev/null
nclosed=$(wc -l < "$T/closed.log")
check 'mount_fs "$K" main "$T/mk"'
lost=0
while read -r i; do
	c=
	{ IFS= read -r c < "$T/mk/c-$i"; } 2>/dev/null # no fork per file
	[ "$c" = "closed $i" ] || lost=$((lost + 1))
done < "$T/closed.log"
echo "killed the daemon after $nclosed closed files: $lost lost"
check '[ "$nclosed" -gt 10 ] && [ "$lost" = 0 ]'
umount_fs "$T/mk"

# --- the daemon killed during a commit: old root and staging, or new root
# and nothing staged ----------------------------------------------------------
section "the daemon killed during a commit"
KC=$T/killcommit
seq 1 20000 | awk '{ printf "base-%d\tv%d\n", $1, $1 }' | "$HAMT" build --store "$KC" --ref main >/dev/null 2>&1
kroot0=$("$HAMT" verify --store "$KC" main | sed -n 's/^ok //p')
mkdir -p "$T/kcsrc" "$T/mkc"; MOUNTS+=("$T/mkc")
for i in $(seq 1 3000); do printf 'new record %d' "$i" > "$T/kcsrc/n-$i"; done
check 'mount_fs "$KC" main "$T/mkc"'
rsync -a "$T/kcsrc/" "$T/mkc/"
umount_fs "$T/mkc"
# fusermount3 -u returns before the daemon's last flush of its journal
# into LMDB; a tool waits for it (a copy made before it could be short)
check '[ "$("$HAMT" status --store "$KC" --ref main | tail -n 1)" = "3000 staged changes (3000 puts, 0 deletes)" ]'
cp -a "$KC" "$T/kc-pristine"
# how long an unkilled commit takes; the kills land at random times in it
check 'mount_fs "$KC" main "$T/mkc"'
t0=$(date +%s.%N)
setfattr -n user.hamtfs.commit -v 1 "$T/mkc"
kdur=$(seconds_since "$t0")
umount_fs "$T/mkc"
echo "an unkilled commit of 3000 changes through the mount takes $kdur s"
n_old=0 n_new=0
for round in $(seq 1 8); do
	rm -rf "$KC"; cp -a "$T/kc-pristine" "$KC"
	"$HAMTFS" -f -o store="$KC" main "$T/mkc" 2>/dev/null &
	dpid=$!
	for _ in $(seq 200); do mountpoint -q "$T/mkc" && break; sleep 0.05; done
	setfattr -n user.hamtfs.commit -v 1 "$T/mkc" 2>/dev/null &
	rand_sleep "$kdur"
	kill -9 "$dpid"; wait "$dpid" 2>/dev/null; wait 2>/dev/null
	fusermount3 -uz "$T/mkc" 2>/dev/null
	cur=$("$HAMT" verify --store "$KC" main | sed -n 's/^ok //p')
	st=$("$HAMT" status --store "$KC" --ref main | tail -n 1)
	if [ "$cur" = "$kroot0" ] && [ "$st" = "3000 staged changes (3000 puts, 0 deletes)" ]; then
		n_old=$((n_old + 1)); ok
	elif [ -n "$cur" ] && [ "$cur" != "$kroot0" ] && [ "$st" = "0 staged changes (0 puts, 0 deletes)" ]; then
		n_new=$((n_new + 1)); ok
	else
		bad "daemon killed during commit, round $round: root $cur, $st"
	fi
done
echo "daemon killed during a commit: $n_old rounds left the old root and the staging, $n_new the new root"

# --- a full disk: ENOSPC, nothing accepted is lost, the store stays whole -----
section "a full disk: ENOSPC, nothing accepted is lost, the store stays whole"
F=$T/full
mkdir -p "$F"
if mount -t tmpfs -o size=24m tmpfs "$F" 2>/dev/null; then
	DISKS+=("$F")
	MOUNTS+=("$T/mf")
	printf 'seed\t1\n' | "$HAMT" build --store "$F/s" --ref main >/dev/null 2>&1
	check 'mount_fs "$F/s" main "$T/mf"'
	head -c 4096 /dev/urandom > "$T/rnd"
	# fill_files SRC DIR MAX: copy SRC to DIR/f-1, f-2, ... until one
	# create, write or close fails (or MAX are made); print how many were
	# made, then the errno name of the failure (or "none"). One process
	# for all: a cp per file made this section take most of the test.
	fill_files() {
		python3 -c 'import errno, sys
src, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, "rb").read()
made, why = 0, "none"
for i in range(1, n + 1):
    try:
        with open("%s/f-%d" % (d, i), "wb") as f:
            f.write(data)
    except OSError as e:
        why = errno.errorcode.get(e.errno, str(e.errno))
        break
    made += 1
print(made, why)' "$@"
	}
	# 10,000 x 4 KiB is 40 MiB: more than the 24 MiB disk holds however
	# the daemon keeps what it accepted (its journal packs files closer
	# than LMDB, and a fast writer outruns the journal's flush into LMDB:
	# 4,545 files fitted once, so 4,000 was too few to fill it)
	read -r ok_files why < <(fill_files "$T/rnd" "$T/mf" 10000)
	echo "full disk: $ok_files files accepted, then $why"
	check '[ "$why" = ENOSPC ]' # the disk filled up
	check '! setfattr -n user.hamtfs.commit -v 1 "$T/mf" 2>/dev/null'
	check 'getfattr --only-values -n user.hamtfs.error "$T/mf" | grep -qi "space"'
	umount_fs "$T/mf"
	mount -o remount,size=200m "$F"
	check 'mount_fs "$F/s" main "$T/mf"'
	check '[ "$(getfattr --only-values -n user.hamtfs.staged "$T/mf")" -ge "$ok_files" ]'
	check 'setfattr -n user.hamtfs.commit -v 1 "$T/mf"'
	# every accepted file, read back through the mount after the commit
	lost=$(python3 -c 'import sys
src, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, "rb").read()
lost = 0
for i in range(1, n + 1):
    try:
        with open("%s/f-%d" % (d, i), "rb") as f:
            lost += f.read() != data
    except OSError:
        lost += 1
print(lost)' "$T/rnd" "$T/mf" "$ok_files")
	echo "full disk: $ok_files files accepted before ENOSPC, $lost lost after the commit"
	check '[ "$lost" = 0 ]'
	check '"$HAMT" verify --store "$F/s" main >/dev/null'
	umount_fs "$T/mf"
	umount_disk "$F"
else
	echo "SKIP: full-disk case (cannot mount a tmpfs here)"
fi

# --- a refused write is logged once, naming the file ---------------------
section "a refused write is logged once, naming the file"
L=$T/logstore
printf 'seed\t1\n' | "$HAMT" build --store "$L" --ref main >/dev/null 2>&1
mkdir -p "$T/ml"; MOUNTS+=("$T/ml")
"$HAMTFS" -f -o store="$L" main "$T/ml" 2>"$T/ml.log" &
lpid=$!
check 'wait_mounted "$T/ml"'
check '! head -c 1048577 /dev/zero > "$T/ml/too%2Fbig" 2>/dev/null'
check '! truncate -s 2M "$T/ml/seed" 2>/dev/null'

# --- fallocate: the size and the zeros it promises; never ENOSYS ----------
section "fallocate"
# (the kernel turns one ENOSYS into EOPNOTSUPP for good: then even mode 0,
# which every file system here supports, would fail)
A=$T/ml
printf 'hello\n' > "$A/fa"
check 'fallocate -l 100 "$A/fa"'                       # mode 0 grows it
{ printf 'hello\n'; head -c 94 /dev/zero; } > "$T/fa.want"
check 'cmp -s "$A/fa" "$T/fa.want"'
check 'fallocate -l 10 "$A/fb" && [ "$(stat -c %s "$A/fb")" = 10 ]'
check 'cmp -s "$A/fb" <(head -c 10 /dev/zero)'
check 'fallocate -l 50 "$A/fa" && cmp -s "$A/fa" "$T/fa.want"'   # never shrinks
staged=$(getfattr --only-values -n user.hamtfs.staged "$A")
check 'fallocate -n -l 5000 "$A/fa" && cmp -s "$A/fa" "$T/fa.want"'   # KEEP_SIZE
check '[ "$(getfattr --only-values -n user.hamtfs.staged "$A")" = "$staged" ]'
printf 'abcdefgh' > "$A/fp"
check 'fallocate -p -o 2 -l 3 "$A/fp"'                 # punch a hole: zeros
check 'cmp -s "$A/fp" <(printf "ab\0\0\0fgh")'
check 'fallocate -z -o 6 -l 4 "$A/fp"'                 # zero range, grows it
check 'cmp -s "$A/fp" <(printf "ab\0\0\0f\0\0\0\0")'
check 'fallocate -z -n -o 8 -l 10 "$A/fp" && [ "$(stat -c %s "$A/fp")" = 10 ]'
check 'python3 -c "import os, sys; os.posix_fallocate(os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY), 0, 50)" "$A/fc"'
check '[ "$(stat -c %s "$A/fc")" = 50 ]'
# what cannot be done here: a clear errno, the file as it was
check '! fallocate -c -o 0 -l 4096 "$A/fa" 2>"$T/fa.err" && grep -q "not supported" "$T/fa.err"'
check 'cmp -s "$A/fa" "$T/fa.want"'
check '! fallocate -l 2M "$A/fa" 2>"$T/fa.err" && grep -q "too large" "$T/fa.err"'
check 'cmp -s "$A/fa" "$T/fa.want"'
check 'fallocate -o 1048000 -l 576 "$A/fa" && [ "$(stat -c %s "$A/fa")" = 1048576 ]'
# mode 0 works again after a refusal (no ENOSYS was ever answered)
check 'fallocate -l 20 "$A/fd" && [ "$(stat -c %s "$A/fd")" = 20 ]'
mkdir -p "$T/pre"
for i in 1 2 3; do head -c $((i * 3000)) /dev/urandom > "$T/pre/pre-$i"; done
check 'rsync -a --preallocate "$T/pre/" "$A/"'
for i in 1 2 3; do check 'cmp -s "$T/pre/pre-$i" "$A/pre-$i"'; done
# committed as written
check 'setfattr -n user.hamtfs.commit -v 1 "$A"'
check 'cmp -s <("$HAMT" get --store "$L" main fp) <(printf "ab\0\0\0f\0\0\0\0")'
check 'cmp -s <("$HAMT" get --store "$L" main fb) <(head -c 10 /dev/zero)'
# lseek(SEEK_DATA/SEEK_HOLE): a record has no holes
check '[ "$(python3 -c "import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.lseek(fd, 5, os.SEEK_DATA), os.lseek(fd, 5, os.SEEK_HOLE))
try:
    os.lseek(fd, 2000000, os.SEEK_DATA)
except OSError as e:
    print(e.errno == 6)" "$A/fa")" = "5 1048576
True" ]'
# copy_file_range between files of the mount (cp uses it), short at the
# source's end, and into the middle of a file
printf 'abcdefghij' > "$A/cs"; printf '0123456789' > "$A/cd"
check '[ "$(python3 -c "import os, sys
i = os.open(sys.argv[1], os.O_RDONLY)
o = os.open(sys.argv[2], os.O_WRONLY)
print(os.copy_file_range(i, o, 3, 2, 4), os.copy_file_range(i, o, 100, 8, 12))" "$A/cs" "$A/cd")" = "3 2" ]'
check 'cmp -s "$A/cd" <(printf "0123cde789\0\0ij")'
check 'cp "$A/fa" "$A/fa-copy" && cmp -s "$A/fa" "$A/fa-copy"'
# an ioctl hamtfs does not know: ENOTTY (lsattr reports it as "not
# supported")
check '[ "$(python3 -c "import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for cmd in (0x80086601, 0x12345678):  # FS_IOC_GETFLAGS, nothing
    try:
        fcntl.ioctl(fd, cmd, bytes(8))
        print(\"ok\")
    except OSError as e:
        print(errno.errorcode[e.errno])" "$A/cs" | tr "\n" " ")" = "ENOTTY ENOTTY " ]'
check '! lsattr "$A/cs" 2>"$T/ioctl.err" && grep -q "not supported" "$T/ioctl.err"'
umount_fs "$T/ml"; wait "$lpid"
check '[ "$(grep -c "over the 1048576-byte limit" "$T/ml.log")" = 3 ]'

# --- no handler answers ENOSYS -------------------------------------------
# (the kernel would give up on that request for good). What tools do to a
# mount, watched with -d: only FLUSH and OPEN get ENOSYS, on purpose (no
# flush to wait for; the no-open mode of ops.c), and a request libfuse
# 3.14 does not know (COPY_FILE_RANGE_64, opcode 53: the kernel then uses
# COPY_FILE_RANGE)
section "no handler answers ENOSYS"
mkdir -p "$T/md"; MOUNTS+=("$T/md")
"$HAMTFS" -d -o store="$L" main "$T/md" 2>"$T/md.log" &
dpid=$!
check 'wait_mounted "$T/md"'
(
	cd "$T/md" || exit 1
	cp /etc/passwd pw && cp pw pw2 && cat pw2 >/dev/null
	vim -es -c '%s/root/ROOT/' -c wq pw2 </dev/null
	rsync -a --delete --exclude 'pw*' "$T/pre/" ./ && rsync -a --inplace "$T/pre/" ./
	mv pw2 pw3 && touch pw && chmod 600 pw && truncate -s 10 pw
	fallocate -l 20 pw && sort pw3 -o pw4 && ls -la >/dev/null && df . >/dev/null
	getfattr -d pw >/dev/null; lsattr pw 2>/dev/null
	python3 -c "import os
fd = os.open(\"pw3\", os.O_RDWR)
os.lseek(fd, 0, os.SEEK_DATA); os.lseek(fd, 0, os.SEEK_HOLE); os.fsync(fd)
o = os.open(\"pw5\", os.O_CREAT | os.O_WRONLY)
os.copy_file_range(fd, o, 100)"
	rm pw pw3 pw4 pw5
)
check '[ $? -eq 0 ]'
umount_fs "$T/md"; wait "$dpid"
grep -B1 "error: -38 " "$T/md.log" | sed -n 's/.*opcode: \([^ ]*\) (\([0-9]*\)).*/\1 \2/p' | sort -u > "$T/enosys"
echo "answered ENOSYS: $(tr '\n' ' ' < "$T/enosys")"
check '[ -s "$T/enosys" ] && ! grep -vx -e "FLUSH 25" -e "OPEN 14" -e "??? 53" "$T/enosys"'
check 'grep -q "\"fa\": record would be 2097152 bytes" "$T/ml.log"'
check 'grep -q "\"too%2Fbig\": record would be 1048577 bytes" "$T/ml.log"'
check 'grep -q "\"seed\": record would be 2097152 bytes" "$T/ml.log"'

# --- the ref moved under the mount: the commit is refused until a remount --
section "the ref moved under the mount (hamt build): refused, then committed after a remount"
RB=$T/rebase
seq 1 50 | awk '{ printf "a-%d\tone %d\n", $1, $1 }' > "$T/rb1.tsv"
"$HAMT" build --store "$RB" --ref main "$T/rb1.tsv" >/dev/null 2>&1
mkdir -p "$T/mrb"; MOUNTS+=("$T/mrb")
"$HAMTFS" -f -o store="$RB" main "$T/mrb" 2>"$T/mrb.log" &
rbpid=$!
check 'wait_mounted "$T/mrb"'
check '[ "$(cat "$T/mrb/a-1")" = "one 1" ]'
printf 'staged' > "$T/mrb/s-1"; rm "$T/mrb/a-2"; printf 'over' > "$T/mrb/a-3"
sync "$T/mrb/a-3"   # an fsync: the mount's staged changes are in the store now
seq 1 50 | awk '{ printf "a-%d\ttwo %d\n", $1, $1 }' > "$T/rb2.tsv"
moved=$("$HAMT" build --store "$RB" --ref main "$T/rb2.tsv" 2>"$T/rb.err" | tail -n 1)
check 'grep -q "ref main has 3 staged changes" "$T/rb.err"'
setfattr -n user.hamtfs.commit -v 1 "$T/mrb" 2>"$T/rb.sf"
check '[ $? -ne 0 ] && grep -q "Stale file handle" "$T/rb.sf"'
check 'getfattr --only-values -n user.hamtfs.error "$T/mrb" | grep -q "ref main moved to $moved outside this mount"'
check '[ "$(getfattr --only-values -n user.hamtfs.staged "$T/mrb")" = 3 ]'
check '[ "$(cat "$T/mrb/a-1")" = "one 1" ] && [ "$(cat "$T/mrb/s-1")" = staged ]'
check '[ "$("$HAMT" verify --store "$RB" main | head -n 1)" = "ok $moved" ]'
umount_fs "$T/mrb"; wait "$rbpid"
check 'grep -q "commit failed: ref main moved to $moved" "$T/mrb.log"'
# mounted again: the new root with the staging over it, and the commit
check 'mount_fs "$RB" main "$T/mrb"'
check '[ "$(cat "$T/mrb/a-1")" = "two 1" ] && [ ! -e "$T/mrb/a-2" ] && [ "$(cat "$T/mrb/a-3")" = over ] && [ "$(cat "$T/mrb/s-1")" = staged ]'
check 'setfattr -n user.hamtfs.commit -v 1 "$T/mrb"'
{ grep -v -e "^a-2	" -e "^a-3	" "$T/rb2.tsv"; printf 'a-3\tover\ns-1\tstaged\n'; } > "$T/rb.want"
want=$("$HAMT" build --store "$T/rbfresh" "$T/rb.want" 2>/dev/null | tail -n 1)
check '[ -n "$want" ] && [ "$(getfattr --only-values -n user.hamtfs.root "$T/mrb")" = "$want" ]'
check '[ "$("$HAMT" verify --store "$RB" main | head -n 1)" = "ok $want" ]'
check '"$HAMT" log --store "$RB" main | grep -q "$moved -> $want"'
umount_fs "$T/mrb"

finish
