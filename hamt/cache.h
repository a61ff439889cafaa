/* cache.h - a bounded cache of decoded HAMT nodes, shared by threads.
 *
 * Keyed by CID; holds references to immutable decoded nodes and evicts the
 * least recently used ones when the bytes held pass the bound. Committed
 * nodes never change, so entries never go stale. All functions are
 * thread-safe (one mutex).
 */
#ifndef HAMT_CACHE_H
#define HAMT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/cid.h"

struct hamt_node;
struct hamt_cache;

struct hamt_cache_stats {
	uint64_t hits, misses, evictions;
	size_t bytes, entries, max_bytes;
};

/* A cache holding at most `max_bytes` of decoded nodes (0: caching off). */
int hamt_cache_new(struct hamt_cache **out, size_t max_bytes);
void hamt_cache_free(struct hamt_cache *c);

/* A new reference to the cached node for `cid`, or NULL. */
struct hamt_node *hamt_cache_get(struct hamt_cache *c, const struct cid *cid);
/* Add `node` (the cache takes its own reference). */
void hamt_cache_put(struct hamt_cache *c, const struct cid *cid,
		    struct hamt_node *node);
void hamt_cache_get_stats(struct hamt_cache *c, struct hamt_cache_stats *st);

#endif
