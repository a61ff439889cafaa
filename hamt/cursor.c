/* cursor.c - resumable depth-first walk over a map's entries. */
#include <errno.h>
#include <stdlib.h>

#include "hamt/err.h"
#include "hamt/hamt_int.h"

#define CURSOR_MAX_DEPTH (HASH_MAX_BYTES * 8 / HAMT_MIN_BIT_WIDTH + 2)

struct frame {
	struct hamt_node *node;
	uint32_t elem; /* current element */
	uint32_t kv;   /* next entry of the current bucket */
};

struct hamt_cursor {
	struct hamt *h;
	struct frame stack[CURSOR_MAX_DEPTH];
	unsigned depth; /* frames in use */
	uint64_t pos;
};

int hamt_cursor_new(struct hamt *h, struct hamt_cursor **out)
{
	struct hamt_cursor *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(-ENOMEM, "cursor: out of memory");
	c->h = h;
	c->stack[0].node = hamt_node_ref(h->root_node);
	c->depth = 1;
	*out = c;
	return 0;
}

int hamt_cursor_next(struct hamt_cursor *c, const uint8_t **key, size_t *klen,
		     const uint8_t **val, size_t *vlen)
{
	while (c->depth > 0) {
		struct frame *f = &c->stack[c->depth - 1];
		if (f->elem >= f->node->nelem) {
			hamt_node_unref(f->node);
			f->node = NULL;
			c->depth--;
			continue;
		}
		const struct hamt_elem *e = &f->node->elems[f->elem];
		if (!e->is_link) {
			if (f->kv < e->nkv) {
				const struct hamt_kv *kv = &e->kvs[f->kv++];
				*key = kv->key;
				*klen = kv->klen;
				*val = kv->val;
				*vlen = kv->vlen;
				c->pos++;
				return 1;
			}
			f->elem++;
			f->kv = 0;
			continue;
		}
		if (c->depth >= CURSOR_MAX_DEPTH ||
		    c->depth > c->h->hash_len * 8 / f->node->bit_width)
			return err_set(-EIO, "HAMT: tree deeper than the hash "
					     "allows");
		struct hamt_node *child = NULL;
		int rc = hamt_node_get(c->h, &e->link, &child);
		if (rc)
			return rc;
		f->elem++;
		c->stack[c->depth++] = (struct frame){child, 0, 0};
	}
	return 0;
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
