/* hamt.c - opening a map, lookups, iteration, verification. */
#include "hamt/hamt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/cache.h"
#include "hamt/err.h"
#include "hamt/hash.h"
#include "hamt/hamt_int.h"
#include "hamt/node.h"

void hamt_params_default(struct hamt_params *p)
{
	p->hash_alg = MH_SHA2_256;
	p->bit_width = HAMT_DEFAULT_BIT_WIDTH;
	p->bucket_size = HAMT_DEFAULT_BUCKET_SIZE;
}

int hamt_params_check(const struct hamt_params *p)
{
	if (p->hash_alg != MH_SHA2_256 && p->hash_alg != MH_MURMUR3_X64_64)
		return err_set(-ENOTSUP,
			       "HAMT: unknown hash algorithm 0x%llx (known: "
			       "0x12 sha2-256, 0x22 murmur3-x64-64)",
			       (unsigned long long)p->hash_alg);
	if (p->bit_width < HAMT_MIN_BIT_WIDTH ||
	    p->bit_width > HAMT_MAX_BIT_WIDTH)
		return err_set(
		    -EINVAL, "HAMT: bit width %u out of range %d..%d",
		    p->bit_width, HAMT_MIN_BIT_WIDTH, HAMT_MAX_BIT_WIDTH);
	if (p->bucket_size < 1 || p->bucket_size > HAMT_MAX_BUCKET_SIZE)
		return err_set(-EINVAL,
			       "HAMT: bucket size %u out of range 1..%d",
			       p->bucket_size, HAMT_MAX_BUCKET_SIZE);
	return 0;
}

int hamt_load_node(struct store *s, const struct cid *c, int is_root,
		   struct hamt_node **out)
{
	char txt[CID_MAX_TEXT];
	uint8_t *data = NULL;
	size_t len = 0;
	if (c->codec != CODEC_DAG_CBOR)
		return err_set(
		    -EINVAL, "HAMT node %s: codec 0x%llx is not dag-cbor",
		    cid_format(c, txt), (unsigned long long)c->codec);
	int rc = store_get(s, c, &data, &len);
	if (rc == -ENOENT && !is_root)
		return err_set(-EIO,
			       "HAMT node %s: block missing from the store",
			       cid_format(c, txt));
	if (rc)
		return rc;
	rc = hamt_node_decode(data, len, is_root, out);
	free(data);
	if (rc)
		return err_wrap(rc, "block %s", cid_format(c, txt));
	return 0;
}

int hamt_check_depth(const struct hamt *h, const struct cid *c, unsigned depth)
{
	char txt[CID_MAX_TEXT];
	if (depth <= hamt_depth_limit(h->hash_len, h->params.bit_width))
		return 0;
	return err_set(-EIO,
		       "HAMT node %s: at depth %u, deeper than a %zu-byte "
		       "hash allows with bitWidth %u (at most %u)",
		       cid_format(c, txt), depth, h->hash_len,
		       h->params.bit_width,
		       hamt_depth_limit(h->hash_len, h->params.bit_width));
}

int hamt_check_key(const struct hamt *h, const struct cid *node_cid,
		   const uint32_t *path, unsigned depth, const uint8_t *hash,
		   size_t hlen)
{
	char txt[CID_MAX_TEXT];
	for (unsigned d = 0; d <= depth; d++) {
		long idx = hamt_hash_index(hash, hlen, d, h->params.bit_width);
		if (idx != (long)path[d])
			return err_set(-EIO,
				       "HAMT node %s: key at index %u does not "
				       "hash to its position (level %u)",
				       cid_format(node_cid, txt), path[depth],
				       d);
	}
	return 0;
}

int hamt_check_bucket(const struct hamt *h, const struct cid *node_cid,
		      const uint32_t *path, unsigned depth,
		      const struct hamt_elem *e, const uint8_t *skip,
		      size_t skip_len)
{
	char txt[CID_MAX_TEXT];
	if (e->nkv > h->params.bucket_size)
		return err_set(-EIO,
			       "HAMT node %s: bucket at index %u has %u "
			       "entries, bucketSize is %u",
			       cid_format(node_cid, txt), e->slot, e->nkv,
			       h->params.bucket_size);
	for (uint32_t j = 0; j < e->nkv; j++) {
		const struct hamt_kv *kv = &e->kvs[j];
		uint8_t hash[HASH_MAX_BYTES];
		size_t hl;
		if (skip &&
		    hamt_key_cmp(kv->key, kv->klen, skip, skip_len) == 0)
			continue;
		int rc =
		    hash_key(h->params.hash_alg, kv->key, kv->klen, hash, &hl);
		if (!rc)
			rc = hamt_check_key(h, node_cid, path, depth, hash, hl);
		if (rc)
			return rc;
	}
	return 0;
}

int hamt_node_get(struct hamt *h, const struct cid *c, struct hamt_node **out)
{
	if (h->cache && (*out = hamt_cache_get(h->cache, c)) != NULL)
		return 0;
	int rc = hamt_load_node(h->store, c, 0, out);
	if (!rc && h->cache)
		hamt_cache_put(h->cache, c, *out);
	return rc;
}

void hamt_set_cache(struct hamt *h, struct hamt_cache *cache)
{
	h->cache = cache;
}

void hamt_set_threads(struct hamt *h, unsigned n)
{
	h->threads = n;
}

int hamt_open(struct hamt **out, struct store *s, const struct cid *root)
{
	struct hamt *h = calloc(1, sizeof(*h));
	if (!h)
		return err_set(-ENOMEM, "HAMT: out of memory");
	int rc = hamt_load_node(s, root, 1, &h->root_node);
	if (rc) {
		free(h);
		return rc;
	}
	h->store = s;
	h->root = *root;
	h->params = h->root_node->params;
	uint8_t tmp[HASH_MAX_BYTES];
	rc = hash_key(h->params.hash_alg, (const uint8_t *)"", 0, tmp,
		      &h->hash_len);
	if (rc) {
		hamt_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void hamt_free(struct hamt *h)
{
	if (!h)
		return;
	hamt_node_unref(h->root_node);
	free(h);
}

const struct hamt_params *hamt_get_params(const struct hamt *h)
{
	return &h->params;
}

const struct cid *hamt_root(const struct hamt *h)
{
	return &h->root;
}

/* Walk from the root along `hash` (hlen bytes; may be a prefix of the full
 * hash) to the bucket it selects, checking every node on the way (depth,
 * bitWidth) and the bucket (size, every key's position; `key`, when not
 * NULL, is the key `hash` belongs to, which need not be hashed again). On 0,
 * `*node` holds a reference and `*elem` is the bucket. -ENOENT if there is
 * no such bucket or the prefix runs out before a bucket is reached; -EIO
 * (message naming the node) for a broken tree. */
static int walk(struct hamt *h, const uint8_t *hash, size_t hlen,
		const uint8_t *key, size_t klen, struct hamt_node **node_out,
		const struct hamt_elem **elem)
{
	int rc;
	uint32_t path[HAMT_MAX_LEVELS];
	struct cid node_cid = h->root;
	struct hamt_node *node = hamt_node_ref(h->root_node);
	for (unsigned depth = 0;; depth++) {
		long idx = hamt_hash_index(hash, hlen, depth, node->bit_width);
		if (idx < 0) {
			rc = -ENOENT;
			break;
		}
		path[depth] = (uint32_t)idx;
		long at = hamt_node_find(node, (uint32_t)idx);
		if (at < 0) {
			rc = -ENOENT;
			break;
		}
		const struct hamt_elem *e = &node->elems[at];
		if (!e->is_link) {
			rc = hamt_check_bucket(h, &node_cid, path, depth, e,
					       key, klen);
			if (rc)
				break;
			*node_out = node;
			*elem = e;
			return 0;
		}
		rc = hamt_check_depth(h, &e->link, depth + 1);
		if (rc)
			break;
		struct hamt_node *child = NULL;
		rc = hamt_node_get(h, &e->link, &child);
		if (rc)
			break;
		if (child->bit_width != node->bit_width) {
			char txt[CID_MAX_TEXT];
			rc = err_set(-EIO,
				     "HAMT node %s: bitWidth %u, its parent "
				     "has %u",
				     cid_format(&e->link, txt),
				     child->bit_width, node->bit_width);
			hamt_node_unref(child);
			break;
		}
		node_cid = e->link;
		hamt_node_unref(node);
		node = child;
	}
	hamt_node_unref(node);
	return rc;
}

int hamt_get(struct hamt *h, const uint8_t *key, size_t klen, struct buf *val)
{
	uint8_t hash[HASH_MAX_BYTES];
	size_t hlen;
	struct hamt_node *node;
	const struct hamt_elem *e;
	int rc = hash_key(h->params.hash_alg, key, klen, hash, &hlen);
	if (!rc)
		rc = walk(h, hash, hlen, key, klen, &node, &e);
	if (rc)
		return rc == -ENOENT ? err_set(-ENOENT, "not found") : rc;
	rc = err_set(-ENOENT, "not found");
	for (uint32_t i = 0; i < e->nkv; i++) {
		if (hamt_key_cmp(e->kvs[i].key, e->kvs[i].klen, key, klen) ==
		    0) {
			rc = buf_append(val, e->kvs[i].val, e->kvs[i].vlen);
			break;
		}
	}
	hamt_node_unref(node);
	return rc;
}

int hamt_get_by_hash(struct hamt *h, const uint8_t *hash, size_t hlen,
		     int (*match)(void *payload, const uint8_t *key,
				  size_t klen),
		     void *payload, struct buf *key, struct buf *val)
{
	struct hamt_node *node;
	const struct hamt_elem *e;
	int rc = walk(h, hash, hlen, NULL, 0, &node, &e);
	if (rc)
		return rc == -ENOENT ? err_set(-ENOENT, "not found") : rc;
	rc = err_set(-ENOENT, "not found");
	for (uint32_t i = 0; i < e->nkv; i++) {
		const struct hamt_kv *kv = &e->kvs[i];
		uint8_t full[HASH_MAX_BYTES];
		size_t fl;
		int r =
		    hash_key(h->params.hash_alg, kv->key, kv->klen, full, &fl);
		if (r) {
			rc = r;
			break;
		}
		if (fl < hlen || memcmp(full, hash, hlen) != 0 ||
		    !match(payload, kv->key, kv->klen))
			continue;
		rc = buf_append(key, kv->key, kv->klen);
		if (!rc)
			rc = buf_append(val, kv->val, kv->vlen);
		break;
	}
	hamt_node_unref(node);
	return rc;
}

int hamt_iterate(struct hamt *h, hamt_entry_cb cb, void *payload)
{
	struct hamt_cursor *c = NULL;
	const uint8_t *key, *val;
	size_t klen, vlen;
	int rc = hamt_cursor_new(h, &c);
	while (!rc && (rc = hamt_cursor_next(c, &key, &klen, &val, &vlen)) == 1)
		rc = cb(payload, key, klen, val, vlen);
	hamt_cursor_free(c);
	return rc;
}
