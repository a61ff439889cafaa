/* car.h - CAR (content-addressed archive) files.
 *
 * CARv1: varint(header length) DAG-CBOR header {"roots": [CID...],
 * "version": 1}, then sections varint(len) cid-bytes block-bytes.
 * CARv2: 11-byte pragma, 40-byte header (characteristics, data offset,
 * data size, index offset; little-endian u64s), then a CARv1 payload at the
 * data offset (the index, if any, is not needed for sequential reading).
 *
 * Reading checks every length before use, verifies every block against its
 * CID, and refuses blocks over STORE_MAX_BLOCK (2 MiB) with -EFBIG.
 */
#ifndef STORE_CAR_H
#define STORE_CAR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hamt/cid.h"
#include "store/store.h"

struct car_reader;
struct car_writer;

/* Open `path` (v1 or v2) and read its header. -ENOENT, -EINVAL with a message
 * for a malformed header or unsupported version. */
int car_reader_open(struct car_reader **out, const char *path);
/* Roots from the header (owned by the reader). */
const struct cid *car_reader_roots(struct car_reader *r, size_t *n);
/* Next block: 1 with `*c`, `*data`, `*len` (data valid until the next call),
 * 0 at a clean end, negative errno for truncation, a bad CID, a hash
 * mismatch (-EIO), an oversized block (-EFBIG). The message says which byte
 * offset of the file was bad. */
int car_reader_next(struct car_reader *r, struct cid *c, const uint8_t **data,
		    size_t *len);
/* Byte offset of the data section of the block last returned by
 * car_reader_next (within the file), for indexing. */
uint64_t car_reader_block_offset(struct car_reader *r);
void car_reader_close(struct car_reader *r);

/* Create a CARv1 at `path` with the given roots. Writes go to a temporary
 * file in the same directory, renamed over `path` at car_writer_finish().
 * `path` "-" is standard output, written as it goes (a stream: no
 * car_writer_set_root(), and a failure leaves what was written). */
int car_writer_open(struct car_writer **out, const char *path,
		    const struct cid *roots, size_t nroots);
int car_writer_put(struct car_writer *w, const struct cid *c,
		   const uint8_t *data, size_t len);
/* Replace the single root given at open with `root` (for a writer that
 * learns its root after writing the blocks: open with a placeholder CID of
 * the same binary length). The header is rewritten at finish. -EINVAL if
 * the header would change length. */
int car_writer_set_root(struct car_writer *w, const struct cid *root);
/* Flush, fsync and rename into place; frees the writer either way. */
int car_writer_finish(struct car_writer *w);
/* Discard (removes the temporary file) and free. NULL is a no-op. */
void car_writer_abort(struct car_writer *w);

/* Import every block of a CAR into `s` in one transaction (all or nothing);
 * the roots are returned in a malloc()ed array (caller frees). */
int car_import(struct store *s, const char *path, struct cid **roots,
	       size_t *nroots);

/* Export everything reachable from `root` (following links inside DAG-CBOR
 * blocks; raw blocks are leaves) as a CARv1 with `root` as its only root,
 * each block once, parents before children. Stats are optional (NULL). */
int car_export(struct store *s, const struct cid *root, const char *path,
	       uint64_t *blocks, uint64_t *bytes);

#endif
