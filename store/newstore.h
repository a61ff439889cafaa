/* newstore.h - a new store made beside its place and moved in when done.
 *
 * `hamt build --store DIR` where DIR does not exist yet builds the store in
 * a directory of its own beside it, `.NAME.new-XXXXXX` (NAME: DIR's last
 * component), opened STORE_PRIVATE (store.h: its bulk load commits in
 * steps, without spilling), and renames it to DIR once the build has
 * committed. Until then DIR does not exist: a build that fails or is
 * interrupted leaves no store behind, not even an empty one.
 *
 * The directory is flock()ed while its build runs. One left by a build
 * that was killed (SIGKILL, power loss) is removed by the next
 * store_new_begin() for the same DIR: if it is unlocked, holds nothing but
 * a store's files and last changed at least STORE_NEW_STALE_S ago.
 *
 * Functions return 0 or a negative errno with a message (err.h).
 */
#ifndef STORE_NEWSTORE_H
#define STORE_NEWSTORE_H

#include <stdint.h>

/* A directory changed less than this long ago may belong to a build that
 * has just made it and not locked it yet: the sweep leaves it. */
#define STORE_NEW_STALE_S 10

struct store_new;

/* If nothing exists at `dir` (lstat: not even a dangling symlink) and its
 * last component is a usable name: sweep stale directories of earlier
 * builds of it, create the parent directories, make and lock a private
 * directory beside it, and set `*out`. Otherwise `*out` is NULL and the
 * caller opens `dir` itself. `swept` and `swept_bytes` (may be NULL) get
 * what the sweep removed. */
int store_new_begin(const char *dir, struct store_new **out, unsigned *swept,
		    uint64_t *swept_bytes);
/* The private directory to open the store in (STORE_CREATE |
 * STORE_PRIVATE). */
const char *store_new_path(const struct store_new *n);
/* Move the finished store to its place; its store must be closed (its
 * last commit synced). Syncs the directory's entries, renames it with
 * RENAME_NOREPLACE and syncs the parent. -EEXIST if something was made at
 * `dir` meanwhile: the build is then thrown away by store_new_free(). */
int store_new_publish(struct store_new *n);
/* Unless published, remove the private directory and what the store made
 * in it (data.mdb, lock.mdb); then unlock and free. NULL is a no-op. */
void store_new_free(struct store_new *n);

#endif
