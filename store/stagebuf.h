/* stagebuf.h - a write-behind buffer over one staging area.
 *
 * The functions of staging.h make every change durable on disk with its own
 * synced LMDB transaction, about half a millisecond each. A mount stages
 * many small changes (rsync does a create, a write, a utimens and a rename
 * per file), so it stages through a stagebuf instead:
 *
 * - Every change is appended to a journal file (one write(2), no fsync) and
 *   applied to an in-memory table before the call returns. From then on,
 *   killing the process loses nothing: the kernel holds the journal's bytes.
 * - A background thread moves the table into the staging area in ONE synced
 *   LMDB transaction every STAGEBUF_FLUSH_MS milliseconds (sooner when the
 *   table passes STAGEBUF_SOFT_BYTES), then deletes the journal.
 *   stagebuf_flush() does the same at once (a mount's fsync).
 * - stagebuf_open() first replays the journals a killed process left
 *   behind. Journal records carry a CRC-32: a torn tail (a power loss while
 *   appending) is dropped with a message. A power loss can thus lose the
 *   changes of the last flush interval that were never fsync()ed, as on any
 *   file system, but never corrupts the store: the journal is only ever
 *   appended to and LMDB only ever written in synced transactions.
 * - Reads (get, attrs, count, iterate) see the table laid over the staging
 *   area in LMDB.
 *
 * Files, in the store directory: journal/<H>.lock and journal/<H>.<SEQ>,
 * H being 16 hex digits of the SHA-256 of the area name.
 *
 * One writer per area across processes: stagebuf_open() takes an exclusive
 * flock() on journal/<H>.lock for the life of the stagebuf. If a mount
 * holds it, stagebuf_open() fails with -EBUSY (message: the area is in
 * use by the mount on PATH) as long as the mount it named with
 * stagebuf_mounted() is in its mount table (store/mounts.h), and waits for
 * it once that mount is gone (a mount that was just unmounted makes its
 * final flush); a mount that named none gets a few seconds to say it is
 * closing before the area counts as in use. If a short-lived tool holds
 * it (opened with STAGEBUF_TOOL) or its holder called stagebuf_closing(),
 * it waits for it. STAGEBUF_RDONLY opens without lock or journal: reads only,
 * from LMDB; every change is -EROFS.
 *
 * Semantics of each change are those of the staging.h function of the same
 * name, including its limits (-EFBIG over STAGING_MAX_RECORD, -ENAMETOOLONG
 * over staging_key_max()); -ENOSPC when the journal cannot be written (then
 * nothing changed).
 *
 * Threads: every function may be called from any thread. Callbacks
 * (stagebuf_iterate) run with the buffer's lock held for reading and must
 * not call back into the same stagebuf.
 */
#ifndef STORE_STAGEBUF_H
#define STORE_STAGEBUF_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/buf.h"
#include "store/mounts.h"
#include "store/staging.h"
#include "store/store.h"

#define STAGEBUF_FLUSH_MS 200
#define STAGEBUF_SOFT_BYTES (16u << 20) /* flush early past this */
#define STAGEBUF_HARD_BYTES (64u << 20) /* changes wait for a flush */

#define STAGEBUF_RDONLY 1u /* no lock, no journal: reads only */
#define STAGEBUF_TOOL 2u   /* held briefly: others wait for it */

struct stagebuf;

/* Open the buffer of `area` in store `s` (which must outlive it): take the
 * area's lock, replay and remove journals left behind (into LMDB, one
 * synced transaction), start a new journal and the flusher thread.
 * -EBUSY if another process holds the area; -EROFS if the store is
 * read-only (use STAGEBUF_RDONLY); other negative errno with a message. */
int stagebuf_open(struct stagebuf **out, struct store *s, const char *area,
		  unsigned flags);
/* Flush (durably) and free. 0, or the error of the last flush: then the
 * journal is kept and the next stagebuf_open of the area replays it.
 * NULL is a no-op. */
int stagebuf_close(struct stagebuf *b);

/* Tell other processes that this holder is about to close the buffer (a
 * mount that was unmounted): stagebuf_open() elsewhere then waits for the
 * area instead of failing with -EBUSY. The buffer stays usable. NULL is a
 * no-op. */
void stagebuf_closing(struct stagebuf *b);

/* Tell other processes which mount holds the buffer: the device of the
 * file system mounted (mounts_dev_at). While that device is mounted in
 * this process's mount namespace, stagebuf_open() elsewhere fails at once;
 * once it is not, it waits for the area. NULL is a no-op. */
void stagebuf_mounted(struct stagebuf *b, struct mount_dev dev);

/* Changes: see staging.h. */
int stagebuf_put(struct stagebuf *b, const uint8_t *key, size_t klen,
		 const uint8_t *data, size_t len,
		 const struct staging_attrs *attrs);
int stagebuf_delete(struct stagebuf *b, const uint8_t *key, size_t klen);
int stagebuf_rename(struct stagebuf *b, const uint8_t *from, size_t flen,
		    const uint8_t *to, size_t tlen, const uint8_t *data,
		    size_t len, const struct staging_attrs *attrs);
int stagebuf_unstage(struct stagebuf *b, const uint8_t *key, size_t klen);
int stagebuf_set_attrs(struct stagebuf *b, const uint8_t *key, size_t klen,
		       const struct staging_attrs *attrs);

/* Reads: see staging.h. */
int stagebuf_get(struct stagebuf *b, const uint8_t *key, size_t klen,
		 enum staging_kind *kind, struct buf *data);
int stagebuf_get_attrs(struct stagebuf *b, const uint8_t *key, size_t klen,
		       struct staging_attrs *attrs);
/* Number of staged changes (puts + tombstones); never fails. */
uint64_t stagebuf_count(struct stagebuf *b);
int stagebuf_iterate(struct stagebuf *b, staging_cb cb, void *payload);

/* Make every change made so far durable in LMDB now. */
int stagebuf_flush(struct stagebuf *b);

/* Flush, then staging_commit() the area (see staging.h for `ref`, `root`
 * and the all-or-nothing guarantee). Changes made while the commit runs
 * stay staged for the next one. */
int stagebuf_commit(struct stagebuf *b, const char *ref, const struct cid *root,
		    struct hamt_cache *cache, struct cid *new_root,
		    struct staging_commit_stats *stats);

/* For tests: the number of journal records replayed and of bytes dropped
 * (torn or corrupt tail) by the last stagebuf_open. */
void stagebuf_recovered(const struct stagebuf *b, uint64_t *records,
			uint64_t *dropped_bytes);

#endif
