/* test_staging.c - the staging area: put/delete/get/count/iterate/attrs
 * across reopen, rename, limits, and commits: equal to a fresh build of the
 * final key set, O(changes x depth) blocks written, no-op with nothing
 * staged, compare-and-swap of the ref, and all-or-nothing under injected
 * write faults. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/hamt.h"
#include "store/staging.h"
#include "store/store.h"
#include "test.h"

#define AREA "main"

/* ---------------------------------------------------- a model of a map */

/* Keys "k%07zu"; value of key i at version v: "value %zu.%u" plus some
 * PRNG-chosen padding so records vary in size. */
struct model {
	size_t n; /* key space */
	uint8_t *present;
	unsigned *ver;
};

static void model_init(struct model *m, size_t n, size_t base)
{
	m->n = n;
	m->present = calloc(n, 1);
	m->ver = calloc(n, sizeof(*m->ver));
	for (size_t i = 0; i < base && i < n; i++)
		m->present[i] = 1;
}

static void model_free(struct model *m)
{
	free(m->present);
	free(m->ver);
}

static size_t key_of(size_t i, char *out)
{
	return (size_t)snprintf(out, 16, "k%07zu", i);
}

static size_t val_of(size_t i, unsigned v, char *out)
{
	int n = snprintf(out, 64, "value %zu.%u", i, v);
	size_t pad = (i * 7 + v) % 23;
	memset(out + n, 'x', pad);
	return (size_t)n + pad;
}

static int null_put(void *payload, const struct cid *c, const uint8_t *data,
		    size_t len)
{
	(void)payload;
	(void)c;
	(void)data;
	(void)len;
	return 0;
}

static int txn_put(void *payload, const struct cid *c, const uint8_t *data,
		   size_t len)
{
	return store_txn_put(payload, c, data, len);
}

/* Build the model's map (values as raw blocks, linked). With `t` the
 * blocks go into that transaction, else nowhere (just the root CID). */
static int model_build(const struct model *m, struct store_txn *t,
		       struct cid *root, struct hamt_stats *st)
{
	size_t cnt = 0;
	for (size_t i = 0; i < m->n; i++)
		cnt += m->present[i];
	struct hamt_entry *e = calloc(cnt ? cnt : 1, sizeof(*e));
	char *keys = malloc(cnt * 16 + 1);
	struct buf vals = {0};
	size_t *voff = calloc(cnt ? cnt : 1, sizeof(*voff));
	int rc = 0;
	size_t j = 0;
	for (size_t i = 0; i < m->n && !rc; i++) {
		if (!m->present[i])
			continue;
		char v[64];
		size_t vl = val_of(i, m->ver[i], v);
		struct cid c;
		cid_of_block(&c, CODEC_RAW, (const uint8_t *)v, vl);
		if (t)
			rc = store_txn_put(t, &c, (const uint8_t *)v, vl);
		voff[j] = vals.len;
		if (!rc)
			rc = hamt_value_encode_link(&c, &vals);
		e[j].key = (const uint8_t *)keys + j * 16;
		e[j].klen = key_of(i, keys + j * 16);
		j++;
	}
	for (size_t k = 0; k < j; k++) {
		e[k].val = vals.data + voff[k];
		e[k].vlen = (k + 1 < j ? voff[k + 1] : vals.len) - voff[k];
	}
	struct hamt_params p;
	hamt_params_default(&p);
	struct hamt_sink sink = {t ? txn_put : null_put, t};
	if (!rc)
		rc = hamt_build(&p, e, j, &sink, root, st);
	free(e);
	free(keys);
	free(voff);
	buf_free(&vals);
	return rc;
}

/* A store with the model's map under ref AREA. */
static void model_store(const struct model *m, struct store *s,
			struct cid *root, struct hamt_stats *st)
{
	struct store_txn *t;
	CHECK_OK(store_txn_begin(s, &t));
	CHECK_OK(model_build(m, t, root, st));
	CHECK_OK(store_txn_set_ref(t, AREA, root));
	CHECK_OK(store_txn_commit(t));
}

/* Stage `k` random changes (puts of new and existing keys, deletes of
 * present and absent keys) into the staging area and the model. */
static void stage_random(struct model *m, struct store *s, size_t k,
			 uint64_t *rng)
{
	for (size_t c = 0; c < k; c++) {
		size_t i = (size_t)(test_rand(rng) % m->n);
		char key[16], v[64];
		size_t kl = key_of(i, key);
		if (test_rand(rng) % 3 == 0) {
			m->present[i] = 0;
			CHECK_OK(staging_delete(s, AREA, (uint8_t *)key, kl));
		} else {
			m->present[i] = 1;
			m->ver[i]++;
			size_t vl = val_of(i, m->ver[i], v);
			CHECK_OK(staging_put(s, AREA, (uint8_t *)key, kl,
					     (uint8_t *)v, vl, NULL));
		}
	}
}

/* A dump of the staging area, to compare before/after. */
static int dump_cb(void *payload, const uint8_t *key, size_t klen,
		   enum staging_kind kind, const uint8_t *data, size_t len)
{
	struct buf *b = payload;
	int rc = buf_printf(b, "%d %zu:", (int)kind, klen);
	if (!rc)
		rc = buf_append(b, key, klen);
	if (!rc)
		rc = buf_printf(b, " %zu:", len);
	if (!rc && len)
		rc = buf_append(b, data, len);
	return rc;
}

static void dump(struct store *s, const char *area, struct buf *b)
{
	buf_reset(b);
	CHECK_OK(staging_iterate(s, area, dump_cb, b));
}

static int count_log(void *payload, uint64_t t, const struct cid *old,
		     const struct cid *nr)
{
	(void)t;
	(void)old;
	(void)nr;
	(*(size_t *)payload)++;
	return 0;
}

static size_t log_len(struct store *s, const char *name)
{
	size_t n = 0;
	store_ref_log(s, name, count_log, &n);
	return n;
}

/* --------------------------------------------------------------- tests */

static void test_basics(void)
{
	const char *dir = test_tmpdir("staging-basics");
	struct store *s;
	struct buf b = {0};
	enum staging_kind kind;
	uint64_t n;
	struct staging_attrs a = {1700000000, 123456789, 0644}, g;
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	CHECK_OK(staging_count(s, AREA, &n));
	CHECK(n == 0);
	CHECK_ERR(staging_get(s, AREA, (uint8_t *)"a", 1, &kind, NULL),
		  -ENOENT);
	CHECK_OK(
	    staging_put(s, AREA, (uint8_t *)"a", 1, (uint8_t *)"one", 3, &a));
	CHECK_OK(
	    staging_put(s, AREA, (uint8_t *)"b", 1, (uint8_t *)"two", 3, NULL));
	CHECK_OK(staging_delete(s, AREA, (uint8_t *)"c", 1));
	/* the empty key and a record of 0 bytes */
	CHECK_OK(staging_put(s, AREA, (uint8_t *)"", 0, NULL, 0, NULL));
	/* another area does not see these */
	CHECK_OK(
	    staging_put(s, "mai", (uint8_t *)"x", 1, (uint8_t *)"X", 1, NULL));
	CHECK_OK(staging_put(s, "main2", (uint8_t *)"y", 1, (uint8_t *)"Y", 1,
			     NULL));
	CHECK_OK(staging_set_attrs(s, AREA, (uint8_t *)"c", 1, &a));
	CHECK_OK(staging_set_attrs(s, AREA, (uint8_t *)"b", 1, &a));
	store_close(s);

	CHECK_OK(store_open(&s, dir, 0));
	CHECK_OK(staging_count(s, AREA, &n));
	CHECK(n == 4);
	CHECK_OK(staging_count(s, "mai", &n));
	CHECK(n == 1);
	CHECK_OK(staging_get(s, AREA, (uint8_t *)"a", 1, &kind, &b));
	CHECK(kind == STAGING_PUT && b.len == 3 && !memcmp(b.data, "one", 3));
	buf_reset(&b);
	CHECK_OK(staging_get(s, AREA, (uint8_t *)"c", 1, &kind, &b));
	CHECK(kind == STAGING_TOMBSTONE && b.len == 0);
	CHECK_OK(staging_get(s, AREA, (uint8_t *)"", 0, &kind, NULL));
	CHECK(kind == STAGING_PUT);
	CHECK_OK(staging_get_attrs(s, AREA, (uint8_t *)"a", 1, &g));
	CHECK(g.mtime_sec == a.mtime_sec && g.mtime_nsec == a.mtime_nsec &&
	      g.mode == 0644);
	dump(s, AREA, &b);
	const char want[] = "1 0: 0:1 1:a 3:one1 1:b 3:two2 1:c 0:";
	CHECK(b.len == sizeof(want) - 1 && !memcmp(b.data, want, b.len));
	/* delete forgets attrs; put without attrs keeps them */
	CHECK_OK(staging_delete(s, AREA, (uint8_t *)"a", 1));
	CHECK_ERR(staging_get_attrs(s, AREA, (uint8_t *)"a", 1, &g), -ENOENT);
	CHECK_OK(
	    staging_put(s, AREA, (uint8_t *)"b", 1, (uint8_t *)"2", 1, NULL));
	CHECK_OK(staging_get_attrs(s, AREA, (uint8_t *)"b", 1, &g));
	/* a put replaces a tombstone, unstage drops either */
	CHECK_OK(
	    staging_put(s, AREA, (uint8_t *)"a", 1, (uint8_t *)"1", 1, NULL));
	CHECK_OK(staging_get(s, AREA, (uint8_t *)"a", 1, &kind, NULL));
	CHECK(kind == STAGING_PUT);
	CHECK_OK(staging_unstage(s, AREA, (uint8_t *)"a", 1));
	CHECK_ERR(staging_get(s, AREA, (uint8_t *)"a", 1, &kind, NULL),
		  -ENOENT);
	CHECK_OK(staging_unstage(s, AREA, (uint8_t *)"a", 1));

	/* rename: to gets data + attrs, from a tombstone without attrs */
	struct staging_attrs a2 = {-5, 0, 0100755};
	CHECK_OK(staging_rename(s, AREA, (uint8_t *)"b", 1, (uint8_t *)"d", 1,
				(uint8_t *)"2", 1, &a2));
	CHECK_OK(staging_get(s, AREA, (uint8_t *)"b", 1, &kind, NULL));
	CHECK(kind == STAGING_TOMBSTONE);
	CHECK_ERR(staging_get_attrs(s, AREA, (uint8_t *)"b", 1, &g), -ENOENT);
	buf_reset(&b);
	CHECK_OK(staging_get(s, AREA, (uint8_t *)"d", 1, &kind, &b));
	CHECK(kind == STAGING_PUT && b.len == 1 && b.data[0] == '2');
	CHECK_OK(staging_get_attrs(s, AREA, (uint8_t *)"d", 1, &g));
	CHECK(g.mtime_sec == -5 && g.mode == 0755);
	/* rename onto itself is a put */
	CHECK_OK(staging_rename(s, AREA, (uint8_t *)"d", 1, (uint8_t *)"d", 1,
				(uint8_t *)"3", 1, NULL));
	CHECK_OK(staging_get(s, AREA, (uint8_t *)"d", 1, &kind, NULL));
	CHECK(kind == STAGING_PUT);
	CHECK_OK(staging_get_attrs(s, AREA, (uint8_t *)"d", 1, &g));

	/* limits */
	size_t big = STAGING_MAX_RECORD + 1;
	uint8_t *p = calloc(1, big);
	CHECK_ERR(staging_put(s, AREA, (uint8_t *)"big", 3, p, big, NULL),
		  -EFBIG);
	CHECK(strstr(err_msg(), "big") != NULL);
	CHECK_ERR(staging_rename(s, AREA, (uint8_t *)"d", 1, (uint8_t *)"big",
				 3, p, big, NULL),
		  -EFBIG);
	CHECK_OK(staging_put(s, AREA, (uint8_t *)"max", 3, p, big - 1, NULL));
	CHECK_OK(staging_get(s, AREA, (uint8_t *)"d", 1, &kind, NULL));
	CHECK_ERR(staging_get(s, AREA, (uint8_t *)"big", 3, &kind, NULL),
		  -ENOENT);
	char area[STAGING_AREA_MAX + 2];
	memset(area, 'a', sizeof(area));
	area[STAGING_AREA_MAX + 1] = 0;
	CHECK_ERR(staging_put(s, area, (uint8_t *)"k", 1, NULL, 0, NULL),
		  -EINVAL);
	CHECK_ERR(staging_count(s, "", &n), -EINVAL);
	area[STAGING_AREA_MAX] = 0;
	CHECK_OK(staging_put(s, area, (uint8_t *)"k", 1, NULL, 0, NULL));
	size_t km = staging_key_max(s, AREA);
	CHECK(km >= 250);
	CHECK_OK(staging_put(s, AREA, p, km, NULL, 0, NULL));
	CHECK_ERR(staging_put(s, AREA, p, km + 1, NULL, 0, NULL),
		  -ENAMETOOLONG);
	CHECK(staging_key_max(s, area) < km);
	struct staging_attrs bad = {0, 1000000000u, 0};
	CHECK_ERR(staging_set_attrs(s, AREA, (uint8_t *)"d", 1, &bad), -EINVAL);
	free(p);
	store_close(s);

	/* read-only opens read, refuse writes */
	CHECK_OK(store_open(&s, dir, STORE_RDONLY));
	CHECK_OK(staging_count(s, AREA, &n));
	CHECK(n == 6);
	CHECK_OK(staging_get_attrs(s, AREA, (uint8_t *)"d", 1, &g));
	CHECK_ERR(staging_delete(s, AREA, (uint8_t *)"d", 1), -EROFS);
	store_close(s);
	buf_free(&b);
}

/* Random change sets on a base of `base` keys: the commit's root equals a
 * fresh build of the final set, the tree verifies, the ref and its log
 * move, the staging area is empty. */
static void test_commit_equal(size_t base, size_t rounds, size_t changes)
{
	char name[64];
	snprintf(name, sizeof(name), "staging-eq-%zu", base);
	const char *dir = test_tmpdir(name);
	struct store *s;
	struct model m;
	struct cid root, nr, want, ref;
	struct hamt_stats st;
	uint64_t rng = 0x5eed + base;
	model_init(&m, base + base / 10, base);
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	model_store(&m, s, &root, &st);
	for (size_t r = 0; r < rounds; r++) {
		struct staging_commit_stats cs;
		uint64_t n;
		size_t before = log_len(s, AREA);
		stage_random(&m, s, changes, &rng);
		CHECK_OK(staging_commit(s, AREA, AREA, &root, NULL, &nr, &cs));
		CHECK_OK(model_build(&m, NULL, &want, NULL));
		CHECK(cid_equal(&nr, &want));
		CHECK_OK(store_ref_get(s, AREA, &ref));
		CHECK(cid_equal(&ref, &nr));
		CHECK(log_len(s, AREA) == before + 1);
		CHECK_OK(staging_count(s, AREA, &n));
		CHECK(n == 0);
		struct hamt *h;
		CHECK_OK(hamt_open(&h, s, &nr));
		CHECK_OK(hamt_verify(h, &st));
		hamt_free(h);
		root = nr;
	}
	printf("commit == build: base %zu, %zu rounds of %zu changes, final "
	       "keys %llu, depth %u\n",
	       base, rounds, changes, (unsigned long long)st.keys, st.depth);
	model_free(&m);
	store_close(s);
}

static int sum_puts(void *payload, const uint8_t *key, size_t klen,
		    enum staging_kind kind, const uint8_t *data, size_t len)
{
	(void)key;
	(void)klen;
	(void)data;
	if (kind == STAGING_PUT)
		*(uint64_t *)payload += len;
	return 0;
}

/* Blocks written by commits of 1 and of 100 changes on a 100,000-key
 * tree; with nothing staged a commit is a no-op. */
static void test_commit_cost(void)
{
	const char *dir = test_tmpdir("staging-cost");
	struct store *s;
	struct model m;
	struct cid root, nr;
	struct hamt_stats st;
	uint64_t rng = 42;
	model_init(&m, 110000, 100000);
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	model_store(&m, s, &root, &st);
	unsigned depth = st.depth;
	size_t ks[] = {1, 100};
	for (size_t i = 0; i < 2; i++) {
		struct staging_commit_stats cs;
		stage_random(&m, s, ks[i], &rng);
		uint64_t n, rec_bytes = 0;
		CHECK_OK(staging_count(s, AREA, &n));
		CHECK_OK(staging_iterate(s, AREA, sum_puts, &rec_bytes));
		CHECK_OK(staging_commit(s, AREA, AREA, &root, NULL, &nr, &cs));
		CHECK(cs.puts + cs.deletes == n);
		CHECK(cs.blocks_written <= n * depth + 1);
		/* the records, and at least the root node (over 50 bytes) */
		CHECK(cs.bytes_written > rec_bytes + 50);
		CHECK(cs.bytes_written < rec_bytes + (n * depth + 1) * 20000);
		printf("commit of %llu changes (%llu puts, %llu deletes) on "
		       "100000 keys, depth %u: %llu blocks written (bound "
		       "%llu)\n",
		       (unsigned long long)n, (unsigned long long)cs.puts,
		       (unsigned long long)cs.deletes, depth,
		       (unsigned long long)cs.blocks_written,
		       (unsigned long long)(n * depth + 1));
		struct cid want;
		CHECK_OK(model_build(&m, NULL, &want, NULL));
		CHECK(cid_equal(&nr, &want));
		root = nr;
	}
	/* nothing staged: no-op */
	struct staging_commit_stats cs = {9, 9, 9, 9, 0, 0, 0, 0};
	size_t before = log_len(s, AREA);
	CHECK_OK(staging_commit(s, AREA, AREA, &root, NULL, &nr, &cs));
	CHECK(cid_equal(&nr, &root));
	CHECK(cs.puts == 0 && cs.deletes == 0 && cs.blocks_written == 0 &&
	      cs.bytes_written == 0);
	CHECK(log_len(s, AREA) == before);
	CHECK_OK(staging_commit(s, AREA, AREA, &root, NULL, &nr, NULL));
	model_free(&m);
	store_close(s);
}

/* New maps (root NULL), a bare-CID area, the ref compare-and-swap, attrs at
 * commit, deletes of absent keys only. */
static void test_commit_cases(void)
{
	const char *dir = test_tmpdir("staging-cases");
	struct store *s;
	struct model m;
	struct cid root, nr, want, ref;
	struct staging_attrs a = {1, 2, 0600}, g;
	uint64_t rng = 7, n;
	model_init(&m, 300, 0);
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	/* a new ref from nothing */
	stage_random(&m, s, 200, &rng);
	CHECK_OK(staging_set_attrs(s, AREA, (uint8_t *)"k0000001", 8, &a));
	CHECK_OK(staging_put(s, AREA, (uint8_t *)"k0000002", 8,
			     (uint8_t *)"value 2.9", 9, &a));
	m.present[2] = 1;
	m.ver[2] = 9;
	CHECK_OK(staging_delete(s, AREA, (uint8_t *)"k0000001", 8));
	m.present[1] = 0;
	CHECK_OK(staging_commit(s, AREA, AREA, NULL, NULL, &nr, NULL));
	CHECK_OK(model_build(&m, NULL, &want, NULL));
	CHECK(cid_equal(&nr, &want));
	CHECK_OK(store_ref_get(s, AREA, &ref));
	CHECK(cid_equal(&ref, &nr));
	CHECK_ERR(staging_get_attrs(s, AREA, (uint8_t *)"k0000001", 8, &g),
		  -ENOENT);
	CHECK_OK(staging_get_attrs(s, AREA, (uint8_t *)"k0000002", 8, &g));
	root = nr;
	/* the ref exists: root NULL or a stale root is refused */
	CHECK_OK(staging_put(s, AREA, (uint8_t *)"zz", 2, NULL, 0, NULL));
	CHECK_ERR(staging_commit(s, AREA, AREA, NULL, NULL, &nr, NULL),
		  -ESTALE);
	struct cid other;
	cid_of_block(&other, CODEC_DAG_CBOR, (uint8_t *)"x", 1);
	CHECK_ERR(staging_commit(s, AREA, AREA, &other, NULL, &nr, NULL),
		  -ESTALE);
	CHECK(strstr(err_msg(), "moved") != NULL);
	CHECK_OK(staging_count(s, AREA, &n));
	CHECK(n == 1);
	CHECK_OK(staging_unstage(s, AREA, (uint8_t *)"zz", 2));
	/* deletes of absent keys: staging emptied, ref and log untouched */
	size_t before = log_len(s, AREA);
	CHECK_OK(staging_delete(s, AREA, (uint8_t *)"absent", 6));
	CHECK_OK(staging_commit(s, AREA, AREA, &root, NULL, &nr, NULL));
	CHECK(cid_equal(&nr, &root));
	CHECK(log_len(s, AREA) == before);
	CHECK_OK(staging_count(s, AREA, &n));
	CHECK(n == 0);
	/* a mount of a bare CID: area "@CID", no ref, logged under the area */
	char area[CID_MAX_TEXT + 1] = "@";
	cid_format(&root, area + 1);
	char v3[64];
	size_t v3l = val_of(3, 5, v3);
	CHECK_OK(staging_put(s, area, (uint8_t *)"k0000003", 8, (uint8_t *)v3,
			     v3l, NULL));
	m.present[3] = 1;
	m.ver[3] = 5;
	CHECK_OK(staging_commit(s, area, NULL, &root, NULL, &nr, NULL));
	CHECK_OK(model_build(&m, NULL, &want, NULL));
	CHECK(cid_equal(&nr, &want));
	CHECK_OK(store_ref_get(s, AREA, &ref));
	CHECK(cid_equal(&ref, &root)); /* the ref did not move */
	CHECK(log_len(s, area) == 1);
	CHECK_ERR(store_ref_get(s, area, &ref), -ENOENT);
	/* an empty new map */
	CHECK_OK(staging_commit(s, "empty", "empty", NULL, NULL, &nr, NULL));
	m.n = 0;
	CHECK_OK(model_build(&m, NULL, &want, NULL));
	CHECK(cid_equal(&nr, &want));
	model_free(&m);
	store_close(s);
}

/* Fail the commit at its Nth block write for every N until it succeeds:
 * each failure leaves the ref, the staging area and the tree as they
 * were. */
static void test_commit_faults(void)
{
	const char *dir = test_tmpdir("staging-faults");
	struct store *s;
	struct model m;
	struct cid root, nr, ref, want;
	struct hamt_stats st;
	struct buf before = {0}, after = {0};
	uint64_t rng = 99;
	model_init(&m, 2200, 2000);
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	model_store(&m, s, &root, &st);
	stage_random(&m, s, 40, &rng);
	CHECK_OK(model_build(&m, NULL, &want, NULL));
	dump(s, AREA, &before);
	size_t logn = log_len(s, AREA);
	long long nfail = 0;
	for (long long f = 0;; f++) {
		store_fault_after(s, f);
		int rc = staging_commit(s, AREA, AREA, &root, NULL, &nr, NULL);
		store_fault_after(s, -1);
		if (rc == 0)
			break;
		nfail++;
		CHECK(rc == -EIO);
		CHECK(strstr(err_msg(), "injected") != NULL);
		CHECK_OK(store_ref_get(s, AREA, &ref));
		CHECK(cid_equal(&ref, &root));
		CHECK(log_len(s, AREA) == logn);
		dump(s, AREA, &after);
		CHECK(after.len == before.len &&
		      !memcmp(after.data, before.data, after.len));
		struct hamt *h;
		CHECK_OK(hamt_open(&h, s, &ref));
		CHECK_OK(hamt_verify(h, &st));
		hamt_free(h);
		if (f > 100000)
			break;
	}
	CHECK(nfail > 0);
	CHECK(cid_equal(&nr, &want));
	CHECK_OK(store_ref_get(s, AREA, &ref));
	CHECK(cid_equal(&ref, &want));
	printf("fault injection: %lld failing commits, then success\n", nfail);
	buf_free(&before);
	buf_free(&after);
	model_free(&m);
	store_close(s);
}

int main(void)
{
	test_basics();
	test_commit_cases();
	test_commit_equal(2000, 10, 150);
	test_commit_equal(100000, 3, 1000);
	test_commit_cost();
	test_commit_faults();
	return test_summary();
}
