/* build.c - the sorted one-pass build: hash every key, sort by hash, build
 * each node exactly once, children before parents. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"
#include "hamt/hamt_int.h"

static int item_cmp(const void *pa, const void *pb, void *arg)
{
	const struct hamt_item *a = pa, *b = pb;
	int c = memcmp(a->hash, b->hash, *(const size_t *)arg);
	if (c)
		return c;
	c = hamt_key_cmp(a->key, a->klen, b->key, b->klen);
	if (c)
		return c;
	return a->ord < b->ord ? -1 : (a->ord > b->ord ? 1 : 0);
}

size_t hamt_items_sort_dedup(struct hamt_item *items, size_t n, size_t hash_len)
{
	if (n > 1)
		qsort_r(items, n, sizeof(*items), item_cmp, &hash_len);
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n &&
		    hamt_key_cmp(items[i].key, items[i].klen, items[i + 1].key,
				 items[i + 1].klen) == 0)
			continue; /* a later item has the same key */
		items[out++] = items[i];
	}
	return out;
}

int hamt_writer_emit(struct hamt_writer *w, struct hamt_enc *e, int root,
		     unsigned depth, struct cid *out)
{
	int rc = hamt_enc_finish(e, root ? &w->params : NULL, &w->block);
	if (rc)
		return rc;
	if (w->block.len > STORE_MAX_WRITE)
		return err_set(
		    -EFBIG,
		    "HAMT: a node at depth %u would be %zu bytes, over "
		    "the %u-byte block limit (inline values too "
		    "large: store them as links)",
		    depth, w->block.len, STORE_MAX_WRITE);
	cid_of_block(out, CODEC_DAG_CBOR, w->block.data, w->block.len);
	rc = w->sink->put(w->sink->payload, out, w->block.data, w->block.len);
	if (rc)
		return rc;
	w->written++;
	w->bytes += w->block.len;
	if (depth + 1 > w->max_depth)
		w->max_depth = depth + 1;
	return 0;
}

void hamt_kv_sort(struct hamt_kv *kv, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct hamt_kv x = kv[i];
		size_t j = i;
		while (j > 0 && hamt_key_cmp(kv[j - 1].key, kv[j - 1].klen,
					     x.key, x.klen) > 0) {
			kv[j] = kv[j - 1];
			j--;
		}
		kv[j] = x;
	}
}

int hamt_build_node(struct hamt_writer *w, const struct hamt_item *items,
		    size_t n, unsigned depth, struct cid *out)
{
	unsigned bw = w->params.bit_width;
	size_t bs = w->params.bucket_size;
	struct hamt_kv *kv = NULL;
	struct hamt_enc *enc = malloc(sizeof(*enc));
	if (!enc)
		return err_set(-ENOMEM, "HAMT build: out of memory");
	hamt_enc_init(enc, bw);
	kv = malloc(bs * sizeof(*kv));
	int rc = kv ? 0 : err_set(-ENOMEM, "HAMT build: out of memory");
	size_t i = 0;
	while (!rc && i < n) {
		long idx =
		    hamt_hash_index(items[i].hash, w->hash_len, depth, bw);
		if (idx < 0) {
			rc = err_set(-EINVAL,
				     "HAMT build: more than %zu keys share the "
				     "whole %zu-byte hash",
				     bs, w->hash_len);
			break;
		}
		size_t j = i + 1;
		while (j < n && hamt_hash_index(items[j].hash, w->hash_len,
						depth, bw) == idx)
			j++;
		if (j - i <= bs) {
			for (size_t k = i; k < j; k++)
				kv[k - i] = (struct hamt_kv){
				    items[k].key, items[k].klen, items[k].val,
				    items[k].vlen};
			hamt_kv_sort(kv, j - i);
			rc = hamt_enc_bucket(enc, (uint32_t)idx, kv, j - i);
		} else {
			struct cid child;
			rc = hamt_build_node(w, items + i, j - i, depth + 1,
					     &child);
			if (!rc)
				rc = hamt_enc_link(enc, (uint32_t)idx, &child);
		}
		i = j;
	}
	if (!rc)
		rc = hamt_writer_emit(w, enc, depth == 0, depth, out);
	free(kv);
	hamt_enc_free(enc);
	free(enc);
	return rc;
}

int hamt_build(const struct hamt_params *p, const struct hamt_entry *entries,
	       size_t n, struct hamt_sink *sink, struct cid *root,
	       struct hamt_stats *stats)
{
	int rc = hamt_params_check(p);
	if (rc)
		return rc;
	struct hamt_writer w = {.params = *p, .sink = sink};
	struct hamt_item *items = NULL;
	if (n && !(items = calloc(n, sizeof(*items))))
		return err_set(-ENOMEM,
			       "HAMT build: out of memory for %zu "
			       "entries",
			       n);
	for (size_t i = 0; i < n; i++) {
		items[i].key = entries[i].key;
		items[i].klen = entries[i].klen;
		items[i].val = entries[i].val;
		items[i].vlen = entries[i].vlen;
		items[i].ord = i;
		rc = hash_key(p->hash_alg, entries[i].key, entries[i].klen,
			      items[i].hash, &w.hash_len);
		if (rc)
			goto out;
	}
	if (n == 0) {
		uint8_t tmp[HASH_MAX_BYTES];
		rc = hash_key(p->hash_alg, tmp, 0, tmp, &w.hash_len);
		if (rc)
			goto out;
	}
	n = hamt_items_sort_dedup(items, n, w.hash_len);
	rc = hamt_build_node(&w, items, n, 0, root);
	if (!rc && stats) {
		stats->keys = n;
		stats->blocks = w.written;
		stats->bytes = w.bytes;
		stats->depth = w.max_depth;
	}
out:
	buf_free(&w.block);
	free(items);
	return rc;
}
