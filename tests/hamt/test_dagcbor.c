/* test_dagcbor.c - strict DAG-CBOR codec, DAG-JSON output, JSON input. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/cid.h"
#include "hamt/dagcbor.h"
#include "hamt/dagjson.h"
#include "test.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__})
#define BL(...) sizeof((const uint8_t[]){__VA_ARGS__})
#define BYTES(...) B(__VA_ARGS__), BL(__VA_ARGS__)

/* Decode, re-encode, and compare with the input: 1 if identical. */
static int roundtrip(const uint8_t *p, size_t n)
{
	cbor_item_t *it = NULL;
	if (dagcbor_validate(p, n) != 0)
		return 0;
	if (dagcbor_decode(p, n, &it) != 0)
		return 0;
	struct buf b = {0};
	int rc = dagcbor_encode(it, &b);
	int ok = rc == 0 && b.len == n && memcmp(b.data, p, n) == 0;
	buf_free(&b);
	cbor_decref(&it);
	return ok;
}

/* Decoding and validating both fail with -EINVAL and a message holding
 * `want` (if non-NULL). */
static int rejects(const uint8_t *p, size_t n, const char *want)
{
	cbor_item_t *it = NULL;
	int rc = dagcbor_decode(p, n, &it);
	if (rc != -EINVAL || it != NULL) {
		fprintf(stderr, "  decode returned %d\n", rc);
		if (it)
			cbor_decref(&it);
		return 0;
	}
	if (want && !strstr(err_msg(), want)) {
		fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err_msg(),
			want);
		return 0;
	}
	if (dagcbor_validate(p, n) != -EINVAL)
		return 0;
	return 1;
}

/* DAG-JSON text of the DAG-CBOR bytes equals `want`. */
static int json_is(const uint8_t *p, size_t n, const char *want)
{
	struct buf b = {0};
	int rc = dagjson_from_dagcbor(p, n, &b);
	int ok = rc == 0 && b.len == strlen(want) &&
		 memcmp(b.data, want, b.len) == 0;
	if (!ok)
		fprintf(stderr, "  got rc %d \"%.*s\" (%s), want \"%s\"\n", rc,
			(int)b.len, b.data ? (char *)b.data : "", err_msg(),
			want);
	buf_free(&b);
	return ok;
}

/* JSON text converts to exactly the DAG-CBOR bytes `want`. */
static int cbor_is(const char *json, const uint8_t *want, size_t wn)
{
	struct buf b = {0};
	int rc = dagjson_json_to_dagcbor(json, strlen(json), &b);
	int ok = rc == 0 && b.len == wn && memcmp(b.data, want, wn) == 0;
	if (!ok) {
		fprintf(stderr, "  %s -> rc %d (%s):", json, rc, err_msg());
		for (size_t i = 0; i < b.len; i++)
			fprintf(stderr, " %02x", b.data[i]);
		fprintf(stderr, "\n");
	}
	if (ok)
		ok = dagcbor_validate(b.data, b.len) == 0;
	buf_free(&b);
	return ok;
}

/* JSON -> DAG-CBOR -> DAG-JSON gives `want`. */
static int json_via_cbor(const char *json, const char *want)
{
	struct buf c = {0};
	int ok = 0;
	if (dagjson_json_to_dagcbor(json, strlen(json), &c) == 0)
		ok = json_is(c.data, c.len, want);
	else
		fprintf(stderr, "  %s: %s\n", json, err_msg());
	buf_free(&c);
	return ok;
}

static struct cid test_cid(void)
{
	struct cid c;
	cid_of_block(&c, CODEC_DAG_CBOR, B(0xa0), 1);
	return c;
}

/* d8 2a 58 25 00 <36-byte CIDv1 of {}> */
static size_t link_bytes(uint8_t *out, int prefix, int extra)
{
	struct cid c = test_cid();
	uint8_t cb[CID_MAX_BYTES];
	size_t n = cid_to_bytes(&c, cb);
	size_t len = n + (prefix ? 1 : 0) + (extra ? 1 : 0);
	size_t k = 0;
	out[k++] = 0xd8;
	out[k++] = 0x2a;
	out[k++] = 0x58;
	out[k++] = (uint8_t)len;
	if (prefix)
		out[k++] = 0x00;
	memcpy(out + k, cb, n);
	k += n;
	if (extra)
		out[k++] = 0x00;
	return k;
}

static void test_roundtrips(void)
{
	CHECK(roundtrip(BYTES(0x00)));
	CHECK(roundtrip(BYTES(0x17)));
	CHECK(roundtrip(BYTES(0x18, 0x18)));
	CHECK(roundtrip(BYTES(0x18, 0xff)));
	CHECK(roundtrip(BYTES(0x19, 0x01, 0x00)));
	CHECK(roundtrip(BYTES(0x1a, 0x00, 0x01, 0x00, 0x00)));
	CHECK(roundtrip(BYTES(0x1b, 0, 0, 0, 1, 0, 0, 0, 0)));
	CHECK(roundtrip(
	    BYTES(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));
	CHECK(roundtrip(BYTES(0x20)));
	CHECK(roundtrip(BYTES(0x38, 0x18)));
	CHECK(roundtrip(
	    BYTES(0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));
	CHECK(roundtrip(BYTES(0x40)));
	CHECK(roundtrip(BYTES(0x43, 1, 2, 3)));
	CHECK(roundtrip(BYTES(0x60)));
	CHECK(roundtrip(BYTES(0x63, 'a', 'b', 'c')));
	CHECK(roundtrip(BYTES(0x80)));
	CHECK(roundtrip(BYTES(0x82, 0x01, 0x82, 0x02, 0x03)));
	CHECK(roundtrip(BYTES(0xa0)));
	CHECK(roundtrip(BYTES(0xa2, 0x61, 'b', 0x01, 0x62, 'a', 'a', 0x02)));
	CHECK(roundtrip(BYTES(0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0x02)));
	CHECK(roundtrip(BYTES(0xf4)));
	CHECK(roundtrip(BYTES(0xf5)));
	CHECK(roundtrip(BYTES(0xf6)));
	CHECK(roundtrip(BYTES(0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)));
	CHECK(roundtrip(BYTES(0xfb, 0x80, 0, 0, 0, 0, 0, 0, 0))); /* -0.0 */
	uint8_t l[64];
	size_t ln = link_bytes(l, 1, 0);
	CHECK(ln == 41);
	CHECK(roundtrip(l, ln));
	/* a 24-byte string needs a 1-byte length */
	uint8_t s[26] = {0x78, 24};
	memset(s + 2, 'x', 24);
	CHECK(roundtrip(s, sizeof(s)));
	/* a map needing the 0x78 key head sorts after 23-byte keys */
	uint8_t m[1 + 1 + 23 + 1 + 2 + 24 + 1];
	size_t k = 0;
	m[k++] = 0xa2;
	m[k++] = 0x77;
	memset(m + k, 'z', 23);
	k += 23;
	m[k++] = 0x01;
	m[k++] = 0x78;
	m[k++] = 24;
	memset(m + k, 'a', 24);
	k += 24;
	m[k++] = 0x02;
	CHECK(k == sizeof(m));
	CHECK(roundtrip(m, k));
}

static void test_rejects(void)
{
	CHECK(rejects(NULL, 0, "empty"));
	CHECK(rejects(BYTES(0x18, 0x01), "shortest"));
	CHECK(rejects(BYTES(0x19, 0x00, 0xff), "shortest"));
	CHECK(rejects(BYTES(0x1a, 0x00, 0x00, 0xff, 0xff), "shortest"));
	CHECK(rejects(BYTES(0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff),
		      "shortest"));
	CHECK(rejects(BYTES(0x38, 0x00), "shortest"));
	CHECK(rejects(BYTES(0x58, 0x01, 0x00), "shortest"));
	CHECK(rejects(BYTES(0x98, 0x01, 0x00), "shortest"));
	CHECK(rejects(BYTES(0x9f, 0x01, 0xff), "indefinite"));
	CHECK(rejects(BYTES(0x5f, 0x41, 0x00, 0xff), "indefinite"));
	CHECK(rejects(BYTES(0x7f, 0x61, 'a', 0xff), "indefinite"));
	CHECK(rejects(BYTES(0xbf, 0x61, 'a', 0x01, 0xff), "indefinite"));
	CHECK(rejects(BYTES(0xff), "break"));
	/* "bb" before "a": out of order at the second key, offset 5 */
	CHECK(rejects(BYTES(0xa2, 0x62, 'b', 'b', 0x01, 0x61, 'a', 0x02),
		      "map keys out of order at offset 5"));
	CHECK(rejects(BYTES(0xa2, 0x61, 'b', 0x01, 0x61, 'a', 0x02),
		      "out of order at offset 4"));
	CHECK(rejects(BYTES(0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02),
		      "duplicate map key at offset 4"));
	CHECK(rejects(BYTES(0xa1, 0x01, 0x01), "not a text string"));
	CHECK(rejects(BYTES(0xa1, 0x41, 'a', 0x01), "not a text string"));
	CHECK(rejects(BYTES(0xf9, 0x3e, 0x00), "16-bit float"));
	CHECK(rejects(BYTES(0xfa, 0x3f, 0xc0, 0x00, 0x00), "32-bit float"));
	CHECK(rejects(BYTES(0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0), "NaN"));
	CHECK(rejects(BYTES(0xfb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0), "infinity"));
	CHECK(rejects(BYTES(0xfb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0), "infinity"));
	CHECK(rejects(BYTES(0xf7), "undefined"));
	CHECK(rejects(BYTES(0xf0), "simple"));
	CHECK(rejects(BYTES(0xf8, 0x20), "simple"));
	CHECK(rejects(BYTES(0xc1, 0x00), "tag 1 "));
	CHECK(rejects(BYTES(0xd8, 0x2b, 0x40), "tag 43"));
	CHECK(rejects(BYTES(0xd8, 0x2a, 0x01), "not a byte string"));
	CHECK(rejects(BYTES(0xd8, 0x2a, 0x40), "0x00"));
	CHECK(rejects(BYTES(0xd8, 0x2a, 0x41, 0x00), "CID"));
	uint8_t l[64];
	size_t ln = link_bytes(l, 0, 0);
	CHECK(rejects(l, ln, "0x00"));
	ln = link_bytes(l, 1, 1);
	CHECK(rejects(l, ln, "trailing"));
	CHECK(rejects(BYTES(0x01, 0x01), "trailing"));
	CHECK(rejects(BYTES(0xa0, 0x00), "trailing bytes at offset 1"));
	CHECK(rejects(BYTES(0x82, 0x01), "only 1 bytes remain"));
	CHECK(rejects(BYTES(0x82, 0x01, 0x19), "truncated"));
	CHECK(rejects(BYTES(0x19, 0x01), "truncated"));
	CHECK(rejects(BYTES(0xfb, 0x3f, 0xf8), "truncated"));
	CHECK(rejects(BYTES(0x62, 'a'), "only 1"));
	CHECK(rejects(BYTES(0xa1, 0x61, 'a'), "truncated"));
	CHECK(rejects(BYTES(0x1c), "reserved"));
	/* text must be UTF-8 (libcbor refuses it too) */
	CHECK(rejects(BYTES(0x62, 0xc3, 0x28), "UTF-8"));
	CHECK(rejects(BYTES(0x62, 0xc0, 0x80), "UTF-8"));	/* overlong */
	CHECK(rejects(BYTES(0x63, 0xed, 0xa0, 0x80), "UTF-8")); /* surrogate */
	CHECK(rejects(BYTES(0x64, 0xf4, 0x90, 0x80, 0x80), "UTF-8"));
	CHECK(rejects(BYTES(0x61, 0xe2), "UTF-8"));
	CHECK(rejects(BYTES(0xa1, 0x61, 0xff, 0x01), "UTF-8"));
	CHECK(roundtrip(BYTES(0x64, 0xf0, 0x9f, 0x98, 0x80)));
	CHECK(roundtrip(BYTES(0x63, 0xef, 0xbf, 0xbf)));
	/* huge declared lengths fail at once, without allocating */
	CHECK(rejects(BYTES(0x9a, 0xff, 0xff, 0xff, 0xff), "declares"));
	CHECK(rejects(BYTES(0x5a, 0xff, 0xff, 0xff, 0xff), "declares"));
	CHECK(
	    rejects(BYTES(0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		    "declares"));
	CHECK(
	    rejects(BYTES(0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		    "declares"));
	CHECK(
	    rejects(BYTES(0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		    "declares"));
	/* deep nesting */
	size_t depth = 1000;
	uint8_t *deep = malloc(depth + 1);
	memset(deep, 0x81, depth);
	deep[depth] = 0x00;
	CHECK(rejects(deep, depth + 1, "nesting"));
	memset(deep, 0xa1, depth); /* a map nested through key "" is bad too */
	CHECK(rejects(deep, depth + 1, NULL));
	/* 256 levels are fine */
	memset(deep, 0x81, 256);
	deep[256] = 0x00;
	CHECK(roundtrip(deep, 257));
	free(deep);
}

static int count_links(void *payload, const struct cid *c)
{
	struct cid want = test_cid();
	CHECK(cid_equal(c, &want));
	(*(int *)payload)++;
	return 0;
}

static int stop_links(void *payload, const struct cid *c)
{
	(void)c;
	(*(int *)payload)++;
	return 7;
}

static void test_encode(void)
{
	struct buf b = {0};
	/* map built in non-canonical order, wide ints, float32 */
	cbor_item_t *m = cbor_new_definite_map(3);
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("bb")),
					   cbor_move(cbor_build_uint32(1))});
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("c")),
					   cbor_move(cbor_build_float4(1.5f))});
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("a")),
					   cbor_move(cbor_build_negint64(0))});
	CHECK_OK(dagcbor_encode(m, &b));
	static const uint8_t want[] = {0xa3, 0x61, 'a', 0x20, 0x61, 'c', 0xfb,
				       0x3f, 0xf8, 0,	0,    0,    0,	 0,
				       0,    0x62, 'b', 'b',  0x01};
	CHECK(b.len == sizeof(want) && !memcmp(b.data, want, sizeof(want)));
	cbor_decref(&m);
	/* duplicate keys */
	m = cbor_new_definite_map(2);
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("a")),
					   cbor_move(cbor_new_null())});
	cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("a")),
					   cbor_move(cbor_build_uint8(1))});
	size_t before = b.len;
	CHECK_ERR(dagcbor_encode(m, &b), -EINVAL);
	CHECK(strstr(err_msg(), "duplicate") != NULL);
	CHECK(b.len == before);
	cbor_decref(&m);

	/* indefinite array and string become definite */
	cbor_item_t *a = cbor_new_indefinite_array();
	cbor_item_t *s = cbor_new_indefinite_string();
	cbor_string_add_chunk(s, cbor_move(cbor_build_string("ab")));
	cbor_string_add_chunk(s, cbor_move(cbor_build_string("c")));
	cbor_array_push(a, cbor_move(s));
	cbor_array_push(a, cbor_move(cbor_build_bool(true)));
	buf_reset(&b);
	CHECK_OK(dagcbor_encode(a, &b));
	static const uint8_t want2[] = {0x82, 0x63, 'a', 'b', 'c', 0xf5};
	CHECK(b.len == sizeof(want2) && !memcmp(b.data, want2, b.len));
	cbor_decref(&a);

	/* things DAG-CBOR cannot hold */
	cbor_item_t *bad = cbor_build_tag(1, cbor_move(cbor_build_uint8(0)));
	CHECK_ERR(dagcbor_encode(bad, &b), -EINVAL);
	cbor_decref(&bad);
	bad = cbor_build_float8(NAN);
	CHECK_ERR(dagcbor_encode(bad, &b), -EINVAL);
	cbor_decref(&bad);
	bad = cbor_build_float8(-INFINITY);
	CHECK_ERR(dagcbor_encode(bad, &b), -EINVAL);
	cbor_decref(&bad);
	bad = cbor_new_undef();
	CHECK_ERR(dagcbor_encode(bad, &b), -EINVAL);
	cbor_decref(&bad);
	bad = cbor_build_stringn("\xc3\x28", 2);
	CHECK_ERR(dagcbor_encode(bad, &b), -EINVAL);
	cbor_decref(&bad);
	bad = cbor_new_definite_map(1);
	cbor_map_add(bad, (struct cbor_pair){cbor_move(cbor_build_uint8(1)),
					     cbor_move(cbor_build_uint8(1))});
	CHECK_ERR(dagcbor_encode(bad, &b), -EINVAL);
	cbor_decref(&bad);
	bad = cbor_build_tag(42, cbor_move(cbor_build_bytestring(
				     (const unsigned char *)"\x01\x02", 2)));
	CHECK_ERR(dagcbor_encode(bad, &b), -EINVAL);
	struct cid got;
	CHECK_ERR(dagcbor_item_link(bad, &got), -EINVAL);
	cbor_decref(&bad);

	/* links */
	struct cid c = test_cid();
	cbor_item_t *link = dagcbor_build_link(&c);
	CHECK(link != NULL);
	CHECK(dagcbor_item_link(link, &got) == 1);
	CHECK(cid_equal(&got, &c));
	cbor_item_t *one = cbor_build_uint8(1);
	CHECK(dagcbor_item_link(one, &got) == 0);
	cbor_decref(&one);
	cbor_item_t *arr = cbor_new_definite_array(3);
	cbor_array_push(arr, link);
	cbor_array_push(arr, cbor_move(cbor_build_uint8(5)));
	cbor_array_push(arr, link);
	cbor_decref(&link);
	buf_reset(&b);
	CHECK_OK(dagcbor_encode(arr, &b));
	cbor_decref(&arr);
	uint8_t lb[64];
	size_t ln = link_bytes(lb, 1, 0);
	CHECK(b.len == 1 + ln + 1 + ln);
	CHECK(b.data[0] == 0x83 && !memcmp(b.data + 1, lb, ln));
	int n = 0;
	CHECK_OK(dagcbor_links(b.data, b.len, count_links, &n));
	CHECK(n == 2);
	n = 0;
	CHECK(dagcbor_links(b.data, b.len, stop_links, &n) == 7);
	CHECK(n == 1);
	n = 0;
	CHECK_ERR(dagcbor_links(BYTES(0x82, 0x01), count_links, &n), -EINVAL);
	CHECK(n == 0);
	cbor_item_t *it = NULL;
	CHECK_OK(dagcbor_decode(b.data, b.len, &it));
	CHECK(it && cbor_isa_array(it) && cbor_array_size(it) == 3);
	if (it) {
		CHECK(dagcbor_item_link(cbor_array_handle(it)[2], &got) == 1);
		CHECK(cid_equal(&got, &c));
		cbor_decref(&it);
	}
	buf_free(&b);
}

static void test_dagjson_out(void)
{
	CHECK(json_is(BYTES(0xa2, 0x61, 'b', 0x01, 0x62, 'a', 'a', 0x02),
		      "{\"aa\":2,\"b\":1}"));
	CHECK(json_is(BYTES(0xa0), "{}"));
	CHECK(json_is(BYTES(0x80), "[]"));
	CHECK(json_is(BYTES(0x83, 0xf4, 0xf5, 0xf6), "[false,true,null]"));
	CHECK(json_is(BYTES(0x45, 0x00, 0x01, 0x02, 0xfe, 0xff),
		      "{\"/\":{\"bytes\":\"AAEC/v8\"}}"));
	CHECK(json_is(BYTES(0x40), "{\"/\":{\"bytes\":\"\"}}"));
	uint8_t l[64];
	size_t ln = link_bytes(l, 1, 0);
	CHECK(json_is(l, ln,
		      "{\"/\":\"bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6du"
		      "as4b3q2fy6swua\"}"));
	CHECK(json_is(
	    BYTES(0x69, 'a', '"', 'b', '\\', 'c', '\n', 0x01, 0xc3, 0xa9),
	    "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\""));
	CHECK(json_is(BYTES(0x65, '\t', '\r', '\b', '\f', 0x1f),
		      "\"\\t\\r\\b\\f\\u001f\""));
	CHECK(json_is(BYTES(0x61, 0x00), "\"\\u0000\""));
	CHECK(json_is(BYTES(0x00), "0"));
	CHECK(json_is(BYTES(0x20), "-1"));
	CHECK(json_is(BYTES(0x38, 0x63), "-100"));
	CHECK(
	    json_is(BYTES(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		    "18446744073709551615"));
	CHECK(
	    json_is(BYTES(0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		    "-18446744073709551616"));
	CHECK(
	    json_is(BYTES(0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		    "-9223372036854775808"));
	/* floats: as JavaScript's Number#toString, then ".0" if it has no
	 * '.' or 'e' (what the reference @ipld/dag-json prints) */
	CHECK(json_is(BYTES(0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), "1.5"));
	CHECK(json_is(BYTES(0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), "1.0"));
	CHECK(json_is(BYTES(0xfb, 0x80, 0, 0, 0, 0, 0, 0, 0), "0.0"));
	CHECK(
	    json_is(BYTES(0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a),
		    "0.1"));
	CHECK(
	    json_is(BYTES(0xfb, 0x3f, 0xd5, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55),
		    "0.3333333333333333"));
	CHECK(
	    json_is(BYTES(0xfb, 0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c),
		    "1e+300"));
	CHECK(
	    json_is(BYTES(0xfb, 0xc0, 0x5e, 0xdd, 0x2f, 0x1a, 0x9f, 0xbe, 0x77),
		    "-123.456"));
	/* nested: keys sorted bytewise at every level */
	CHECK(json_is(BYTES(0xa1, 0x61, 'x', 0x82, 0xa2, 0x61, 'z', 0x01, 0x62,
			    'a', 'a', 0x02, 0x80),
		      "{\"x\":[{\"aa\":2,\"z\":1},[]]}"));
	struct buf b = {0};
	CHECK_ERR(dagjson_from_dagcbor(BYTES(0x18, 0x01), &b), -EINVAL);
	CHECK(b.len == 0);
	buf_free(&b);
}

static void test_json_in(void)
{
	CHECK(cbor_is("{\"b\":1,\"aa\":2}",
		      BYTES(0xa2, 0x61, 'b', 0x01, 0x62, 'a', 'a', 0x02)));
	CHECK(cbor_is(" [1, -1, 1.5, true, false, null] ",
		      BYTES(0x86, 0x01, 0x20, 0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0,
			    0, 0xf5, 0xf4, 0xf6)));
	CHECK(cbor_is("\"\\u00e9\\u0000\"", BYTES(0x63, 0xc3, 0xa9, 0x00)));
	CHECK(cbor_is("\"\xe2\x82\xac\"", BYTES(0x63, 0xe2, 0x82, 0xac)));
	/* jansson 2.14 refuses NUL inside object keys (not in strings) */
	const char *nulkey = "{\"a\\u0000b\":0}";
	struct buf nb = {0};
	CHECK_ERR(dagjson_json_to_dagcbor(nulkey, strlen(nulkey), &nb),
		  -EINVAL);
	buf_free(&nb);
	CHECK(cbor_is("1.0", BYTES(0x01)));
	CHECK(cbor_is("-0.0", BYTES(0x00)));
	CHECK(cbor_is("2e3", BYTES(0x19, 0x07, 0xd0)));
	CHECK(cbor_is("9007199254740992.0",
		      BYTES(0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0)));
	CHECK(cbor_is("-9007199254740992.0", BYTES(0x3b, 0x00, 0x1f, 0xff, 0xff,
						   0xff, 0xff, 0xff, 0xff)));
	/* 2^54 as a real is past 2^53: stays a float */
	CHECK(cbor_is("18014398509481984.0",
		      BYTES(0xfb, 0x43, 0x50, 0, 0, 0, 0, 0, 0)));
	/* written as an integer, it is an integer */
	CHECK(cbor_is("9223372036854775807", BYTES(0x1b, 0x7f, 0xff, 0xff, 0xff,
						   0xff, 0xff, 0xff, 0xff)));
	CHECK(
	    cbor_is("-9223372036854775808", BYTES(0x3b, 0x7f, 0xff, 0xff, 0xff,
						  0xff, 0xff, 0xff, 0xff)));
	CHECK(cbor_is("0.1", BYTES(0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99,
				   0x99, 0x9a)));
	CHECK(cbor_is("{}", BYTES(0xa0)));
	CHECK(cbor_is("[]", BYTES(0x80)));
	CHECK(cbor_is("{\"/\":\"not a link\"}",
		      BYTES(0xa1, 0x61, '/', 0x6a, 'n', 'o', 't', ' ', 'a', ' ',
			    'l', 'i', 'n', 'k')));

	CHECK(json_via_cbor(
	    "{\"z\":{\"b\":[1,2.5,\"x\"],\"a\":null},\"\":true}",
	    "{\"\":true,\"z\":{\"a\":null,\"b\":[1,2.5,\"x\"]}}"));
	CHECK(json_via_cbor("[\"\\u00e9\\n\\u0001\"]",
			    "[\"\xc3\xa9\\n\\u0001\"]"));
	CHECK(json_via_cbor("[1e300, -2.5e-7]", "[1e+300,-2.5e-7]"));
	CHECK(json_via_cbor("[1e-7, -9.87e-5, 5e-324, 1e21, 1.5e20]",
			    "[1e-7,-0.0000987,5e-324,1e+21,"
			    "150000000000000000000.0]"));
	CHECK(json_via_cbor("[0.000001, 123.0001, 1.7976931348623157e308]",
			    "[0.000001,123.0001,1.7976931348623157e+308]"));

	struct buf b = {0};
	const char *dup = "{\"a\":1,\"a\":2}";
	CHECK_ERR(dagjson_json_to_dagcbor(dup, strlen(dup), &b), -EINVAL);
	CHECK(strstr(err_msg(), "duplicate") != NULL);
	const char *bad = "{\"a\":1,}";
	CHECK_ERR(dagjson_json_to_dagcbor(bad, strlen(bad), &b), -EINVAL);
	CHECK(strstr(err_msg(), "line 1") != NULL);
	const char *two = "1 2";
	CHECK_ERR(dagjson_json_to_dagcbor(two, strlen(two), &b), -EINVAL);
	CHECK_ERR(dagjson_json_to_dagcbor("", 0, &b), -EINVAL);
	const char *huge = "[18446744073709551616]";
	CHECK_ERR(dagjson_json_to_dagcbor(huge, strlen(huge), &b), -EINVAL);
	CHECK(b.len == 0);
	/* deeper than the DAG-CBOR limit */
	char deep[602];
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	deep[600] = 0;
	CHECK_ERR(dagjson_json_to_dagcbor(deep, 600, &b), -EINVAL);
	CHECK(b.len == 0);
	buf_free(&b);
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_alice(void)
{
	size_t len = 0;
	uint8_t *text =
	    test_read_file(test_fixture("hamt-alice-words/hamt.json"), &len);
	CHECK(text != NULL);
	if (!text)
		return;
	struct buf cb = {0}, jb = {0};
	CHECK_OK(dagjson_json_to_dagcbor((const char *)text, len, &cb));
	CHECK_OK(dagcbor_validate(cb.data, cb.len));
	CHECK_OK(dagjson_from_dagcbor(cb.data, cb.len, &jb));
	/* The compact form, keys sorted, as
	 * json.dumps(o, separators=(',', ':'), sort_keys=True) gives it:
	 * 60068 bytes with this SHA-256. */
	static const char prefix[] =
	    "{\"After\":[{\"column\":1,\"line\":21}],\"Alice\":[{\"column\":1,"
	    "\"line\":2},{\"column\":261,\"line\":2},";
	static const char suffix[] = "{\"column\":94,\"line\":22}],\"your\":[{"
				     "\"column\":495,\"line\":17}]}";
	CHECK(jb.len == 60068);
	CHECK(jb.len > sizeof(prefix) &&
	      !memcmp(jb.data, prefix, sizeof(prefix) - 1));
	CHECK(jb.len > sizeof(suffix) &&
	      !memcmp(jb.data + jb.len - (sizeof(suffix) - 1), suffix,
		      sizeof(suffix) - 1));
	struct cid c;
	cid_of_block(&c, CODEC_RAW, jb.data, jb.len);
	char h[2 * CID_MAX_DIGEST + 1];
	hex(c.digest, c.digest_len, h);
	CHECK(!strcmp(h, "4c093815757c4b83344a4ab0450b131548787d325810fb38c14b9"
			 "6fd536f6192"));
	/* and it is the same data as the fixture */
	json_t *a = json_loadb((const char *)text, len, 0, NULL);
	json_t *b = json_loadb((const char *)jb.data, jb.len, 0, NULL);
	CHECK(a && b && json_equal(a, b));
	CHECK(a && json_object_size(a) == 636);
	json_decref(a);
	json_decref(b);
	/* the DAG-JSON reads back to the same DAG-CBOR */
	struct buf cb2 = {0};
	CHECK_OK(dagjson_json_to_dagcbor((const char *)jb.data, jb.len, &cb2));
	CHECK(cb2.len == cb.len && !memcmp(cb2.data, cb.data, cb.len));
	buf_free(&cb2);
	buf_free(&cb);
	buf_free(&jb);
	free(text);
}

/* Mutate valid encodings at random: never crash, and whatever is accepted
 * re-encodes to exactly its input (the decoder only accepts canonical
 * bytes), renders as DAG-JSON, and its links can be listed. */
static int fuzz_cb(void *payload, const struct cid *c)
{
	(void)c;
	(*(int *)payload)++;
	return 0;
}

static void test_fuzz(void)
{
	const char *seeds[] = {
	    "{\"hamt\":[{\"a\":1},[-1,2.5,\"x\",null,true]],\"bb\":[[]]}",
	    "[0, 23, 24, 255, 256, 65535, 65536, 4294967296, -25, 1.5e300]",
	    "{\"key\":\"value\",\"k\":{\"n\":{\"m\":[false]}}}",
	};
	uint64_t st = 42;
	unsigned accepted = 0, bad = 0;
	for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		struct buf seed = {0};
		CHECK_OK(dagjson_json_to_dagcbor(seeds[si], strlen(seeds[si]),
						 &seed));
		uint8_t l[64];
		size_t ln = link_bytes(l, 1, 0);
		/* wrap as [seed, link] */
		struct buf base = {0};
		buf_putc(&base, 0x82);
		buf_append(&base, seed.data, seed.len);
		buf_append(&base, l, ln);
		CHECK(roundtrip(base.data, base.len));
		uint8_t *m = malloc(base.len + 8);
		for (int iter = 0; iter < 20000; iter++) {
			size_t n = base.len;
			memcpy(m, base.data, n);
			int edits = 1 + (int)(test_rand(&st) % 3);
			for (int e = 0; e < edits; e++) {
				uint64_t r = test_rand(&st);
				size_t at = (size_t)(r >> 8) % n;
				switch (r % 4) {
				case 0:
					m[at] = (uint8_t)(r >> 40);
					break;
				case 1:
					m[at] ^=
					    (uint8_t)(1u << ((r >> 40) & 7));
					break;
				case 2:
					n = at + 1; /* truncate */
					break;
				default:
					if (n < base.len + 8)
						m[n++] = (uint8_t)(r >> 40);
				}
			}
			cbor_item_t *it = NULL;
			int rc = dagcbor_decode(m, n, &it);
			if (rc != 0) {
				if (rc != -EINVAL || it)
					bad++;
				if (dagcbor_validate(m, n) != rc)
					bad++;
				continue;
			}
			accepted++;
			struct buf o = {0};
			if (dagcbor_encode(it, &o) != 0 || o.len != n ||
			    memcmp(o.data, m, n))
				bad++;
			buf_reset(&o);
			if (dagjson_from_dagcbor(m, n, &o) != 0)
				bad++;
			int links = 0;
			if (dagcbor_links(m, n, fuzz_cb, &links) != 0)
				bad++;
			buf_free(&o);
			cbor_decref(&it);
		}
		free(m);
		buf_free(&base);
		buf_free(&seed);
	}
	CHECK(bad == 0);
	CHECK(accepted > 0);
	fprintf(stderr, "fuzz: %u mutants accepted\n", accepted);
}

int main(void)
{
	test_roundtrips();
	test_rejects();
	test_encode();
	test_dagjson_out();
	test_json_in();
	test_alice();
	test_fuzz();
	return test_summary();
}
