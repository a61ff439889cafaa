/* input.c - a line of any format -> one record and its keys. */
#include "tools/input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/cid.h"
#include "hamt/dagjson.h"
#include "hamt/err.h"
#include "tools/json_scan.h"
#include "tools/parse_jsonl.h"
#include "tools/parse_ol.h"
#include "tools/parse_tsv.h"

int input_has_bom(const char *line, size_t len)
{
	return len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0;
}

int input_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		/* ASCII runs 8 bytes at a time */
		while (i + 8 <= n) {
			uint64_t x;
			memcpy(&x, p + i, 8);
			if (x & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i >= n)
			break;
		uint8_t c = p[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

/* Keys are appended to s->keys; their ends are found from a count kept in
 * the offsets array. */
struct keyctx {
	struct input_scratch *s;
	size_t n;
};

static int key_cb(void *payload, const uint8_t *key, size_t klen)
{
	struct keyctx *k = payload;
	struct input_scratch *s = k->s;
	if (k->n + 2 > s->kcap) {
		size_t cap = s->kcap ? s->kcap * 2 : 16;
		size_t *v = realloc(s->koff, cap * sizeof(*v));
		if (!v)
			return err_set(-ENOMEM, "out of memory");
		s->koff = v;
		s->kcap = cap;
	}
	int rc = buf_append(&s->keys, key, klen);
	if (rc)
		return rc;
	s->koff[++k->n] = s->keys.len;
	return 0;
}

/* Turn the collected key offsets into input_keys. */
static int keys_finish(struct input_scratch *s, size_t n, struct input_rec *out)
{
	if (n > s->kvcap) {
		struct input_key *v = realloc(s->kv, n * sizeof(*v));
		if (!v)
			return err_set(-ENOMEM, "out of memory");
		s->kv = v;
		s->kvcap = n;
	}
	for (size_t i = 0; i < n; i++)
		s->kv[i] = (struct input_key){s->keys.data + s->koff[i],
					      s->koff[i + 1] - s->koff[i]};
	out->keys = s->kv;
	out->nkeys = n;
	return 0;
}

/* The keys of a member value (absent: none). */
static int member_keys(struct input_scratch *s, struct json_span m,
		       struct input_rec *out)
{
	struct keyctx k = {s, 0};
	buf_reset(&s->keys);
	/* never a NULL base, even when every key is empty */
	if (buf_reserve(&s->keys, 1))
		return err_set(-ENOMEM, "out of memory");
	if (!s->kcap) {
		s->koff = malloc(16 * sizeof(*s->koff));
		if (!s->koff)
			return err_set(-ENOMEM, "out of memory");
		s->kcap = 16;
	}
	s->koff[0] = 0;
	int rc = json_scan_keys(m, &s->tmp, key_cb, &k, &out->ignored);
	return rc ? rc : keys_finish(s, k.n, out);
}

/* One key that lives in the line. */
static int line_key(struct input_scratch *s, const char *p, size_t n,
		    struct input_rec *out)
{
	if (!s->kvcap) {
		s->kv = malloc(4 * sizeof(*s->kv));
		if (!s->kv)
			return err_set(-ENOMEM, "out of memory");
		s->kvcap = 4;
	}
	s->kv[0] = (struct input_key){(const uint8_t *)p, n};
	out->keys = s->kv;
	out->nkeys = 1;
	return 0;
}

/* The record bytes: the text itself, or its DAG-CBOR. */
static int record(const struct input_opts *o, struct input_scratch *s,
		  const char *p, size_t n, struct input_rec *out)
{
	if (o->codec == CODEC_RAW) {
		out->data = (const uint8_t *)p;
		out->len = n;
		return 0;
	}
	buf_reset(&s->rec);
	int rc = dagjson_json_to_dagcbor(p, n, &s->rec);
	if (rc)
		return rc;
	out->data = s->rec.data;
	out->len = s->rec.len;
	return 0;
}

int input_parse_line(const struct input_opts *o, const char *line, size_t len,
		     struct input_scratch *s, struct input_rec *out)
{
	int rc;
	memset(out, 0, sizeof(*out));
	switch (o->format) {
	case INPUT_TSV: {
		struct tsv_line t;
		if ((rc = parse_tsv_line(line, len, &t)) != 0)
			return rc;
		if ((rc = record(o, s, t.val, t.vlen, out)) != 0)
			return err_wrap(rc, "value");
		return line_key(s, t.key, t.klen, out);
	}
	case INPUT_JSONL: {
		if (!o->key_field) {
			buf_reset(&s->tmp);
			buf_reset(&s->rec);
			if ((rc = parse_jsonl_line(line, len, &s->tmp,
						   &s->rec)) != 0)
				return rc;
			out->data = s->rec.data;
			out->len = s->rec.len;
			return line_key(
			    s, s->tmp.data ? (const char *)s->tmp.data : "",
			    s->tmp.len, out);
		}
		struct json_span m;
		if ((rc = parse_jsonl_record(line, len, o->key_field,
					     o->key_field_len, &m)) != 0)
			return rc;
		if ((rc = record(o, s, line, len, out)) != 0)
			return rc;
		return member_keys(s, m, out);
	}
	case INPUT_OL: {
		struct ol_line l;
		if ((rc = parse_ol_line(line, len, o->key_field,
					o->key_field_len, &l)) != 0)
			return rc;
		if ((rc = record(o, s, l.json.p, l.json.len, out)) != 0)
			return err_wrap(rc, "column 5 (JSON record)");
		if (!o->key_field)
			return line_key(s, l.key.p, l.key.len, out);
		return member_keys(s, l.member, out);
	}
	}
	return err_set(-EINVAL, "unknown input format");
}

void input_scratch_free(struct input_scratch *s)
{
	buf_free(&s->rec);
	buf_free(&s->keys);
	buf_free(&s->tmp);
	free(s->koff);
	free(s->kv);
	memset(s, 0, sizeof(*s));
}
