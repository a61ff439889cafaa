/* bulk.h - one map built by many threads.
 *
 * The sub-trees under disjoint root slots are independent: threads build
 * them at the same time (each node once, children before parents, exactly
 * as hamt_build does), then the root is encoded from what they left in
 * its slots. The result is the map hamt_build() gives for the same entries
 * and parameters, block for block.
 *
 * Use: hamt_bulk_new(); then any number of threads call hamt_bulk_add(),
 * each call with every entry of the root slots it covers (no slot in two
 * calls); then, after all of them returned, hamt_bulk_finish() once.
 */
#ifndef HAMT_BULK_H
#define HAMT_BULK_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/hamt.h"
#include "hamt/hash.h"

struct hamt_bulk;

/* An entry with its key's full hash: the unit of work of every build and
 * merge. Pointers are borrowed. */
struct hamt_item {
	uint8_t hash[HASH_MAX_BYTES]; /* hash length bytes used */
	const uint8_t *key;
	size_t klen;
	const uint8_t *val; /* DAG-CBOR of the value; NULL: delete (merge) */
	size_t vlen;
	size_t ord; /* input position: the later one wins */
};

/* 0, -EINVAL for bad parameters, -ENOTSUP for an unknown hash, -ENOMEM. */
int hamt_bulk_new(struct hamt_bulk **out, const struct hamt_params *p);
/* Bytes of the key hash the parameters use (32 for sha2-256, 8 for
 * murmur3-x64-64). */
size_t hamt_bulk_hash_len(const struct hamt_bulk *b);

/* Build the root slots items[0..n) fall in: items sorted by (hash, key
 * bytes), keys distinct (`ord` is not used), and every entry of each of those
 * slots present. Node blocks go to `sink` from the calling thread. `st` (may be
 * NULL) accumulates keys, blocks, bytes and depth. Calls for disjoint slots may
 * run at the same time. -EINVAL (with a message) if the items are out of
 * order, a key repeats or a slot was already built, or more than
 * bucketSize keys share a whole hash; -EFBIG for a node over the block
 * limit; the sink's errors. */
int hamt_bulk_add(struct hamt_bulk *b, const struct hamt_item *items, size_t n,
		  struct hamt_sink *sink, struct hamt_stats *st);

/* Encode the root, hand it to `sink` and store its CID in `*root`; `st`
 * (may be NULL) accumulates the root block (keys are not counted again).
 */
int hamt_bulk_finish(struct hamt_bulk *b, struct hamt_sink *sink,
		     struct cid *root, struct hamt_stats *st);

/* NULL is a no-op. */
void hamt_bulk_free(struct hamt_bulk *b);

#endif
