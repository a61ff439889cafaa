/* verify.c - walk a whole tree and check everything the spec and our
 * canonical form require; stop at the first defect, naming the block. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"
#include "hamt/hamt_int.h"

struct verify_ctx {
	struct hamt *h;
	struct hamt_stats *st;
	uint32_t path[HASH_MAX_BYTES * 8 / HAMT_MIN_BIT_WIDTH + 2];
};

static int verify_value(struct verify_ctx *v, const struct hamt_kv *kv)
{
	struct cid c;
	int rc = hamt_value_link(kv->val, kv->vlen, &c);
	if (rc <= 0)
		return rc;
	uint8_t *data = NULL;
	size_t len = 0;
	rc = store_get(v->h->store, &c, &data, &len);
	if (rc)
		return err_wrap(rc, "value of a key");
	free(data);
	v->st->value_blocks++;
	v->st->value_bytes += len;
	return 0;
}

/* Verify the node `c` at `depth`; `*count` gets its number of entries. */
static int verify_node(struct verify_ctx *v, const struct cid *c,
		       unsigned depth, uint64_t *count)
{
	char txt[CID_MAX_TEXT];
	struct hamt *h = v->h;
	struct hamt_node *node = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t total = 0, links = 0;
	int rc;
	if (c->codec != CODEC_DAG_CBOR)
		return err_set(
		    -EINVAL, "node %s: link codec 0x%llx is not dag-cbor",
		    cid_format(c, txt), (unsigned long long)c->codec);
	if (depth > h->hash_len * 8 / h->params.bit_width)
		return err_set(-EINVAL,
			       "node %s: at depth %u, deeper than a %zu-byte "
			       "hash allows with bitWidth %u",
			       cid_format(c, txt), depth, h->hash_len,
			       h->params.bit_width);
	rc = store_get(h->store, c, &data, &len);
	if (rc)
		return rc;
	rc = hamt_node_decode(data, len, depth == 0, &node);
	free(data);
	if (rc)
		return err_wrap(rc, "node %s", cid_format(c, txt));
	v->st->blocks++;
	v->st->bytes += len;
	if (depth + 1 > v->st->depth)
		v->st->depth = depth + 1;
	if (node->bit_width != h->params.bit_width) {
		rc = err_set(-EINVAL, "node %s: bitWidth %u, root has %u",
			     cid_format(c, txt), node->bit_width,
			     h->params.bit_width);
		goto out;
	}
	for (uint32_t i = 0; i < node->nelem; i++) {
		const struct hamt_elem *e = &node->elems[i];
		v->path[depth] = e->slot;
		if (e->is_link) {
			uint64_t sub = 0;
			rc = verify_node(v, &e->link, depth + 1, &sub);
			if (rc)
				goto out;
			total += sub;
			links++;
			continue;
		}
		if (e->nkv > h->params.bucket_size) {
			rc = err_set(-EINVAL,
				     "node %s: bucket at index %u has %u "
				     "entries, bucketSize is %u",
				     cid_format(c, txt), e->slot, e->nkv,
				     h->params.bucket_size);
			goto out;
		}
		for (uint32_t j = 0; j < e->nkv; j++) {
			uint8_t hash[HASH_MAX_BYTES];
			size_t hl;
			rc = hash_key(h->params.hash_alg, e->kvs[j].key,
				      e->kvs[j].klen, hash, &hl);
			if (rc)
				goto out;
			for (unsigned d = 0; d <= depth; d++) {
				long idx = hamt_hash_index(hash, hl, d,
							   node->bit_width);
				if (idx != (long)v->path[d]) {
					rc = err_set(-EINVAL,
						     "node %s: key at index %u "
						     "does not hash to its "
						     "position (level %u)",
						     cid_format(c, txt),
						     e->slot, d);
					goto out;
				}
			}
			rc = verify_value(v, &e->kvs[j]);
			if (rc) {
				err_wrap(rc, "node %s", cid_format(c, txt));
				goto out;
			}
		}
		total += e->nkv;
	}
	if (depth > 0 && links == 0 && total <= h->params.bucket_size) {
		rc = err_set(-EINVAL,
			     "node %s: not canonical: a child node with %llu "
			     "entries should be a bucket of its parent",
			     cid_format(c, txt), (unsigned long long)total);
		goto out;
	}
	*count = total;
out:
	hamt_node_unref(node);
	return rc;
}

int hamt_verify(struct hamt *h, struct hamt_stats *stats)
{
	struct verify_ctx v = {.h = h, .st = stats};
	memset(stats, 0, sizeof(*stats));
	uint64_t count = 0;
	int rc = verify_node(&v, &h->root, 0, &count);
	stats->keys = count;
	return rc;
}
