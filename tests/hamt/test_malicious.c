/* test_malicious.c - hostile trees (tests/malicious.h) against the
 * library: opening, verify, get, iterate/cursor, merge, with and without
 * the node cache; a 128 MiB bitWidth-30 root decoded in memory; CARs with
 * a block over 2 MiB refused at import. Every refusal must be an error
 * (never "not found", never data) whose message names the defect and the
 * block. Prints how many cases were tried. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/cache.h"
#include "hamt/hamt.h"
#include "hamt/node.h"
#include "malicious.h"
#include "store/backend.h"
#include "store/car.h"
#include "store/store.h"
#include "test.h"

static unsigned long tried;

/* rc must be an error (not "absent") whose message has the case's defect
 * and CID. */
static void expect_defect(const struct mal_case *c, int rc, const char *what)
{
	char txt[CID_MAX_TEXT];
	const char *msg = err_msg();
	cid_format(&c->bad, txt);
	int ok = rc < 0 && rc != -ENOENT && strstr(msg, c->defect) &&
		 strstr(msg, txt);
	if (c->kind == MAL_ROOT && !strcmp(c->name, "root-missing"))
		ok = rc == -ENOENT && strstr(msg, c->defect) &&
		     strstr(msg, txt); /* no root: the ref's map is absent */
	CHECK(ok);
	if (!ok)
		fprintf(stderr,
			"  case %s, %s: rc %d, message \"%s\" (want \"%s\" "
			"and %s)\n",
			c->name, what, rc, msg, c->defect, txt);
}

static int count_cb(void *payload, const uint8_t *key, size_t klen,
		    const uint8_t *val, size_t vlen)
{
	(void)key, (void)klen, (void)val, (void)vlen;
	(*(size_t *)payload)++;
	return 0;
}

static int null_put(void *payload, const struct cid *c, const uint8_t *data,
		    size_t len)
{
	(void)payload, (void)c, (void)data, (void)len;
	return 0;
}

/* A key that is in the tree reads as it should. */
static void expect_good(struct store *s, struct hamt *h,
			const struct mal_case *c)
{
	struct buf val = {0}, out = {0};
	int rc = hamt_get(h, (const uint8_t *)c->good_key, strlen(c->good_key),
			  &val);
	if (!rc)
		rc = hamt_value_render(s, val.data, val.len, &out);
	CHECK(rc == 0 && out.len == strlen(c->good_val) &&
	      !memcmp(out.data, c->good_val, out.len));
	if (rc)
		fprintf(stderr, "  case %s: good key %s: %s\n", c->name,
			c->good_key, err_msg());
	buf_free(&val);
	buf_free(&out);
}

/* Reading the bad key: the lookup (tree) or the rendering (value) fails. */
static void expect_bad_get(struct store *s, struct hamt *h,
			   const struct mal_case *c)
{
	struct buf val = {0}, out = {0};
	int rc =
	    hamt_get(h, (const uint8_t *)c->bad_key, strlen(c->bad_key), &val);
	if (c->kind == MAL_VALUE) {
		CHECK_OK(rc);
		rc = hamt_value_render(s, val.data, val.len, &out);
	}
	expect_defect(c, rc, "get");
	buf_free(&val);
	buf_free(&out);
}

static void run_case(struct store *s, const struct mal_case *c,
		     struct hamt_cache *cache)
{
	struct hamt *h = NULL;
	int rc = hamt_open(&h, s, &c->root);
	tried++;
	if (c->kind == MAL_ROOT) {
		expect_defect(c, rc, "open");
		CHECK(h == NULL);
		hamt_free(h);
		return;
	}
	CHECK_OK(rc);
	if (rc)
		return;
	struct hamt_stats st;
	expect_defect(c, hamt_verify(h, &st), "verify");
	expect_bad_get(s, h, c);
	expect_good(s, h, c);
	size_t n = 0;
	rc = hamt_iterate(h, count_cb, &n);
	if (c->kind == MAL_TREE)
		expect_defect(c, rc, "iterate");
	else
		CHECK(rc == 0 && n == 4); /* listing reads no values */
	/* as the mount reads: through the node cache, again and again */
	hamt_set_cache(h, cache);
	for (int i = 0; i < 2; i++) {
		expect_bad_get(s, h, c);
		expect_good(s, h, c);
	}
	/* a commit through the broken part refuses to build on it (a value
	 * case may replace its broken value: that is a repair) */
	if (c->kind == MAL_TREE) {
		struct hamt_change ch = {(const uint8_t *)c->bad_key,
					 strlen(c->bad_key),
					 (const uint8_t *)"\x61x", 2};
		struct hamt_sink sink = {null_put, NULL};
		struct cid nr;
		expect_defect(c, hamt_merge(h, &ch, 1, &sink, &nr, NULL),
			      "merge");
	}
	hamt_free(h);
}

static void test_trees(void)
{
	struct store *s = NULL;
	struct hamt_cache *cache = NULL;
	struct mal_case cases[MAL_MAX_CASES];
	size_t n = 0;
	CHECK_OK(store_open(&s, test_tmpdir("malicious"), STORE_CREATE));
	CHECK_OK(hamt_cache_new(&cache, 1 << 20));
	/* the 128 MiB root only when asked: it costs seconds under valgrind */
	const char *big = getenv("HAMTFS_TEST_BIG");
	CHECK_OK(mal_build(s, cases, &n, !big || strcmp(big, "0") != 0));
	CHECK(n >= 30);
	unsigned kinds[3] = {0};
	for (size_t i = 0; i < n; i++) {
		kinds[cases[i].kind]++;
		run_case(s, &cases[i], cache);
	}
	printf("trees: %zu cases (%u bad roots, %u bad nodes, %u bad "
	       "values)\n",
	       n, kinds[MAL_ROOT], kinds[MAL_TREE], kinds[MAL_VALUE]);
	hamt_cache_free(cache);
	store_close(s);
}

/* bitWidth 30 decoded where no store limit stops it first. */
static void test_bitwidth30(void)
{
	size_t len = 0;
	uint8_t *blk = mal_bitwidth30_root(&len);
	struct hamt_node *node = NULL;
	CHECK(blk != NULL && len > (size_t)1 << 27);
	tried++;
	CHECK_ERR(hamt_node_decode(blk, len, 1, &node), -EINVAL);
	CHECK(strstr(err_msg(), "implies bitWidth 30") != NULL);
	CHECK(node == NULL);
	free(blk);
}

/* A CAR with a block over 2 MiB is refused at import, as a whole; one of
 * exactly 2 MiB is taken. */
static void test_big_car(void)
{
	const char *dir = test_tmpdir("malicious-car");
	char path[4200], sdir[4200];
	struct store *s = NULL;
	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	CHECK_OK(store_open(&s, sdir, STORE_CREATE));
	for (int v2 = 0; v2 <= 1; v2++) {
		struct cid *roots = NULL;
		size_t nroots = 0;
		struct store_backend *be = NULL;
		snprintf(path, sizeof(path), "%s/big%d.car", dir, v2);
		CHECK_OK(mal_write_car(path, STORE_MAX_BLOCK + 1, v2));
		tried++;
		size_t before = test_count_blocks(s);
		CHECK_ERR(car_import(s, path, &roots, &nroots), -EFBIG);
		CHECK(strstr(err_msg(), "blocks over 2097152 bytes are "
					"refused") != NULL);
		CHECK(test_count_blocks(s) == before && roots == NULL);
		CHECK_ERR(store_car_open(&be, path), -EFBIG);
		CHECK(be == NULL);
		/* the limit itself is allowed */
		CHECK_OK(mal_write_car(path, STORE_MAX_BLOCK, v2));
		CHECK_OK(car_import(s, path, &roots, &nroots));
		CHECK(nroots == 1);
		if (nroots == 1) {
			uint8_t *data = NULL;
			size_t len = 0;
			CHECK_OK(store_get(s, &roots[0], &data, &len));
			CHECK(len == STORE_MAX_BLOCK);
			free(data);
		}
		free(roots);
	}
	store_close(s);
}

int main(void)
{
	test_trees();
	test_bitwidth30();
	test_big_car();
	printf("%lu malicious cases tried\n", tried);
	return test_summary();
}
