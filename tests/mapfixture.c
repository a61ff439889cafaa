/* mapfixture.c - a synthetic map for tests and benchmarks: see
 * mapfixture.h. */
#include "mapfixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "hamt/err.h"
#include "hamt/hamt.h"

size_t mapfixture_key(size_t i, char *out)
{
	return (size_t)snprintf(out, MAPFIXTURE_KEY_MAX, "/works/OL%zuW", i);
}

size_t mapfixture_record(size_t i, unsigned v, char *out)
{
	return (size_t)snprintf(out, MAPFIXTURE_RECORD_MAX,
				"{\"title\":\"record %zu\",\"v\":%u}", i, v);
}

static int txn_put(void *payload, const struct cid *c, const uint8_t *data,
		   size_t len)
{
	return store_txn_put(payload, c, data, len);
}

int mapfixture_build(struct store *s, const char *ref, size_t n, unsigned v,
		     struct cid *root)
{
	struct hamt_entry *e = calloc(n, sizeof(*e));
	char *keys = malloc(n * MAPFIXTURE_KEY_MAX);
	struct buf vals = {0};
	size_t *voff = calloc(n, sizeof(*voff));
	struct store_txn *t = NULL;
	int rc = e && keys && voff ? store_txn_begin(s, &t)
				   : err_set(-ENOMEM,
					     "map fixture: out of "
					     "memory for %zu keys",
					     n);
	for (size_t i = 0; !rc && i < n; i++) {
		char r[MAPFIXTURE_RECORD_MAX];
		size_t rl = mapfixture_record(i, v, r);
		struct cid c;
		cid_of_block(&c, CODEC_RAW, (const uint8_t *)r, rl);
		rc = store_txn_put(t, &c, (const uint8_t *)r, rl);
		voff[i] = vals.len;
		if (!rc)
			rc = hamt_value_encode_link(&c, &vals);
		e[i].key = (const uint8_t *)keys + i * MAPFIXTURE_KEY_MAX;
		e[i].klen = mapfixture_key(i, keys + i * MAPFIXTURE_KEY_MAX);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		e[i].val = vals.data + voff[i];
		e[i].vlen = (i + 1 < n ? voff[i + 1] : vals.len) - voff[i];
	}
	struct hamt_params p;
	hamt_params_default(&p);
	struct hamt_sink sink = {txn_put, t};
	if (!rc)
		rc = hamt_build(&p, e, n, &sink, root, NULL);
	if (!rc)
		rc = store_txn_set_ref(t, ref, root);
	if (!rc) {
		rc = store_txn_commit(t);
		t = NULL;
	}
	store_txn_abort(t);
	free(e);
	free(keys);
	free(voff);
	buf_free(&vals);
	return rc;
}
