/* store.h - the block store front: what hamt/, fs/ and tools/ use.
 *
 * A store is one LMDB environment in a directory, with named databases
 *   blocks   binary CID -> block bytes
 *   refs     ref name -> binary CID of its current root
 *   reflog   ref name + 0x00 + big-endian u64 sequence -> entry (time, old,
 * new)
 *   staging  per staging area staged changes (see staging.h)
 *   attrs    per staging area file attributes (see staging.h; created on
 *            the first read-write open of an older store)
 *   meta     store format version
 * plus optional extra read-only backends (e.g. a CAR file) tried after LMDB
 * when a block is not found there.
 *
 * Every block returned by store_get() has been checked against its CID's
 * hash (a mismatch is -EIO with a message naming the CID, never data).
 * Blocks over STORE_MAX_BLOCK are refused on put (-EFBIG).
 *
 * Threads: a store may be used from any number of threads at once. Reads
 * use short LMDB read transactions; only one write transaction may be open
 * at a time in the process (store_txn_begin blocks until it can start).
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/cid.h"
#include "store/backend.h"

#define STORE_MAX_BLOCK (2u * 1024 * 1024) /* refused above this on import */
#define STORE_MAX_WRITE (1u * 1024 * 1024) /* we never write bigger blocks */
#define STORE_REF_MAX 255		   /* longest ref name */

/* flags for store_open */
#define STORE_CREATE 1u /* create the directory and store if missing */
#define STORE_RDONLY 2u /* open read-only */
/* A store no other process opens until it is done, and that is thrown away
 * whole if its writer fails (hamt build's new store, made in a directory of
 * its own and renamed into place): commits do not sync, except that
 * store_txn_commit() syncs everything written so far before it returns,
 * and a bulk load commits every STORE_BULK_STEP bytes on its own (its
 * blocks are then visible before store_txn_commit(), which does not
 * matter when no one else can look). The steps keep LMDB from spilling:
 * in one transaction larger than its dirty-page limit (128k pages), LMDB
 * sorts its whole list of spilled pages at every spill, which took 62 of
 * the 160 CPU-seconds of the writer of a 200M-record build. */
#define STORE_PRIVATE 4u

struct store;
struct store_txn;

/* Open (or with STORE_CREATE create) the store in `dir`. -ENOENT with a
 * message if it does not exist and STORE_CREATE is not given; -EINVAL if the
 * directory is not a hamtfs store; -EACCES/-EROFS as LMDB reports. */
int store_open(struct store **out, const char *dir, unsigned flags);
/* Close the store and free its backends. NULL is a no-op. */
void store_close(struct store *s);

/* Keep the pages of the store file that reads map into this process to
 * about `bytes` beyond the file-backed memory the process has now (its
 * executable and libraries): past that, every so many reads, they are
 * dropped from the process (they stay in the page cache). A long-running
 * reader sets it (the mount's daemon, whose RSS is bounded by its caches);
 * by default nothing is dropped, which a walk of a whole store wants (each
 * page dropped is a page fault again). UINT64_MAX: no budget. */
void store_set_map_budget(struct store *s, uint64_t bytes);

/* The directory the store was opened from (valid until store_close). */
const char *store_dir(const struct store *s);
/* 1 if the store was opened with STORE_RDONLY. */
int store_is_rdonly(const struct store *s);

/* Add a read-only backend tried after LMDB; the store takes ownership. */
int store_add_backend(struct store *s, struct store_backend *be);

/* Fetch and verify block `c`. `*data` is malloc()ed (caller frees).
 * 0, -ENOENT (message names the CID), -EIO on hash mismatch. */
int store_get(struct store *s, const struct cid *c, uint8_t **data,
	      size_t *len);
/* 1 present, 0 absent, negative errno. */
int store_has(struct store *s, const struct cid *c);
/* Store one block in its own durable transaction. */
int store_put(struct store *s, const struct cid *c, const uint8_t *data,
	      size_t len);
/* Call cb for every block in the LMDB backend (CID order). */
int store_iterate(struct store *s, store_block_cb cb, void *payload);

/* Resolve ROOT text: a CID, else a ref name. 0, -ENOENT ("unknown ref or
 * CID: X"), -EINVAL. */
int store_resolve(struct store *s, const char *root, struct cid *out);

/* Refs. */
int store_ref_get(struct store *s, const char *name, struct cid *out);
/* Set a ref in its own durable transaction (appends to the ref log). */
int store_ref_set(struct store *s, const char *name, const struct cid *root);
/* List ref names; cb returns non-zero to stop. */
int store_ref_list(struct store *s,
		   int (*cb)(void *payload, const char *name,
			     const struct cid *root),
		   void *payload);
/* The ref log of `name`, newest first: time (unix seconds), previous root
 * (NULL for the first), new root. */
int store_ref_log(struct store *s, const char *name,
		  int (*cb)(void *payload, uint64_t time, const struct cid *old,
			    const struct cid *new_root),
		  void *payload);

/* Write transactions: everything put through one transaction becomes
 * durable together at store_txn_commit(), or not at all. */
int store_txn_begin(struct store *s, struct store_txn **out);
/* Put a block (skipped if already present). -EFBIG over STORE_MAX_BLOCK,
 * -ENOSPC if the disk or map is full. */
int store_txn_put(struct store_txn *t, const struct cid *c, const uint8_t *data,
		  size_t len);
/* A batch of blocks put in one go, sorted by CID: the B-tree's pages are
 * then visited in order, each once, instead of at random. Adding copies
 * the bytes unless store_batch_add_ref() is used (then they must stay
 * valid until the batch is put). A batch that passes `flush_bytes`
 * (0: never) is put into `t` early, as a sorted sub-batch. */
struct store_batch;
int store_batch_new(struct store_batch **out, struct store_txn *t,
		    size_t flush_bytes);
int store_batch_add(struct store_batch *b, const struct cid *c,
		    const uint8_t *data, size_t len);
int store_batch_add_ref(struct store_batch *b, const struct cid *c,
			const uint8_t *data, size_t len);
/* Put what is left (sorted, each CID once; present blocks skipped). */
int store_batch_put(struct store_batch *b);
/* Blocks added so far (duplicates included). */
uint64_t store_batch_count(const struct store_batch *b);
void store_batch_free(struct store_batch *b);

int store_txn_set_ref(struct store_txn *t, const char *name,
		      const struct cid *root);
/* Read a ref inside the transaction (sees its own writes). 0, -ENOENT. */
int store_txn_get_ref(struct store_txn *t, const char *name, struct cid *out);
/* Append (now, old, root) to the ref log of `name` without moving or
 * creating the ref: for commits of a mount of a bare CID, logged under the
 * staging area name "@<cid>". `old` may be NULL. `name` must be a valid
 * ref name (1..STORE_REF_MAX bytes, no space or control characters). */
int store_txn_log_root(struct store_txn *t, const char *name,
		       const struct cid *old, const struct cid *root);
/* Commit durably (fsync). On failure nothing of the txn is kept. The txn is
 * freed either way. */
int store_txn_commit(struct store_txn *t);
/* Discard the txn and free it. NULL is a no-op. */
void store_txn_abort(struct store_txn *t);

/* Bulk loading (hamt build): blocks put through a store_bulk must come in
 * strictly increasing order of their binary CIDs, all in the write
 * transaction `t`. A block whose CID sorts after every block the store
 * held when the bulk load began is appended (MDB_APPEND: pages are filled
 * in order, no B-tree search, no half-empty pages); an earlier one is
 * inserted in order through the same cursor, or skipped when the store has
 * it already (blocks are deduplicated by CID). Nothing is visible before
 * store_txn_commit(); store_txn_abort() drops all of it. One store_bulk per
 * transaction at a time; use `t` for nothing else until store_bulk_end().
 */
struct store_bulk;
int store_bulk_begin(struct store_txn *t, struct store_bulk **out);
/* Put one block; `cid` is the binary CID (cid_to_bytes form) of `data`,
 * which is not re-hashed here. -EINVAL if the CID is not after the
 * previous one; -EFBIG over STORE_MAX_BLOCK; -ENOSPC when the disk or map
 * is full (the transaction has then failed: only abort is left). Honours
 * store_fault_after() like store_txn_put(). */
int store_bulk_put(struct store_bulk *b, const uint8_t *cid, size_t cidlen,
		   const uint8_t *data, size_t len);
/* The disk writes of a bulk load: every 64 MiB put, the writeback of what
 * LMDB has written so far is started, and what lies more than 256 MiB
 * below the end of the file is waited for and dropped from the page cache,
 * so that a load of many GB reuses a window of page-cache memory. A thread
 * of the load does that (store/writeback.h); a write error it meets fails
 * the transaction with its errno at the next 64 MiB or at
 * store_bulk_end(). Tests set smaller figures here (`kick` and `behind`
 * bytes). */
void store_bulk_set_window(struct store_bulk *b, uint64_t kick,
			   uint64_t behind);
/* Bytes put between the commits of a bulk load into a STORE_PRIVATE store
 * (ignored otherwise; 0: none). Tests set small figures. */
void store_bulk_set_step(struct store_bulk *b, uint64_t step);
/* A load into a store that has blocks already reads ahead of its lookups
 * in the store file and unmaps the pages it has left behind (see store.c:
 * 16 MiB asked for at a time, 96 MiB ahead, unmapped past 256 MiB behind).
 * Tests set smaller figures here (`trim` UINT64_MAX: never unmap); the
 * bytes asked for so far. Neither changes what is stored. */
void store_bulk_set_read_ahead(struct store_bulk *b, uint64_t chunk,
			       uint64_t ahead, uint64_t trim);
uint64_t store_bulk_read_ahead(const struct store_bulk *b);
/* Commits a bulk load into a STORE_PRIVATE store has made so far. */
uint64_t store_bulk_steps(const struct store_bulk *b);
/* The end of the part of the store file whose page cache the load has let
 * go so far, once what it asked for is done (this waits for it); it lets
 * go only of what it wrote past the file's size at its start (what LMDB
 * writes there later, at the commit, is cached again). */
uint64_t store_bulk_dropped(const struct store_bulk *b);
/* Finish and free; `stored` and `present` (may be NULL) get the number of
 * blocks written and of blocks the store had already. 0, or the error
 * (with its message) of a write to disk that failed under the load: the
 * transaction has then failed. NULL is a no-op (0). */
int store_bulk_end(struct store_bulk *b, uint64_t *stored, uint64_t *present);

/* Start writing the store file's dirty pages to disk now, without waiting
 * for them (sync_file_range SYNC_FILE_RANGE_WRITE). During a long bulk
 * load this spreads the disk writes over the load instead of leaving them
 * all to the fsync of store_txn_commit(). Changes nothing about what is
 * durable or visible: only store_txn_commit() makes a transaction
 * durable. Any thread may call it, also while another thread has the
 * write transaction open. 0, or a negative errno with a message. */
int store_writeback(struct store *s);

/* For other store/ modules only (the staging area, which must share the
 * commit's LMDB write transaction): the LMDB handles behind the front.
 * The environment and the `staging` database handle live as long as the
 * store; the MDB_txn is the write transaction of `t` (valid until commit or
 * abort, only on the thread using `t`). Nothing outside store/ uses these. */
struct MDB_env;
struct MDB_txn;
/* mkdir -p (mode 0755 before umask), for newstore.c. */
int store_mkdir_p(const char *dir);
struct MDB_env *store_lmdb_env(struct store *s);
unsigned int store_lmdb_staging_dbi(struct store *s);
struct MDB_txn *store_txn_lmdb(struct store_txn *t);
struct store *store_txn_store(struct store_txn *t);
/* The `attrs` database handle; 0 when the store was opened read-only and
 * predates it (then no attrs were ever set). */
unsigned int store_lmdb_attrs_dbi(struct store *s);
/* A short read transaction from the store's pool (not bound to a thread);
 * give it back with store_lmdb_read_end (NULL is a no-op). */
int store_lmdb_read_begin(struct store *s, struct MDB_txn **out);
void store_lmdb_read_end(struct store *s, struct MDB_txn *t);
/* Map an LMDB return code to a negative errno with a message "what: ..."
 * (MDB_MAP_FULL -> -ENOSPC, MDB_NOTFOUND -> -ENOENT, ...). */
int store_lmdb_error(int rc, const char *what);
/* Mark `t` failed with `rc` (after a failed raw LMDB call on it): it can
 * then only be aborted; store_txn_commit refuses it. */
void store_txn_fail(struct store_txn *t, int rc);

/* For tests only: after `n` more successful store_txn_put calls (blocks
 * stored or found present; identity CIDs do not count) every further one
 * fails with -EIO and fails its transaction, until store_fault_after(s, -1)
 * turns the fault off. Simulates a write error in the middle of a commit. */
void store_fault_after(struct store *s, long long n);
/* For tests only: after `n` more store_get calls (identity CIDs aside)
 * every further one fails with -EIO, until store_fault_read_after(s, -1).
 * Simulates a disk that stops answering in the middle of a read. */
void store_fault_read_after(struct store *s, long long n);

#endif
