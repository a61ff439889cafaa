/* cid.h - content identifiers (CIDv0 and CIDv1) and multihashes.
 *
 * A CIDv1 is varint(1) varint(codec) multihash; a multihash is
 * varint(code) varint(digest length) digest. A CIDv0 is a bare sha2-256
 * multihash (0x12 0x20 + 32 bytes) and implies codec dag-pb.
 * Text form: CIDv1 is multibase base32 lower case with prefix 'b'; CIDv0 is
 * base58btc without prefix ("Qm..."). Parsing accepts both (and 'B' upper
 * base32, 'z' base58btc for v1); printing uses those canonical forms.
 */
#ifndef HAMT_CID_H
#define HAMT_CID_H

#include <stddef.h>
#include <stdint.h>

#define CID_MAX_DIGEST 64
/* Longest binary CID we produce or accept. */
#define CID_MAX_BYTES (4 * 10 + CID_MAX_DIGEST)
/* Longest text CID (with prefix and NUL). */
#define CID_MAX_TEXT 160

/* multicodec codes */
#define CODEC_RAW 0x55
#define CODEC_DAG_PB 0x70
#define CODEC_DAG_CBOR 0x71
#define CODEC_DAG_JSON 0x0129
#define MH_IDENTITY 0x00
#define MH_SHA2_256 0x12
#define MH_MURMUR3_X64_64 0x22

struct cid {
	uint8_t version;    /* 0 or 1 */
	uint64_t codec;	    /* multicodec of the content (0x70 for v0) */
	uint64_t mh_code;   /* multihash function code */
	uint8_t digest_len; /* bytes used in digest */
	uint8_t digest[CID_MAX_DIGEST];
};

/* Decode a binary CID at the start of `p[0..len)`; `*used` (may be NULL)
 * gets the bytes consumed. 0, or -EINVAL with a message for a truncated or
 * malformed CID, a digest over CID_MAX_DIGEST bytes, or a version other than
 * 0/1. */
int cid_from_bytes(struct cid *out, const uint8_t *p, size_t len, size_t *used);

/* Encode `c` in binary into `out` (room for CID_MAX_BYTES); returns the
 * number of bytes written. */
size_t cid_to_bytes(const struct cid *c, uint8_t *out);

/* Parse a text CID (NUL-terminated). 0, or -EINVAL with a message. */
int cid_parse(struct cid *out, const char *text);

/* Print `c` in its canonical text form into `out` (room for CID_MAX_TEXT).
 * Returns `out`, so it can be used directly in printf. */
char *cid_format(const struct cid *c, char *out);

/* Fill `out` with the CIDv1 (sha2-256) of `data` under `codec`. */
void cid_of_block(struct cid *out, uint64_t codec, const uint8_t *data,
		  size_t len);

/* Check that `data` hashes to the digest in `c`. 0 if it does, -EIO (with a
 * message naming the CID) on a mismatch, -ENOTSUP for a multihash function
 * we cannot compute (identity and sha2-256 are supported). */
int cid_verify_block(const struct cid *c, const uint8_t *data, size_t len);

/* Total order over CIDs by their binary form (memcmp, shorter first on a
 * common prefix). Returns <0, 0, >0. */
int cid_cmp(const struct cid *a, const struct cid *b);

/* 1 if equal, 0 otherwise. */
int cid_equal(const struct cid *a, const struct cid *b);

#endif
