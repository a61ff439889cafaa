#include "hamt/node.h"

#include <cbor.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/dagcbor.h"
#include "hamt/err.h"

long hamt_hash_index(const uint8_t *hash, size_t hash_len, unsigned depth,
		     unsigned bit_width)
{
	size_t start = (size_t)depth * bit_width;
	if (start + bit_width > hash_len * 8)
		return -1;
	if (bit_width == 8) /* the default: one whole byte */
		return hash[depth];
	if ((start & 7) + bit_width <= 24) {
		/* within three bytes: one shift and mask */
		size_t b = start >> 3;
		uint32_t w = (uint32_t)hash[b] << 16;
		if (b + 1 < hash_len)
			w |= (uint32_t)hash[b + 1] << 8;
		if (b + 2 < hash_len)
			w |= hash[b + 2];
		return (long)((w >> (24 - (start & 7) - bit_width)) &
			      ((1u << bit_width) - 1));
	}
	uint32_t v = 0;
	for (unsigned i = 0; i < bit_width; i++) {
		size_t bit = start + i;
		v = (v << 1) | ((hash[bit >> 3] >> (7 - (bit & 7))) & 1u);
	}
	return (long)v;
}

int hamt_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

long hamt_node_find(const struct hamt_node *n, uint32_t slot)
{
	size_t lo = 0, hi = n->nelem;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (n->elems[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n->nelem && n->elems[lo].slot == slot)
		return (long)lo;
	return -1;
}

struct hamt_node *hamt_node_ref(struct hamt_node *n)
{
	__atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
	return n;
}

void hamt_node_unref(struct hamt_node *n)
{
	if (n && __atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(n);
}

/* ---------------------------------------------------------------- decode */

static int popcount8(uint8_t b)
{
	return __builtin_popcount(b);
}

/* Bytes of an element's entries, to size the arena before copying. */
static int measure_bucket(const cbor_item_t *bucket, unsigned idx,
			  struct buf *scratch, size_t *bytes, size_t *nkv)
{
	if (!cbor_isa_array(bucket))
		return err_set(-EINVAL,
			       "HAMT node: data[%u] is neither a link nor a "
			       "bucket list",
			       idx);
	size_t n = cbor_array_size(bucket);
	if (n == 0)
		return err_set(-EINVAL,
			       "HAMT node: data[%u] is an empty bucket", idx);
	cbor_item_t **kv = cbor_array_handle(bucket);
	for (size_t i = 0; i < n; i++) {
		if (!cbor_isa_array(kv[i]) || cbor_array_size(kv[i]) != 2)
			return err_set(-EINVAL,
				       "HAMT node: data[%u][%zu] is not a "
				       "[key, value] pair",
				       idx, i);
		cbor_item_t **pair = cbor_array_handle(kv[i]);
		if (!cbor_isa_bytestring(pair[0]))
			return err_set(-EINVAL,
				       "HAMT node: data[%u][%zu] key is not "
				       "bytes",
				       idx, i);
		*bytes += cbor_bytestring_length(pair[0]);
		buf_reset(scratch);
		int rc = dagcbor_encode(pair[1], scratch);
		if (rc)
			return rc;
		*bytes += scratch->len;
	}
	*nkv += n;
	return 0;
}

int hamt_node_decode(const uint8_t *data, size_t len, int is_root,
		     struct hamt_node **out)
{
	cbor_item_t *top = NULL;
	struct buf scratch = {0};
	struct hamt_node *node = NULL;
	struct hamt_params params = {0};
	int rc = dagcbor_decode(data, len, &top);
	if (rc)
		goto out;
	const cbor_item_t *tuple = top;
	if (is_root) {
		if (!cbor_isa_map(top) || cbor_map_size(top) != 3) {
			rc = err_set(-EINVAL, "not a HAMT root: expected a map "
					      "{hamt, hashAlg, bucketSize}");
			goto out;
		}
		struct cbor_pair *pairs = cbor_map_handle(top);
		int have = 0;
		tuple = NULL;
		for (size_t i = 0; i < 3; i++) {
			const cbor_item_t *k = pairs[i].key;
			size_t kl = cbor_string_length(k);
			const char *ks = (const char *)cbor_string_handle(k);
			const cbor_item_t *v = pairs[i].value;
			if (kl == 4 && !memcmp(ks, "hamt", 4)) {
				tuple = v;
				have |= 1;
			} else if (kl == 7 && !memcmp(ks, "hashAlg", 7) &&
				   cbor_isa_uint(v)) {
				params.hash_alg = cbor_get_int(v);
				have |= 2;
			} else if (kl == 10 && !memcmp(ks, "bucketSize", 10) &&
				   cbor_isa_uint(v)) {
				uint64_t bs = cbor_get_int(v);
				if (bs < 1 || bs > HAMT_MAX_BUCKET_SIZE) {
					rc = err_set(
					    -EINVAL,
					    "HAMT root: bucketSize %llu "
					    "out of range 1..%u",
					    (unsigned long long)bs,
					    HAMT_MAX_BUCKET_SIZE);
					goto out;
				}
				params.bucket_size = (unsigned)bs;
				have |= 4;
			}
		}
		if (have != 7) {
			rc = err_set(-EINVAL, "not a HAMT root: expected keys "
					      "hamt, hashAlg (int), bucketSize "
					      "(int)");
			goto out;
		}
		if (params.hash_alg != MH_SHA2_256 &&
		    params.hash_alg != MH_MURMUR3_X64_64) {
			rc =
			    err_set(-ENOTSUP,
				    "HAMT root: unknown hashAlg 0x%llx (known: "
				    "0x12 sha2-256, 0x22 murmur3-x64-64)",
				    (unsigned long long)params.hash_alg);
			goto out;
		}
	}
	if (!cbor_isa_array(tuple) || cbor_array_size(tuple) != 2) {
		rc = err_set(-EINVAL, "HAMT node: expected a [map, data] pair");
		goto out;
	}
	cbor_item_t **md = cbor_array_handle(tuple);
	if (!cbor_isa_bytestring(md[0]) || !cbor_isa_array(md[1])) {
		rc = err_set(-EINVAL,
			     "HAMT node: expected [map bytes, data list]");
		goto out;
	}
	size_t maplen = cbor_bytestring_length(md[0]);
	const uint8_t *map = cbor_bytestring_handle(md[0]);
	if (maplen == 0 || (maplen & (maplen - 1)) != 0) {
		rc = err_set(-EINVAL,
			     "HAMT node: map length %zu is not a power of two",
			     maplen);
		goto out;
	}
	unsigned bw = (unsigned)__builtin_ctzll(maplen) + 3;
	if (bw < HAMT_MIN_BIT_WIDTH || bw > HAMT_MAX_BIT_WIDTH) {
		rc =
		    err_set(-EINVAL,
			    "HAMT node: map length %zu implies bitWidth %u "
			    "(supported %d..%d)",
			    maplen, bw, HAMT_MIN_BIT_WIDTH, HAMT_MAX_BIT_WIDTH);
		goto out;
	}
	size_t bits = 0;
	for (size_t i = 0; i < maplen; i++)
		bits += (size_t)popcount8(map[i]);
	size_t nelem = cbor_array_size(md[1]);
	if (bits != nelem) {
		rc = err_set(-EINVAL,
			     "HAMT node: map has %zu bits set but data has %zu "
			     "elements",
			     bits, nelem);
		goto out;
	}
	cbor_item_t **elems = cbor_array_handle(md[1]);
	size_t bytes = 0, nkv = 0;
	for (size_t i = 0; i < nelem; i++) {
		if (cbor_isa_tag(elems[i]))
			continue;
		rc = measure_bucket(elems[i], (unsigned)i, &scratch, &bytes,
				    &nkv);
		if (rc)
			goto out;
	}
	size_t mem = sizeof(*node) + nelem * sizeof(struct hamt_elem) +
		     nkv * sizeof(struct hamt_kv) + bytes;
	node = calloc(1, mem);
	if (!node) {
		rc = err_set(-ENOMEM, "HAMT node: out of memory");
		goto out;
	}
	node->bit_width = bw;
	node->nelem = (uint32_t)nelem;
	node->is_root = is_root;
	node->params = params;
	node->params.bit_width = bw;
	node->mem = mem;
	node->refs = 1;
	node->elems = (struct hamt_elem *)(node + 1);
	struct hamt_kv *kvs = (struct hamt_kv *)(node->elems + nelem);
	uint8_t *arena = (uint8_t *)(kvs + nkv);
	size_t ei = 0;
	for (uint32_t slot = 0; slot < (uint32_t)maplen * 8; slot++) {
		if (!((map[slot >> 3] >> (slot & 7)) & 1))
			continue;
		struct hamt_elem *e = &node->elems[ei];
		const cbor_item_t *it = elems[ei];
		e->slot = slot;
		if (cbor_isa_tag(it)) {
			rc = dagcbor_item_link(it, &e->link);
			if (rc < 0)
				goto out;
			if (rc == 0) {
				rc = err_set(-EINVAL,
					     "HAMT node: data[%zu] has a tag "
					     "that is not a link",
					     ei);
				goto out;
			}
			rc = 0;
			e->is_link = 1;
			ei++;
			continue;
		}
		size_t n = cbor_array_size(it);
		cbor_item_t **kv = cbor_array_handle(it);
		e->kvs = kvs;
		e->nkv = (uint32_t)n;
		for (size_t j = 0; j < n; j++) {
			cbor_item_t **pair = cbor_array_handle(kv[j]);
			size_t kl = cbor_bytestring_length(pair[0]);
			memcpy(arena, cbor_bytestring_handle(pair[0]), kl);
			kvs[j].key = arena;
			kvs[j].klen = kl;
			arena += kl;
			buf_reset(&scratch);
			rc = dagcbor_encode(pair[1], &scratch);
			if (rc)
				goto out;
			memcpy(arena, scratch.data, scratch.len);
			kvs[j].val = arena;
			kvs[j].vlen = scratch.len;
			arena += scratch.len;
			if (j > 0 &&
			    hamt_key_cmp(kvs[j - 1].key, kvs[j - 1].klen,
					 kvs[j].key, kvs[j].klen) >= 0) {
				rc = err_set(
				    -EINVAL,
				    "HAMT node: bucket data[%zu] is not "
				    "sorted by key (entry %zu)",
				    ei, j);
				goto out;
			}
		}
		kvs += n;
		ei++;
	}
	*out = node;
	node = NULL;
out:
	free(node);
	buf_free(&scratch);
	if (top)
		cbor_decref(&top);
	return rc;
}

/* ---------------------------------------------------------------- encode */

#define HEAD_MAX 9

static int put_head(struct buf *b,
		    size_t (*enc)(size_t, unsigned char *, size_t), size_t v)
{
	unsigned char tmp[HEAD_MAX];
	size_t n = enc(v, tmp, sizeof(tmp));
	return buf_append(b, tmp, n);
}

static int put_uint(struct buf *b, uint64_t v)
{
	unsigned char tmp[HEAD_MAX];
	size_t n = cbor_encode_uint(v, tmp, sizeof(tmp));
	return buf_append(b, tmp, n);
}

static int put_text(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	int rc = put_head(b, cbor_encode_string_start, n);
	return rc ? rc : buf_append(b, s, n);
}

void hamt_enc_init(struct hamt_enc *e, unsigned bit_width)
{
	memset(e->bitmap, 0, sizeof(e->bitmap));
	e->bit_width = bit_width;
	e->nelem = 0;
	e->body = (struct buf){0};
}

void hamt_enc_reset(struct hamt_enc *e)
{
	memset(e->bitmap, 0, ((size_t)1 << e->bit_width) / 8);
	e->nelem = 0;
	buf_reset(&e->body);
}

void hamt_enc_free(struct hamt_enc *e)
{
	buf_free(&e->body);
}

int hamt_enc_link(struct hamt_enc *e, uint32_t slot, const struct cid *c)
{
	e->bitmap[slot >> 3] |= (uint8_t)(1u << (slot & 7));
	e->nelem++;
	return hamt_value_encode_link(c, &e->body);
}

/* The head of a CBOR item of major type `mt` and argument v, shortest
 * form, at p (room for 9 bytes); returns its length. */
static size_t cbor_head(uint8_t *p, unsigned mt, uint64_t v)
{
	mt <<= 5;
	if (v < 24) {
		p[0] = (uint8_t)(mt | v);
		return 1;
	}
	if (v <= 0xff) {
		p[0] = (uint8_t)(mt | 24);
		p[1] = (uint8_t)v;
		return 2;
	}
	if (v <= 0xffff) {
		p[0] = (uint8_t)(mt | 25);
		p[1] = (uint8_t)(v >> 8);
		p[2] = (uint8_t)v;
		return 3;
	}
	if (v <= 0xffffffffu) {
		p[0] = (uint8_t)(mt | 26);
		for (int i = 0; i < 4; i++)
			p[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		return 5;
	}
	p[0] = (uint8_t)(mt | 27);
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(v >> (56 - 8 * i));
	return 9;
}

int hamt_enc_bucket(struct hamt_enc *e, uint32_t slot,
		    const struct hamt_kv *kvs, size_t n)
{
	/* [ [key-bytes, value] ... ]: sized first, then written in place */
	size_t need = HEAD_MAX;
	for (size_t i = 0; i < n; i++)
		need += 1 + HEAD_MAX + kvs[i].klen + kvs[i].vlen;
	int rc = buf_reserve(&e->body, need);
	if (rc)
		return rc;
	e->bitmap[slot >> 3] |= (uint8_t)(1u << (slot & 7));
	e->nelem++;
	uint8_t *p = e->body.data + e->body.len;
	p += cbor_head(p, 4, n); /* array */
	for (size_t i = 0; i < n; i++) {
		*p++ = 0x82;			   /* array of 2 */
		p += cbor_head(p, 2, kvs[i].klen); /* bytes */
		if (kvs[i].klen) /* an empty key may come with no pointer */
			memcpy(p, kvs[i].key, kvs[i].klen);
		p += kvs[i].klen;
		if (kvs[i].vlen)
			memcpy(p, kvs[i].val, kvs[i].vlen);
		p += kvs[i].vlen;
	}
	e->body.len = (size_t)(p - e->body.data);
	return 0;
}

int hamt_enc_finish(struct hamt_enc *e, const struct hamt_params *root,
		    struct buf *out)
{
	size_t maplen = ((size_t)1 << e->bit_width) / 8;
	int rc = 0;
	buf_reset(out);
	if (root) {
		/* keys in DAG-CBOR order: length first */
		rc = put_head(out, cbor_encode_map_start, 3);
		if (!rc)
			rc = put_text(out, "hamt");
	}
	if (!rc)
		rc = put_head(out, cbor_encode_array_start, 2);
	if (!rc)
		rc = put_head(out, cbor_encode_bytestring_start, maplen);
	if (!rc)
		rc = buf_append(out, e->bitmap, maplen);
	if (!rc)
		rc = put_head(out, cbor_encode_array_start, e->nelem);
	if (!rc)
		rc = buf_append(out, e->body.data, e->body.len);
	if (!rc && root) {
		rc = put_text(out, "hashAlg");
		if (!rc)
			rc = put_uint(out, root->hash_alg);
		if (!rc)
			rc = put_text(out, "bucketSize");
		if (!rc)
			rc = put_uint(out, root->bucket_size);
	}
	return rc;
}
