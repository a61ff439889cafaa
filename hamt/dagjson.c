/* dagjson.c - DAG-JSON output and plain-JSON input.
 *
 * Floats. The DAG-JSON spec (ipld.io, codecs/dag-json) says a number that is
 * an optional sign and digits only is an integer, one with a '.' or an
 * exponent a float. A float is printed as JavaScript's Number#toString
 * prints it (what the reference implementation, @ipld/dag-json, writes):
 * the shortest digits that read back to the same double, in plain decimal
 * for 1e-7 <= |x| < 1e21 and d.ddde+N otherwise ("1e-7", "-0.0000987",
 * "5e-324", "1.5e+300"); then ".0" when there is neither '.' nor 'e'
 * ("1.0", "1e+21" stays). Every output is valid JSON and round-trips
 * exactly.
 *
 * Duplicate keys in JSON input are rejected (JSON_REJECT_DUPLICATES) rather
 * than silently keeping the last one as JavaScript's JSON.parse does: a map
 * cannot hold both, and dropping data quietly is worse than a clear error.
 *
 * Numbers in JSON input: jansson gives integers (long long) for numbers
 * written without '.'/exponent, which become CBOR integers; integers outside
 * the int64 range are rejected by jansson ("too big integer"). Reals that are
 * integral and within +-2^53 become integers too, as in JavaScript, which
 * cannot tell 1.0 from 1; other reals become 64-bit floats.
 */
#include "dagjson.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "dagcbor.h"
#include "err.h"
#include "multibase.h"

#define DAGJSON_MAX_DEPTH 256

/* ---------------------------------------------------------------- output */

static int put_string(struct buf *out, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int rc = buf_putc(out, '"');
	size_t run = 0; /* start of the pending verbatim run */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint8_t c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		rc = buf_append(out, s + run, i - run);
		run = i + 1;
		if (rc)
			break;
		char esc[7] = {'\\', 0};
		size_t el = 2;
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
		}
		rc = buf_append(out, esc, el);
	}
	if (rc == 0)
		rc = buf_append(out, s + run, n - run);
	if (rc == 0)
		rc = buf_putc(out, '"');
	return rc;
}

/* A float as JavaScript's Number#toString writes it (what the reference
 * implementation prints): the shortest digits that read back exactly, laid
 * out in plain decimal when 1e-7 <= |x| < 1e21 and as d.ddde+N otherwise;
 * then ".0" if the text has neither '.' nor 'e', so it still reads as a
 * float. (NaN and infinities never reach here: DAG-CBOR refuses them.) */
static int put_float(struct buf *out, double d)
{
	char sci[40], digits[24];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec - 1, d);
		if (strtod(sci, NULL) == d)
			break;
	}
	/* sci is [-]D[.DDD]e[+-]X: take the digits and the exponent */
	const char *p = sci;
	int neg = *p == '-';
	p += neg;
	int k = 0;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && k < (int)sizeof(digits) - 1)
			digits[k++] = *p;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = 0;
	int n = (*p == 'e' ? atoi(p + 1) : 0) + 1; /* x = 0.DIGITS * 10^n */
	size_t start = out->len;
	int rc = 0;
	if (d == 0) {
		rc = buf_puts(out, "0"); /* JavaScript prints -0 as 0 too */
	} else {
		if (neg)
			rc = buf_putc(out, '-');
		if (rc) {
		} else if (k <= n && n <= 21) {
			rc = buf_puts(out, digits);
			for (int i = k; !rc && i < n; i++)
				rc = buf_putc(out, '0');
		} else if (0 < n && n <= 21) {
			rc = buf_append(out, digits, (size_t)n);
			if (!rc)
				rc = buf_printf(out, ".%s", digits + n);
		} else if (-6 < n && n <= 0) {
			rc = buf_puts(out, "0.");
			for (int i = 0; !rc && i < -n; i++)
				rc = buf_putc(out, '0');
			if (!rc)
				rc = buf_puts(out, digits);
		} else {
			rc = buf_putc(out, (uint8_t)digits[0]);
			if (!rc && k > 1)
				rc = buf_printf(out, ".%s", digits + 1);
			if (!rc)
				rc = buf_printf(out, "e%c%d",
						n - 1 < 0 ? '-' : '+',
						abs(n - 1));
		}
	}
	if (!rc && !memchr(out->data + start, '.', out->len - start) &&
	    !memchr(out->data + start, 'e', out->len - start))
		rc = buf_puts(out, ".0");
	return rc;
}

struct jkey {
	const uint8_t *s;
	size_t len;
	size_t idx;
};

static int jkey_cmp(const void *a, const void *b)
{
	const struct jkey *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = m ? memcmp(x->s, y->s, m) : 0;
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static int render(const cbor_item_t *it, struct buf *out, int depth);

static int render_map(const cbor_item_t *it, struct buf *out, int depth)
{
	size_t n = cbor_map_size(it);
	struct cbor_pair *pairs = cbor_map_handle(it);
	if (n == 0)
		return buf_puts(out, "{}");
	struct jkey *keys = calloc(n, sizeof(*keys));
	if (!keys)
		return err_set(-ENOMEM, "DAG-JSON: out of memory");
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		/* dagcbor_decode() guarantees definite text keys. */
		keys[i].s = cbor_string_handle(pairs[i].key);
		keys[i].len = cbor_string_length(pairs[i].key);
		keys[i].idx = i;
	}
	qsort(keys, n, sizeof(*keys), jkey_cmp);
	rc = buf_putc(out, '{');
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_putc(out, ',');
		if (rc == 0)
			rc = put_string(out, keys[i].s, keys[i].len);
		if (rc == 0)
			rc = buf_putc(out, ':');
		if (rc == 0)
			rc = render(pairs[keys[i].idx].value, out, depth + 1);
	}
	if (rc == 0)
		rc = buf_putc(out, '}');
	free(keys);
	return rc;
}

static int render(const cbor_item_t *it, struct buf *out, int depth)
{
	if (depth > DAGJSON_MAX_DEPTH)
		return err_set(-EINVAL, "DAG-JSON: nesting deeper than %d",
			       DAGJSON_MAX_DEPTH);
	int rc;
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
		return buf_printf(out, "%" PRIu64, cbor_get_int(it));
	case CBOR_TYPE_NEGINT: {
		uint64_t v = cbor_get_int(it);
		if (v == UINT64_MAX)
			return buf_puts(out, "-18446744073709551616");
		return buf_printf(out, "-%" PRIu64, v + 1);
	}
	case CBOR_TYPE_BYTESTRING: {
		size_t n = cbor_bytestring_length(it);
		size_t cap = base64_encoded_len(n) + 1;
		char *t = malloc(cap);
		if (!t)
			return err_set(-ENOMEM, "DAG-JSON: out of memory");
		rc = base64_encode(cbor_bytestring_handle(it), n, t, cap);
		if (rc == 0)
			rc = buf_puts(out, "{\"/\":{\"bytes\":\"");
		if (rc == 0)
			rc = buf_puts(out, t);
		if (rc == 0)
			rc = buf_puts(out, "\"}}");
		free(t);
		return rc;
	}
	case CBOR_TYPE_STRING:
		return put_string(out, cbor_string_handle(it),
				  cbor_string_length(it));
	case CBOR_TYPE_ARRAY: {
		size_t n = cbor_array_size(it);
		cbor_item_t **h = cbor_array_handle(it);
		rc = buf_putc(out, '[');
		for (size_t i = 0; rc == 0 && i < n; i++) {
			if (i)
				rc = buf_putc(out, ',');
			if (rc == 0)
				rc = render(h[i], out, depth + 1);
		}
		if (rc == 0)
			rc = buf_putc(out, ']');
		return rc;
	}
	case CBOR_TYPE_MAP:
		return render_map(it, out, depth);
	case CBOR_TYPE_TAG: {
		struct cid c;
		rc = dagcbor_item_link(it, &c);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return err_set(-EINVAL, "DAG-JSON: unsupported tag");
		char t[CID_MAX_TEXT];
		cid_format(&c, t);
		rc = buf_puts(out, "{\"/\":\"");
		if (rc == 0)
			rc = buf_puts(out, t);
		if (rc == 0)
			rc = buf_puts(out, "\"}");
		return rc;
	}
	case CBOR_TYPE_FLOAT_CTRL:
		if (cbor_float_ctrl_is_ctrl(it)) {
			switch (cbor_ctrl_value(it)) {
			case CBOR_CTRL_FALSE:
				return buf_puts(out, "false");
			case CBOR_CTRL_TRUE:
				return buf_puts(out, "true");
			case CBOR_CTRL_NULL:
				return buf_puts(out, "null");
			default:
				return err_set(-EINVAL,
					       "DAG-JSON: unsupported simple "
					       "value");
			}
		}
		if (!isfinite(cbor_float_get_float(it)))
			return err_set(-EINVAL, "DAG-JSON: NaN or infinity");
		return put_float(out, cbor_float_get_float(it));
	default:
		return err_set(-EINVAL, "DAG-JSON: unknown item type");
	}
}

int dagjson_from_dagcbor(const uint8_t *cbor, size_t len, struct buf *out)
{
	cbor_item_t *it = NULL;
	int rc = dagcbor_decode(cbor, len, &it);
	if (rc)
		return rc;
	size_t start = out->len;
	rc = render(it, out, 0);
	if (rc)
		out->len = start;
	cbor_decref(&it);
	return rc;
}

/* ---------------------------------------------------------------- input */

static int check_head(size_t n)
{
	return n ? 0 : err_set(-EINVAL, "DAG-CBOR encode: head failed");
}

static int head(struct buf *out, size_t (*enc)(size_t, unsigned char *, size_t),
		size_t v)
{
	unsigned char h[9];
	size_t n = enc(v, h, sizeof(h));
	int rc = check_head(n);
	return rc ? rc : buf_append(out, h, n);
}

static int put_int(struct buf *out, long long v)
{
	unsigned char h[9];
	size_t n;
	if (v >= 0)
		n = cbor_encode_uint((uint64_t)v, h, sizeof(h));
	else
		n = cbor_encode_negint((uint64_t)(-(v + 1)), h, sizeof(h));
	int rc = check_head(n);
	return rc ? rc : buf_append(out, h, n);
}

struct okey {
	const char *s;
	size_t len;
	json_t *val;
};

/* DAG-CBOR order: length first, then bytewise. */
static int okey_cmp(const void *a, const void *b)
{
	const struct okey *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->len ? memcmp(x->s, y->s, x->len) : 0;
}

static int json_enc(json_t *j, struct buf *out, int depth)
{
	if (depth > DAGJSON_MAX_DEPTH)
		return err_set(-EINVAL, "JSON: nesting deeper than %d",
			       DAGJSON_MAX_DEPTH);
	int rc;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(j);
		rc = head(out, cbor_encode_map_start, n);
		if (rc || n == 0)
			return rc;
		struct okey *keys = calloc(n, sizeof(*keys));
		if (!keys)
			return err_set(-ENOMEM, "JSON: out of memory");
		size_t i = 0;
		for (void *it = json_object_iter(j); it && i < n;
		     it = json_object_iter_next(j, it), i++) {
			keys[i].s = json_object_iter_key(it);
			keys[i].len = json_object_iter_key_len(it);
			keys[i].val = json_object_iter_value(it);
		}
		qsort(keys, i, sizeof(*keys), okey_cmp);
		for (size_t k = 0; rc == 0 && k < i; k++) {
			rc = head(out, cbor_encode_string_start, keys[k].len);
			if (rc == 0)
				rc = buf_append(out, keys[k].s, keys[k].len);
			if (rc == 0)
				rc = json_enc(keys[k].val, out, depth + 1);
		}
		free(keys);
		return rc;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		rc = head(out, cbor_encode_array_start, n);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = json_enc(json_array_get(j, i), out, depth + 1);
		return rc;
	}
	case JSON_STRING: {
		size_t n = json_string_length(j);
		rc = head(out, cbor_encode_string_start, n);
		if (rc == 0)
			rc = buf_append(out, json_string_value(j), n);
		return rc;
	}
	case JSON_INTEGER:
		return put_int(out, (long long)json_integer_value(j));
	case JSON_REAL: {
		double d = json_real_value(j);
		if (!isfinite(d))
			return err_set(-EINVAL, "JSON: NaN or infinity");
		if (d == floor(d) && fabs(d) <= 9007199254740992.0)
			return put_int(out, (long long)d);
		unsigned char h[9];
		size_t n = cbor_encode_double(d, h, sizeof(h));
		rc = check_head(n);
		return rc ? rc : buf_append(out, h, n);
	}
	case JSON_TRUE:
		return buf_putc(out, 0xf5);
	case JSON_FALSE:
		return buf_putc(out, 0xf4);
	case JSON_NULL:
		return buf_putc(out, 0xf6);
	default:
		return err_set(-EINVAL, "JSON: unknown value type");
	}
}

int dagjson_json_to_dagcbor(const char *json, size_t len, struct buf *out)
{
	json_error_t jerr;
	json_t *j = json_loadb(
	    json, len,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!j)
		return err_set(-EINVAL, "JSON: %s at line %d column %d",
			       jerr.text, jerr.line, jerr.column);
	size_t start = out->len;
	int rc = json_enc(j, out, 0);
	if (rc)
		out->len = start;
	json_decref(j);
	return rc;
}
