/* json_scan.c - strict JSON checking without building anything.
 *
 * A recursive descent over the bytes; nesting is bounded by
 * JSON_SCAN_MAX_DEPTH, so the recursion is too. Strings, the bulk of a
 * record, are skipped 8 bytes at a time while no byte is a quote, a
 * backslash, a control character or non-ASCII (SWAR tests on a 64-bit
 * word); those bytes are then handled one at a time.
 */
#include "tools/json_scan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hamt/err.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct scan {
	const uint8_t *p;
	size_t n;
	size_t i;
	unsigned depth;
	const char *field; /* top-level member to find, or NULL */
	size_t flen;
	struct json_span *member;
};

static int fail(const struct scan *s, const char *what)
{
	return err_set(-EINVAL, "JSON: %s at byte %zu", what, s->i);
}

static int fail_char(const struct scan *s, const char *what)
{
	if (s->i >= s->n)
		return err_set(-EINVAL,
			       "JSON: unexpected end of text at byte "
			       "%zu",
			       s->i);
	uint8_t c = s->p[s->i];
	if (c >= 0x21 && c < 0x7f)
		return err_set(-EINVAL, "JSON: %s, found '%c' at byte %zu",
			       what, c, s->i);
	return err_set(-EINVAL, "JSON: %s, found byte 0x%02x at byte %zu", what,
		       c, s->i);
}

static inline void skip_ws(struct scan *s)
{
	if (s->i < s->n && s->p[s->i] > ' ')
		return; /* the usual case: no whitespace */
	while (s->i < s->n) {
		uint8_t c = s->p[s->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		s->i++;
	}
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Non-zero if some byte of x is zero. */
static inline uint64_t has_zero(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

/* Non-zero if some byte of x needs a closer look inside a string. */
static inline uint64_t special(uint64_t x)
{
	return has_zero(x ^ (ONES * '"')) | has_zero(x ^ (ONES * '\\')) |
	       ((x - ONES * 0x20) & ~x & HIGHS) | (x & HIGHS);
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p (n bytes available): the value, or -1. */
static long hex4(const uint8_t *p, size_t n)
{
	if (n < 4)
		return -1;
	long v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(p[k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* A UTF-8 sequence starting at p[0] (>= 0x80), n bytes available: its
 * length, or 0 if it is not valid (overlong, surrogate, > U+10FFFF,
 * truncated). */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	if (c >= 0xC2 && c <= 0xDF) {
		return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	} else if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && p[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	} else if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xF4 && p[1] >= 0x90)
			return 0; /* over U+10FFFF */
		return 4;
	}
	return 0;
}

/* A string token at s->i (the opening quote). `*escaped` (may be NULL)
 * tells whether it has any escape. */
static int scan_string(struct scan *s, int *escaped)
{
	const uint8_t *p = s->p;
	size_t n = s->n, i = s->i + 1;
	int esc = 0;
	for (;;) {
#ifdef __SSE2__
		/* 16 bytes at a time: find the first quote, backslash,
		 * control byte or non-ASCII byte (signed < 0x20 covers both
		 * of the last) */
		const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
		const __m128i sp = _mm_set1_epi8(0x20);
		while (i + 16 <= n) {
			__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
			__m128i m =
			    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q),
						      _mm_cmpeq_epi8(v, bs)),
					 _mm_cmplt_epi8(v, sp));
			unsigned mask = (unsigned)_mm_movemask_epi8(m);
			if (mask) {
				i += (size_t)__builtin_ctz(mask);
				break;
			}
			i += 16;
		}
#endif
		while (i + 8 <= n) {
			uint64_t x;
			memcpy(&x, p + i, 8);
			if (special(x))
				break;
			i += 8;
		}
		if (i >= n) {
			s->i = i;
			return fail(s, "unterminated string");
		}
		uint8_t c = p[i];
		if (c == '"') {
			s->i = i + 1;
			if (escaped)
				*escaped = esc;
			return 0;
		}
		if (c == '\\') {
			esc = 1;
			if (i + 1 >= n) {
				s->i = i;
				return fail(s, "unterminated string");
			}
			uint8_t e = p[i + 1];
			if (e == 'u') {
				long u = hex4(p + i + 2, n - i - 2);
				if (u < 0) {
					s->i = i;
					return fail(s, "bad \\u escape");
				}
				if (u >= 0xDC00 && u <= 0xDFFF) {
					s->i = i;
					return fail(s, "lone low surrogate "
						       "escape");
				}
				if (u >= 0xD800 && u <= 0xDBFF) {
					long lo = -1;
					if (i + 7 < n && p[i + 6] == '\\' &&
					    p[i + 7] == 'u')
						lo = hex4(p + i + 8, n - i - 8);
					if (lo < 0xDC00 || lo > 0xDFFF) {
						s->i = i;
						return fail(s, "high surrogate "
							       "escape without "
							       "a low one");
					}
					i += 12;
				} else {
					i += 6;
				}
			} else if (e == '"' || e == '\\' || e == '/' ||
				   e == 'b' || e == 'f' || e == 'n' ||
				   e == 'r' || e == 't') {
				i += 2;
			} else {
				s->i = i;
				return fail(s, "bad escape");
			}
			continue;
		}
		if (c < 0x20) {
			s->i = i;
			return fail(s, "control character in string");
		}
		if (c >= 0x80) {
			size_t k = utf8_seq(p + i, n - i);
			if (!k) {
				s->i = i;
				return fail(s, "invalid UTF-8 in string");
			}
			i += k;
			continue;
		}
		i++; /* an ordinary byte just before a special one */
	}
}

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int scan_number(struct scan *s)
{
	const uint8_t *p = s->p;
	size_t n = s->n, i = s->i;
	if (i < n && p[i] == '-')
		i++;
	if (i >= n || !is_digit(p[i])) {
		s->i = i;
		return fail_char(s, "expected a digit");
	}
	if (p[i] == '0')
		i++;
	else
		while (i < n && is_digit(p[i]))
			i++;
	if (i < n && p[i] == '.') {
		i++;
		if (i >= n || !is_digit(p[i])) {
			s->i = i;
			return fail_char(s, "expected a digit after '.'");
		}
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || !is_digit(p[i])) {
			s->i = i;
			return fail_char(s, "expected a digit in the exponent");
		}
		while (i < n && is_digit(p[i]))
			i++;
	}
	s->i = i;
	return 0;
}

static int scan_literal(struct scan *s, const char *lit, size_t len)
{
	if (s->n - s->i < len || memcmp(s->p + s->i, lit, len) != 0)
		return fail_char(s, "expected a value");
	s->i += len;
	return 0;
}

/* Does the name token p[0..n) (with quotes) unescape to field? */
static int name_is(const char *tok, size_t n, int escaped, const char *field,
		   size_t flen)
{
	if (!escaped)
		return n - 2 == flen && memcmp(tok + 1, field, flen) == 0;
	struct buf b = {0};
	int eq = 0;
	if (json_scan_unescape(tok, n, &b) == 0)
		eq = b.len == flen && memcmp(b.data, field, flen) == 0;
	buf_free(&b);
	return eq;
}

static int scan_value(struct scan *s);

static int scan_object(struct scan *s)
{
	int top = s->depth == 0 && s->field;
	if (++s->depth > JSON_SCAN_MAX_DEPTH)
		return fail(s, "nesting too deep");
	s->i++; /* '{' */
	skip_ws(s);
	if (s->i < s->n && s->p[s->i] == '}') {
		s->i++;
		s->depth--;
		return 0;
	}
	for (;;) {
		if (s->i >= s->n || s->p[s->i] != '"')
			return fail_char(s, "expected a member name");
		size_t name_at = s->i;
		int escaped = 0;
		int rc = scan_string(s, &escaped);
		if (rc)
			return rc;
		size_t name_len = s->i - name_at;
		skip_ws(s);
		if (s->i >= s->n || s->p[s->i] != ':')
			return fail_char(s, "expected ':'");
		s->i++;
		skip_ws(s);
		size_t at = s->i;
		if ((rc = scan_value(s)) != 0)
			return rc;
		if (top && name_is((const char *)s->p + name_at, name_len,
				   escaped, s->field, s->flen)) {
			if (s->member->p) {
				s->i = name_at;
				return fail(s, "the key field appears twice");
			}
			s->member->p = (const char *)s->p + at;
			s->member->len = s->i - at;
		}
		skip_ws(s);
		if (s->i < s->n && s->p[s->i] == ',') {
			s->i++;
			skip_ws(s);
			continue;
		}
		if (s->i < s->n && s->p[s->i] == '}') {
			s->i++;
			s->depth--;
			return 0;
		}
		return fail_char(s, "expected ',' or '}'");
	}
}

static int scan_array(struct scan *s)
{
	if (++s->depth > JSON_SCAN_MAX_DEPTH)
		return fail(s, "nesting too deep");
	s->i++; /* '[' */
	skip_ws(s);
	if (s->i < s->n && s->p[s->i] == ']') {
		s->i++;
		s->depth--;
		return 0;
	}
	for (;;) {
		int rc = scan_value(s);
		if (rc)
			return rc;
		skip_ws(s);
		if (s->i < s->n && s->p[s->i] == ',') {
			s->i++;
			skip_ws(s);
			continue;
		}
		if (s->i < s->n && s->p[s->i] == ']') {
			s->i++;
			s->depth--;
			return 0;
		}
		return fail_char(s, "expected ',' or ']'");
	}
}

static int scan_value(struct scan *s)
{
	if (s->i >= s->n)
		return fail(s, "unexpected end of text");
	switch (s->p[s->i]) {
	case '{':
		return scan_object(s);
	case '[':
		return scan_array(s);
	case '"':
		return scan_string(s, NULL);
	case 't':
		return scan_literal(s, "true", 4);
	case 'f':
		return scan_literal(s, "false", 5);
	case 'n':
		return scan_literal(s, "null", 4);
	default:
		if (s->p[s->i] == '-' || is_digit(s->p[s->i]))
			return scan_number(s);
		return fail_char(s, "expected a value");
	}
}

/* ------------------------------------------------- the fast checker */

/* An error at offset i of the text: "what" or "what, found X". */
static int fail_at(const uint8_t *base, size_t n, size_t i, const char *what,
		   int found)
{
	struct scan s = {base, n, i, 0, NULL, 0, NULL};
	return found ? fail_char(&s, what) : fail(&s, what);
}

/* The rest of a string token from p (just after its opening quote): the
 * position after the closing quote, or NULL with *err and *at set.
 * `*escaped` is set if it has an escape. */
static inline const uint8_t *str_end(const uint8_t *p, const uint8_t *end,
				     int *escaped, const char **err,
				     const uint8_t **at)
{
	for (;;) {
#ifdef __SSE2__
		const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
		const __m128i sp = _mm_set1_epi8(0x20);
		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)p);
			__m128i m =
			    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q),
						      _mm_cmpeq_epi8(v, bs)),
					 _mm_cmplt_epi8(v, sp));
			unsigned mask = (unsigned)_mm_movemask_epi8(m);
			if (mask) {
				p += __builtin_ctz(mask);
				goto special;
			}
			p += 16;
		}
#endif
		if (p >= end) {
			*err = "unterminated string";
			*at = p;
			return NULL;
		}
		if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
			p++;
			continue;
		}
#ifdef __SSE2__
	special:
#endif
		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			*escaped = 1;
			size_t left = (size_t)(end - p);
			uint8_t e = left > 1 ? p[1] : 0;
			if (e == 'u') {
				long u = hex4(p + 2, left - 2);
				if (u < 0) {
					*err = "bad \\u escape";
					*at = p;
					return NULL;
				}
				if (u >= 0xDC00 && u <= 0xDFFF) {
					*err = "lone low surrogate escape";
					*at = p;
					return NULL;
				}
				if (u >= 0xD800 && u <= 0xDBFF) {
					long lo = -1;
					if (left > 7 && p[6] == '\\' &&
					    p[7] == 'u')
						lo = hex4(p + 8, left - 8);
					if (lo < 0xDC00 || lo > 0xDFFF) {
						*err = "high surrogate escape "
						       "without a low one";
						*at = p;
						return NULL;
					}
					p += 12;
				} else {
					p += 6;
				}
			} else if (e == '"' || e == '\\' || e == '/' ||
				   e == 'b' || e == 'f' || e == 'n' ||
				   e == 'r' || e == 't') {
				p += 2;
			} else {
				*err = left > 1 ? "bad escape"
						: "unterminated string";
				*at = p;
				return NULL;
			}
			continue;
		}
		if (*p < 0x20) {
			*err = "control character in string";
			*at = p;
			return NULL;
		}
		size_t k = utf8_seq(p, (size_t)(end - p));
		if (!k) {
			*err = "invalid UTF-8 in string";
			*at = p;
			return NULL;
		}
		p += k;
	}
}

#define WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define SKIP_WS()                                                              \
	do {                                                                   \
		while (p < end && WS(*p))                                      \
			p++;                                                   \
	} while (0)

/* One pass over the text with an explicit stack: every position lives in
 * a register (the recursive functions above serve json_scan_keys). */
int json_scan(const char *text, size_t n, const char *field, size_t flen,
	      enum json_kind *kind, struct json_span *member)
{
	const uint8_t *const base = (const uint8_t *)text;
	const uint8_t *p = base, *end = base + n;
	uint8_t stack[JSON_SCAN_MAX_DEPTH]; /* 1: object, 0: array */
	unsigned depth = 0;
	int want = 0; /* 1: the next value is the member looked for; 2: in it */
	const uint8_t *vstart = NULL;
	const char *err = NULL;
	const uint8_t *at = NULL;
	int escaped;
	if (member)
		*member = (struct json_span){0};
	else
		field = NULL;
	SKIP_WS();
	if (p < end && kind) {
		switch (*p) {
		case '{':
			*kind = JSON_KIND_OBJECT;
			break;
		case '[':
			*kind = JSON_KIND_ARRAY;
			break;
		case '"':
			*kind = JSON_KIND_STRING;
			break;
		case 't':
		case 'f':
		case 'n':
			*kind = JSON_KIND_LITERAL;
			break;
		default:
			*kind = JSON_KIND_NUMBER;
			break;
		}
	}
value:
	if (p >= end)
		return fail_at(base, n, (size_t)(p - base),
			       "unexpected end of text", 0);
	if (want == 1) { /* the value of the member looked for starts */
		vstart = p;
		want = 2;
	}
	switch (*p) {
	case '"':
		escaped = 0;
		if (!(p = str_end(p + 1, end, &escaped, &err, &at)))
			return fail_at(base, n, (size_t)(at - base), err, 0);
		goto after;
	case '{':
		if (depth == JSON_SCAN_MAX_DEPTH)
			return fail_at(base, n, (size_t)(p - base),
				       "nesting too deep", 0);
		stack[depth++] = 1;
		p++;
		SKIP_WS();
		if (p < end && *p == '}') {
			p++;
			depth--;
			goto after;
		}
		goto key;
	case '[':
		if (depth == JSON_SCAN_MAX_DEPTH)
			return fail_at(base, n, (size_t)(p - base),
				       "nesting too deep", 0);
		stack[depth++] = 0;
		p++;
		SKIP_WS();
		if (p < end && *p == ']') {
			p++;
			depth--;
			goto after;
		}
		goto value;
	case 't':
		if (end - p < 4 || memcmp(p, "true", 4))
			return fail_at(base, n, (size_t)(p - base),
				       "expected a value", 1);
		p += 4;
		goto after;
	case 'f':
		if (end - p < 5 || memcmp(p, "false", 5))
			return fail_at(base, n, (size_t)(p - base),
				       "expected a value", 1);
		p += 5;
		goto after;
	case 'n':
		if (end - p < 4 || memcmp(p, "null", 4))
			return fail_at(base, n, (size_t)(p - base),
				       "expected a value", 1);
		p += 4;
		goto after;
	default: {
		const uint8_t *q = p;
		if (q < end && *q == '-')
			q++;
		if (q >= end || !is_digit(*q)) {
			if (p == q)
				return fail_at(base, n, (size_t)(p - base),
					       "expected a value", 1);
			return fail_at(base, n, (size_t)(q - base),
				       "expected a digit", 1);
		}
		if (*q == '0')
			q++;
		else
			while (q < end && is_digit(*q))
				q++;
		if (q < end && *q == '.') {
			q++;
			if (q >= end || !is_digit(*q))
				return fail_at(base, n, (size_t)(q - base),
					       "expected a digit after '.'", 1);
			while (q < end && is_digit(*q))
				q++;
		}
		if (q < end && (*q == 'e' || *q == 'E')) {
			q++;
			if (q < end && (*q == '+' || *q == '-'))
				q++;
			if (q >= end || !is_digit(*q))
				return fail_at(base, n, (size_t)(q - base),
					       "expected a digit in the "
					       "exponent",
					       1);
			while (q < end && is_digit(*q))
				q++;
		}
		p = q;
		goto after;
	}
	}
key:
	/* p is at a member name of the object on top of the stack */
	if (p >= end || *p != '"')
		return fail_at(base, n, (size_t)(p - base),
			       "expected a member name", 1);
	{
		const uint8_t *name = p;
		escaped = 0;
		if (!(p = str_end(p + 1, end, &escaped, &err, &at)))
			return fail_at(base, n, (size_t)(at - base), err, 0);
		if (depth == 1 && field &&
		    name_is((const char *)name, (size_t)(p - name), escaped,
			    field, flen)) {
			if (member->p)
				return fail_at(base, n, (size_t)(name - base),
					       "the key field appears twice",
					       0);
			want = 1;
		}
		SKIP_WS();
		if (p >= end || *p != ':')
			return fail_at(base, n, (size_t)(p - base),
				       "expected ':'", 1);
		p++;
		SKIP_WS();
		goto value;
	}
after:
	/* a value just ended */
	if (depth == 1 && want == 2) {
		member->p = (const char *)vstart;
		member->len = (size_t)(p - vstart);
		want = 0;
	}
	SKIP_WS();
	if (depth == 0) {
		if (p != end)
			return fail_at(base, n, (size_t)(p - base),
				       "expected the end of the text", 1);
		return 0;
	}
	if (p < end && *p == ',') {
		p++;
		SKIP_WS();
		if (stack[depth - 1])
			goto key;
		goto value;
	}
	if (stack[depth - 1]) {
		if (p < end && *p == '}') {
			p++;
			depth--;
			goto after;
		}
		return fail_at(base, n, (size_t)(p - base),
			       "expected ',' or '}'", 1);
	}
	if (p < end && *p == ']') {
		p++;
		depth--;
		goto after;
	}
	return fail_at(base, n, (size_t)(p - base), "expected ',' or ']'", 1);
}

/* ------------------------------------------------------------ keys */

static int put_utf8(struct buf *out, uint32_t cp)
{
	uint8_t b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xC0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xE0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xF0 | cp >> 18);
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_append(out, b, n);
}

int json_scan_unescape(const char *s, size_t n, struct buf *out)
{
	const uint8_t *p = (const uint8_t *)s + 1;
	size_t len = n >= 2 ? n - 2 : 0, i = 0, run = 0;
	int rc = 0;
	while (!rc && i < len) {
		if (p[i] != '\\') {
			i++;
			run++;
			continue;
		}
		rc = buf_append(out, p + i - run, run);
		run = 0;
		if (rc)
			break;
		uint8_t e = i + 1 < len ? p[i + 1] : 0;
		uint8_t c;
		switch (e) {
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u': {
			long u = hex4(p + i + 2, len - i - 2);
			uint32_t cp = u < 0 ? 0xFFFD : (uint32_t)u;
			i += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= len &&
			    p[i] == '\\' && p[i + 1] == 'u') {
				long lo = hex4(p + i + 2, len - i - 2);
				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) +
					     ((uint32_t)lo - 0xDC00);
					i += 6;
				}
			}
			rc = put_utf8(out, cp);
			continue;
		}
		default: /* " \ / */
			c = e;
			break;
		}
		rc = buf_putc(out, c);
		i += 2;
	}
	if (!rc)
		rc = buf_append(out, p + i - run, run);
	return rc;
}

/* The number token p[0..n) as an int64, if it is an integer in range. */
static int int_token(const char *p, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;
	if (i < n && p[i] == '-') {
		neg = 1;
		i++;
	}
	if (i >= n)
		return 0;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0; /* fraction or exponent */
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (UINT64_C(1) << 63) / 10)
			return 0;
		v = v * 10 + d;
		if (v > (UINT64_C(1) << 63))
			return 0;
	}
	if (!neg && v > (uint64_t)INT64_MAX)
		return 0;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 1;
}

/* One scalar element at p[*i..n): give its key or count it. */
static int key_of(const char *p, size_t n, size_t *i, struct buf *scratch,
		  int (*cb)(void *, const uint8_t *, size_t), void *payload,
		  size_t *other)
{
	struct scan s = {(const uint8_t *)p, n, *i, 0, NULL, 0, NULL};
	char c = p[*i];
	int rc;
	if (c == '"') {
		int escaped = 0;
		if ((rc = scan_string(&s, &escaped)) != 0)
			return rc;
		size_t at = *i, len = s.i - at;
		*i = s.i;
		if (!escaped)
			return cb(payload, (const uint8_t *)p + at + 1,
				  len - 2);
		buf_reset(scratch);
		if ((rc = json_scan_unescape(p + at, len, scratch)) != 0)
			return rc;
		return cb(payload, scratch->data, scratch->len);
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		if ((rc = scan_number(&s)) != 0)
			return rc;
		int64_t v;
		size_t at = *i;
		*i = s.i;
		if (!int_token(p + at, s.i - at, &v)) {
			(*other)++;
			return 0;
		}
		char tmp[24];
		int k = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
		return cb(payload, (const uint8_t *)tmp, (size_t)k);
	}
	if (c == 'n') {
		*i += 4;
		return 0;
	}
	/* true/false/object/array: skip it */
	if ((rc = scan_value(&s)) != 0)
		return rc;
	*i = s.i;
	(*other)++;
	return 0;
}

int json_scan_keys(struct json_span v, struct buf *scratch,
		   int (*cb)(void *payload, const uint8_t *key, size_t klen),
		   void *payload, size_t *other)
{
	const char *p = v.p;
	size_t n = v.len, i = 0;
	if (!p || n == 0)
		return 0;
	if (p[0] != '[')
		return key_of(p, n, &i, scratch, cb, payload, other);
	struct scan s = {(const uint8_t *)p, n, 1, 0, NULL, 0, NULL};
	skip_ws(&s);
	if (s.i < n && p[s.i] == ']')
		return 0;
	while (s.i < n) {
		int rc = key_of(p, n, &s.i, scratch, cb, payload, other);
		if (rc)
			return rc;
		skip_ws(&s);
		if (s.i < n && p[s.i] == ',') {
			s.i++;
			skip_ws(&s);
			continue;
		}
		break;
	}
	return 0;
}
