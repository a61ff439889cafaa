/* hamt_int.h - internals shared by hamt.c, build.c, merge.c, verify.c. */
#ifndef HAMT_HAMT_INT_H
#define HAMT_HAMT_INT_H

#include "hamt/bulk.h"
#include "hamt/hamt.h"
#include "hamt/hash.h"
#include "hamt/node.h"

struct hamt {
	struct store *store;
	struct cid root;
	struct hamt_node *root_node;
	struct hamt_params params;
	size_t hash_len;
	struct hamt_cache *cache; /* may be NULL; not owned */
	unsigned threads;	  /* for merges; 0: every core */
};

/* Most levels any tree can have (bitWidth 3 over a 32-byte hash). */
#define HAMT_MAX_LEVELS (HASH_MAX_BYTES * 8 / HAMT_MIN_BIT_WIDTH)

/* Deepest level (the root is level 0) a node can sit at: the one whose
 * bitWidth bits are the last that fit in the hash (hash_len * 8 bits). A
 * writer never goes deeper (it fails with "more than bucketSize keys share
 * the whole hash"), so a reader refuses a link that leads deeper. */
static inline unsigned hamt_depth_limit(size_t hash_len, unsigned bit_width)
{
	return (unsigned)(hash_len * 8 / bit_width) - 1;
}

/* -EIO naming `c` if a node linked at `depth` would be deeper than the
 * hash allows, else 0. */
int hamt_check_depth(const struct hamt *h, const struct cid *c, unsigned depth);

/* -EIO naming the node `node_cid` at `depth` if the key hash `hash` (of
 * `hlen` bytes) does not lead along path[0..depth] (the slot taken at each
 * level from the root down to the key's bucket), else 0. */
int hamt_check_key(const struct hamt *h, const struct cid *node_cid,
		   const uint32_t *path, unsigned depth, const uint8_t *hash,
		   size_t hlen);

/* Check the bucket `e` of the node `node_cid` at `depth`, whose path from
 * the root is path[0..depth] (path[depth] == e->slot): at most bucketSize
 * entries, and every key hashes to that path. `skip` (may be NULL) is a
 * key known to hash there already (a lookup's own key: not hashed again).
 * 0, or -EIO with a message naming the node. */
int hamt_check_bucket(const struct hamt *h, const struct cid *node_cid,
		      const uint32_t *path, unsigned depth,
		      const struct hamt_elem *e, const uint8_t *skip,
		      size_t skip_len);

/* Read block `c` and decode it as a node (root shape if `is_root`). Errors
 * name the block; a missing non-root node is -EIO (a broken tree, not an
 * absent key). */
int hamt_load_node(struct store *s, const struct cid *c, int is_root,
		   struct hamt_node **out);
/* The same through the map's node cache, if it has one. */
int hamt_node_get(struct hamt *h, const struct cid *c, struct hamt_node **out);

/* struct hamt_item, an entry with its key hash (the unit of work of build
 * and merge), is in hamt/bulk.h, whose callers make them. */

/* Sort items by (hash, key, ord) and keep only the last item per key.
 * Returns the new count. */
size_t hamt_items_sort_dedup(struct hamt_item *items, size_t n,
			     size_t hash_len);

/* Sort a bucket's entries by key bytes (insertion sort: buckets are small).
 */
void hamt_kv_sort(struct hamt_kv *kv, size_t n);

/* Context of one build or merge: parameters, scratch and the sink. */
struct hamt_writer {
	struct hamt_params params;
	size_t hash_len;
	struct hamt_sink *sink;
	struct buf block;   /* scratch for one encoded block */
	uint64_t written;   /* blocks handed to the sink */
	uint64_t bytes;	    /* bytes handed to the sink */
	unsigned max_depth; /* deepest level written (root = 1) */
};

/* Encode `e` (as root if `root`), hash it, hand it to the sink, return its
 * CID. */
int hamt_writer_emit(struct hamt_writer *w, struct hamt_enc *e, int root,
		     unsigned depth, struct cid *out);

/* Build the node for `items[0..n)` (sorted, deduplicated, all sharing the
 * hash prefix of `depth` levels, n > bucketSize unless root) and emit it;
 * children first. */
int hamt_build_node(struct hamt_writer *w, const struct hamt_item *items,
		    size_t n, unsigned depth, struct cid *out);

#endif
