/* verify.c - walk a whole tree and check everything the spec and our
 * canonical form require; stop at the first defect, naming the block. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/dagcbor.h"
#include "hamt/err.h"
#include "hamt/hamt_int.h"

struct verify_ctx {
	struct hamt *h;
	struct hamt_stats *st;
	uint32_t path[HAMT_MAX_LEVELS];
};

static int verify_value(struct verify_ctx *v, const struct cid *node_cid,
			const struct hamt_kv *kv, uint32_t slot)
{
	char txt[CID_MAX_TEXT], vtxt[CID_MAX_TEXT];
	struct cid c;
	int rc = hamt_value_link(kv->val, kv->vlen, &c);
	if (rc <= 0)
		return rc;
	uint8_t *data = NULL;
	size_t len = 0;
	rc = store_get(v->h->store, &c, &data, &len);
	if (rc == -ENOENT)
		return err_set(-EIO,
			       "node %s: the value of a key at index %u links "
			       "to %s, missing from the store",
			       cid_format(node_cid, txt), slot,
			       cid_format(&c, vtxt));
	/* a DAG-CBOR value is read as DAG-JSON: it must decode */
	if (!rc && c.codec == CODEC_DAG_CBOR &&
	    (rc = dagcbor_validate(data, len)) != 0)
		err_wrap(rc, "value block %s", cid_format(&c, vtxt));
	if (rc) {
		free(data);
		return err_wrap(rc, "node %s: the value of a key at index %u",
				cid_format(node_cid, txt), slot);
	}
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
	if ((rc = hamt_check_depth(h, c, depth)) != 0)
		return rc;
	rc = store_get(h->store, c, &data, &len);
	if (rc == -ENOENT && depth > 0)
		return err_set(-EIO, "node %s: block missing from the store",
			       cid_format(c, txt));
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
		rc = hamt_check_bucket(h, c, v->path, depth, e, NULL, 0);
		if (rc)
			goto out;
		for (uint32_t j = 0; j < e->nkv; j++) {
			rc = verify_value(v, c, &e->kvs[j], e->slot);
			if (rc)
				goto out;
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
