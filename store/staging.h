/* staging.h - the staging area: changes waiting to be committed.
 *
 * Per staging area (named by a ref name, or "@" + root CID text for a mount
 * of a bare CID), a set of keys each either staged for a put (the record's
 * bytes) or a tombstone (staged delete). Beside the tree, per area and key,
 * the file attributes a writer set (mtime, mode): they are kept across
 * commits and remounts, until the key is deleted.
 *
 * Everything here is durable when the call returns (one LMDB write
 * transaction per call), except the *_txn variants, which join a caller's
 * transaction. Layout in the store's LMDB:
 *   staging  area NUL key -> 1 byte kind (1 put, 2 tombstone) + record bytes
 *   attrs    area NUL key -> 8 bytes mtime sec (BE, signed) + 4 bytes nsec +
 *            4 bytes mode
 *
 * Area names are 1..STAGING_AREA_MAX bytes (a C string: no NUL); anything
 * else is -EINVAL. The staging key `area NUL key` must fit an LMDB key
 * (511 bytes in a default LMDB build): a longer key is -ENAMETOOLONG with a
 * message; staging_key_max() says how long a key an area can take. Every
 * length read back from disk is checked (a bad record is -EIO). A full
 * store map or disk is -ENOSPC and leaves everything as it was.
 */
#ifndef STORE_STAGING_H
#define STORE_STAGING_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/buf.h"
#include "hamt/cache.h"
#include "hamt/cid.h"
#include "store/store.h"

#define STAGING_MAX_RECORD (1u << 20) /* largest record: 1 MiB */
#define STAGING_AREA_MAX 256	      /* longest area name */

enum staging_kind { STAGING_PUT = 1, STAGING_TOMBSTONE = 2 };

struct staging_attrs {
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t mode; /* permission bits only (07777) */
};

/* The longest key (bytes) that can be staged in `area`, 0 for a bad area
 * name. */
size_t staging_key_max(struct store *s, const char *area);

/* Stage a put of `data` (at most STAGING_MAX_RECORD bytes, else -EFBIG with
 * a message) for `key`; replaces any staged put or tombstone. If `attrs` is
 * not NULL they are stored too, in the same transaction; if NULL, attrs
 * already set for `key` are kept. */
int staging_put(struct store *s, const char *area, const uint8_t *key,
		size_t klen, const uint8_t *data, size_t len,
		const struct staging_attrs *attrs);

/* Stage a delete of `key` (a tombstone) and forget its attrs. */
int staging_delete(struct store *s, const char *area, const uint8_t *key,
		   size_t klen);

/* Rename in one transaction: stage `to` with `data` (the contents `from`
 * has now, given by the caller) and `attrs`, and `from` as a tombstone.
 * `to` gets exactly `attrs` (NULL: any attrs `to` had are dropped, as the
 * file they described is replaced); `from`'s attrs are dropped. If `from`
 * and `to` are the same key it is a staging_put of `data` with `attrs`
 * (nothing is deleted). -EFBIG as staging_put. */
int staging_rename(struct store *s, const char *area, const uint8_t *from,
		   size_t flen, const uint8_t *to, size_t tlen,
		   const uint8_t *data, size_t len,
		   const struct staging_attrs *attrs);

/* Drop whatever is staged for `key` (put or tombstone): back to the
 * committed state. 0 also when nothing was staged; attrs are kept. */
int staging_unstage(struct store *s, const char *area, const uint8_t *key,
		    size_t klen);

/* What is staged for `key`: 0 with `*kind` set (and for a put the bytes
 * appended to `data` if `data` is not NULL), or -ENOENT if nothing is. */
int staging_get(struct store *s, const char *area, const uint8_t *key,
		size_t klen, enum staging_kind *kind, struct buf *data);

/* Set or read the attrs of `key` (independent of staging). get: -ENOENT if
 * none were set. set: mode is masked to 07777; mtime_nsec must be below
 * 1e9 (-EINVAL). */
int staging_set_attrs(struct store *s, const char *area, const uint8_t *key,
		      size_t klen, const struct staging_attrs *attrs);
int staging_get_attrs(struct store *s, const char *area, const uint8_t *key,
		      size_t klen, struct staging_attrs *attrs);

/* A batch of changes for staging_apply: what to do to the staged record
 * and to the attrs of one key. */
enum staging_op {
	STAGING_OP_NONE = 0,	  /* leave as it is */
	STAGING_OP_PUT = 1,	  /* record: stage a put of data[0..len) */
	STAGING_OP_TOMBSTONE = 2, /* record: stage a delete */
	STAGING_OP_UNSTAGE = 3,	  /* record: drop whatever is staged */
	STAGING_OP_SET = 4,	  /* attrs: set to `attrs` */
	STAGING_OP_DROP = 5	  /* attrs: forget */
};
struct staging_change {
	const uint8_t *key;
	size_t klen;
	enum staging_op record; /* NONE, PUT, TOMBSTONE or UNSTAGE */
	const uint8_t *data;
	size_t len;
	enum staging_op attrs_op; /* NONE, SET or DROP */
	struct staging_attrs attrs;
};
/* Apply `n` changes (to distinct keys) in one durable transaction: all or
 * nothing. Checks every key and record as staging_put does (-ENAMETOOLONG,
 * -EFBIG, -EINVAL) before writing anything. */
int staging_apply(struct store *s, const char *area,
		  const struct staging_change *v, size_t n);

/* Number of staged changes (puts + tombstones). */
int staging_count(struct store *s, const char *area, uint64_t *n);

/* Call cb for every staged change of `area`, in key order; `data` is NULL
 * for a tombstone. Stops with cb's non-zero return. The pointers are valid
 * only during the call. */
typedef int (*staging_cb)(void *payload, const uint8_t *key, size_t klen,
			  enum staging_kind kind, const uint8_t *data,
			  size_t len);
int staging_iterate(struct store *s, const char *area, staging_cb cb,
		    void *payload);

/* Commit the staging area into the map whose root is `root`: every put
 * becomes a raw block (codec 0x55) linked from the map, every tombstone a
 * delete; the sorted merge writes only the changed paths. New blocks, the
 * ref move (when `ref` is not NULL: set `ref` to the new root; the ref log
 * records it either way under `area`) and the emptying of the staging area
 * happen in ONE durable LMDB transaction: after a crash either the old root
 * with the staging intact, or the new root with the staging empty. With
 * nothing staged it is a no-op: `*new_root` = `root`. `stats` may be NULL.
 * On failure nothing changes and the message says why. `cache` (may be
 * NULL) is a node cache to read the map's nodes through (a mount's: the
 * nodes on the changed paths are often in it already).
 *
 * Clarifications:
 * - `root` NULL means "a new, empty map" (default parameters: sha2-256,
 *   bit width 8, bucket size 3): the result is hamt_build() of the staged
 *   puts (tombstones are no-ops). With nothing staged this still writes the
 *   empty map's root block and (with `ref`) creates the ref.
 * - With `ref`: if the ref exists, its current root must be `root` (and
 *   `root` must not be NULL), checked inside the transaction; otherwise
 *   -ESTALE ("ref moved") and nothing changes, so a commit never silently
 *   drops one made meanwhile by another writer. A missing ref is created.
 *   The ref's log gets the entry; if `area` differs from `ref` the entry
 *   is also logged under `area`.
 * - Without `ref` the entry (root -> new root) is logged under `area` with
 *   store_txn_log_root(), so `area` must then be a valid ref name (as
 *   "@" + CID text is).
 * - If the changes leave the map as it was (e.g. only deletes of absent
 *   keys) the staging area is still emptied, but no log entry is written
 *   and an existing ref is not touched.
 * - Tombstones also drop the key's attrs; puts keep theirs.
 * - stats->blocks_written counts the record blocks and the HAMT nodes the
 *   commit handed to the store (a block already present is not stored
 *   twice, but is counted); stats->bytes_written is the sum of their
 *   sizes (what the store had to take in: the B-tree writes more). */
struct staging_commit_stats {
	uint64_t puts, deletes, blocks_written, bytes_written;
	/* seconds spent: reading the staging area; merging (reading and
	 * encoding nodes); putting the new blocks into the store; making the
	 * transaction durable */
	double collect_s, merge_s, write_s, sync_s;
};
int staging_commit(struct store *s, const char *area, const char *ref,
		   const struct cid *root, struct hamt_cache *cache,
		   struct cid *new_root, struct staging_commit_stats *stats);

#endif
