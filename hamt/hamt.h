/* hamt.h - the IPLD HashMap (HAMT): read, iterate, build, merge, verify.
 *
 * Format (ipld.io advanced-data-layouts/hamt): the root block is the DAG-CBOR
 * map {"hamt": [map, data], "hashAlg": int, "bucketSize": int}; every other
 * node is the 2-tuple [map, data]. `map` is a bitfield of 2^bitWidth bits
 * (bit i in byte i/8 at bit position i%8); `data` holds one element per set
 * bit, in index order: a CID link to a child node, or a bucket: a list of
 * [key-bytes, value] pairs sorted by key bytes. The index of a key at depth d
 * is the bitWidth bits of its hash starting at bit d*bitWidth, most
 * significant bit first.
 *
 * Canonical form: a slot holds a bucket iff the sub-tree under it has at most
 * bucketSize entries, otherwise a link to a child node; the root is always a
 * node. Equal entries and parameters give an equal root CID, whatever the
 * order of operations that produced them.
 *
 * Values are carried as their DAG-CBOR encoding (`val`, `vlen`): any IPLD
 * kind, a link (tag 42) included.
 *
 * Blocks are read through the store front (verified); new blocks are handed
 * to a `struct hamt_sink` so the caller decides where they go (an LMDB
 * transaction, a CAR, memory).
 */
#ifndef HAMT_HAMT_H
#define HAMT_HAMT_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/buf.h"
#include "hamt/cid.h"
#include "store/store.h"

#define HAMT_MIN_BIT_WIDTH 3
#define HAMT_MAX_BIT_WIDTH 16
#define HAMT_DEFAULT_BIT_WIDTH 8
#define HAMT_DEFAULT_BUCKET_SIZE 3
#define HAMT_MAX_BUCKET_SIZE 1024

struct hamt_params {
	uint64_t hash_alg;    /* multihash code: 0x12 sha2-256, 0x22 murmur3 */
	unsigned bit_width;   /* 3..16 */
	unsigned bucket_size; /* >= 1 */
};

/* Where new blocks go. put() returns 0 or a negative errno. */
struct hamt_sink {
	int (*put)(void *payload, const struct cid *c, const uint8_t *data,
		   size_t len);
	void *payload;
};

/* One entry given to a build. `key`/`val` are borrowed for the call. */
struct hamt_entry {
	const uint8_t *key;
	size_t klen;
	const uint8_t *val; /* DAG-CBOR encoding of the value */
	size_t vlen;
};

/* One change given to a merge: `val` NULL means delete `key`. */
struct hamt_change {
	const uint8_t *key;
	size_t klen;
	const uint8_t *val;
	size_t vlen;
};

struct hamt_stats {
	uint64_t keys;	       /* entries in the tree */
	uint64_t blocks;       /* HAMT node blocks (root included) */
	uint64_t bytes;	       /* bytes of those blocks */
	unsigned depth;	       /* deepest node level (root = 1) */
	uint64_t value_blocks; /* distinct-by-position linked value blocks
				  (hamt_verify only) */
	uint64_t value_bytes;
};

/* Default parameters: sha2-256, bit width 8, bucket size 3. */
void hamt_params_default(struct hamt_params *p);
/* 0, or -EINVAL with a message for parameters we cannot write. */
int hamt_params_check(const struct hamt_params *p);

struct hamt;

/* Open the map whose root block is `root`: reads and decodes the root.
 * -ENOENT if the block is missing; -EINVAL "not a HAMT root" if it does not
 * have the root shape; -ENOTSUP for an unknown hashAlg. */
int hamt_open(struct hamt **out, struct store *s, const struct cid *root);
void hamt_free(struct hamt *h);
struct hamt_cache;
/* Look up child nodes through `cache` (see hamt/cache.h; shared, not owned,
 * must outlive the map). NULL turns caching off. */
void hamt_set_cache(struct hamt *h, struct hamt_cache *cache);
/* Threads a merge may use (0, the default: one per core). */
void hamt_set_threads(struct hamt *h, unsigned n);
const struct hamt_params *hamt_get_params(const struct hamt *h);
const struct cid *hamt_root(const struct hamt *h);

/* Look up `key`: walks at most depth blocks. On success appends the value's
 * DAG-CBOR encoding to `val` and returns 0; -ENOENT if absent; -EIO / -EINVAL
 * / -ENOTSUP for a corrupt tree (message names the block): a missing or
 * mismatched node, a link deeper than the hash allows, and a bucket on the
 * key's path that is over bucketSize or holds a key that does not hash
 * there. Thread-safe. */
int hamt_get(struct hamt *h, const uint8_t *key, size_t klen, struct buf *val);

/* Find an entry by a prefix of its key's hash (as a shortened file name
 * carries it): walks the prefix to its bucket and appends the key and value
 * of the first entry there whose hash starts with the prefix and for which
 * match() returns non-zero. -ENOENT if none (or the prefix is too short to
 * reach a bucket). */
int hamt_get_by_hash(struct hamt *h, const uint8_t *hash, size_t hlen,
		     int (*match)(void *payload, const uint8_t *key,
				  size_t klen),
		     void *payload, struct buf *key, struct buf *val);

/* Call cb for every entry, in tree order (by hash). Stops with cb's
 * non-zero return value. */
typedef int (*hamt_entry_cb)(void *payload, const uint8_t *key, size_t klen,
			     const uint8_t *val, size_t vlen);
int hamt_iterate(struct hamt *h, hamt_entry_cb cb, void *payload);

/* A cursor walks the entries in the same order as hamt_iterate, one at a
 * time, holding only the nodes on its current path. It keeps the map's tree
 * as it was when created (the map must outlive it). */
struct hamt_cursor;
int hamt_cursor_new(struct hamt *h, struct hamt_cursor **out);
/* Next entry: 1 with key/value (valid until the next call or free), 0 at
 * the end, negative errno for a corrupt or missing block (-EIO naming the
 * node for a link deeper than the hash allows, a bucket over bucketSize or
 * a key that does not hash to where it sits). */
int hamt_cursor_next(struct hamt_cursor *c, const uint8_t **key, size_t *klen,
		     const uint8_t **val, size_t *vlen);
/* The key hash of the entry last returned (`*len` bytes; valid until the
 * next call or free), so callers that name keys need not hash them again. */
const uint8_t *hamt_cursor_hash(const struct hamt_cursor *c, size_t *len);
/* Entries returned so far. */
uint64_t hamt_cursor_pos(const struct hamt_cursor *c);
void hamt_cursor_free(struct hamt_cursor *c);

/* Build a new map from `n` entries (sorted by hash internally: each node is
 * encoded once; nothing is inserted twice). If several entries have the same
 * key, the last one in the array wins. Blocks go to `sink`; the root CID to
 * `*root`. `stats` may be NULL. -EINVAL for bad parameters or a key set that
 * overflows the hash (more than bucketSize keys sharing a whole hash). */
int hamt_build(const struct hamt_params *p, const struct hamt_entry *entries,
	       size_t n, struct hamt_sink *sink, struct cid *root,
	       struct hamt_stats *stats);

/* Apply `n` changes to the map at `h` (puts and deletes; the last change to
 * a key wins) and write only the nodes on changed paths to `sink`.
 * Untouched children keep their CID and are never read. The result is in
 * canonical form. `*new_root` gets the new root (equal to the old one if
 * nothing changed). `written` (may be NULL) gets the number of blocks
 * written. */
int hamt_merge(struct hamt *h, const struct hamt_change *changes, size_t n,
	       struct hamt_sink *sink, struct cid *new_root, uint64_t *written);

/* Walk the whole tree checking every block's hash, every node's shape,
 * bitfield/data agreement, bucket order and size, that every key hashes to
 * its position, canonical form, and depth. 0 with stats filled in, or the
 * first defect as a negative errno with a message naming the block. */
int hamt_verify(struct hamt *h, struct hamt_stats *stats);

/* Render a value (DAG-CBOR `val`) as the file contents DESIGN.md "Values"
 * defines: link to raw -> the block's bytes; link to DAG-CBOR -> DAG-JSON
 * of the block; link to DAG-JSON -> the block's bytes; inline bytes -> the
 * bytes; inline string -> its UTF-8; anything else -> DAG-JSON. Appends to
 * `out`. Linked blocks are read from `s`. */
int hamt_value_render(struct store *s, const uint8_t *val, size_t vlen,
		      struct buf *out);

/* Append the DAG-CBOR encoding of a link to `c` (a value). */
int hamt_value_encode_link(const struct cid *c, struct buf *out);
/* Append the DAG-CBOR encoding of the byte string p[0..n) (a value). */
int hamt_value_encode_bytes(const uint8_t *p, size_t n, struct buf *out);

/* If the value is a link, store its CID in `*out` and return 1; else 0. */
int hamt_value_link(const uint8_t *val, size_t vlen, struct cid *out);

#endif
