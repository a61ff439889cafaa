/* staging.c - the staging area in the store's LMDB (see staging.h).
 *
 * Keys of both `staging` and `attrs` are `area NUL key`, so one area's
 * entries are contiguous and in key order; an area is read with a cursor
 * positioned at `area NUL` (MDB_SET_RANGE) until the prefix stops matching.
 * Writes take the store's write transaction (store_txn_begin) and use its
 * MDB_txn directly; reads use a pooled read transaction.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hamt/err.h"
#include "hamt/hamt.h"
#include "store/staging.h"

#define ATTRS_LEN 16
#define SKEY_MAX 4096 /* > any LMDB max key size we accept */

/* ------------------------------------------------------------ helpers */

static int area_check(const char *area, size_t *alen)
{
	size_t n;
	if (!area)
		return err_set(-EINVAL, "staging: no area name");
	n = strnlen(area, STAGING_AREA_MAX + 1);
	if (n == 0)
		return err_set(-EINVAL, "staging: empty area name");
	if (n > STAGING_AREA_MAX)
		return err_set(-EINVAL,
			       "staging: area name longer than %d bytes",
			       STAGING_AREA_MAX);
	*alen = n;
	return 0;
}

static size_t lmdb_key_max(struct store *s)
{
	int m = mdb_env_get_maxkeysize(store_lmdb_env(s));
	size_t n = m > 0 ? (size_t)m : 0;
	return n < SKEY_MAX ? n : SKEY_MAX;
}

size_t staging_key_max(struct store *s, const char *area)
{
	size_t alen = 0, max = lmdb_key_max(s);
	if (area_check(area, &alen) < 0 || alen + 1 >= max)
		return 0;
	return max - alen - 1;
}

/* out (room for SKEY_MAX) = area NUL key */
static int make_key(struct store *s, const char *area, const uint8_t *key,
		    size_t klen, uint8_t *out, size_t *olen)
{
	size_t alen = 0;
	int rc = area_check(area, &alen);
	if (rc < 0)
		return rc;
	size_t max = staging_key_max(s, area);
	if (klen > max)
		return err_set(-ENAMETOOLONG,
			       "staging: key of %zu bytes is too long to "
			       "stage in area %s (at most %zu bytes)",
			       klen, area, max);
	if (klen && !key)
		return err_set(-EINVAL, "staging: key missing");
	memcpy(out, area, alen);
	out[alen] = 0;
	if (klen)
		memcpy(out + alen + 1, key, klen);
	*olen = alen + 1 + klen;
	return 0;
}

static void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void be32_put(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int attrs_check(const struct staging_attrs *a)
{
	if (a->mtime_nsec >= 1000000000u)
		return err_set(-EINVAL,
			       "staging: mtime nanoseconds %u out of "
			       "range",
			       a->mtime_nsec);
	return 0;
}

static void attrs_encode(const struct staging_attrs *a, uint8_t *p)
{
	be64_put(p, (uint64_t)a->mtime_sec);
	be32_put(p + 8, a->mtime_nsec);
	be32_put(p + 12, a->mode & 07777u);
}

/* Check a staged record read from disk: 0 with kind/data/len, or -EIO. */
static int record_decode(const MDB_val *v, const char *area,
			 enum staging_kind *kind, const uint8_t **data,
			 size_t *len)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < 1 ||
	    (p[0] != STAGING_PUT && p[0] != STAGING_TOMBSTONE))
		return err_set(-EIO, "staging area %s: bad record kind", area);
	if (p[0] == STAGING_TOMBSTONE && v->mv_size != 1)
		return err_set(-EIO,
			       "staging area %s: tombstone with %zu "
			       "bytes of data",
			       area, v->mv_size - 1);
	if (v->mv_size - 1 > STAGING_MAX_RECORD)
		return err_set(-EIO,
			       "staging area %s: staged record of %zu bytes "
			       "is over the limit",
			       area, v->mv_size - 1);
	*kind = (enum staging_kind)p[0];
	*data = p[0] == STAGING_PUT ? p + 1 : NULL;
	*len = v->mv_size - 1;
	return 0;
}

static int wtxn_begin(struct store *s, struct store_txn **t, MDB_txn **txn)
{
	int rc = store_txn_begin(s, t);
	if (rc == 0)
		*txn = store_txn_lmdb(*t);
	return rc;
}

/* Commit if rc is 0, else abort; returns the outcome. */
static int wtxn_end(struct store_txn *t, int rc)
{
	if (!t)
		return rc;
	if (rc) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t);
}

static int lmdb_fail(struct store_txn *t, int mrc, const char *what)
{
	int rc = store_lmdb_error(mrc, what);
	store_txn_fail(t, rc);
	return rc;
}

static int put_record(struct store_txn *t, MDB_txn *txn, const uint8_t *sk,
		      size_t sklen, enum staging_kind kind, const uint8_t *data,
		      size_t len)
{
	MDB_val k = {sklen, (void *)sk}, v = {len + 1, NULL};
	int rc = mdb_put(txn, store_lmdb_staging_dbi(store_txn_store(t)), &k,
			 &v, MDB_RESERVE);
	if (rc)
		return lmdb_fail(t, rc, "staging: write record");
	uint8_t *p = v.mv_data;
	p[0] = (uint8_t)kind;
	if (len)
		memcpy(p + 1, data, len);
	return 0;
}

static int put_attrs(struct store_txn *t, MDB_txn *txn, const uint8_t *sk,
		     size_t sklen, const struct staging_attrs *a)
{
	uint8_t enc[ATTRS_LEN];
	attrs_encode(a, enc);
	MDB_val k = {sklen, (void *)sk}, v = {ATTRS_LEN, enc};
	int rc =
	    mdb_put(txn, store_lmdb_attrs_dbi(store_txn_store(t)), &k, &v, 0);
	return rc ? lmdb_fail(t, rc, "staging: write attrs") : 0;
}

static int del_key(struct store_txn *t, MDB_txn *txn, unsigned int dbi,
		   const uint8_t *sk, size_t sklen, const char *what)
{
	MDB_val k = {sklen, (void *)sk};
	int rc = mdb_del(txn, dbi, &k, NULL);
	if (rc == 0 || rc == MDB_NOTFOUND)
		return 0;
	return lmdb_fail(t, rc, what);
}

static int check_len(const char *area, const uint8_t *key, size_t klen,
		     size_t len)
{
	if (len <= STAGING_MAX_RECORD)
		return 0;
	return err_set(-EFBIG,
		       "staging area %s: record for key \"%.*s\" is %zu "
		       "bytes, over the %u-byte limit",
		       area, (int)(klen > 64 ? 64 : klen), (const char *)key,
		       len, STAGING_MAX_RECORD);
}

/* ------------------------------------------------------- single changes */

int staging_put(struct store *s, const char *area, const uint8_t *key,
		size_t klen, const uint8_t *data, size_t len,
		const struct staging_attrs *attrs)
{
	uint8_t sk[SKEY_MAX];
	size_t sklen = 0;
	struct store_txn *t = NULL;
	MDB_txn *txn = NULL;
	int rc = make_key(s, area, key, klen, sk, &sklen);
	if (!rc)
		rc = check_len(area, key, klen, len);
	if (!rc && attrs)
		rc = attrs_check(attrs);
	if (!rc)
		rc = wtxn_begin(s, &t, &txn);
	if (!rc)
		rc = put_record(t, txn, sk, sklen, STAGING_PUT, data, len);
	if (!rc && attrs)
		rc = put_attrs(t, txn, sk, sklen, attrs);
	return wtxn_end(t, rc);
}

int staging_delete(struct store *s, const char *area, const uint8_t *key,
		   size_t klen)
{
	uint8_t sk[SKEY_MAX];
	size_t sklen = 0;
	struct store_txn *t = NULL;
	MDB_txn *txn = NULL;
	int rc = make_key(s, area, key, klen, sk, &sklen);
	if (!rc)
		rc = wtxn_begin(s, &t, &txn);
	if (!rc)
		rc = put_record(t, txn, sk, sklen, STAGING_TOMBSTONE, NULL, 0);
	if (!rc)
		rc = del_key(t, txn, store_lmdb_attrs_dbi(s), sk, sklen,
			     "staging: delete attrs");
	return wtxn_end(t, rc);
}

int staging_rename(struct store *s, const char *area, const uint8_t *from,
		   size_t flen, const uint8_t *to, size_t tlen,
		   const uint8_t *data, size_t len,
		   const struct staging_attrs *attrs)
{
	uint8_t fk[SKEY_MAX], tk[SKEY_MAX];
	size_t fklen = 0, tklen = 0;
	struct store_txn *t = NULL;
	MDB_txn *txn = NULL;
	int rc = make_key(s, area, from, flen, fk, &fklen);
	if (!rc)
		rc = make_key(s, area, to, tlen, tk, &tklen);
	if (!rc)
		rc = check_len(area, to, tlen, len);
	if (!rc && attrs)
		rc = attrs_check(attrs);
	if (!rc)
		rc = wtxn_begin(s, &t, &txn);
	/* the same key: compare the caller's keys, not our copies */
	int same =
	    !rc && flen == tlen && (flen == 0 || memcmp(from, to, flen) == 0);
	if (!rc)
		rc = put_record(t, txn, tk, tklen, STAGING_PUT, data, len);
	if (!rc && attrs)
		rc = put_attrs(t, txn, tk, tklen, attrs);
	else if (!rc && !same)
		rc = del_key(t, txn, store_lmdb_attrs_dbi(s), tk, tklen,
			     "staging: delete attrs");
	if (!rc && !same)
		rc = put_record(t, txn, fk, fklen, STAGING_TOMBSTONE, NULL, 0);
	if (!rc && !same)
		rc = del_key(t, txn, store_lmdb_attrs_dbi(s), fk, fklen,
			     "staging: delete attrs");
	return wtxn_end(t, rc);
}

int staging_unstage(struct store *s, const char *area, const uint8_t *key,
		    size_t klen)
{
	uint8_t sk[SKEY_MAX];
	size_t sklen = 0;
	struct store_txn *t = NULL;
	MDB_txn *txn = NULL;
	int rc = make_key(s, area, key, klen, sk, &sklen);
	if (!rc)
		rc = wtxn_begin(s, &t, &txn);
	if (!rc)
		rc = del_key(t, txn, store_lmdb_staging_dbi(s), sk, sklen,
			     "staging: delete record");
	return wtxn_end(t, rc);
}

int staging_get(struct store *s, const char *area, const uint8_t *key,
		size_t klen, enum staging_kind *kind, struct buf *data)
{
	uint8_t sk[SKEY_MAX];
	size_t sklen = 0;
	MDB_txn *txn = NULL;
	int rc = make_key(s, area, key, klen, sk, &sklen);
	if (!rc)
		rc = store_lmdb_read_begin(s, &txn);
	if (!rc) {
		MDB_val k = {sklen, sk}, v;
		const uint8_t *p = NULL;
		size_t len = 0;
		rc = mdb_get(txn, store_lmdb_staging_dbi(s), &k, &v);
		if (rc == MDB_NOTFOUND)
			rc = -ENOENT; /* the common case: no message */
		else if (rc)
			rc = store_lmdb_error(rc, "staging: read record");
		else if ((rc = record_decode(&v, area, kind, &p, &len)) == 0 &&
			 data && p)
			rc = buf_append(data, p, len);
	}
	store_lmdb_read_end(s, txn);
	return rc;
}

/* ---------------------------------------------------------------- batch */

static int change_check(struct store *s, const char *area,
			const struct staging_change *c)
{
	uint8_t sk[SKEY_MAX];
	size_t sklen = 0;
	int rc = make_key(s, area, c->key, c->klen, sk, &sklen);
	if (!rc && c->record == STAGING_OP_PUT)
		rc = check_len(area, c->key, c->klen, c->len);
	if (!rc && c->attrs_op == STAGING_OP_SET)
		rc = attrs_check(&c->attrs);
	if (!rc &&
	    (c->record > STAGING_OP_UNSTAGE ||
	     (c->attrs_op != STAGING_OP_NONE && c->attrs_op != STAGING_OP_SET &&
	      c->attrs_op != STAGING_OP_DROP)))
		rc = err_set(-EINVAL, "staging: bad change kind");
	return rc;
}

static int change_write(struct store_txn *t, MDB_txn *txn, const char *area,
			const struct staging_change *c)
{
	struct store *s = store_txn_store(t);
	uint8_t sk[SKEY_MAX];
	size_t sklen = 0;
	int rc = make_key(s, area, c->key, c->klen, sk, &sklen);
	if (rc)
		return rc;
	switch (c->record) {
	case STAGING_OP_PUT:
		rc =
		    put_record(t, txn, sk, sklen, STAGING_PUT, c->data, c->len);
		break;
	case STAGING_OP_TOMBSTONE:
		rc = put_record(t, txn, sk, sklen, STAGING_TOMBSTONE, NULL, 0);
		break;
	case STAGING_OP_UNSTAGE:
		rc = del_key(t, txn, store_lmdb_staging_dbi(s), sk, sklen,
			     "staging: delete record");
		break;
	default:
		break;
	}
	if (!rc && c->attrs_op == STAGING_OP_SET)
		rc = put_attrs(t, txn, sk, sklen, &c->attrs);
	else if (!rc && c->attrs_op == STAGING_OP_DROP)
		rc = del_key(t, txn, store_lmdb_attrs_dbi(s), sk, sklen,
			     "staging: delete attrs");
	return rc;
}

int staging_apply(struct store *s, const char *area,
		  const struct staging_change *v, size_t n)
{
	struct store_txn *t = NULL;
	MDB_txn *txn = NULL;
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++)
		rc = change_check(s, area, &v[i]);
	if (rc || n == 0)
		return rc;
	rc = wtxn_begin(s, &t, &txn);
	for (size_t i = 0; !rc && i < n; i++)
		rc = change_write(t, txn, area, &v[i]);
	return wtxn_end(t, rc);
}

/* ---------------------------------------------------------------- attrs */

int staging_set_attrs(struct store *s, const char *area, const uint8_t *key,
		      size_t klen, const struct staging_attrs *attrs)
{
	uint8_t sk[SKEY_MAX];
	size_t sklen = 0;
	struct store_txn *t = NULL;
	MDB_txn *txn = NULL;
	int rc = make_key(s, area, key, klen, sk, &sklen);
	if (!rc)
		rc = attrs_check(attrs);
	if (!rc)
		rc = wtxn_begin(s, &t, &txn);
	if (!rc)
		rc = put_attrs(t, txn, sk, sklen, attrs);
	return wtxn_end(t, rc);
}

int staging_get_attrs(struct store *s, const char *area, const uint8_t *key,
		      size_t klen, struct staging_attrs *attrs)
{
	uint8_t sk[SKEY_MAX];
	size_t sklen = 0;
	MDB_txn *txn = NULL;
	unsigned int dbi = store_lmdb_attrs_dbi(s);
	int rc = make_key(s, area, key, klen, sk, &sklen);
	if (!rc && !dbi)
		rc = -ENOENT; /* an old store opened read-only: none set */
	if (!rc)
		rc = store_lmdb_read_begin(s, &txn);
	if (!rc) {
		MDB_val k = {sklen, sk}, v;
		rc = mdb_get(txn, dbi, &k, &v);
		if (rc == MDB_NOTFOUND) {
			rc = -ENOENT;
		} else if (rc) {
			rc = store_lmdb_error(rc, "staging: read attrs");
		} else if (v.mv_size != ATTRS_LEN) {
			rc = err_set(-EIO,
				     "staging area %s: attrs record of %zu "
				     "bytes (want %d)",
				     area, v.mv_size, ATTRS_LEN);
		} else {
			const uint8_t *p = v.mv_data;
			attrs->mtime_sec = (int64_t)be64_get(p);
			attrs->mtime_nsec = be32_get(p + 8);
			attrs->mode = be32_get(p + 12) & 07777u;
		}
	}
	store_lmdb_read_end(s, txn);
	return rc;
}

/* ------------------------------------------------------ area iteration */

/* Walk the entries of `area` in `dbi` with a cursor of `txn`; calls fn for
 * each with the key (without the area prefix) and the raw value. */
typedef int (*walk_fn)(void *payload, MDB_cursor *cur, const uint8_t *key,
		       size_t klen, const MDB_val *v);

static int area_walk(MDB_txn *txn, unsigned int dbi, const char *area,
		     walk_fn fn, void *payload)
{
	size_t alen = 0;
	MDB_cursor *cur = NULL;
	uint8_t prefix[STAGING_AREA_MAX + 1];
	int rc = area_check(area, &alen);
	if (rc < 0)
		return rc;
	memcpy(prefix, area, alen);
	prefix[alen] = 0;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return store_lmdb_error(rc, "staging: open cursor");
	MDB_val k = {alen + 1, prefix}, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0) {
		if (k.mv_size < alen + 1 || memcmp(k.mv_data, prefix, alen + 1))
			break;
		const uint8_t *kp = k.mv_data;
		rc = fn(payload, cur, kp + alen + 1, k.mv_size - alen - 1, &v);
		if (rc)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND || rc == 0)
		rc = 0;
	else if (rc > 0)
		rc = store_lmdb_error(rc, "staging: read area");
	mdb_cursor_close(cur);
	return rc;
}

static int count_fn(void *payload, MDB_cursor *cur, const uint8_t *key,
		    size_t klen, const MDB_val *v)
{
	(void)cur;
	(void)key;
	(void)klen;
	(void)v;
	(*(uint64_t *)payload)++;
	return 0;
}

int staging_count(struct store *s, const char *area, uint64_t *n)
{
	MDB_txn *txn = NULL;
	*n = 0;
	int rc = store_lmdb_read_begin(s, &txn);
	if (!rc)
		rc = area_walk(txn, store_lmdb_staging_dbi(s), area, count_fn,
			       n);
	store_lmdb_read_end(s, txn);
	return rc;
}

struct iter_ctx {
	const char *area;
	staging_cb cb;
	void *payload;
};

static int iter_fn(void *payload, MDB_cursor *cur, const uint8_t *key,
		   size_t klen, const MDB_val *v)
{
	struct iter_ctx *c = payload;
	enum staging_kind kind = STAGING_PUT;
	const uint8_t *data = NULL;
	size_t len = 0;
	(void)cur;
	int rc = record_decode(v, c->area, &kind, &data, &len);
	if (rc)
		return rc;
	return c->cb(c->payload, key, klen, kind, data, data ? len : 0);
}

int staging_iterate(struct store *s, const char *area, staging_cb cb,
		    void *payload)
{
	MDB_txn *txn = NULL;
	struct iter_ctx c = {area, cb, payload};
	int rc = store_lmdb_read_begin(s, &txn);
	if (!rc)
		rc = area_walk(txn, store_lmdb_staging_dbi(s), area, iter_fn,
			       &c);
	store_lmdb_read_end(s, txn);
	return rc;
}

/* --------------------------------------------------------------- commit */

/* New blocks of a commit are put sorted, in sub-batches of this size. */
#define COMMIT_BATCH_BYTES (256u << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct chg {
	size_t koff, klen;
	size_t voff, vlen; /* link encoding in vals; vlen 0 for a tombstone */
};

struct commit_ctx {
	const char *area;
	struct store_txn *t;
	struct store_batch *batch; /* new blocks, put sorted at the end */
	struct chg *v;
	size_t n, cap;
	struct buf keys, vals;
	struct staging_commit_stats st;
};

static int counting_put(void *payload, const struct cid *c, const uint8_t *data,
			size_t len)
{
	struct commit_ctx *m = payload;
	int rc = store_batch_add(m->batch, c, data, len);
	if (!rc) {
		m->st.blocks_written++;
		m->st.bytes_written += len;
	}
	return rc;
}

static int collect_fn(void *payload, MDB_cursor *cur, const uint8_t *key,
		      size_t klen, const MDB_val *v)
{
	struct commit_ctx *m = payload;
	enum staging_kind kind = STAGING_PUT;
	const uint8_t *data = NULL;
	size_t len = 0;
	(void)cur;
	int rc = record_decode(v, m->area, &kind, &data, &len);
	if (rc)
		return rc;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct chg *nv = realloc(m->v, cap * sizeof(*nv));
		if (!nv)
			return err_set(-ENOMEM,
				       "staging commit: out of memory");
		m->v = nv;
		m->cap = cap;
	}
	struct chg *c = &m->v[m->n];
	c->koff = m->keys.len;
	c->klen = klen;
	c->voff = m->vals.len;
	c->vlen = 0;
	if ((rc = buf_append(&m->keys, key, klen)) != 0)
		return rc;
	if (kind == STAGING_PUT) {
		struct cid cid;
		cid_of_block(&cid, CODEC_RAW, data, len);
		/* data points into a clean page of the staging database: it
		 * stays valid while other databases are written, and the
		 * batch is put before the staging area is cleared */
		if ((rc = store_batch_add_ref(m->batch, &cid, data, len)) != 0)
			return rc;
		m->st.blocks_written++;
		m->st.bytes_written += len;
		if ((rc = hamt_value_encode_link(&cid, &m->vals)) != 0)
			return rc;
		c->vlen = m->vals.len - c->voff;
		m->st.puts++;
	} else {
		m->st.deletes++;
	}
	m->n++;
	return 0;
}

/* Check that an existing `ref` still points at `root`. */
static int ref_cas(struct store_txn *t, const char *ref, const struct cid *root,
		   int *exists)
{
	struct cid cur;
	char a[CID_MAX_TEXT], b[CID_MAX_TEXT];
	int rc = store_txn_get_ref(t, ref, &cur);
	*exists = rc == 0;
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (!root)
		return err_set(-ESTALE,
			       "ref %s already exists (root %s): commit of a "
			       "new map refused",
			       ref, cid_format(&cur, a));
	if (!cid_equal(&cur, root))
		return err_set(-ESTALE,
			       "ref %s moved to %s since %s was read; "
			       "nothing committed",
			       ref, cid_format(&cur, a), cid_format(root, b));
	return 0;
}

static int merge_or_build(struct store *s, struct commit_ctx *m,
			  const struct cid *root, struct hamt_cache *cache,
			  struct cid *new_root)
{
	struct hamt_sink sink = {counting_put, m};
	struct hamt *h = NULL;
	int rc = 0;
	if (root) {
		struct hamt_change *ch = calloc(m->n ? m->n : 1, sizeof(*ch));
		if (!ch)
			return err_set(-ENOMEM,
				       "staging commit: out of memory");
		for (size_t i = 0; i < m->n; i++)
			ch[i] = (struct hamt_change){
			    m->keys.data + m->v[i].koff, m->v[i].klen,
			    m->v[i].vlen ? m->vals.data + m->v[i].voff : NULL,
			    m->v[i].vlen};
		rc = hamt_open(&h, s, root);
		if (!rc) {
			hamt_set_cache(h, cache);
			rc = hamt_merge(h, ch, m->n, &sink, new_root, NULL);
		}
		hamt_free(h);
		free(ch);
	} else {
		struct hamt_params p;
		size_t ne = 0;
		struct hamt_entry *e = calloc(m->n ? m->n : 1, sizeof(*e));
		if (!e)
			return err_set(-ENOMEM,
				       "staging commit: out of memory");
		for (size_t i = 0; i < m->n; i++)
			if (m->v[i].vlen)
				e[ne++] = (struct hamt_entry){
				    m->keys.data + m->v[i].koff, m->v[i].klen,
				    m->vals.data + m->v[i].voff, m->v[i].vlen};
		hamt_params_default(&p);
		rc = hamt_build(&p, e, ne, &sink, new_root, NULL);
		free(e);
	}
	return rc;
}

static int clear_fn(void *payload, MDB_cursor *cur, const uint8_t *key,
		    size_t klen, const MDB_val *v)
{
	(void)payload;
	(void)key;
	(void)klen;
	(void)v;
	int rc = mdb_cursor_del(cur, 0);
	return rc ? store_lmdb_error(rc, "staging: clear area") : 0;
}

/* After mdb_cursor_del the cursor sits on the next entry already; walking
 * with MDB_NEXT would skip one. Clear by repeatedly deleting the first
 * entry of the area instead. */
static int clear_area(struct store_txn *t, MDB_txn *txn, unsigned int dbi,
		      const char *area, uint64_t n)
{
	int rc = 0;
	for (uint64_t i = 0; i < n && !rc; i++) {
		size_t alen = strlen(area);
		MDB_cursor *cur = NULL;
		MDB_val k = {alen + 1, (void *)area}, v;
		if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
			return lmdb_fail(t, rc, "staging: open cursor");
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && k.mv_size >= alen + 1 &&
		    !memcmp(k.mv_data, area, alen + 1))
			rc = clear_fn(NULL, cur, NULL, 0, &v);
		else if (rc == 0 || rc == MDB_NOTFOUND)
			rc = err_set(-EIO,
				     "staging area %s changed during "
				     "commit",
				     area);
		else
			rc = store_lmdb_error(rc, "staging: clear area");
		mdb_cursor_close(cur);
	}
	if (rc)
		store_txn_fail(t, rc);
	return rc;
}

int staging_commit(struct store *s, const char *area, const char *ref,
		   const struct cid *root, struct hamt_cache *cache,
		   struct cid *new_root, struct staging_commit_stats *stats)
{
	struct commit_ctx m = {.area = area};
	struct store_txn *t = NULL;
	MDB_txn *txn = NULL;
	size_t alen = 0;
	int exists = 0;
	struct cid nr;
	double t0 = now_s(), t1 = t0, t2 = t0;
	int rc = area_check(area, &alen);
	if (!rc)
		rc = wtxn_begin(s, &t, &txn);
	m.t = t;
	if (!rc)
		rc = store_batch_new(&m.batch, t, COMMIT_BATCH_BYTES);
	if (!rc && ref)
		rc = ref_cas(t, ref, root, &exists);
	if (!rc)
		rc = area_walk(txn, store_lmdb_staging_dbi(s), area, collect_fn,
			       &m);
	if (!rc && m.n == 0 && root) {
		/* nothing staged: no-op */
		nr = *root;
		store_txn_abort(t);
		t = NULL;
		goto out;
	}
	t1 = now_s();
	if (!rc)
		rc = merge_or_build(s, &m, root, cache, &nr);
	t2 = now_s();
	if (!rc)
		rc = store_batch_put(m.batch);
	m.st.write_s = now_s() - t2;
	int changed = !rc && (!root || !cid_equal(root, &nr));
	if (!rc && ref && (changed || !exists))
		rc = store_txn_set_ref(t, ref, &nr);
	if (!rc && changed && (!ref || strcmp(ref, area) != 0))
		rc = store_txn_log_root(t, area, root, &nr);
	/* drop attrs of deleted keys, then the staged records */
	unsigned int adbi = store_lmdb_attrs_dbi(s);
	for (size_t i = 0; !rc && i < m.n; i++) {
		uint8_t sk[SKEY_MAX];
		size_t sklen = 0;
		if (m.v[i].vlen)
			continue;
		rc = make_key(s, area, m.keys.data + m.v[i].koff, m.v[i].klen,
			      sk, &sklen);
		if (!rc)
			rc = del_key(t, txn, adbi, sk, sklen,
				     "staging: delete attrs");
	}
	if (!rc)
		rc = clear_area(t, txn, store_lmdb_staging_dbi(s), area, m.n);
	double t3 = now_s();
	if (!rc) {
		rc = store_txn_commit(t);
		t = NULL;
	}
	m.st.collect_s = t1 - t0;
	m.st.merge_s = t2 - t1;
	m.st.sync_s = now_s() - t3;
	if (rc)
		err_wrap(rc, "commit of staging area %s", area);
out:
	store_txn_abort(t);
	if (!rc) {
		*new_root = nr;
		if (stats)
			*stats = m.st;
	}
	store_batch_free(m.batch);
	free(m.v);
	buf_free(&m.keys);
	buf_free(&m.vals);
	return rc;
}
