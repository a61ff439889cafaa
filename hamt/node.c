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

/* Decoding walks the block with libcbor's streaming decoder, one item head
 * at a time, after dagcbor_validate() has checked every DAG-CBOR rule: no
 * item tree is built, and a bucket value is kept as the bytes it occupies
 * in the block (canonical already, so equal to its re-encoding). */

enum tok_kind {
	T_UINT,
	T_NEGINT,
	T_BYTES,
	T_TEXT,
	T_ARRAY,
	T_MAP,
	T_TAG,
	T_OTHER
};

struct tok {
	enum tok_kind kind;
	uint64_t val;	     /* integer, tag, array/map size */
	const uint8_t *data; /* bytes/text */
	size_t len;
};

static void cb_u8(void *c, uint8_t v)
{
	*(struct tok *)c = (struct tok){T_UINT, v, 0, 0};
}
static void cb_u16(void *c, uint16_t v)
{
	*(struct tok *)c = (struct tok){T_UINT, v, 0, 0};
}
static void cb_u32(void *c, uint32_t v)
{
	*(struct tok *)c = (struct tok){T_UINT, v, 0, 0};
}
static void cb_u64(void *c, uint64_t v)
{
	*(struct tok *)c = (struct tok){T_UINT, v, 0, 0};
}
static void cb_n8(void *c, uint8_t v)
{
	*(struct tok *)c = (struct tok){T_NEGINT, v, 0, 0};
}
static void cb_n16(void *c, uint16_t v)
{
	*(struct tok *)c = (struct tok){T_NEGINT, v, 0, 0};
}
static void cb_n32(void *c, uint32_t v)
{
	*(struct tok *)c = (struct tok){T_NEGINT, v, 0, 0};
}
static void cb_n64(void *c, uint64_t v)
{
	*(struct tok *)c = (struct tok){T_NEGINT, v, 0, 0};
}
static void cb_bytes(void *c, cbor_data d, size_t n)
{
	*(struct tok *)c = (struct tok){T_BYTES, 0, d, n};
}
static void cb_text(void *c, cbor_data d, size_t n)
{
	*(struct tok *)c = (struct tok){T_TEXT, 0, d, n};
}
static void cb_array(void *c, size_t n)
{
	*(struct tok *)c = (struct tok){T_ARRAY, n, 0, 0};
}
static void cb_map(void *c, size_t n)
{
	*(struct tok *)c = (struct tok){T_MAP, n, 0, 0};
}
static void cb_tag(void *c, uint64_t v)
{
	*(struct tok *)c = (struct tok){T_TAG, v, 0, 0};
}
static void cb_other(void *c)
{
	((struct tok *)c)->kind = T_OTHER;
}
static void cb_double(void *c, double v)
{
	(void)v;
	cb_other(c);
}
static void cb_float(void *c, float v)
{
	(void)v;
	cb_other(c);
}
static void cb_bool(void *c, bool v)
{
	(void)v;
	cb_other(c);
}

static struct cbor_callbacks tok_callbacks(void)
{
	struct cbor_callbacks cb = cbor_empty_callbacks;
	cb.uint8 = cb_u8;
	cb.uint16 = cb_u16;
	cb.uint32 = cb_u32;
	cb.uint64 = cb_u64;
	cb.negint8 = cb_n8;
	cb.negint16 = cb_n16;
	cb.negint32 = cb_n32;
	cb.negint64 = cb_n64;
	cb.byte_string = cb_bytes;
	cb.string = cb_text;
	cb.array_start = cb_array;
	cb.map_start = cb_map;
	cb.tag = cb_tag;
	cb.float2 = cb_float;
	cb.float4 = cb_float;
	cb.float8 = cb_double;
	cb.boolean = cb_bool;
	cb.null = cb_other;
	cb.undefined = cb_other;
	return cb;
}

struct reader {
	const uint8_t *p;
	size_t len, pos;
	struct cbor_callbacks cb;
};

/* The next item head (a whole string for bytes/text). The input is valid
 * DAG-CBOR, so a failure here is a bug or a truncated block. */
static int next_tok(struct reader *r, struct tok *t)
{
	if (r->pos >= r->len)
		return err_set(-EINVAL, "HAMT node: truncated");
	struct cbor_decoder_result res =
	    cbor_stream_decode(r->p + r->pos, r->len - r->pos, &r->cb, t);
	if (res.status != CBOR_DECODER_FINISHED || res.read == 0)
		return err_set(-EINVAL,
			       "HAMT node: undecodable CBOR at offset %zu",
			       r->pos);
	r->pos += res.read;
	return 0;
}

/* Skip one whole item (with everything nested in it). */
static int skip_item(struct reader *r)
{
	uint64_t pending = 1;
	while (pending) {
		struct tok t;
		int rc = next_tok(r, &t);
		if (rc)
			return rc;
		pending--;
		if (t.kind == T_ARRAY)
			pending += t.val;
		else if (t.kind == T_MAP)
			pending += 2 * t.val;
		else if (t.kind == T_TAG)
			pending += 1;
	}
	return 0;
}

/* Where the [map, data] tuple starts; root params from the root map. */
static int decode_root(struct reader *r, struct hamt_params *params,
		       size_t *tuple_at)
{
	struct tok t;
	int rc = next_tok(r, &t);
	if (rc)
		return rc;
	if (t.kind != T_MAP || t.val != 3)
		return err_set(-EINVAL, "not a HAMT root: expected a map "
					"{hamt, hashAlg, bucketSize}");
	int have = 0;
	for (int i = 0; i < 3; i++) {
		struct tok k, v;
		if ((rc = next_tok(r, &k)) != 0)
			return rc;
		size_t at = r->pos;
		if ((rc = next_tok(r, &v)) != 0)
			return rc;
		if (k.kind == T_TEXT && k.len == 4 &&
		    !memcmp(k.data, "hamt", 4)) {
			*tuple_at = at;
			have |= 1;
			r->pos = at;
			if ((rc = skip_item(r)) != 0)
				return rc;
			continue;
		}
		if (v.kind != T_UINT) {
			r->pos = at;
			if ((rc = skip_item(r)) != 0)
				return rc;
			continue;
		}
		if (k.len == 7 && !memcmp(k.data, "hashAlg", 7)) {
			params->hash_alg = v.val;
			have |= 2;
		} else if (k.len == 10 && !memcmp(k.data, "bucketSize", 10)) {
			if (v.val < 1 || v.val > HAMT_MAX_BUCKET_SIZE)
				return err_set(-EINVAL,
					       "HAMT root: bucketSize %llu "
					       "out of range 1..%u",
					       (unsigned long long)v.val,
					       HAMT_MAX_BUCKET_SIZE);
			params->bucket_size = (unsigned)v.val;
			have |= 4;
		}
	}
	if (have != 7)
		return err_set(-EINVAL, "not a HAMT root: expected keys "
					"hamt, hashAlg (int), bucketSize "
					"(int)");
	if (params->hash_alg != MH_SHA2_256 &&
	    params->hash_alg != MH_MURMUR3_X64_64)
		return err_set(-ENOTSUP,
			       "HAMT root: unknown hashAlg 0x%llx (known: "
			       "0x12 sha2-256, 0x22 murmur3-x64-64)",
			       (unsigned long long)params->hash_alg);
	return 0;
}

/* One pass over the data list: with `node` NULL, count entries and key and
 * value bytes; else fill node (arena sized by the counting pass). */
static int walk_data(struct reader *r, size_t nelem, const uint8_t *map,
		     size_t *nkv, size_t *bytes, struct hamt_node *node)
{
	struct hamt_kv *kvs = NULL;
	uint8_t *arena = NULL;
	if (node) {
		kvs = (struct hamt_kv *)(node->elems + nelem);
		arena = (uint8_t *)(kvs + *nkv);
	}
	uint32_t slot = 0;
	for (size_t ei = 0; ei < nelem; ei++) {
		struct tok t;
		int rc = next_tok(r, &t);
		if (rc)
			return rc;
		struct hamt_elem *e = NULL;
		if (node) {
			while (!((map[slot >> 3] >> (slot & 7)) & 1))
				slot++;
			e = &node->elems[ei];
			e->slot = slot++;
		}
		if (t.kind == T_TAG) {
			struct tok b;
			if ((rc = next_tok(r, &b)) != 0)
				return rc;
			if (t.val != 42 || b.kind != T_BYTES)
				return err_set(-EINVAL,
					       "HAMT node: data[%zu] has a tag "
					       "that is not a link",
					       ei);
			if (e) {
				size_t used;
				if (b.len < 1 || b.data[0] != 0 ||
				    cid_from_bytes(&e->link, b.data + 1,
						   b.len - 1, &used) < 0 ||
				    used != b.len - 1)
					return err_set(-EINVAL,
						       "HAMT node: data[%zu] "
						       "is a malformed link",
						       ei);
				e->is_link = 1;
			}
			continue;
		}
		if (t.kind != T_ARRAY)
			return err_set(-EINVAL,
				       "HAMT node: data[%zu] is neither a link "
				       "nor a bucket list",
				       ei);
		if (t.val == 0)
			return err_set(
			    -EINVAL, "HAMT node: data[%zu] is an empty bucket",
			    ei);
		if (e) {
			e->kvs = kvs;
			e->nkv = (uint32_t)t.val;
		}
		for (uint64_t j = 0; j < t.val; j++) {
			struct tok pair, key;
			if ((rc = next_tok(r, &pair)) != 0)
				return rc;
			if (pair.kind != T_ARRAY || pair.val != 2)
				return err_set(-EINVAL,
					       "HAMT node: data[%zu][%llu] is "
					       "not a [key, value] pair",
					       ei, (unsigned long long)j);
			if ((rc = next_tok(r, &key)) != 0)
				return rc;
			if (key.kind != T_BYTES)
				return err_set(-EINVAL,
					       "HAMT node: data[%zu][%llu] key "
					       "is not bytes",
					       ei, (unsigned long long)j);
			size_t vat = r->pos;
			if ((rc = skip_item(r)) != 0)
				return rc;
			size_t vlen = r->pos - vat;
			if (!node) {
				*bytes += key.len + vlen;
				continue;
			}
			memcpy(arena, key.data, key.len);
			kvs[j].key = arena;
			kvs[j].klen = key.len;
			arena += key.len;
			memcpy(arena, r->p + vat, vlen);
			kvs[j].val = arena;
			kvs[j].vlen = vlen;
			arena += vlen;
			if (j > 0 &&
			    hamt_key_cmp(kvs[j - 1].key, kvs[j - 1].klen,
					 kvs[j].key, kvs[j].klen) >= 0)
				return err_set(-EINVAL,
					       "HAMT node: bucket data[%zu] is "
					       "not sorted by key (entry %llu)",
					       ei, (unsigned long long)j);
		}
		if (node)
			kvs += t.val;
		else
			*nkv += t.val;
	}
	return 0;
}

int hamt_node_decode(const uint8_t *data, size_t len, int is_root,
		     struct hamt_node **out)
{
	struct hamt_node *node = NULL;
	struct hamt_params params = {0};
	struct reader r = {data, len, 0, tok_callbacks()};
	struct tok t, m, d;
	int rc = dagcbor_validate(data, len);
	size_t tuple_at = 0;
	if (!rc && is_root)
		rc = decode_root(&r, &params, &tuple_at);
	if (rc)
		return rc;
	r.pos = tuple_at;
	if ((rc = next_tok(&r, &t)) != 0)
		return rc;
	if (t.kind != T_ARRAY || t.val != 2)
		return err_set(-EINVAL,
			       "HAMT node: expected a [map, data] pair");
	if ((rc = next_tok(&r, &m)) != 0)
		return rc;
	size_t data_at = r.pos;
	if (m.kind == T_BYTES && (rc = next_tok(&r, &d)) != 0)
		return rc;
	if (m.kind != T_BYTES || d.kind != T_ARRAY)
		return err_set(-EINVAL,
			       "HAMT node: expected [map bytes, data list]");
	size_t maplen = m.len;
	const uint8_t *map = m.data;
	if (maplen == 0 || (maplen & (maplen - 1)) != 0)
		return err_set(
		    -EINVAL, "HAMT node: map length %zu is not a power of two",
		    maplen);
	unsigned bw = (unsigned)__builtin_ctzll(maplen) + 3;
	if (bw < HAMT_MIN_BIT_WIDTH || bw > HAMT_MAX_BIT_WIDTH)
		return err_set(-EINVAL,
			       "HAMT node: map length %zu implies bitWidth %u "
			       "(supported %d..%d)",
			       maplen, bw, HAMT_MIN_BIT_WIDTH,
			       HAMT_MAX_BIT_WIDTH);
	size_t bits = 0;
	for (size_t i = 0; i < maplen; i++)
		bits += (size_t)popcount8(map[i]);
	size_t nelem = d.val;
	if (bits != nelem)
		return err_set(
		    -EINVAL,
		    "HAMT node: map has %zu bits set but data has %zu "
		    "elements",
		    bits, nelem);
	size_t items_at = r.pos, nkv = 0, bytes = 0;
	(void)data_at;
	rc = walk_data(&r, nelem, map, &nkv, &bytes, NULL);
	if (rc)
		return rc;
	size_t mem = sizeof(*node) + nelem * sizeof(struct hamt_elem) +
		     nkv * sizeof(struct hamt_kv) + bytes;
	node = calloc(1, mem);
	if (!node)
		return err_set(-ENOMEM, "HAMT node: out of memory");
	node->bit_width = bw;
	node->nelem = (uint32_t)nelem;
	node->is_root = is_root;
	node->params = params;
	node->params.bit_width = bw;
	node->mem = mem;
	node->refs = 1;
	node->elems = (struct hamt_elem *)(node + 1);
	r.pos = items_at;
	rc = walk_data(&r, nelem, map, &nkv, &bytes, node);
	if (rc) {
		free(node);
		return rc;
	}
	*out = node;
	return 0;
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
	/* only the bytes a bitWidth uses (8 KiB at most, 32 at width 8) */
	memset(e->bitmap, 0, ((size_t)1 << bit_width) / 8);
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
