/* test_faults.c - fault injection at every point of a commit, a build and
 * a CAR import: the Nth block write fails, the Nth block read fails, the
 * Nth allocation fails (malloc, calloc and realloc are interposed here, so
 * LMDB's, libcbor's and libcrypto's allocations fail too), for N = 0, 1, 2,
 * ... until the operation succeeds. After each failure the operation must
 * have returned an error (never crashed), the ref must still be the old
 * root and verify, the staging area must be as it was, and an import must
 * have left no block behind. Prints how many fault points were injected.
 *
 * (Under AddressSanitizer, which owns malloc, the allocation faults are
 * skipped.) */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hamt/hamt.h"
#include "store/car.h"
#include "store/staging.h"
#include "store/store.h"
#include "test.h"
#include "tools/pipeline.h"

/* ------------------------------------------------ failing allocations */

#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_FAULTS 0
static void alloc_fail_after(long long n)
{
	(void)n;
}
#else
#define ALLOC_FAULTS 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static atomic_llong alloc_left = -1; /* <0: off; else allocations left */

static int alloc_fails(void)
{
	if (atomic_load_explicit(&alloc_left, memory_order_relaxed) < 0)
		return 0;
	if (atomic_fetch_sub(&alloc_left, 1) > 0)
		return 0;
	atomic_store(&alloc_left, 0); /* and every one after it */
	return 1;
}

void *malloc(size_t n)
{
	if (alloc_fails()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	if (alloc_fails()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	if (alloc_fails()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

static void alloc_fail_after(long long n)
{
	atomic_store(&alloc_left, n < 0 ? -1 : n);
}
#endif

/* ---------------------------------------------------------- fixtures */

#define NKEYS 2000
#define NCHANGES 300

static size_t key_of(size_t i, char *out)
{
	return (size_t)snprintf(out, 32, "/works/OL%zuW", i);
}

static size_t rec_of(size_t i, unsigned v, char *out)
{
	return (size_t)snprintf(out, 64, "{\"title\":\"record %zu\",\"v\":%u}",
				i, v);
}

static int txn_put(void *payload, const struct cid *c, const uint8_t *data,
		   size_t len)
{
	return store_txn_put(payload, c, data, len);
}

/* Build keys [0, n) with version v under `ref` in one transaction. */
static int build(struct store *s, const char *ref, size_t n, unsigned v,
		 struct cid *root)
{
	struct hamt_entry *e = calloc(n, sizeof(*e));
	char *keys = malloc(n * 32);
	struct buf vals = {0};
	size_t *voff = calloc(n, sizeof(*voff));
	struct store_txn *t = NULL;
	int rc = e && keys && voff ? store_txn_begin(s, &t)
				   : err_set(-ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < n; i++) {
		char r[64];
		size_t rl = rec_of(i, v, r);
		struct cid c;
		cid_of_block(&c, CODEC_RAW, (const uint8_t *)r, rl);
		rc = store_txn_put(t, &c, (const uint8_t *)r, rl);
		voff[i] = vals.len;
		if (!rc)
			rc = hamt_value_encode_link(&c, &vals);
		e[i].key = (const uint8_t *)keys + i * 32;
		e[i].klen = key_of(i, keys + i * 32);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		e[i].val = vals.data + voff[i];
		e[i].vlen = (i + 1 < n ? voff[i + 1] : vals.len) - voff[i];
	}
	struct hamt_params p;
	hamt_params_default(&p);
	struct hamt_sink sink = {txn_put, t};
	if (!rc)
		rc = hamt_build(&p, e, n, &sink, root, NULL);
	if (!rc)
		rc = store_txn_set_ref(t, ref, root);
	if (!rc) {
		rc = store_txn_commit(t);
		t = NULL;
	}
	store_txn_abort(t);
	free(e);
	free(keys);
	free(voff);
	buf_free(&vals);
	return rc;
}

/* NCHANGES changes: puts of new and existing keys, deletes. */
static int stage(struct store *s)
{
	struct staging_change ch[NCHANGES];
	static char keys[NCHANGES][32], recs[NCHANGES][64];
	memset(ch, 0, sizeof(ch));
	for (size_t i = 0; i < NCHANGES; i++) {
		size_t id = i % 3 == 0 ? NKEYS + i : (i * 7) % NKEYS;
		ch[i].key = (const uint8_t *)keys[i];
		ch[i].klen = key_of(id, keys[i]);
		if (i % 5 == 4) {
			ch[i].record = STAGING_OP_TOMBSTONE;
		} else {
			ch[i].record = STAGING_OP_PUT;
			ch[i].data = (const uint8_t *)recs[i];
			ch[i].len = rec_of(id, 2, recs[i]);
		}
	}
	return staging_apply(s, "main", ch, NCHANGES);
}

static int copy_dir(const char *from, const char *to)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from,
		 to);
	return system(cmd) == 0 ? 0 : -EIO;
}

/* The ref is `want`, its map verifies, and `nstaged` changes are staged. */
static int intact(struct store *s, const struct cid *want, uint64_t nstaged)
{
	struct cid now;
	struct hamt *h = NULL;
	struct hamt_stats st;
	uint64_t n = 0;
	int ok = store_ref_get(s, "main", &now) == 0 && cid_equal(&now, want) &&
		 hamt_open(&h, s, &now) == 0 && hamt_verify(h, &st) == 0 &&
		 staging_count(s, "main", &n) == 0 && n == nstaged;
	hamt_free(h);
	return ok;
}

enum fault { F_WRITE, F_READ, F_ALLOC };
static const char *const fault_name[] = {"block write", "block read",
					 "allocation"};

static void arm(struct store *s, enum fault f, long long n)
{
	if (f == F_WRITE)
		store_fault_after(s, n);
	else if (f == F_READ)
		store_fault_read_after(s, n);
	else
		alloc_fail_after(n);
}

static void disarm(struct store *s)
{
	store_fault_after(s, -1);
	store_fault_read_after(s, -1);
	alloc_fail_after(-1);
}

static unsigned long total_points;
/* FAULT_STRIDE=K tries every Kth point only (0, K, 2K, ...), for slow
 * runs such as valgrind's; the default, 1, tries every point. */
static long long stride = 1;

/* --- a commit of NCHANGES changes on an NKEYS map --- */

static void test_commit(const char *pristine, enum fault f,
			const struct cid *root0, const struct cid *want)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("faults-commit"));
	CHECK_OK(copy_dir(pristine, dir));
	struct store *s = NULL;
	CHECK_OK(store_open(&s, dir, 0));
	if (!s)
		return;
	unsigned long points = 0, bad = 0;
	for (long long n = 0;; n += stride) {
		struct cid nr;
		arm(s, f, n);
		err_clear();
		int rc =
		    staging_commit(s, "main", "main", root0, NULL, &nr, NULL);
		disarm(s);
		if (rc == 0) {
			CHECK(cid_equal(&nr, want));
			break;
		}
		points++;
		if (!err_msg()[0] && bad++ < 5) /* every error says what */
			fprintf(stderr,
				"commit, %s fault %lld: rc %d, no "
				"message\n",
				fault_name[f], n, rc);
		if (!intact(s, root0, NCHANGES) && bad++ < 5)
			fprintf(stderr,
				"commit, %s fault %lld: not intact "
				"(%s)\n",
				fault_name[f], n, err_msg());
		if (n > 2000000) {
			CHECK(!"commit never succeeded");
			break;
		}
	}
	CHECK(bad == 0);
	CHECK(intact(s, want, 0));
	printf("commit: %lu %s fault points, each left the old root and the "
	       "staging area\n",
	       points, fault_name[f]);
	total_points += points;
	store_close(s);
}

/* --- a build of NKEYS keys into a store that has a map already --- */

static void test_build(const char *pristine, enum fault f,
		       const struct cid *root0)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("faults-build"));
	CHECK_OK(copy_dir(pristine, dir));
	struct store *s = NULL;
	CHECK_OK(store_open(&s, dir, 0));
	if (!s)
		return;
	size_t before = test_count_blocks(s);
	unsigned long points = 0, bad = 0;
	for (long long n = 0;; n += stride) {
		struct cid nr;
		arm(s, f, n);
		err_clear();
		int rc = build(s, "main", NKEYS, 7, &nr);
		disarm(s);
		if (rc == 0)
			break;
		points++;
		if (!err_msg()[0] && bad++ < 5)
			fprintf(stderr,
				"build, %s fault %lld: rc %d, no message\n",
				fault_name[f], n, rc);
		if ((!intact(s, root0, NCHANGES) ||
		     test_count_blocks(s) != before) &&
		    bad++ < 5)
			fprintf(stderr, "build, %s fault %lld: store changed\n",
				fault_name[f], n);
		if (n > 2000000) {
			CHECK(!"build never succeeded");
			break;
		}
	}
	CHECK(bad == 0);
	printf("build: %lu %s fault points, each left the store as it was\n",
	       points, fault_name[f]);
	total_points += points;
	store_close(s);
}

/* --- `hamt build`'s parallel pipeline into a store that has a map --- */

static void test_pipeline(const char *pristine, enum fault f,
			  const struct cid *root0, const char *input)
{
	char dir[512], spill[600];
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("faults-pipeline"));
	CHECK_OK(copy_dir(pristine, dir));
	snprintf(spill, sizeof(spill), "%s/spill", dir);
	CHECK(mkdir(spill, 0755) == 0);
	struct store *s = NULL;
	CHECK_OK(store_open(&s, dir, 0));
	if (!s)
		return;
	size_t before = test_count_blocks(s);
	unsigned long points = 0, bad = 0;
	for (long long n = 0;; n += stride) {
		struct pipeline_opts o = {0};
		struct pipeline_stats st;
		struct cid nr;
		o.input = input;
		o.in.format = INPUT_TSV;
		o.in.codec = CODEC_RAW;
		o.link = 1;
		hamt_params_default(&o.params);
		o.threads = 2;
		o.mem = n % 2 ? 16 << 10 : 64 << 20; /* spill, or not */
		o.spill_dir = spill;
		o.store = s;
		o.ref = "main";
		o.chunk = 4096;
		arm(s, f, n);
		err_clear();
		int rc = pipeline_run(&o, &nr, &st);
		disarm(s);
		if (rc == 0)
			break;
		points++;
		if (!err_msg()[0] && bad++ < 5)
			fprintf(stderr,
				"pipeline, %s fault %lld: rc %d, no "
				"message\n",
				fault_name[f], n, rc);
		if ((!intact(s, root0, NCHANGES) ||
		     test_count_blocks(s) != before) &&
		    bad++ < 5)
			fprintf(stderr,
				"pipeline, %s fault %lld: store changed\n",
				fault_name[f], n);
		if (n > 2000000) {
			CHECK(!"pipeline build never succeeded");
			break;
		}
	}
	CHECK(bad == 0);
	printf("hamt build (pipeline): %lu %s fault points, each left the "
	       "store as it was\n",
	       points, fault_name[f]);
	total_points += points;
	store_close(s);
}

/* --- an import of the spec fixture's CAR into an empty store --- */

static void test_import(enum fault f)
{
	const char *car = test_fixture("hamt-alice-words/hamt.car");
	struct store *s = NULL;
	CHECK_OK(store_open(&s, test_tmpdir("faults-import"), STORE_CREATE));
	if (!s)
		return;
	unsigned long points = 0, bad = 0;
	for (long long n = 0;; n += stride) {
		struct cid *roots = NULL;
		size_t nroots = 0;
		arm(s, f, n);
		err_clear();
		int rc = car_import(s, car, &roots, &nroots);
		disarm(s);
		free(roots);
		if (rc == 0)
			break;
		if (rc == -ENOENT && n == 0) {
			CHECK(!"the fixture is missing");
			break;
		}
		points++;
		if (!err_msg()[0] && bad++ < 5)
			fprintf(stderr,
				"import, %s fault %lld: rc %d, no "
				"message\n",
				fault_name[f], n, rc);
		if (test_count_blocks(s) != 0 && bad++ < 5)
			fprintf(stderr, "import, %s fault %lld: blocks left\n",
				fault_name[f], n);
		if (n > 2000000) {
			CHECK(!"import never succeeded");
			break;
		}
	}
	CHECK(bad == 0);
	CHECK(test_count_blocks(s) == 36);
	printf("import: %lu %s fault points, each left no block behind\n",
	       points, fault_name[f]);
	total_points += points;
	store_close(s);
}

int main(void)
{
	const char *st = getenv("FAULT_STRIDE");
	if (st && atoll(st) > 1) {
		stride = atoll(st);
		printf("trying every %lldth fault point (FAULT_STRIDE)\n",
		       stride);
	}
	char pristine[512];
	snprintf(pristine, sizeof(pristine), "%s",
		 test_tmpdir("faults-pristine"));
	struct store *s = NULL;
	struct cid root0, want;
	CHECK_OK(store_open(&s, pristine, STORE_CREATE));
	if (!s)
		return test_summary();
	CHECK_OK(build(s, "main", NKEYS, 0, &root0));
	CHECK_OK(stage(s));
	store_close(s);
	/* the root a commit without faults gives */
	char ok[512];
	snprintf(ok, sizeof(ok), "%s", test_tmpdir("faults-ok"));
	CHECK_OK(copy_dir(pristine, ok));
	CHECK_OK(store_open(&s, ok, 0));
	CHECK_OK(staging_commit(s, "main", "main", &root0, NULL, &want, NULL));
	store_close(s);

	/* the input of the pipeline builds: NKEYS records in tsv */
	char input[600];
	snprintf(input, sizeof(input), "%s/input.tsv", ok);
	FILE *in = fopen(input, "w");
	for (size_t i = 0; in && i < NKEYS; i++) {
		char k[32], r[64];
		key_of(i, k);
		rec_of(i, 9, r);
		fprintf(in, "%s\t%s\n", k, r);
	}
	CHECK(in && fclose(in) == 0);

	/* valgrind replaces malloc even in this program: probe whether a
	 * failing allocation really fails */
	int alloc_faults = ALLOC_FAULTS;
	if (alloc_faults) {
		void *(*volatile alloc)(size_t) = malloc; /* not elided */
		alloc_fail_after(0);
		void *probe = alloc(16);
		alloc_fail_after(-1);
		if (probe) {
			free(probe);
			alloc_faults = 0;
		}
	}
	int nfaults = alloc_faults ? 3 : 2;
	for (int f = 0; f < nfaults; f++) {
		test_commit(pristine, (enum fault)f, &root0, &want);
		test_build(pristine, (enum fault)f, &root0);
		test_pipeline(pristine, (enum fault)f, &root0, input);
		if (f != F_READ) /* an import reads no block from the store */
			test_import((enum fault)f);
	}
	if (!alloc_faults)
		printf("allocation faults: skipped (AddressSanitizer or "
		       "valgrind owns malloc)\n");
	printf("fault points injected: %lu\n", total_points);
	return test_summary();
}
