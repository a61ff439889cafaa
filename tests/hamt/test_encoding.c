/* test_encoding.c - varints, multibase, CIDs and hashes against known
 * vectors, and hostile input. */
#include <errno.h>
#include <string.h>

#include "hamt/cid.h"
#include "hamt/hash.h"
#include "hamt/multibase.h"
#include "hamt/varint.h"
#include "test.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void test_varint(void)
{
	uint8_t b[VARINT_MAX_BYTES];
	uint64_t v = 0;
	size_t used = 0;
	static const uint64_t vals[] = {0,
					1,
					127,
					128,
					255,
					300,
					16383,
					16384,
					UINT64_C(1) << 32,
					(UINT64_C(1) << 63) - 1};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t n = varint_encode(vals[i], b);
		CHECK(n == varint_size(vals[i]));
		CHECK_OK(varint_decode(b, n, &v, &used));
		CHECK(v == vals[i] && used == n);
		/* every shorter prefix is truncated */
		for (size_t k = 0; k < n; k++)
			CHECK_ERR(varint_decode(b, k, &v, &used), -EINVAL);
	}
	CHECK(varint_encode(0, b) == 1 && b[0] == 0);
	CHECK(varint_encode(127, b) == 1 && b[0] == 0x7f);
	CHECK(varint_encode(128, b) == 2 && b[0] == 0x80 && b[1] == 0x01);
	CHECK(varint_encode(300, b) == 2 && b[0] == 0xac && b[1] == 0x02);
	CHECK(varint_size((UINT64_C(1) << 63) - 1) == 9);
	CHECK(varint_size(UINT64_MAX) == 10);

	/* trailing bytes are not consumed */
	const uint8_t two[] = {0x05, 0x07};
	CHECK_OK(varint_decode(two, 2, &v, &used));
	CHECK(v == 5 && used == 1);

	const uint8_t nonmin[] = {0x80, 0x00};
	CHECK_ERR(varint_decode(nonmin, 2, &v, &used), -EINVAL);
	const uint8_t nonmin2[] = {0xff, 0x80, 0x00};
	CHECK_ERR(varint_decode(nonmin2, 3, &v, &used), -EINVAL);
	const uint8_t trunc[] = {0x80};
	CHECK_ERR(varint_decode(trunc, 1, &v, &used), -EINVAL);
	CHECK_ERR(varint_decode(trunc, 0, &v, &used), -EINVAL);
	const uint8_t ten[] = {0xff, 0xff, 0xff, 0xff, 0xff,
			       0xff, 0xff, 0xff, 0xff, 0x01};
	CHECK_ERR(varint_decode(ten, sizeof(ten), &v, &used), -EINVAL);
	/* UINT64_MAX encodes (10 bytes) but is refused on decode */
	size_t n = varint_encode(UINT64_MAX, b);
	CHECK(n == 10);
	CHECK_ERR(varint_decode(b, n, &v, &used), -EINVAL);
}

struct vec {
	const char *plain;
	const char *enc;
};

static void test_base32(void)
{
	static const struct vec v[] = {
	    {"", ""},
	    {"f", "my"},
	    {"fo", "mzxq"},
	    {"foo", "mzxw6"},
	    {"foob", "mzxw6yq"},
	    {"fooba", "mzxw6ytb"},
	    {"foobar", "mzxw6ytboi"},
	};
	char out[64];
	uint8_t dec[64];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t pl = strlen(v[i].plain);
		CHECK(base32_encoded_len(pl) == strlen(v[i].enc));
		CHECK_OK(base32_encode((const uint8_t *)v[i].plain, pl, out,
				       sizeof(out)));
		CHECK(strcmp(out, v[i].enc) == 0);
		CHECK_OK(base32_decode(v[i].enc, strlen(v[i].enc), dec,
				       sizeof(dec), &n));
		CHECK(n == pl && memcmp(dec, v[i].plain, n) == 0);
	}
	CHECK_OK(base32_decode("MZXW6YTBOI", 10, dec, sizeof(dec), &n));
	CHECK(n == 6 && memcmp(dec, "foobar", 6) == 0);
	CHECK_ERR(base32_decode("mzxw6ytb1", 9, dec, sizeof(dec), &n),
		  -EINVAL); /* '1' is not base32; also a bad length */
	CHECK_ERR(base32_decode("mzx!", 4, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base32_decode("m", 1, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base32_decode("mzx", 3, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base32_decode("mz", 2, dec, sizeof(dec), &n),
		  -EINVAL); /* non-zero trailing bits */
	CHECK_ERR(base32_decode("mzxw6ytboi", 10, dec, 5, &n), -ENOSPC);
	CHECK_ERR(base32_encode((const uint8_t *)"foobar", 6, out, 10),
		  -ENOSPC);
	CHECK_OK(base32_encode((const uint8_t *)"foobar", 6, out, 11));
}

static void test_base64(void)
{
	static const struct vec v[] = {
	    {"", ""},
	    {"f", "Zg"},
	    {"fo", "Zm8"},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"},
	    {"fooba", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy"},
	};
	char out[64];
	uint8_t dec[64];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t pl = strlen(v[i].plain);
		CHECK(base64_encoded_len(pl) == strlen(v[i].enc));
		CHECK_OK(base64_encode((const uint8_t *)v[i].plain, pl, out,
				       sizeof(out)));
		CHECK(strcmp(out, v[i].enc) == 0);
		CHECK_OK(base64_decode(v[i].enc, strlen(v[i].enc), dec,
				       sizeof(dec), &n));
		CHECK(n == pl && memcmp(dec, v[i].plain, n) == 0);
	}
	CHECK_OK(base64_decode("Zg==", 4, dec, sizeof(dec), &n));
	CHECK(n == 1 && dec[0] == 'f');
	CHECK_OK(base64_decode("Zm8=", 4, dec, sizeof(dec), &n));
	CHECK(n == 2 && memcmp(dec, "fo", 2) == 0);
	const uint8_t hi[] = {0xfb, 0xff};
	CHECK_OK(base64_encode(hi, 2, out, sizeof(out)));
	CHECK(strcmp(out, "+/8") == 0);
	CHECK_ERR(base64_decode("Zg=", 3, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base64_decode("Z===", 4, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base64_decode("====", 4, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base64_decode("=", 1, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base64_decode("Z", 1, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base64_decode("Zh", 2, dec, sizeof(dec), &n),
		  -EINVAL); /* non-zero trailing bits */
	CHECK_ERR(base64_decode("Zm-v", 4, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base64_decode("Zm9vYmFy", 8, dec, 5, &n), -ENOSPC);
	CHECK_ERR(base64_encode((const uint8_t *)"foo", 3, out, 4), -ENOSPC);
}

static void test_base58(void)
{
	static const struct vec v[] = {
	    {"", ""},
	    {"Hello World!", "2NEpo7TZRRrLZSi2U"},
	    {"The quick brown fox jumps over the lazy dog.",
	     "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"},
	};
	char out[128];
	uint8_t dec[128];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t pl = strlen(v[i].plain);
		CHECK_OK(base58btc_encode((const uint8_t *)v[i].plain, pl, out,
					  sizeof(out)));
		CHECK(strcmp(out, v[i].enc) == 0);
		CHECK_OK(base58btc_decode(v[i].enc, strlen(v[i].enc), dec,
					  sizeof(dec), &n));
		CHECK(n == pl && memcmp(dec, v[i].plain, n) == 0);
	}
	/* leading zero bytes are '1's */
	const uint8_t lz[] = {0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd};
	CHECK_OK(base58btc_encode(lz, sizeof(lz), out, sizeof(out)));
	CHECK(strcmp(out, "11233QC4") == 0);
	CHECK_OK(base58btc_decode("11233QC4", 8, dec, sizeof(dec), &n));
	CHECK(n == sizeof(lz) && memcmp(dec, lz, n) == 0);
	const uint8_t z3[] = {0, 0, 0};
	CHECK_OK(base58btc_encode(z3, 3, out, sizeof(out)));
	CHECK(strcmp(out, "111") == 0);
	CHECK_OK(base58btc_decode("111", 3, dec, sizeof(dec), &n));
	CHECK(n == 3 && !dec[0] && !dec[1] && !dec[2]);
	CHECK_ERR(base58btc_decode("0abc", 4, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base58btc_decode("abIc", 4, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base58btc_decode("ab\0c", 4, dec, sizeof(dec), &n), -EINVAL);
	CHECK_ERR(base58btc_decode("2NEpo7TZRRrLZSi2U", 17, dec, 11, &n),
		  -ENOSPC);
	CHECK_OK(base58btc_decode("2NEpo7TZRRrLZSi2U", 17, dec, 12, &n));
	CHECK_ERR(
	    base58btc_encode((const uint8_t *)"Hello World!", 12, out, 17),
	    -ENOSPC);
	CHECK_OK(
	    base58btc_encode((const uint8_t *)"Hello World!", 12, out, 18));
	CHECK_ERR(base58btc_encode(z3, 3, out, 3), -ENOSPC);

	/* round trip of pseudo-random bytes with leading zeros */
	uint64_t st = 42;
	for (int r = 0; r < 200; r++) {
		uint8_t in[40];
		size_t len = (size_t)(test_rand(&st) % sizeof(in));
		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)test_rand(&st);
		for (size_t i = 0; i < len && i < (size_t)(r % 4); i++)
			in[i] = 0;
		CHECK_OK(base58btc_encode(in, len, out, sizeof(out)));
		CHECK_OK(
		    base58btc_decode(out, strlen(out), dec, sizeof(dec), &n));
		CHECK(n == len && (len == 0 || memcmp(dec, in, len) == 0));
	}
}

static void test_sha256(void)
{
	uint8_t d[32];
	char h[65];
	hash_sha256((const uint8_t *)"abc", 3, d);
	hex(d, 32, h);
	CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223"
			"b00361a396177a9cb410ff61f20015ad") == 0);
	hash_sha256(NULL, 0, d);
	hex(d, 32, h);
	CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb924"
			"27ae41e4649b934ca495991b7852b855") == 0);
	hash_sha256((const uint8_t *)"hello", 5, d);
	hex(d, 32, h);
	CHECK(strcmp(h, "2cf24dba5fb0a30e26e83b2ac5b9e29e"
			"1b161e5c1fa7425e73043362938b9824") == 0);
}

static void test_murmur3(void)
{
	/* x64_128 hex from the JS murmurhash3js-revisited library that
	 * @multiformats/murmur3 uses; murmur3-x64-64 is its first 8 bytes. */
	static const struct vec v[] = {
	    {"hello", "cbd8a7b341bd9b02"},
	    {"", "0000000000000000"},
	    {"a", "85555565f6597889"},
	    {"abcdefgh", "cc8a0ab037ef8c02"},
	    {"abcdefghi", "0547c0cff13c7964"},
	    {"The quick brown fox jumps over the lazy dog", "e34bbc7bbc071b6c"},
	    {"0123456789abcdef", "4be06d94cf4ad1a7"},
	    {"0123456789abcdef0", "eb24ae8785a5c075"},
	};
	uint8_t d[HASH_MAX_BYTES];
	char h[2 * HASH_MAX_BYTES + 1];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hash_murmur3_x64_64((const uint8_t *)v[i].plain,
				    strlen(v[i].plain), d);
		hex(d, 8, h);
		CHECK(strcmp(h, v[i].enc) == 0);
		if (strcmp(h, v[i].enc))
			fprintf(stderr, "  murmur3 \"%s\": %s, want %s\n",
				v[i].plain, h, v[i].enc);
	}
	size_t n = 0;
	CHECK_OK(
	    hash_key(MH_MURMUR3_X64_64, (const uint8_t *)"hello", 5, d, &n));
	CHECK(n == 8 && d[0] == 0xcb && d[7] == 0x02);
	CHECK_OK(hash_key(MH_SHA2_256, (const uint8_t *)"hello", 5, d, &n));
	CHECK(n == 32 && d[0] == 0x2c && d[31] == 0x24);
	CHECK_ERR(hash_key(0x13, (const uint8_t *)"hello", 5, d, &n), -ENOTSUP);
}

static void test_cid_text(void)
{
	struct cid c, c2;
	char text[CID_MAX_TEXT];
	uint8_t bin[CID_MAX_BYTES];
	size_t used = 0;

	const char *v1 =
	    "bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflova";
	CHECK_OK(cid_parse(&c, v1));
	CHECK(c.version == 1 && c.codec == CODEC_DAG_CBOR &&
	      c.mh_code == MH_SHA2_256 && c.digest_len == 32);
	size_t n = cid_to_bytes(&c, bin);
	CHECK(n == 36 && bin[0] == 0x01 && bin[1] == 0x71 && bin[2] == 0x12 &&
	      bin[3] == 0x20);
	CHECK_OK(cid_from_bytes(&c2, bin, n, &used));
	CHECK(used == n && cid_equal(&c, &c2) && cid_cmp(&c, &c2) == 0);
	CHECK(strcmp(cid_format(&c2, text), v1) == 0);

	/* upper-case and base58btc multibase forms parse to the same CID */
	char up[CID_MAX_TEXT];
	for (size_t i = 0; v1[i]; i++)
		up[i] = (v1[i] >= 'a' && v1[i] <= 'z') ? v1[i] - 32 : v1[i];
	up[strlen(v1)] = '\0';
	CHECK_OK(cid_parse(&c2, up));
	CHECK(cid_equal(&c, &c2));
	text[0] = 'z';
	CHECK_OK(base58btc_encode(bin, n, text + 1, sizeof(text) - 1));
	CHECK_OK(cid_parse(&c2, text));
	CHECK(cid_equal(&c, &c2));

	const char *v0 = "QmNX6Tffavsya4xgBi2VJQnSuqy9GsxongxZZ9uZBqp16d";
	CHECK_OK(cid_parse(&c, v0));
	CHECK(c.version == 0 && c.codec == CODEC_DAG_PB &&
	      c.mh_code == MH_SHA2_256 && c.digest_len == 32);
	CHECK(strcmp(cid_format(&c, text), v0) == 0);
	n = cid_to_bytes(&c, bin);
	CHECK(n == 34 && bin[0] == 0x12 && bin[1] == 0x20);
	CHECK_OK(cid_from_bytes(&c2, bin, n, &used));
	CHECK(used == 34 && c2.version == 0 && cid_equal(&c, &c2));
	/* trailing bytes after a binary CID are left to the caller */
	bin[n] = 0xaa;
	CHECK_OK(cid_from_bytes(&c2, bin, n + 1, &used));
	CHECK(used == 34);
}

static void test_cid_block(void)
{
	struct cid c, c2;
	char text[CID_MAX_TEXT];

	cid_of_block(&c, CODEC_RAW, (const uint8_t *)"hello", 5);
	CHECK(strcmp(cid_format(&c, text),
		     "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4y"
		     "eq") == 0);
	CHECK_OK(cid_verify_block(&c, (const uint8_t *)"hello", 5));
	CHECK_ERR(cid_verify_block(&c, (const uint8_t *)"hellp", 5), -EIO);
	CHECK(strstr(err_msg(), text) != NULL);
	CHECK_ERR(cid_verify_block(&c, (const uint8_t *)"hell", 4), -EIO);

	/* identity multihash */
	memset(&c2, 0, sizeof(c2));
	c2.version = 1;
	c2.codec = CODEC_RAW;
	c2.mh_code = MH_IDENTITY;
	c2.digest_len = 3;
	memcpy(c2.digest, "abc", 3);
	CHECK_OK(cid_verify_block(&c2, (const uint8_t *)"abc", 3));
	CHECK_ERR(cid_verify_block(&c2, (const uint8_t *)"abd", 3), -EIO);
	CHECK_ERR(cid_verify_block(&c2, (const uint8_t *)"abcd", 4), -EIO);
	uint8_t bin[CID_MAX_BYTES];
	size_t n = cid_to_bytes(&c2, bin), used = 0;
	struct cid c3;
	CHECK_OK(cid_from_bytes(&c3, bin, n, &used));
	CHECK(used == n && cid_equal(&c2, &c3));
	CHECK_OK(cid_parse(&c3, cid_format(&c2, text)));
	CHECK(cid_equal(&c2, &c3));

	/* unsupported hash, truncated sha2-256 */
	c2.mh_code = MH_MURMUR3_X64_64;
	CHECK_ERR(cid_verify_block(&c2, (const uint8_t *)"abc", 3), -ENOTSUP);
	c2 = c;
	c2.digest_len = 20;
	CHECK_ERR(cid_verify_block(&c2, (const uint8_t *)"hello", 5), -ENOTSUP);

	/* ordering: by binary form */
	struct cid a, b;
	cid_of_block(&a, CODEC_RAW, (const uint8_t *)"x", 1);
	b = a;
	CHECK(cid_cmp(&a, &b) == 0 && cid_equal(&a, &b));
	b.codec = CODEC_DAG_CBOR; /* 0x71 > 0x55 */
	CHECK(cid_cmp(&a, &b) < 0 && cid_cmp(&b, &a) > 0 && !cid_equal(&a, &b));
	b = a;
	b.digest[31] ^= 1;
	CHECK(cid_cmp(&a, &b) != 0 && !cid_equal(&a, &b));
	b = a;
	b.digest_len = 31; /* a prefix: shorter first */
	CHECK(cid_cmp(&b, &a) < 0);
	b = a;
	b.codec = CODEC_DAG_JSON; /* 2-byte varint 0xa9 0x02 */
	CHECK(cid_cmp(&a, &b) < 0);
	struct cid v0;
	CHECK_OK(
	    cid_parse(&v0, "QmNX6Tffavsya4xgBi2VJQnSuqy9GsxongxZZ9uZBqp16d"));
	CHECK(cid_cmp(&a, &v0) < 0); /* 0x01 < 0x12 */
}

static void test_cid_malformed(void)
{
	struct cid c;
	static const char *bad[] = {
	    "",
	    "b",
	    "B",
	    "z",
	    "Q",
	    "Qm",
	    "x",
	    "bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflov!",
	    "bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflo",
	    "bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflovaaa",
	    "bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflovA",
	    /* non-zero trailing bits */
	    "bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflov7",
	    "QmNX6Tffavsya4xgBi2VJQnSuqy9GsxongxZZ9uZBqp16",
	    "QmNX6Tffavsya4xgBi2VJQnSuqy9GsxongxZZ9uZBqp16dd",
	    "QmNX6Tffavsya4xgBi2VJQnSuqy9GsxongxZZ9uZBqp10d",
	    "QmNX6Tffavsya4xgBi2VJQnSuqy9GsxongxZZ9uZBqp1Id",
	    " bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflova",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		CHECK_ERR(cid_parse(&c, bad[i]), -EINVAL);
		CHECK(err_msg()[0] != '\0');
	}
	CHECK_ERR(cid_parse(&c, NULL), -EINVAL);

	/* very long text is refused before decoding */
	char longtext[4096];
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[0] = 'b';
	longtext[sizeof(longtext) - 1] = '\0';
	CHECK_ERR(cid_parse(&c, longtext), -EINVAL);

	/* binary: version 2, version 0 spelled out, truncations */
	uint8_t good[CID_MAX_BYTES];
	struct cid ok;
	cid_of_block(&ok, CODEC_DAG_CBOR, (const uint8_t *)"x", 1);
	size_t n = cid_to_bytes(&ok, good), used = 0;
	for (size_t k = 0; k < n; k++)
		CHECK_ERR(cid_from_bytes(&c, good, k, &used), -EINVAL);
	uint8_t b[CID_MAX_BYTES];
	memcpy(b, good, n);
	b[0] = 2;
	CHECK_ERR(cid_from_bytes(&c, b, n, &used), -EINVAL);
	b[0] = 0;
	CHECK_ERR(cid_from_bytes(&c, b, n, &used), -EINVAL);
	memcpy(b, good, n);
	b[3] = 65; /* digest length over the limit */
	CHECK_ERR(cid_from_bytes(&c, b, n, &used), -EINVAL);
	b[3] = 0x80; /* non-minimal / truncated varint */
	CHECK_ERR(cid_from_bytes(&c, b, 4, &used), -EINVAL);
	const uint8_t v0bad[] = {0x12, 0x21, 0};
	CHECK_ERR(cid_from_bytes(&c, v0bad, sizeof(v0bad), &used), -EINVAL);

	/* version 2 in text form */
	char text[CID_MAX_TEXT];
	memcpy(b, good, n);
	b[0] = 2;
	text[0] = 'b';
	CHECK_OK(base32_encode(b, n, text + 1, sizeof(text) - 1));
	CHECK_ERR(cid_parse(&c, text), -EINVAL);
	/* truncated digest in text form */
	CHECK_OK(base32_encode(good, n - 1, text + 1, sizeof(text) - 1));
	CHECK_ERR(cid_parse(&c, text), -EINVAL);
	/* trailing byte in text form */
	good[n] = 0;
	CHECK_OK(base32_encode(good, n + 1, text + 1, sizeof(text) - 1));
	CHECK_ERR(cid_parse(&c, text), -EINVAL);

	/* random bytes never crash the binary parser */
	uint64_t st = 7;
	for (int r = 0; r < 20000; r++) {
		uint8_t rnd[48];
		size_t len = (size_t)(test_rand(&st) % sizeof(rnd));
		for (size_t i = 0; i < len; i++)
			rnd[i] = (uint8_t)test_rand(&st);
		if (len > 0 && r % 2)
			rnd[0] = 1;
		if (cid_from_bytes(&c, rnd, len, &used) == 0) {
			uint8_t back[CID_MAX_BYTES];
			size_t m = cid_to_bytes(&c, back);
			if (m != used || memcmp(back, rnd, m) != 0) {
				CHECK(m == used && memcmp(back, rnd, m) == 0);
				break;
			}
		}
	}
}

int main(void)
{
	test_varint();
	test_base32();
	test_base64();
	test_base58();
	test_sha256();
	test_murmur3();
	test_cid_text();
	test_cid_block();
	test_cid_malformed();
	return test_summary();
}
