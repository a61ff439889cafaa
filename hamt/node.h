/* node.h - one decoded HAMT node and its DAG-CBOR codec (internal to hamt/).
 *
 * A decoded node is immutable and reference counted so caches and readers
 * can share it: hamt_node_ref() / hamt_node_unref(). All key and value bytes
 * live in the node's own arena and stay valid while a reference is held.
 */
#ifndef HAMT_NODE_H
#define HAMT_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/buf.h"
#include "hamt/cid.h"
#include "hamt/hamt.h"

struct hamt_kv {
	const uint8_t *key;
	size_t klen;
	const uint8_t *val; /* DAG-CBOR encoding of the value */
	size_t vlen;
};

struct hamt_elem {
	uint32_t slot; /* index in the bitfield */
	uint8_t is_link;
	uint32_t nkv;	     /* entries in a bucket */
	struct cid link;     /* when is_link */
	struct hamt_kv *kvs; /* when !is_link: nkv entries sorted by key */
};

struct hamt_node {
	unsigned bit_width;
	uint32_t nelem;
	struct hamt_elem *elems; /* sorted by slot */
	int is_root;
	struct hamt_params params; /* root only: hash_alg, bucket_size */
	size_t mem;		   /* bytes held, for cache accounting */
	int refs;
};

/* Decode a node block. `is_root` selects the root shape. -EINVAL with a
 * message for anything that is not a well-formed node (the message does not
 * name the block; callers wrap it with the CID). */
int hamt_node_decode(const uint8_t *data, size_t len, int is_root,
		     struct hamt_node **out);

struct hamt_node *hamt_node_ref(struct hamt_node *n);
void hamt_node_unref(struct hamt_node *n);

/* Index of the element for `slot`, or -1 if the bit is not set. */
long hamt_node_find(const struct hamt_node *n, uint32_t slot);

/* The bitWidth bits of `hash` (of `hash_len` bytes) used at `depth`, MSB
 * first. Returns -1 if the hash has no bits left at that depth. */
long hamt_hash_index(const uint8_t *hash, size_t hash_len, unsigned depth,
		     unsigned bit_width);

/* Byte-wise key order (shorter first on a common prefix). */
int hamt_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* --- encoding: callers append elements in slot order --- */
struct hamt_enc {
	unsigned bit_width;
	uint8_t bitmap[(1u << HAMT_MAX_BIT_WIDTH) / 8];
	uint32_t nelem;
	struct buf body; /* encoded elements */
};

void hamt_enc_init(struct hamt_enc *e, unsigned bit_width);
void hamt_enc_reset(struct hamt_enc *e);
void hamt_enc_free(struct hamt_enc *e);
int hamt_enc_link(struct hamt_enc *e, uint32_t slot, const struct cid *c);
/* A bucket of `n` entries, already sorted by key. */
int hamt_enc_bucket(struct hamt_enc *e, uint32_t slot,
		    const struct hamt_kv *kvs, size_t n);
/* Finish into `out` (cleared first): a plain node, or a root when `root`
 * params are given. */
int hamt_enc_finish(struct hamt_enc *e, const struct hamt_params *root,
		    struct buf *out);

#endif
