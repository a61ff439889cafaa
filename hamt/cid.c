/* cid.c - CIDv0/CIDv1 in binary and text, and block verification. */
#include "cid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash.h"
#include "multibase.h"
#include "varint.h"

/* A CIDv0 is exactly the sha2-256 multihash 0x12 0x20 <32 bytes>. */
#define CIDV0_BYTES 34
/* Its base58btc text ("Qm...") is always 46 characters. */
#define CIDV0_TEXT 46

static int read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out,
		       const char *what)
{
	size_t used = 0;
	int rc = varint_decode(p + *pos, len - *pos, out, &used);
	if (rc)
		return err_wrap(rc, "cid: %s at offset %zu", what, *pos);
	*pos += used;
	return 0;
}

int cid_from_bytes(struct cid *out, const uint8_t *p, size_t len, size_t *used)
{
	struct cid c;
	size_t pos = 0;
	uint64_t v, dlen;
	int rc;

	memset(&c, 0, sizeof(c));
	if (len == 0)
		return err_set(-EINVAL, "cid: empty input");
	if (p[0] == MH_SHA2_256) {
		/* CIDv0: no version varint can start with 0x12 */
		if (len < CIDV0_BYTES)
			return err_set(-EINVAL,
				       "cid: truncated CIDv0 (%zu of %d bytes)",
				       len, CIDV0_BYTES);
		if (p[1] != 32)
			return err_set(-EINVAL,
				       "cid: CIDv0 digest length %u, want 32",
				       p[1]);
		c.version = 0;
		c.codec = CODEC_DAG_PB;
		c.mh_code = MH_SHA2_256;
		c.digest_len = 32;
		memcpy(c.digest, p + 2, 32);
		pos = CIDV0_BYTES;
		goto done;
	}
	rc = read_varint(p, len, &pos, &v, "version");
	if (rc)
		return rc;
	if (v != 1)
		return err_set(-EINVAL, "cid: unsupported version %llu",
			       (unsigned long long)v);
	c.version = 1;
	rc = read_varint(p, len, &pos, &c.codec, "codec");
	if (rc)
		return rc;
	rc = read_varint(p, len, &pos, &c.mh_code, "multihash code");
	if (rc)
		return rc;
	rc = read_varint(p, len, &pos, &dlen, "digest length");
	if (rc)
		return rc;
	if (dlen > CID_MAX_DIGEST)
		return err_set(-EINVAL,
			       "cid: digest length %llu over the limit of %d",
			       (unsigned long long)dlen, CID_MAX_DIGEST);
	if (len - pos < dlen)
		return err_set(-EINVAL,
			       "cid: truncated digest (%zu of %llu bytes)",
			       len - pos, (unsigned long long)dlen);
	c.digest_len = (uint8_t)dlen;
	memcpy(c.digest, p + pos, c.digest_len);
	pos += c.digest_len;
done:
	*out = c;
	if (used)
		*used = pos;
	return 0;
}

size_t cid_to_bytes(const struct cid *c, uint8_t *out)
{
	size_t n = 0;
	if (c->digest_len > CID_MAX_DIGEST) {
		/* a struct cid built wrong by the program, not bad input */
		fprintf(stderr, "hamtfs: cid_to_bytes: digest_len %u > %d\n",
			c->digest_len, CID_MAX_DIGEST);
		abort();
	}
	if (c->version != 0) {
		n += varint_encode(c->version, out + n);
		n += varint_encode(c->codec, out + n);
	}
	n += varint_encode(c->mh_code, out + n);
	n += varint_encode(c->digest_len, out + n);
	memcpy(out + n, c->digest, c->digest_len);
	return n + c->digest_len;
}

/* 1 if the text after a base32 multibase prefix has letters of the other
 * case: 'b' means lower case only, 'B' upper case only. */
static int base32_wrong_case(const char *s, size_t n, int upper)
{
	for (size_t i = 0; i < n; i++) {
		if (upper ? (s[i] >= 'a' && s[i] <= 'z')
			  : (s[i] >= 'A' && s[i] <= 'Z'))
			return 1;
	}
	return 0;
}

static int cid_parse_text(struct cid *out, const char *text, size_t len)
{
	uint8_t bin[CID_MAX_BYTES];
	size_t n = 0, used = 0;
	int rc;

	if (len == CIDV0_TEXT && text[0] == 'Q' && text[1] == 'm') {
		rc = base58btc_decode(text, len, bin, sizeof(bin), &n);
		if (rc)
			return rc == -ENOSPC ? -EINVAL : rc;
		rc = cid_from_bytes(out, bin, n, &used);
		if (rc)
			return rc;
		if (out->version != 0)
			return err_set(-EINVAL, "cid: \"Qm\" text is not a "
						"CIDv0");
		goto check_used;
	}
	switch (text[0]) {
	case 'b':
	case 'B':
		if (base32_wrong_case(text + 1, len - 1, text[0] == 'B'))
			return err_set(-EINVAL, "cid: mixed-case base32");
		rc = base32_decode(text + 1, len - 1, bin, sizeof(bin), &n);
		break;
	case 'z':
		rc = base58btc_decode(text + 1, len - 1, bin, sizeof(bin), &n);
		break;
	default:
		return err_set(-EINVAL,
			       "cid: unsupported multibase prefix 0x%02x",
			       (unsigned char)text[0]);
	}
	if (rc)
		return -EINVAL; /* -ENOSPC: longer than any CID we accept */
	rc = cid_from_bytes(out, bin, n, &used);
	if (rc)
		return rc;
check_used:
	if (used != n)
		return err_set(-EINVAL, "cid: %zu trailing bytes", n - used);
	return 0;
}

int cid_parse(struct cid *out, const char *text)
{
	if (!text)
		return err_set(-EINVAL, "cid parse: no text");
	size_t len = strnlen(text, CID_MAX_TEXT);
	if (len == 0)
		return err_set(-EINVAL, "cid parse: empty string");
	if (len >= CID_MAX_TEXT)
		return err_set(-EINVAL,
			       "cid parse: text longer than %d "
			       "characters",
			       CID_MAX_TEXT - 1);
	struct cid c;
	int rc = cid_parse_text(&c, text, len);
	if (rc)
		return err_wrap(rc, "cid parse \"%.*s\"", (int)len, text);
	*out = c;
	return 0;
}

char *cid_format(const struct cid *c, char *out)
{
	uint8_t bin[CID_MAX_BYTES];
	size_t n = cid_to_bytes(c, bin);
	int rc;
	if (c->version == 0) {
		rc = base58btc_encode(bin, n, out, CID_MAX_TEXT);
	} else {
		out[0] = 'b';
		rc = base32_encode(bin, n, out + 1, CID_MAX_TEXT - 1);
	}
	if (rc)
		out[0] = '\0'; /* cannot happen: CID_MAX_TEXT has room */
	return out;
}

void cid_of_block(struct cid *out, uint64_t codec, const uint8_t *data,
		  size_t len)
{
	memset(out, 0, sizeof(*out));
	out->version = 1;
	out->codec = codec;
	out->mh_code = MH_SHA2_256;
	out->digest_len = 32;
	hash_sha256(data, len, out->digest);
}

/* sha2-256 digests must be the full 32 bytes: a truncated digest is allowed
 * by the multihash spec but would make verification weak, so it is
 * -ENOTSUP here. */
int cid_verify_block(const struct cid *c, const uint8_t *data, size_t len)
{
	char text[CID_MAX_TEXT];
	uint8_t d[32];

	switch (c->mh_code) {
	case MH_IDENTITY:
		if (c->digest_len == len &&
		    (len == 0 || memcmp(c->digest, data, len) == 0))
			return 0;
		break;
	case MH_SHA2_256:
		if (c->digest_len != 32)
			return err_set(-ENOTSUP,
				       "verify %s: sha2-256 digest of %u bytes "
				       "(want 32)",
				       cid_format(c, text), c->digest_len);
		hash_sha256(data, len, d);
		if (memcmp(d, c->digest, 32) == 0)
			return 0;
		break;
	default:
		return err_set(-ENOTSUP,
			       "verify %s: unsupported multihash function "
			       "0x%llx",
			       cid_format(c, text),
			       (unsigned long long)c->mh_code);
	}
	return err_set(-EIO, "verify %s: block of %zu bytes does not match",
		       cid_format(c, text), len);
}

int cid_cmp(const struct cid *a, const struct cid *b)
{
	uint8_t ba[CID_MAX_BYTES], bb[CID_MAX_BYTES];
	size_t na = cid_to_bytes(a, ba);
	size_t nb = cid_to_bytes(b, bb);
	int r = memcmp(ba, bb, na < nb ? na : nb);
	if (r)
		return r;
	return na < nb ? -1 : na > nb ? 1 : 0;
}

int cid_equal(const struct cid *a, const struct cid *b)
{
	/* a CIDv0 implies dag-pb whatever its codec field says */
	return a->version == b->version &&
	       (a->version == 0 || a->codec == b->codec) &&
	       a->mh_code == b->mh_code && a->digest_len == b->digest_len &&
	       memcmp(a->digest, b->digest, a->digest_len) == 0;
}
