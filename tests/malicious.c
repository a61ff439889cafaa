/* malicious.c - hostile HAMTs and CARs (see malicious.h).
 *
 * Blocks are encoded here by hand (a few CBOR heads), not with hamt/'s
 * encoder, so that they can be wrong in exactly one way. Keys are chosen
 * by their sha2-256 hash so that every well-formed part of a tree is where
 * a reader expects it: the "good" keys each sit alone in their own root
 * slot, the "bad" key's path is the one the defect is on.
 */
#include "malicious.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/buf.h"
#include "hamt/err.h"
#include "hamt/hamt.h"
#include "hamt/hash.h"
#include "hamt/node.h"
#include "hamt/varint.h"

#define NGOOD 3
#define GROUP 4 /* keys sharing two hash bytes: one more than bucketSize */

/* ------------------------------------------------------------ encoding */

static void must(int rc)
{
	if (rc) {
		fprintf(stderr, "malicious: %s\n", err_msg());
		abort();
	}
}

static void w_head(struct buf *b, unsigned major, uint64_t n)
{
	uint8_t h[9];
	size_t len;
	if (n < 24) {
		h[0] = (uint8_t)(major << 5 | n);
		len = 1;
	} else {
		unsigned ai = n <= 0xff		 ? 24
			      : n <= 0xffff	 ? 25
			      : n <= 0xffffffffu ? 26
						 : 27;
		unsigned bytes = 1u << (ai - 24);
		h[0] = (uint8_t)(major << 5 | ai);
		for (unsigned i = 0; i < bytes; i++)
			h[1 + i] = (uint8_t)(n >> (8 * (bytes - 1 - i)));
		len = 1 + bytes;
	}
	must(buf_append(b, h, len));
}

static void w_bytes(struct buf *b, const void *p, size_t n)
{
	w_head(b, 2, n);
	must(buf_append(b, p, n));
}

static void w_text(struct buf *b, const char *s)
{
	w_head(b, 3, strlen(s));
	must(buf_append(b, s, strlen(s)));
}

static void w_link(struct buf *b, const struct cid *c)
{
	uint8_t raw[1 + CID_MAX_BYTES];
	raw[0] = 0;
	size_t n = 1 + cid_to_bytes(c, raw + 1);
	w_head(b, 6, 42);
	w_bytes(b, raw, n);
}

/* The value of a good key: the text "value of KEY". */
static void w_value(struct buf *b, const char *key)
{
	char v[64];
	snprintf(v, sizeof(v), "value of %s", key);
	w_text(b, v);
}

struct root_params {
	uint64_t hash_alg, bucket_size;
};

/* A node (a root when `rp` is given) with a map of `maplen` bytes (`map`,
 * or zeros when NULL), `nelem` data elements already encoded in `data`. */
static void w_node(struct buf *out, const struct root_params *rp,
		   const uint8_t *map, size_t maplen, uint64_t nelem,
		   const struct buf *data)
{
	if (rp) {
		w_head(out, 5, 3);
		w_text(out, "hamt");
	}
	w_head(out, 4, 2);
	w_head(out, 2, maplen);
	if (map) {
		must(buf_append(out, map, maplen));
	} else {
		must(buf_reserve(out, maplen));
		memset(out->data + out->len, 0, maplen);
		out->len += maplen;
	}
	w_head(out, 4, nelem);
	must(buf_append(out, data->data, data->len));
	if (rp) {
		w_text(out, "hashAlg");
		w_head(out, 0, rp->hash_alg);
		w_text(out, "bucketSize");
		w_head(out, 0, rp->bucket_size);
	}
}

/* A node being put together: elements may be added in any slot order. */
struct elem {
	uint32_t slot;
	struct buf enc;
};

struct mnode {
	unsigned bw;
	struct elem el[64];
	size_t n;
};

static struct buf *mn_add(struct mnode *m, uint32_t slot)
{
	if (m->n == sizeof(m->el) / sizeof(m->el[0]))
		abort();
	m->el[m->n] = (struct elem){slot, {0}};
	return &m->el[m->n++].enc;
}

static void mn_link(struct mnode *m, uint32_t slot, const struct cid *c)
{
	w_link(mn_add(m, slot), c);
}

/* A bucket of keys with "value of KEY" values, in the order given. */
static void mn_bucket(struct mnode *m, uint32_t slot, const char *const *keys,
		      size_t n)
{
	struct buf *b = mn_add(m, slot);
	w_head(b, 4, n);
	for (size_t i = 0; i < n; i++) {
		w_head(b, 4, 2);
		w_bytes(b, keys[i], strlen(keys[i]));
		w_value(b, keys[i]);
	}
}

/* A bucket of one key whose value is the encoded `val`. */
static void mn_bucket_val(struct mnode *m, uint32_t slot, const char *key,
			  const struct buf *val)
{
	struct buf *b = mn_add(m, slot);
	w_head(b, 4, 1);
	w_head(b, 4, 2);
	w_bytes(b, key, strlen(key));
	must(buf_append(b, val->data, val->len));
}

static int elem_cmp(const void *a, const void *b)
{
	const struct elem *x = a, *y = b;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

/* Encode (and free the parts of) `m`; `extra_bit` >= 0 sets one more map
 * bit than there are elements. */
static void mn_finish(struct mnode *m, const struct root_params *rp,
		      long extra_bit, struct buf *out)
{
	uint8_t map[(1u << HAMT_MAX_BIT_WIDTH) / 8] = {0};
	size_t maplen = ((size_t)1 << m->bw) / 8;
	struct buf data = {0};
	qsort(m->el, m->n, sizeof(m->el[0]), elem_cmp);
	for (size_t i = 0; i < m->n; i++) {
		map[m->el[i].slot >> 3] |= (uint8_t)(1u << (m->el[i].slot & 7));
		must(buf_append(&data, m->el[i].enc.data, m->el[i].enc.len));
		buf_free(&m->el[i].enc);
	}
	if (extra_bit >= 0)
		map[extra_bit >> 3] |= (uint8_t)(1u << (extra_bit & 7));
	buf_reset(out);
	w_node(out, rp, map, maplen, m->n, &data);
	buf_free(&data);
	m->n = 0;
}

/* ------------------------------------------------------------ blocks */

/* Put `data` under a sha2-256 CIDv1 of `codec`; its CID into `*c`. */
static int put(struct store *s, uint64_t codec, const struct buf *data,
	       struct cid *c)
{
	cid_of_block(c, codec, data->data, data->len);
	return store_put(s, c, data->data, data->len);
}

/* A CIDv1 of `codec` with multihash `mh` over `data` (sha2-512 really
 * computed; other codes get the sha2-256 digest cut or padded to `dlen`). */
static void custom_cid(struct cid *c, uint64_t codec, uint64_t mh, size_t dlen,
		       const struct buf *data)
{
	memset(c, 0, sizeof(*c));
	c->version = 1;
	c->codec = codec;
	c->mh_code = mh;
	c->digest_len = (uint8_t)dlen;
	if (mh == 0x13) {
		unsigned int n = 0;
		EVP_Digest(data->data, data->len, c->digest, &n, EVP_sha512(),
			   NULL);
		return;
	}
	uint8_t d[32];
	hash_sha256(data->data, data->len, d);
	memcpy(c->digest, d, dlen < 32 ? dlen : 32);
}

/* --------------------------------------------------------------- keys */

static void sha(const char *key, uint8_t out[32])
{
	hash_sha256((const uint8_t *)key, strlen(key), out);
}

static uint32_t slot_of(const char *key, unsigned depth, unsigned bw)
{
	uint8_t h[32];
	sha(key, h);
	return (uint32_t)hamt_hash_index(h, 32, depth, bw);
}

struct keys {
	char group[GROUP][16];	 /* share hash bytes 0 and 1; sorted */
	char stray[16];		 /* hash byte 0 as the group, byte 1 not */
	char far[16];		 /* hash byte 0 unlike the group and goods */
	char good[2][NGOOD][16]; /* [0] for bitWidth 8, [1] for 5 */
};

static int key_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int find_keys(struct keys *k)
{
	uint8_t *count = calloc(65536, 1);
	uint32_t(*seen)[GROUP] = calloc(65536, sizeof(*seen));
	uint8_t h[32];
	char key[16];
	int rc = count && seen ? -ENOENT : -ENOMEM;
	for (uint32_t i = 0; rc == -ENOENT && i < 10000000; i++) {
		snprintf(key, sizeof(key), "g%u", i);
		sha(key, h);
		unsigned p = (unsigned)h[0] << 8 | h[1];
		seen[p][count[p]++] = i;
		if (count[p] == GROUP) {
			for (int j = 0; j < GROUP; j++)
				snprintf(k->group[j], sizeof(k->group[j]),
					 "g%u", seen[p][j]);
			rc = 0;
		}
	}
	free(count);
	free(seen);
	if (rc)
		return err_set(rc, "malicious: no key group found");
	qsort(k->group, GROUP, sizeof(k->group[0]), key_cmp);
	uint8_t g[32];
	sha(k->group[0], g);
	for (uint32_t i = 0;; i++) {
		snprintf(k->stray, sizeof(k->stray), "s%u", i);
		sha(k->stray, h);
		if (h[0] == g[0] && h[1] != g[1])
			break;
	}
	/* goods: distinct root slots, none the group's (bitWidth 8 and 5) */
	static const unsigned bws[2] = {8, 5};
	for (int w = 0; w < 2; w++) {
		uint32_t used[NGOOD + 1];
		size_t nused = 1;
		used[0] = slot_of(k->group[0], 0, bws[w]);
		for (uint32_t i = 0; nused < NGOOD + 1; i++) {
			snprintf(key, sizeof(key), "good%u", i);
			uint32_t sl = slot_of(key, 0, bws[w]);
			int clash = 0;
			for (size_t j = 0; j < nused; j++)
				clash |= used[j] == sl;
			if (clash)
				continue;
			used[nused] = sl;
			memcpy(k->good[w][nused - 1], key, sizeof(key));
			nused++;
		}
	}
	for (uint32_t i = 0;; i++) {
		snprintf(k->far, sizeof(k->far), "f%u", i);
		uint32_t sl = slot_of(k->far, 0, 8);
		int clash = sl == slot_of(k->group[0], 0, 8);
		for (int j = 0; j < NGOOD; j++)
			clash |= sl == slot_of(k->good[0][j], 0, 8);
		if (!clash)
			break;
	}
	return 0;
}

/* ------------------------------------------------------------- builder */

struct ctx {
	struct store *s;
	struct keys k;
	struct mal_case *cases;
	size_t n;
	struct buf b;	  /* scratch block */
	struct cid vlink; /* value cases: what the bad key's value links */
};

static const struct root_params RP = {MH_SHA2_256, 3};

/* A new case; the caller fills in root, bad and the keys. */
static struct mal_case *add(struct ctx *x, const char *name, enum mal_kind kind,
			    const char *defect)
{
	if (x->n == MAL_MAX_CASES)
		abort();
	struct mal_case *c = &x->cases[x->n++];
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->kind = kind;
	c->defect = defect;
	return c;
}

/* The root (bitWidth `bw`) with the good keys in their own buckets and, at
 * the group's slot, the element `bad` adds (a link to `link`, when `bad` is
 * NULL). `bad_key`/`good_key` of the case are set. */
static int tree_case(struct ctx *x, struct mal_case *c, unsigned bw,
		     const struct cid *link,
		     void (*bad)(struct ctx *x, struct mnode *m, uint32_t slot))
{
	struct mnode m = {.bw = bw};
	const char(*good)[16] = x->k.good[bw == 8 ? 0 : 1];
	for (int i = 0; i < NGOOD; i++) {
		const char *g = good[i];
		mn_bucket(&m, slot_of(g, 0, bw), &g, 1);
	}
	uint32_t slot = slot_of(x->k.group[0], 0, bw);
	if (bad)
		bad(x, &m, slot);
	else
		mn_link(&m, slot, link);
	mn_finish(&m, &RP, -1, &x->b);
	snprintf(c->bad_key, sizeof(c->bad_key), "%s", x->k.group[0]);
	snprintf(c->good_key, sizeof(c->good_key), "%s", good[1]);
	snprintf(c->good_val, sizeof(c->good_val), "value of %s", good[1]);
	int rc = put(x->s, CODEC_DAG_CBOR, &x->b, &c->root);
	return rc ? rc : store_ref_set(x->s, c->name, &c->root);
}

/* A child (depth 1) holding `keys` in one bucket, in that order, at the
 * group's slot. */
static void child_bucket(struct ctx *x, const char *const *keys, size_t n)
{
	struct mnode m = {.bw = 8};
	mn_bucket(&m, slot_of(x->k.group[0], 1, 8), keys, n);
	mn_finish(&m, NULL, -1, &x->b);
}

/* A healthy-looking child: the group keys at depth 1 (one bucket of 3 and
 * a grandchild would be canonical; one bucket of one key is enough to be
 * a well-formed node). */
static void child_ok(struct ctx *x)
{
	const char *k0 = x->k.group[0];
	child_bucket(x, &k0, 1);
}

static int link_case(struct ctx *x, const char *name, const char *defect,
		     const struct cid *link, const struct cid *bad)
{
	struct mal_case *c = add(x, name, MAL_TREE, defect);
	c->bad = *bad;
	return tree_case(x, c, 8, link, NULL);
}

/* A child whose block is stored under `c` (built by the caller). */
static int child_case(struct ctx *x, const char *name, const char *defect)
{
	struct cid c;
	int rc = put(x->s, CODEC_DAG_CBOR, &x->b, &c);
	return rc ? rc : link_case(x, name, defect, &c, &c);
}

static int cases_links(struct ctx *x)
{
	struct cid c;
	int rc;
	/* a link whose codec is not dag-cbor, over a good node's bytes */
	static const struct {
		const char *name;
		uint64_t codec;
	} codecs[] = {{"codec-dag-pb", CODEC_DAG_PB},
		      {"codec-raw", CODEC_RAW},
		      {"codec-unknown", 0x300001}};
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		child_ok(x);
		cid_of_block(&c, codecs[i].codec, x->b.data, x->b.len);
		if ((rc = store_put(x->s, &c, x->b.data, x->b.len)) ||
		    (rc = link_case(x, codecs[i].name, "is not dag-cbor", &c,
				    &c)))
			return rc;
	}
	/* multihashes we cannot check */
	static const struct {
		const char *name, *defect;
		uint64_t mh;
		size_t dlen;
	} mhs[] = {
	    {"multihash-sha512", "unsupported multihash function 0x13", 0x13,
	     64},
	    {"multihash-unknown", "unsupported multihash function 0x9999",
	     0x9999, 32},
	    {"multihash-short", "sha2-256 digest of 20 bytes", MH_SHA2_256, 20},
	};
	for (size_t i = 0; i < sizeof(mhs) / sizeof(mhs[0]); i++) {
		child_ok(x);
		custom_cid(&c, CODEC_DAG_CBOR, mhs[i].mh, mhs[i].dlen, &x->b);
		if ((rc = store_put(x->s, &c, x->b.data, x->b.len)) ||
		    (rc = link_case(x, mhs[i].name, mhs[i].defect, &c, &c)))
			return rc;
	}
	/* a link to a block the store does not have */
	child_ok(x);
	x->b.data[x->b.len - 1] ^= 0x01; /* a block nobody stored */
	cid_of_block(&c, CODEC_DAG_CBOR, x->b.data, x->b.len);
	if ((rc = link_case(x, "missing", "missing from the store", &c, &c)))
		return rc;
	/* a block whose bytes are not the ones its CID names */
	child_ok(x);
	cid_of_block(&c, CODEC_DAG_CBOR, x->b.data, x->b.len);
	x->b.data[x->b.len - 1] ^= 0x01;
	if ((rc = store_put(x->s, &c, x->b.data, x->b.len)) ||
	    (rc = link_case(x, "hash-mismatch", "does not match its hash", &c,
			    &c)))
		return rc;
	return 0;
}

/* A chain of single-link nodes along the group key's hash down to one
 * level deeper than the hash allows at bitWidth `bw`. */
static int case_deep(struct ctx *x, const char *name, unsigned bw,
		     const char *defect)
{
	const char *key = x->k.group[0];
	unsigned deepest = 32 * 8 / bw; /* one past the last level */
	struct mnode m = {.bw = bw};
	struct cid c, bad;
	mn_bucket(&m, 0, &key, 1);
	mn_finish(&m, NULL, -1, &x->b);
	int rc = put(x->s, CODEC_DAG_CBOR, &x->b, &bad);
	c = bad;
	for (unsigned d = deepest - 1; !rc && d >= 1; d--) {
		mn_link(&m, slot_of(key, d, bw), &c);
		mn_finish(&m, NULL, -1, &x->b);
		rc = put(x->s, CODEC_DAG_CBOR, &x->b, &c);
	}
	if (rc)
		return rc;
	struct mal_case *mc = add(x, name, MAL_TREE, defect);
	mc->bad = bad;
	return tree_case(x, mc, bw, &c, NULL);
}

static int cases_nodes(struct ctx *x)
{
	const char *grp[GROUP];
	int rc;
	for (int i = 0; i < GROUP; i++)
		grp[i] = x->k.group[i];
	/* a map of 3 bytes */
	struct buf data = {0};
	buf_reset(&x->b);
	w_node(&x->b, NULL, (const uint8_t *)"\x01\x00\x00", 3, 0, &data);
	if ((rc = child_case(x, "maplen-3",
			     "map length 3 is not a power of two")))
		return rc;
	/* popcount: two bits for one element */
	struct mnode m = {.bw = 8};
	mn_bucket(&m, slot_of(grp[0], 1, 8), grp, 1);
	mn_finish(&m, NULL, (slot_of(grp[0], 1, 8) + 1) % 256, &x->b);
	if ((rc = child_case(x, "popcount",
			     "map has 2 bits set but data has 1 elements")))
		return rc;
	/* a child of another bitWidth */
	m.bw = 4;
	mn_bucket(&m, slot_of(grp[0], 1, 4), grp, 1);
	mn_finish(&m, NULL, -1, &x->b);
	if ((rc = child_case(x, "bitwidth-child", "bitWidth 4")))
		return rc;
	/* a bucket out of key order */
	const char *rev[2] = {grp[1], grp[0]};
	child_bucket(x, rev, 2);
	if ((rc = child_case(x, "unsorted", "is not sorted by key")))
		return rc;
	/* a bucket of bucketSize + 1 entries */
	child_bucket(x, grp, GROUP);
	if ((rc = child_case(x, "oversized", "has 4 entries, bucketSize is 3")))
		return rc;
	/* a key in the right child but the wrong bucket */
	const char *mis[2] = {grp[0], x->k.stray};
	if (strcmp(mis[0], mis[1]) > 0) {
		mis[0] = x->k.stray;
		mis[1] = grp[0];
	}
	child_bucket(x, mis, 2);
	if ((rc = child_case(x, "misplaced", "does not hash to its position")))
		return rc;
	/* chains deeper than the hash allows */
	if ((rc = case_deep(x, "too-deep", 8,
			    "deeper than a 32-byte hash allows")) ||
	    (rc = case_deep(x, "too-deep-bw5", 5,
			    "deeper than a 32-byte hash allows")))
		return rc;
	return 0;
}

/* A key in the bucket of a good key in the root, where it does not hash. */
static void bad_misplaced_root(struct ctx *x, struct mnode *m, uint32_t slot)
{
	(void)slot;
	/* the good key's bucket gets the far key as well */
	const char *g = x->k.good[0][0];
	for (size_t i = 0; i < m->n; i++) {
		if (m->el[i].slot != slot_of(g, 0, 8))
			continue;
		const char *two[2] = {g, x->k.far};
		if (strcmp(two[0], two[1]) > 0) {
			two[0] = x->k.far;
			two[1] = g;
		}
		buf_free(&m->el[i].enc);
		m->el[i] = m->el[--m->n];
		mn_bucket(m, slot_of(g, 0, 8), two, 2);
		return;
	}
	abort();
}

static int case_misplaced_root(struct ctx *x)
{
	struct mal_case *c =
	    add(x, "misplaced-root", MAL_TREE, "does not hash to its position");
	int rc = tree_case(x, c, 8, NULL, bad_misplaced_root);
	if (rc)
		return rc;
	c->bad = c->root;
	snprintf(c->bad_key, sizeof(c->bad_key), "%s", x->k.good[0][0]);
	return 0;
}

/* The group key's value is a link to x->vlink. */
static void bad_value(struct ctx *x, struct mnode *m, uint32_t slot)
{
	struct buf v = {0};
	w_link(&v, &x->vlink);
	mn_bucket_val(m, slot, x->k.group[0], &v);
	buf_free(&v);
}

static int value_case(struct ctx *x, const char *name, const char *defect,
		      const struct cid *vc)
{
	struct mal_case *c = add(x, name, MAL_VALUE, defect);
	c->bad = *vc;
	x->vlink = *vc;
	return tree_case(x, c, 8, NULL, bad_value);
}

static int cases_values(struct ctx *x)
{
	struct cid c;
	struct buf v = {0};
	int rc;
	must(buf_puts(&v, "a record nobody stored"));
	cid_of_block(&c, CODEC_RAW, v.data, v.len);
	if ((rc = value_case(x, "value-missing", "missing from the store", &c)))
		goto out;
	buf_reset(&v);
	must(buf_puts(&v, "a record"));
	cid_of_block(&c, CODEC_RAW, v.data, v.len);
	v.data[0] = 'A';
	if ((rc = store_put(x->s, &c, v.data, v.len)) ||
	    (rc = value_case(x, "value-mismatch", "does not match its hash",
			     &c)))
		goto out;
	custom_cid(&c, CODEC_RAW, 0x9999, 32, &v);
	if ((rc = store_put(x->s, &c, v.data, v.len)) ||
	    (rc = value_case(x, "value-multihash",
			     "unsupported multihash function 0x9999", &c)))
		goto out;
	/* a DAG-CBOR value block that is not DAG-CBOR: a truncated map */
	buf_reset(&v);
	must(buf_append(&v, "\xa1\x61\x61", 3));
	if ((rc = put(x->s, CODEC_DAG_CBOR, &v, &c)) ||
	    (rc = value_case(x, "value-bad-cbor", "invalid DAG-CBOR", &c)))
		goto out;
out:
	buf_free(&v);
	return rc;
}

/* A root case: `x->b` is the root block, stored under its sha2-256 CID of
 * `codec` (or under `*cid` when given). */
static int root_case(struct ctx *x, const char *name, const char *defect,
		     uint64_t codec, const struct cid *cid, int store_it)
{
	struct mal_case *c = add(x, name, MAL_ROOT, defect);
	if (cid)
		c->root = *cid;
	else
		cid_of_block(&c->root, codec, x->b.data, x->b.len);
	c->bad = c->root;
	int rc = store_it ? store_put(x->s, &c->root, x->b.data, x->b.len) : 0;
	return rc ? rc : store_ref_set(x->s, c->name, &c->root);
}

/* A good-looking root of the good keys with root parameters `rp`. */
static void root_of(struct ctx *x, const struct root_params *rp)
{
	struct mnode m = {.bw = 8};
	for (int i = 0; i < NGOOD; i++) {
		const char *g = x->k.good[0][i];
		mn_bucket(&m, slot_of(g, 0, 8), &g, 1);
	}
	mn_finish(&m, rp, -1, &x->b);
}

static int cases_roots(struct ctx *x)
{
	struct cid c;
	struct buf empty = {0};
	int rc;
	root_of(x, &RP);
	x->b.data[x->b.len - 1] ^= 1;
	if ((rc = root_case(x, "root-missing", "block not found",
			    CODEC_DAG_CBOR, NULL, 0)))
		return rc;
	root_of(x, &RP);
	cid_of_block(&c, CODEC_DAG_CBOR, x->b.data, x->b.len);
	x->b.data[x->b.len - 1] ^= 1;
	if ((rc = root_case(x, "root-mismatch", "does not match its hash", 0,
			    &c, 1)))
		return rc;
	root_of(x, &RP);
	if ((rc = root_case(x, "root-codec-raw", "is not dag-cbor", CODEC_RAW,
			    NULL, 1)))
		return rc;
	root_of(x, &RP);
	custom_cid(&c, CODEC_DAG_CBOR, 0x9999, 32, &x->b);
	if ((rc = root_case(x, "root-multihash",
			    "unsupported multihash function 0x9999", 0, &c, 1)))
		return rc;
	buf_reset(&x->b);
	must(buf_puts(&x->b, "this is not CBOR"));
	if ((rc = root_case(x, "root-not-cbor", "invalid DAG-CBOR",
			    CODEC_DAG_CBOR, NULL, 1)))
		return rc;
	buf_reset(&x->b);
	w_head(&x->b, 5, 1);
	w_text(&x->b, "hello");
	w_text(&x->b, "world");
	if ((rc = root_case(x, "root-not-hamt-map", "not a HAMT root",
			    CODEC_DAG_CBOR, NULL, 1)))
		return rc;
	root_of(x, NULL); /* a plain node: the [map, data] tuple */
	if ((rc = root_case(x, "root-not-hamt-node", "not a HAMT root",
			    CODEC_DAG_CBOR, NULL, 1)))
		return rc;
	static const struct {
		const char *name, *defect;
		struct root_params rp;
	} params[] = {
	    {"root-hashalg-sha512", "unknown hashAlg 0x13", {0x13, 3}},
	    {"root-hashalg-identity", "unknown hashAlg 0x0", {0x00, 3}},
	    {"root-bucketsize-0", "bucketSize 0 out of range", {0x12, 0}},
	    {"root-bucketsize-huge", "out of range", {0x12, 0x100000000ull}},
	};
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		root_of(x, &params[i].rp);
		if ((rc = root_case(x, params[i].name, params[i].defect,
				    CODEC_DAG_CBOR, NULL, 1)))
			return rc;
	}
	/* map lengths: none (no bitWidth at all) and 16 KiB (bitWidth 17) */
	buf_reset(&x->b);
	w_node(&x->b, &RP, NULL, 0, 0, &empty);
	if ((rc = root_case(x, "root-bitwidth-none",
			    "map length 0 is not a power of two",
			    CODEC_DAG_CBOR, NULL, 1)))
		return rc;
	buf_reset(&x->b);
	w_node(&x->b, &RP, NULL, 16384, 0, &empty);
	if ((rc = root_case(x, "root-bitwidth-17", "implies bitWidth 17",
			    CODEC_DAG_CBOR, NULL, 1)))
		return rc;
	return 0;
}

uint8_t *mal_bitwidth30_root(size_t *len)
{
	struct buf b = {0}, empty = {0};
	if (buf_reserve(&b, ((size_t)1 << 27) + 64))
		return NULL;
	w_node(&b, &RP, NULL, (size_t)1 << 27, 0, &empty);
	return buf_steal(&b, len);
}

/* bitWidth 30: 2^27 map bytes, so 128 MiB: no put accepts a block that
 * big, so it goes straight into LMDB's blocks database. */
static int case_bitwidth30(struct ctx *x)
{
	struct store_txn *t = NULL;
	MDB_dbi dbi;
	uint8_t key[CID_MAX_BYTES];
	size_t len;
	uint8_t *blk = mal_bitwidth30_root(&len);
	if (!blk)
		return err_set(-ENOMEM, "malicious: out of memory");
	struct mal_case *c = add(x, "root-bitwidth-30", MAL_ROOT,
				 "over the 2097152-byte block limit");
	cid_of_block(&c->root, CODEC_DAG_CBOR, blk, len);
	c->bad = c->root;
	int rc = store_txn_begin(x->s, &t);
	if (!rc) {
		MDB_txn *txn = store_txn_lmdb(t);
		MDB_val k = {cid_to_bytes(&c->root, key), key}, v = {len, blk};
		int mrc = mdb_dbi_open(txn, "blocks", 0, &dbi);
		if (!mrc)
			mrc = mdb_put(txn, dbi, &k, &v, 0);
		if (mrc) {
			rc = store_lmdb_error(mrc, "malicious: raw put");
			store_txn_abort(t);
		} else {
			rc = store_txn_commit(t);
		}
	}
	free(blk);
	return rc ? rc : store_ref_set(x->s, c->name, &c->root);
}

int mal_build(struct store *s, struct mal_case *cases, size_t *n, int big)
{
	struct ctx x = {.s = s, .cases = cases};
	int rc = find_keys(&x.k);
	if (!rc)
		rc = cases_links(&x);
	if (!rc)
		rc = cases_nodes(&x);
	if (!rc)
		rc = case_misplaced_root(&x);
	if (!rc)
		rc = cases_values(&x);
	if (!rc)
		rc = cases_roots(&x);
	if (!rc && big)
		rc = case_bitwidth30(&x);
	buf_free(&x.b);
	*n = x.n;
	return rc;
}

/* ------------------------------------------------------------------ CAR */

int mal_write_car(const char *path, size_t block_len, int v2)
{
	struct buf car = {0}, hdr = {0}, blk = {0};
	struct cid c;
	uint8_t vb[VARINT_MAX_BYTES], cb[CID_MAX_BYTES];
	int rc = buf_reserve(&blk, block_len);
	if (rc)
		return rc;
	for (size_t i = 0; i < block_len; i++)
		blk.data[i] = (uint8_t)(i * 131 + (i >> 12));
	blk.len = block_len;
	cid_of_block(&c, CODEC_RAW, blk.data, blk.len);
	w_head(&hdr, 5, 2);
	w_text(&hdr, "roots");
	w_head(&hdr, 4, 1);
	w_link(&hdr, &c);
	w_text(&hdr, "version");
	w_head(&hdr, 0, 1);
	size_t cl = cid_to_bytes(&c, cb);
	if (v2) {
		static const uint8_t pragma[11] = {0x0a, 0xa1, 0x67, 0x76,
						   0x65, 0x72, 0x73, 0x69,
						   0x6f, 0x6e, 0x02};
		uint64_t size = varint_size(hdr.len) + hdr.len +
				varint_size(cl + blk.len) + cl + blk.len;
		uint8_t h[40] = {0};
		for (int i = 0; i < 8; i++) {
			h[16 + i] = (uint8_t)((uint64_t)51 >> (8 * i));
			h[24 + i] = (uint8_t)(size >> (8 * i));
		}
		must(buf_append(&car, pragma, sizeof(pragma)));
		must(buf_append(&car, h, sizeof(h)));
	}
	must(buf_append(&car, vb, varint_encode(hdr.len, vb)));
	must(buf_append(&car, hdr.data, hdr.len));
	must(buf_append(&car, vb, varint_encode(cl + blk.len, vb)));
	must(buf_append(&car, cb, cl));
	must(buf_append(&car, blk.data, blk.len));
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(car.data, 1, car.len, f) != car.len)
		rc = err_set(-EIO, "%s: cannot write", path);
	if (f && fclose(f) != 0 && !rc)
		rc = err_set(-EIO, "%s: cannot write", path);
	buf_free(&car);
	buf_free(&hdr);
	buf_free(&blk);
	return rc;
}
