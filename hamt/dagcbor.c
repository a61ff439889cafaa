/* dagcbor.c - strict DAG-CBOR over libcbor.
 *
 * Decoding runs in two steps. First a byte-level scanner walks the input and
 * checks every DAG-CBOR rule (shortest heads, definite lengths, sorted and
 * unique text keys, 64-bit finite floats, false/true/null only, tag 42 only
 * and with a valid 0x00-prefixed CID, one item with no trailing bytes),
 * bounding nesting depth and checking each declared length against the bytes
 * that remain, so that hostile input is rejected with a precise offset before
 * libcbor allocates anything. Only then is cbor_load() asked to build items.
 *
 * Encoding writes heads with libcbor's cbor_encode_* functions, which always
 * choose the shortest form, and sorts map entries by their encoded key (for
 * text keys, bytewise order of the encoding is exactly "length first, then
 * bytewise").
 */
#include "dagcbor.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Deepest nesting of arrays, maps and tags accepted or produced. */
#define DAGCBOR_MAX_DEPTH 256

/* ---------------------------------------------------------------- scanner */

struct scan {
	const uint8_t *p;
	size_t len;
	size_t pos;
	/* Called for every link when non-NULL (only on validated input). */
	int (*cb)(void *payload, const struct cid *c);
	void *payload;
};

static uint64_t be_read(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static const char *major_name(unsigned major)
{
	static const char *const names[] = {"integer",	   "negative integer",
					    "byte string", "text string",
					    "array",	   "map",
					    "tag",	   "simple/float"};
	return names[major & 7];
}

/* Read an item head at s->pos (major types 0-6): the argument in `*val`.
 * Enforces shortest form and definite lengths. */
static int read_head(struct scan *s, unsigned *major, uint64_t *val)
{
	size_t at = s->pos;
	if (at >= s->len)
		return err_set(
		    -EINVAL, "invalid DAG-CBOR: truncated input at offset %zu",
		    at);
	uint8_t ib = s->p[at];
	unsigned mj = ib >> 5, ai = ib & 31;
	*major = mj;
	if (ai < 24) {
		*val = ai;
		s->pos = at + 1;
		return 0;
	}
	if (ai == 31) {
		if (mj == 7)
			return err_set(-EINVAL,
				       "invalid DAG-CBOR: unexpected break "
				       "at offset %zu",
				       at);
		if (mj >= 2 && mj <= 5)
			return err_set(-EINVAL,
				       "non-canonical DAG-CBOR: indefinite-"
				       "length %s at offset %zu",
				       major_name(mj), at);
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: reserved additional info 31 "
			       "for %s at offset %zu",
			       major_name(mj), at);
	}
	if (ai > 27)
		return err_set(
		    -EINVAL,
		    "invalid DAG-CBOR: reserved additional info %u at "
		    "offset %zu",
		    ai, at);
	unsigned n = 1u << (ai - 24);
	if (s->len - at - 1 < n)
		return err_set(
		    -EINVAL, "invalid DAG-CBOR: truncated input at offset %zu",
		    at);
	uint64_t v = be_read(s->p + at + 1, n);
	static const uint64_t min[4] = {24, 0x100, 0x10000, 0x100000000ull};
	if (v < min[ai - 24])
		return err_set(-EINVAL,
			       "non-canonical DAG-CBOR: %s head not in "
			       "shortest form at offset %zu",
			       major_name(mj), at);
	*val = v;
	s->pos = at + 1 + n;
	return 0;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, at most
 * U+10FFFF. libcbor refuses the same strings. Returns the offset of the
 * first bad byte, or n if all is well. */
static size_t utf8_check(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t k;
		uint8_t lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return i;
		if (n - i - 1 < k)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
		i += k + 1;
	}
	return n;
}

static int check_text(struct scan *s, size_t at, size_t n)
{
	size_t bad = utf8_check(s->p + s->pos, n);
	if (bad != n)
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: text string at offset %zu is "
			       "not valid UTF-8 (offset %zu)",
			       at, s->pos + bad);
	return 0;
}

static int check_link(struct scan *s, size_t tag_at, struct cid *c)
{
	size_t at = s->pos;
	unsigned mj;
	uint64_t n;
	int rc = read_head(s, &mj, &n);
	if (rc)
		return rc;
	if (mj != 2)
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: tag 42 at offset %zu holds a "
			       "%s, not a byte string",
			       tag_at, major_name(mj));
	if (n > s->len - s->pos)
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: byte string at offset %zu "
			       "declares %llu bytes, only %zu remain",
			       at, (unsigned long long)n, s->len - s->pos);
	const uint8_t *b = s->p + s->pos;
	if (n == 0 || b[0] != 0x00)
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: CID link at offset %zu lacks "
			       "the 0x00 multibase prefix",
			       tag_at);
	size_t used = 0;
	rc = cid_from_bytes(c, b + 1, (size_t)n - 1, &used);
	if (rc)
		return err_wrap(-EINVAL,
				"invalid DAG-CBOR: bad CID link at offset %zu",
				tag_at);
	if (used != (size_t)n - 1)
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: CID link at offset %zu has "
			       "%zu trailing bytes",
			       tag_at, (size_t)n - 1 - used);
	s->pos += (size_t)n;
	return 0;
}

static int scan_item(struct scan *s, int depth);

static int scan_simple(struct scan *s)
{
	size_t at = s->pos;
	unsigned ai = s->p[at] & 31;
	switch (ai) {
	case 20: /* false */
	case 21: /* true */
	case 22: /* null */
		s->pos = at + 1;
		return 0;
	case 23:
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: undefined at offset %zu", at);
	case 25:
	case 26:
		return err_set(-EINVAL,
			       "non-canonical DAG-CBOR: %s-bit float at offset "
			       "%zu (floats must be 64-bit)",
			       ai == 25 ? "16" : "32", at);
	case 27: {
		if (s->len - at - 1 < 8)
			return err_set(-EINVAL,
				       "invalid DAG-CBOR: truncated input at "
				       "offset %zu",
				       at);
		uint64_t bits = be_read(s->p + at + 1, 8);
		double d;
		memcpy(&d, &bits, sizeof(d));
		if (!isfinite(d))
			return err_set(-EINVAL,
				       "invalid DAG-CBOR: %s at offset %zu",
				       isnan(d) ? "NaN" : "infinity", at);
		s->pos = at + 9;
		return 0;
	}
	case 31:
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: unexpected break at offset "
			       "%zu",
			       at);
	default:
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: unsupported simple value at "
			       "offset %zu",
			       at);
	}
}

static int scan_map(struct scan *s, uint64_t n, size_t at, int depth)
{
	if (n > (s->len - s->pos) / 2)
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: map at offset %zu declares "
			       "%llu entries, only %zu bytes remain",
			       at, (unsigned long long)n, s->len - s->pos);
	const uint8_t *prev = NULL;
	size_t prev_len = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t kat = s->pos;
		unsigned mj;
		uint64_t kl;
		int rc = read_head(s, &mj, &kl);
		if (rc)
			return rc;
		if (mj != 3)
			return err_set(
			    -EINVAL,
			    "invalid DAG-CBOR: map key at offset %zu "
			    "is a %s, not a text string",
			    kat, major_name(mj));
		if (kl > s->len - s->pos)
			return err_set(
			    -EINVAL,
			    "invalid DAG-CBOR: text string at offset "
			    "%zu declares %llu bytes, only %zu "
			    "remain",
			    kat, (unsigned long long)kl, s->len - s->pos);
		const uint8_t *key = s->p + s->pos;
		size_t klen = (size_t)kl;
		rc = check_text(s, kat, klen);
		if (rc)
			return rc;
		if (prev) {
			int c = 0;
			if (klen != prev_len)
				c = klen < prev_len ? -1 : 1;
			else
				c = memcmp(key, prev, klen);
			if (c == 0)
				return err_set(
				    -EINVAL,
				    "invalid DAG-CBOR: duplicate map "
				    "key at offset %zu",
				    kat);
			if (c < 0)
				return err_set(
				    -EINVAL,
				    "non-canonical DAG-CBOR: map keys "
				    "out of order at offset %zu",
				    kat);
		}
		prev = key;
		prev_len = klen;
		s->pos += klen;
		rc = scan_item(s, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

static int scan_item(struct scan *s, int depth)
{
	size_t at = s->pos;
	if (at >= s->len)
		return err_set(
		    -EINVAL, "invalid DAG-CBOR: truncated input at offset %zu",
		    at);
	if (depth > DAGCBOR_MAX_DEPTH)
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: nesting deeper than %d at "
			       "offset %zu",
			       DAGCBOR_MAX_DEPTH, at);
	if ((s->p[at] >> 5) == 7)
		return scan_simple(s);
	unsigned mj;
	uint64_t n;
	int rc = read_head(s, &mj, &n);
	if (rc)
		return rc;
	switch (mj) {
	case 0:
	case 1:
		return 0;
	case 2:
	case 3:
		if (n > s->len - s->pos)
			return err_set(-EINVAL,
				       "invalid DAG-CBOR: %s at offset %zu "
				       "declares %llu bytes, only %zu remain",
				       major_name(mj), at,
				       (unsigned long long)n, s->len - s->pos);
		if (mj == 3 && (rc = check_text(s, at, (size_t)n)) != 0)
			return rc;
		s->pos += (size_t)n;
		return 0;
	case 4:
		if (n > s->len - s->pos)
			return err_set(-EINVAL,
				       "invalid DAG-CBOR: array at offset %zu "
				       "declares %llu items, only %zu bytes "
				       "remain",
				       at, (unsigned long long)n,
				       s->len - s->pos);
		for (uint64_t i = 0; i < n; i++) {
			rc = scan_item(s, depth + 1);
			if (rc)
				return rc;
		}
		return 0;
	case 5:
		return scan_map(s, n, at, depth);
	case 6: {
		if (n != 42)
			return err_set(
			    -EINVAL,
			    "invalid DAG-CBOR: tag %llu at offset %zu "
			    "(only tag 42 is allowed)",
			    (unsigned long long)n, at);
		struct cid c;
		rc = check_link(s, at, &c);
		if (rc)
			return rc;
		if (s->cb)
			return s->cb(s->payload, &c);
		return 0;
	}
	default:
		return err_set(-EINVAL, "invalid DAG-CBOR at offset %zu", at);
	}
}

static int scan_all(struct scan *s)
{
	if (s->len == 0)
		return err_set(-EINVAL, "invalid DAG-CBOR: empty input");
	int rc = scan_item(s, 0);
	if (rc)
		return rc;
	if (s->pos != s->len)
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: %zu trailing bytes at offset "
			       "%zu",
			       s->len - s->pos, s->pos);
	return 0;
}

int dagcbor_validate(const uint8_t *p, size_t len)
{
	struct scan s = {.p = p, .len = len};
	if (!p && len)
		return err_set(-EINVAL, "invalid DAG-CBOR: no input");
	return scan_all(&s);
}

int dagcbor_links(const uint8_t *p, size_t len,
		  int (*cb)(void *payload, const struct cid *c), void *payload)
{
	int rc = dagcbor_validate(p, len);
	if (rc)
		return rc;
	if (!cb)
		return 0;
	struct scan s = {.p = p, .len = len, .cb = cb, .payload = payload};
	return scan_all(&s);
}

int dagcbor_decode(const uint8_t *p, size_t len, cbor_item_t **out)
{
	*out = NULL;
	int rc = dagcbor_validate(p, len);
	if (rc)
		return rc;
	struct cbor_load_result res;
	cbor_item_t *item = cbor_load(p, len, &res);
	if (!item || res.error.code != CBOR_ERR_NONE) {
		if (item)
			cbor_decref(&item);
		if (res.error.code == CBOR_ERR_MEMERROR)
			return err_set(-ENOMEM, "DAG-CBOR: out of memory");
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: libcbor error %d at offset "
			       "%zu",
			       (int)res.error.code, res.error.position);
	}
	if (res.read != len) {
		cbor_decref(&item);
		return err_set(-EINVAL,
			       "invalid DAG-CBOR: trailing bytes at offset %zu",
			       res.read);
	}
	*out = item;
	return 0;
}

/* ---------------------------------------------------------------- links */

cbor_item_t *dagcbor_build_link(const struct cid *c)
{
	uint8_t b[1 + CID_MAX_BYTES];
	b[0] = 0x00;
	size_t n = cid_to_bytes(c, b + 1);
	cbor_item_t *bs = cbor_build_bytestring(b, n + 1);
	if (!bs)
		return NULL;
	cbor_item_t *tag = cbor_new_tag(42);
	if (!tag) {
		cbor_decref(&bs);
		return NULL;
	}
	cbor_tag_set_item(tag, bs);
	cbor_decref(&bs);
	return tag;
}

int dagcbor_item_link(const cbor_item_t *item, struct cid *out)
{
	if (!item || !cbor_isa_tag(item) || cbor_tag_value(item) != 42)
		return 0;
	/* Borrowed: cbor_tag_item() would add a reference (and crash on a
	 * tag whose item was never set). */
	const cbor_item_t *bs = item->metadata.tag_metadata.tagged_item;
	int rc = 0;
	if (!bs || !cbor_isa_bytestring(bs) || !cbor_bytestring_is_definite(bs))
		rc = err_set(-EINVAL, "invalid link: tag 42 does not hold a "
				      "definite byte string");
	else {
		size_t n = cbor_bytestring_length(bs);
		const uint8_t *b = cbor_bytestring_handle(bs);
		size_t used = 0;
		if (n == 0 || b[0] != 0x00)
			rc = err_set(-EINVAL, "invalid link: CID lacks the "
					      "0x00 multibase prefix");
		else if ((rc = cid_from_bytes(out, b + 1, n - 1, &used)) != 0)
			rc = err_wrap(-EINVAL, "invalid link");
		else if (used != n - 1)
			rc = err_set(-EINVAL,
				     "invalid link: %zu trailing bytes after "
				     "the CID",
				     n - 1 - used);
		else
			rc = 1;
	}
	return rc;
}

/* ---------------------------------------------------------------- encoder */

static int put_head(struct buf *out,
		    size_t (*enc)(uint64_t, unsigned char *, size_t),
		    uint64_t v)
{
	unsigned char h[9];
	size_t n = enc(v, h, sizeof(h));
	if (n == 0)
		return err_set(-EINVAL, "DAG-CBOR encode: head failed");
	return buf_append(out, h, n);
}

static size_t enc_uint(uint64_t v, unsigned char *b, size_t n)
{
	return cbor_encode_uint(v, b, n);
}
static size_t enc_negint(uint64_t v, unsigned char *b, size_t n)
{
	return cbor_encode_negint(v, b, n);
}
static size_t enc_bytes(uint64_t v, unsigned char *b, size_t n)
{
	return cbor_encode_bytestring_start((size_t)v, b, n);
}
static size_t enc_string(uint64_t v, unsigned char *b, size_t n)
{
	return cbor_encode_string_start((size_t)v, b, n);
}
static size_t enc_array(uint64_t v, unsigned char *b, size_t n)
{
	return cbor_encode_array_start((size_t)v, b, n);
}
static size_t enc_map(uint64_t v, unsigned char *b, size_t n)
{
	return cbor_encode_map_start((size_t)v, b, n);
}
static size_t enc_tag(uint64_t v, unsigned char *b, size_t n)
{
	return cbor_encode_tag(v, b, n);
}

/* Byte or text string (definite or chunked) as one definite string. */
static int encode_string(const cbor_item_t *item, int text, struct buf *out)
{
	int rc;
	if (text ? cbor_string_is_definite(item)
		 : cbor_bytestring_is_definite(item)) {
		size_t n = text ? cbor_string_length(item)
				: cbor_bytestring_length(item);
		const unsigned char *h = text ? cbor_string_handle(item)
					      : cbor_bytestring_handle(item);
		if (text && n && utf8_check(h, n) != n)
			return err_set(-EINVAL, "DAG-CBOR encode: text string "
						"is not valid UTF-8");
		rc = put_head(out, text ? enc_string : enc_bytes, n);
		if (rc == 0 && n)
			rc = buf_append(out, h, n);
		return rc;
	}
	size_t nc = text ? cbor_string_chunk_count(item)
			 : cbor_bytestring_chunk_count(item);
	cbor_item_t **ch = text ? cbor_string_chunks_handle(item)
				: cbor_bytestring_chunks_handle(item);
	size_t total = 0;
	for (size_t i = 0; i < nc; i++) {
		size_t l = text ? cbor_string_length(ch[i])
				: cbor_bytestring_length(ch[i]);
		if (l > SIZE_MAX - total)
			return err_set(-EINVAL, "DAG-CBOR encode: string too "
						"long");
		total += l;
	}
	rc = put_head(out, text ? enc_string : enc_bytes, total);
	size_t body = out->len;
	for (size_t i = 0; rc == 0 && i < nc; i++) {
		size_t l = text ? cbor_string_length(ch[i])
				: cbor_bytestring_length(ch[i]);
		const unsigned char *h = text ? cbor_string_handle(ch[i])
					      : cbor_bytestring_handle(ch[i]);
		if (l)
			rc = buf_append(out, h, l);
	}
	/* chunks may split a character: check the joined text */
	if (rc == 0 && text && utf8_check(out->data + body, total) != total)
		rc = err_set(-EINVAL, "DAG-CBOR encode: text string is not "
				      "valid UTF-8");
	return rc;
}

struct keyref {
	size_t off, len; /* encoded key in the scratch buffer */
	size_t idx;	 /* index of the pair in the map */
};

/* qsort() has no context argument; per thread, as encoders run in parallel. */
static _Thread_local const uint8_t *sort_base;

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(sort_base + x->off, sort_base + y->off, m);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static int encode_item(const cbor_item_t *item, struct buf *out, int depth);

static int encode_map(const cbor_item_t *item, struct buf *out, int depth)
{
	size_t n = cbor_map_size(item);
	struct cbor_pair *pairs = cbor_map_handle(item);
	int rc = put_head(out, enc_map, n);
	if (rc || n == 0)
		return rc;
	struct keyref *refs = calloc(n, sizeof(*refs));
	if (!refs)
		return err_set(-ENOMEM, "DAG-CBOR encode: out of memory");
	struct buf keys = {0};
	for (size_t i = 0; i < n; i++) {
		if (!pairs[i].key || !cbor_isa_string(pairs[i].key)) {
			rc = err_set(-EINVAL, "DAG-CBOR encode: map key is not "
					      "a text string");
			goto out;
		}
		refs[i].off = keys.len;
		refs[i].idx = i;
		rc = encode_string(pairs[i].key, 1, &keys);
		if (rc)
			goto out;
		refs[i].len = keys.len - refs[i].off;
	}
	/* Encoded text keys sort bytewise exactly as length-first order. */
	sort_base = keys.data;
	qsort(refs, n, sizeof(*refs), keyref_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && refs[i].len == refs[i - 1].len &&
		    !memcmp(keys.data + refs[i].off,
			    keys.data + refs[i - 1].off, refs[i].len)) {
			rc = err_set(-EINVAL, "DAG-CBOR encode: duplicate map "
					      "key");
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		rc = buf_append(out, keys.data + refs[i].off, refs[i].len);
		if (rc)
			goto out;
		rc = encode_item(pairs[refs[i].idx].value, out, depth + 1);
		if (rc)
			goto out;
	}
out:
	buf_free(&keys);
	free(refs);
	return rc;
}

static int encode_item(const cbor_item_t *item, struct buf *out, int depth)
{
	if (!item)
		return err_set(-EINVAL, "DAG-CBOR encode: missing item");
	if (depth > DAGCBOR_MAX_DEPTH)
		return err_set(-EINVAL,
			       "DAG-CBOR encode: nesting deeper than %d",
			       DAGCBOR_MAX_DEPTH);
	int rc;
	switch (cbor_typeof(item)) {
	case CBOR_TYPE_UINT:
		return put_head(out, enc_uint, cbor_get_int(item));
	case CBOR_TYPE_NEGINT:
		return put_head(out, enc_negint, cbor_get_int(item));
	case CBOR_TYPE_BYTESTRING:
		return encode_string(item, 0, out);
	case CBOR_TYPE_STRING:
		return encode_string(item, 1, out);
	case CBOR_TYPE_ARRAY: {
		size_t n = cbor_array_size(item);
		cbor_item_t **h = cbor_array_handle(item);
		rc = put_head(out, enc_array, n);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = encode_item(h[i], out, depth + 1);
		return rc;
	}
	case CBOR_TYPE_MAP:
		return encode_map(item, out, depth);
	case CBOR_TYPE_TAG: {
		if (cbor_tag_value(item) != 42)
			return err_set(
			    -EINVAL,
			    "DAG-CBOR encode: tag %llu (only tag 42 "
			    "is allowed)",
			    (unsigned long long)cbor_tag_value(item));
		struct cid c;
		rc = dagcbor_item_link(item, &c);
		if (rc < 0)
			return err_wrap(rc, "DAG-CBOR encode");
		uint8_t b[1 + CID_MAX_BYTES];
		b[0] = 0x00;
		size_t n = cid_to_bytes(&c, b + 1) + 1;
		rc = put_head(out, enc_tag, 42);
		if (rc == 0)
			rc = put_head(out, enc_bytes, n);
		if (rc == 0)
			rc = buf_append(out, b, n);
		return rc;
	}
	case CBOR_TYPE_FLOAT_CTRL: {
		if (cbor_float_ctrl_is_ctrl(item)) {
			uint8_t v = cbor_ctrl_value(item);
			if (v == CBOR_CTRL_FALSE || v == CBOR_CTRL_TRUE ||
			    v == CBOR_CTRL_NULL)
				return buf_putc(out, (uint8_t)(0xe0 | v));
			return err_set(-EINVAL,
				       "DAG-CBOR encode: simple value %u "
				       "(only false, true and null)",
				       (unsigned)v);
		}
		double d = cbor_float_get_float(item);
		if (!isfinite(d))
			return err_set(-EINVAL, "DAG-CBOR encode: %s",
				       isnan(d) ? "NaN" : "infinity");
		unsigned char h[9];
		size_t n = cbor_encode_double(d, h, sizeof(h));
		if (n != 9)
			return err_set(-EINVAL,
				       "DAG-CBOR encode: float failed");
		return buf_append(out, h, n);
	}
	default:
		return err_set(-EINVAL, "DAG-CBOR encode: unknown item type");
	}
}

int dagcbor_encode(const cbor_item_t *item, struct buf *out)
{
	size_t start = out->len;
	int rc = encode_item(item, out, 0);
	if (rc)
		out->len = start;
	return rc;
}
