/* fuzz_node.c - the DAG-CBOR HAMT node decoder (root and non-root shapes)
 * and the strict DAG-CBOR decoder under it.
 *
 * Every input is decoded as DAG-CBOR, as a root node and as a plain node.
 * Invariants:
 *  - dagcbor_validate, dagcbor_decode and dagcbor_links agree; an accepted
 *    item re-encodes to exactly the input bytes (canonical form is unique);
 *    DAG-JSON rendering of it succeeds;
 *  - a node accepted by hamt_node_decode is well formed (elements in slot
 *    order inside the bitfield, non-empty buckets sorted by key, values
 *    valid DAG-CBOR, root parameters in range), hamt_node_find agrees with
 *    the bitfield, and encoding it again with hamt_enc_* gives exactly the
 *    input bytes.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "hamt/dagcbor.h"
#include "hamt/dagjson.h"
#include "hamt/hamt.h"
#include "hamt/node.h"

static int count_link(void *payload, const struct cid *c)
{
	(void)c;
	(*(size_t *)payload)++;
	return 0;
}

static void fuzz_dagcbor(const uint8_t *data, size_t size)
{
	cbor_item_t *item = NULL;
	int valid = dagcbor_validate(data, size) == 0;
	int rc = dagcbor_decode(data, size, &item);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	FUZZ_CHECK((rc == 0) == valid || rc == -ENOMEM);
	size_t links = 0;
	FUZZ_CHECK((dagcbor_links(data, size, count_link, &links) == 0) ==
		   valid);
	if (rc != 0)
		return;
	struct buf out = {0};
	FUZZ_CHECK(dagcbor_encode(item, &out) == 0);
	FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);
	buf_reset(&out);
	FUZZ_CHECK(dagjson_from_dagcbor(data, size, &out) == 0);
	struct cid c;
	int l = dagcbor_item_link(item, &c);
	FUZZ_CHECK(l == 0 || l == 1);
	if (l == 1)
		FUZZ_CHECK(links == 1);
	buf_free(&out);
	cbor_decref(&item);
}

static void fuzz_node(const uint8_t *data, size_t size, int is_root)
{
	struct hamt_node *n = NULL;
	int rc = hamt_node_decode(data, size, is_root, &n);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP || rc == -ENOMEM);
	if (rc != 0)
		return;
	FUZZ_CHECK(dagcbor_validate(data, size) == 0);
	FUZZ_CHECK(n->bit_width >= HAMT_MIN_BIT_WIDTH &&
		   n->bit_width <= HAMT_MAX_BIT_WIDTH);
	FUZZ_CHECK(n->is_root == is_root);
	if (is_root) {
		FUZZ_CHECK(hamt_params_check(&n->params) == 0);
		FUZZ_CHECK(n->params.bit_width == n->bit_width);
	}
	uint32_t nslots = 1u << n->bit_width;
	struct hamt_enc e;
	hamt_enc_init(&e, n->bit_width);
	for (uint32_t i = 0; i < n->nelem; i++) {
		const struct hamt_elem *el = &n->elems[i];
		FUZZ_CHECK(el->slot < nslots);
		FUZZ_CHECK(i == 0 || n->elems[i - 1].slot < el->slot);
		FUZZ_CHECK(hamt_node_find(n, el->slot) == (long)i);
		if (el->slot + 1 < nslots &&
		    (i + 1 == n->nelem || n->elems[i + 1].slot != el->slot + 1))
			FUZZ_CHECK(hamt_node_find(n, el->slot + 1) == -1);
		if (el->is_link) {
			FUZZ_CHECK(hamt_enc_link(&e, el->slot, &el->link) == 0);
			continue;
		}
		FUZZ_CHECK(el->nkv >= 1);
		for (uint32_t j = 0; j < el->nkv; j++) {
			const struct hamt_kv *kv = &el->kvs[j];
			FUZZ_CHECK(dagcbor_validate(kv->val, kv->vlen) == 0);
			if (j > 0)
				FUZZ_CHECK(hamt_key_cmp(el->kvs[j - 1].key,
							el->kvs[j - 1].klen,
							kv->key, kv->klen) < 0);
		}
		FUZZ_CHECK(hamt_enc_bucket(&e, el->slot, el->kvs, el->nkv) ==
			   0);
	}
	if (n->nelem == 0)
		FUZZ_CHECK(hamt_node_find(n, 0) == -1);
	struct buf out = {0};
	FUZZ_CHECK(hamt_enc_finish(&e, is_root ? &n->params : NULL, &out) == 0);
	FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);
	buf_free(&out);
	hamt_enc_free(&e);
	/* references: one more and two releases free it */
	hamt_node_unref(hamt_node_ref(n));
	hamt_node_unref(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_dagcbor(data, size);
	fuzz_node(data, size, 1);
	fuzz_node(data, size, 0);
	return 0;
}
