/* json_scan.h - a strict JSON (RFC 8259) checker that builds nothing, for
 * the hot path of `hamt build`: it checks a record, finds one top-level
 * member and turns that member's value into keys.
 *
 * Why not jansson here: jansson builds a tree (allocations per value) and
 * reads about 50 MB/s of ~250-byte Open Library records per core, slower
 * than everything else a build does with a record put together; this
 * scanner allocates nothing. jansson stays the parser wherever JSON is
 * converted (DAG-CBOR records, jsonl envelopes); tests/tools/test_input.c
 * checks this scanner against jansson on generated and mutated texts.
 *
 * Strictness: exactly one value, optional whitespace (space, tab, LF, CR)
 * around it; strings are valid UTF-8 (shortest form, no surrogate code
 * points, at most U+10FFFF) with no raw control characters (< 0x20) and
 * only the escapes \" \\ \/ \b \f \n \r \t \uXXXX, a \u surrogate only as a
 * high-low pair; numbers follow the RFC grammar (any magnitude); literals
 * true, false, null; arrays and objects nest at most JSON_SCAN_MAX_DEPTH
 * deep. Duplicate member names are allowed by the RFC and so here, except
 * for the member looked up (two of those are an error: which one would be
 * the key?).
 *
 * No global state: every function may run on any thread.
 */
#ifndef TOOLS_JSON_SCAN_H
#define TOOLS_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/buf.h"

#define JSON_SCAN_MAX_DEPTH 512

enum json_kind {
	JSON_KIND_OBJECT,
	JSON_KIND_ARRAY,
	JSON_KIND_STRING,
	JSON_KIND_NUMBER,
	JSON_KIND_LITERAL /* true, false, null */
};

/* A piece of the scanned text (p == NULL: absent). */
struct json_span {
	const char *p;
	size_t len;
};

/* Check that p[0..n) is one JSON text. `*kind` (may be NULL) gets the
 * kind of the top-level value. If `field` is not NULL and the value is an
 * object, `*member` gets the span of the value of its top-level member
 * named field[0..flen) (compared after unescaping), or {NULL, 0} when there
 * is none. 0, or -EINVAL with a message "JSON: <what> at byte <offset>"
 * (offset from 0 within p). */
int json_scan(const char *p, size_t n, const char *field, size_t flen,
	      enum json_kind *kind, struct json_span *member);

/* Call cb(payload, key, klen) for each key a member value gives: a string
 * gives its unescaped UTF-8 bytes, an integer (no fraction or exponent)
 * in the int64 range its decimal form ("-0" gives "0"), an array each key
 * of its elements that are such strings or integers. null (alone or as an
 * element) gives nothing; any other value or element (true, false, objects,
 * nested arrays, other numbers) gives nothing and is counted in `*other`.
 * `v` must be a span json_scan returned; key bytes are valid during the
 * call only (they may live in `scratch`). Returns 0, or the first non-zero
 * value cb returns. */
int json_scan_keys(struct json_span v, struct buf *scratch,
		   int (*cb)(void *payload, const uint8_t *key, size_t klen),
		   void *payload, size_t *other);

/* Append the unescaped contents of the JSON string token s[0..n) (with its
 * quotes, as json_scan accepted it) to `out`. 0 or -ENOMEM. */
int json_scan_unescape(const char *s, size_t n, struct buf *out);

#endif
