/* bulk.c - the root's slots built apart, the root last. */
#include "hamt/bulk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"
#include "hamt/hamt_int.h"

enum { SLOT_EMPTY, SLOT_BUCKET, SLOT_LINK };

struct slot {
	uint8_t state;
	uint32_t n;	     /* bucket entries */
	struct hamt_kv *kvs; /* bucket: n entries sorted by key, with their
				bytes after them in the same allocation */
	struct cid link;
};

struct hamt_bulk {
	struct hamt_params params;
	size_t hash_len;
	size_t nslots;
	struct slot *slots;
};

int hamt_bulk_new(struct hamt_bulk **out, const struct hamt_params *p)
{
	*out = NULL;
	int rc = hamt_params_check(p);
	if (rc)
		return rc;
	uint8_t tmp[HASH_MAX_BYTES];
	size_t hl = 0;
	if ((rc = hash_key(p->hash_alg, tmp, 0, tmp, &hl)) != 0)
		return rc;
	struct hamt_bulk *b = calloc(1, sizeof(*b));
	if (!b)
		return err_set(-ENOMEM, "HAMT build: out of memory");
	b->params = *p;
	b->hash_len = hl;
	b->nslots = (size_t)1 << p->bit_width;
	b->slots = calloc(b->nslots, sizeof(*b->slots));
	if (!b->slots) {
		free(b);
		return err_set(-ENOMEM, "HAMT build: out of memory");
	}
	*out = b;
	return 0;
}

size_t hamt_bulk_hash_len(const struct hamt_bulk *b)
{
	return b->hash_len;
}

/* Keep a small slot's entries (copied) for the root. */
static int keep_bucket(struct slot *s, const struct hamt_item *it, size_t n)
{
	size_t bytes = n * sizeof(struct hamt_kv);
	for (size_t i = 0; i < n; i++)
		bytes += it[i].klen + it[i].vlen;
	s->kvs = malloc(bytes ? bytes : 1);
	if (!s->kvs)
		return err_set(-ENOMEM, "HAMT build: out of memory");
	uint8_t *p = (uint8_t *)(s->kvs + n);
	for (size_t i = 0; i < n; i++) {
		memcpy(p, it[i].key, it[i].klen);
		s->kvs[i].key = p;
		s->kvs[i].klen = it[i].klen;
		p += it[i].klen;
		memcpy(p, it[i].val, it[i].vlen);
		s->kvs[i].val = p;
		s->kvs[i].vlen = it[i].vlen;
		p += it[i].vlen;
	}
	hamt_kv_sort(s->kvs, n);
	s->n = (uint32_t)n;
	s->state = SLOT_BUCKET;
	return 0;
}

int hamt_bulk_add(struct hamt_bulk *b, const struct hamt_item *it, size_t n,
		  struct hamt_sink *sink, struct hamt_stats *st)
{
	size_t hl = b->hash_len;
	unsigned bw = b->params.bit_width;
	struct hamt_writer w = {
	    .params = b->params, .hash_len = hl, .sink = sink};
	int rc = 0;
	for (size_t i = 1; i < n; i++) {
		int c = memcmp(it[i - 1].hash, it[i].hash, hl);
		if (c > 0 ||
		    (c == 0 && hamt_key_cmp(it[i - 1].key, it[i - 1].klen,
					    it[i].key, it[i].klen) >= 0)) {
			rc = err_set(-EINVAL, "HAMT build: entries out of hash "
					      "order or repeated");
			goto out;
		}
	}
	size_t i = 0;
	while (i < n) {
		long idx = hamt_hash_index(it[i].hash, hl, 0, bw);
		size_t j = i + 1;
		while (j < n && hamt_hash_index(it[j].hash, hl, 0, bw) == idx)
			j++;
		struct slot *s = &b->slots[idx];
		if (s->state != SLOT_EMPTY) {
			rc = err_set(-EINVAL,
				     "HAMT build: root slot %ld built twice",
				     idx);
			goto out;
		}
		if (j - i <= b->params.bucket_size) {
			rc = keep_bucket(s, it + i, j - i);
		} else {
			rc = hamt_build_node(&w, it + i, j - i, 1, &s->link);
			if (!rc)
				s->state = SLOT_LINK;
		}
		if (rc)
			goto out;
		i = j;
	}
	if (st) {
		st->keys += n;
		st->blocks += w.written;
		st->bytes += w.bytes;
		if (w.max_depth > st->depth)
			st->depth = w.max_depth;
	}
out:
	buf_free(&w.block);
	return rc;
}

int hamt_bulk_finish(struct hamt_bulk *b, struct hamt_sink *sink,
		     struct cid *root, struct hamt_stats *st)
{
	struct hamt_writer w = {
	    .params = b->params, .hash_len = b->hash_len, .sink = sink};
	struct hamt_enc *enc = malloc(sizeof(*enc));
	if (!enc)
		return err_set(-ENOMEM, "HAMT build: out of memory");
	hamt_enc_init(enc, b->params.bit_width);
	int rc = 0;
	for (size_t i = 0; !rc && i < b->nslots; i++) {
		struct slot *s = &b->slots[i];
		if (s->state == SLOT_BUCKET)
			rc = hamt_enc_bucket(enc, (uint32_t)i, s->kvs, s->n);
		else if (s->state == SLOT_LINK)
			rc = hamt_enc_link(enc, (uint32_t)i, &s->link);
	}
	if (!rc)
		rc = hamt_writer_emit(&w, enc, 1, 0, root);
	if (!rc && st) {
		st->blocks += w.written;
		st->bytes += w.bytes;
		if (w.max_depth > st->depth)
			st->depth = w.max_depth;
	}
	buf_free(&w.block);
	hamt_enc_free(enc);
	free(enc);
	return rc;
}

void hamt_bulk_free(struct hamt_bulk *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nslots; i++)
		free(b->slots[i].kvs);
	free(b->slots);
	free(b);
}
