/* cursor.c - resumable depth-first walk over a map's entries.
 *
 * The walk checks what it reads as a lookup would: a link deeper than the
 * hash allows, a child of another bitWidth, a bucket over bucketSize and a
 * key that does not hash to where it sits are -EIO naming the node. So a
 * listing never shows a name that cannot be opened, nor one key twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"
#include "hamt/hamt_int.h"

struct frame {
	struct hamt_node *node;
	struct cid cid; /* of the node, for messages */
	uint32_t elem;	/* current element */
	uint32_t kv;	/* next entry of the current bucket */
};

struct hamt_cursor {
	struct hamt *h;
	struct frame stack[HAMT_MAX_LEVELS];
	uint32_t path[HAMT_MAX_LEVELS]; /* slot taken at each level */
	unsigned depth;			/* frames in use */
	uint64_t pos;
	uint8_t hash[HASH_MAX_BYTES]; /* of the entry last returned */
	size_t hash_len;
};

int hamt_cursor_new(struct hamt *h, struct hamt_cursor **out)
{
	struct hamt_cursor *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(-ENOMEM, "cursor: out of memory");
	c->h = h;
	c->stack[0].node = hamt_node_ref(h->root_node);
	c->stack[0].cid = h->root;
	c->depth = 1;
	*out = c;
	return 0;
}

/* Enter the child `e->link` of the top frame. */
static int push_child(struct hamt_cursor *c, const struct hamt_elem *e)
{
	char txt[CID_MAX_TEXT];
	struct hamt *h = c->h;
	int rc = hamt_check_depth(h, &e->link, c->depth);
	if (rc)
		return rc;
	struct hamt_node *child = NULL;
	rc = hamt_node_get(h, &e->link, &child);
	if (rc)
		return rc;
	if (child->bit_width != h->params.bit_width) {
		rc = err_set(-EIO, "HAMT node %s: bitWidth %u, the root has %u",
			     cid_format(&e->link, txt), child->bit_width,
			     h->params.bit_width);
		hamt_node_unref(child);
		return rc;
	}
	c->stack[c->depth++] = (struct frame){child, e->link, 0, 0};
	return 0;
}

int hamt_cursor_next(struct hamt_cursor *c, const uint8_t **key, size_t *klen,
		     const uint8_t **val, size_t *vlen)
{
	struct hamt *h = c->h;
	while (c->depth > 0) {
		unsigned d = c->depth - 1;
		struct frame *f = &c->stack[d];
		if (f->elem >= f->node->nelem) {
			hamt_node_unref(f->node);
			f->node = NULL;
			c->depth--;
			continue;
		}
		const struct hamt_elem *e = &f->node->elems[f->elem];
		c->path[d] = e->slot;
		if (e->is_link) {
			int rc = push_child(c, e);
			if (rc)
				return rc;
			f->elem++;
			continue;
		}
		if (f->kv == 0 && e->nkv > h->params.bucket_size) {
			char txt[CID_MAX_TEXT];
			return err_set(-EIO,
				       "HAMT node %s: bucket at index %u has "
				       "%u entries, bucketSize is %u",
				       cid_format(&f->cid, txt), e->slot,
				       e->nkv, h->params.bucket_size);
		}
		if (f->kv < e->nkv) {
			const struct hamt_kv *kv = &e->kvs[f->kv];
			int rc = hash_key(h->params.hash_alg, kv->key, kv->klen,
					  c->hash, &c->hash_len);
			if (!rc)
				rc = hamt_check_key(h, &f->cid, c->path, d,
						    c->hash, c->hash_len);
			if (rc)
				return rc;
			f->kv++;
			*key = kv->key;
			*klen = kv->klen;
			*val = kv->val;
			*vlen = kv->vlen;
			c->pos++;
			return 1;
		}
		f->elem++;
		f->kv = 0;
	}
	return 0;
}

const uint8_t *hamt_cursor_hash(const struct hamt_cursor *c, size_t *len)
{
	*len = c->hash_len;
	return c->hash;
}

uint64_t hamt_cursor_pos(const struct hamt_cursor *c)
{
	return c->pos;
}

void hamt_cursor_free(struct hamt_cursor *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->depth; i++)
		hamt_node_unref(c->stack[i].node);
	free(c);
}
