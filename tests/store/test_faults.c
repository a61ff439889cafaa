/* test_faults.c - fault injection at every point of a commit, a build and
 * a CAR import: the Nth block write fails, the Nth block read fails, the
 * Nth allocation fails (malloc, calloc and realloc are interposed here, so
 * LMDB's, libcbor's and libcrypto's allocations fail too), for N = 0, 1, 2,
 * ... until the operation succeeds. After each failure the operation must
 * have returned an error (never crashed), the ref must still be the old
 * root and verify, the staging area must be as it was, and an import must
 * have left no block behind. Prints how many fault points were injected.
 *
 * (Under AddressSanitizer or ThreadSanitizer, which own malloc, the allocation
 * faults are skipped.) */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hamt/hamt.h"
#include "hamt/sanitizer.h"
#include "mapfixture.h"
#include "store/car.h"
#include "store/staging.h"
#include "store/store.h"
#include "test.h"
#include "tools/pipeline.h"

/* ------------------------------------------------ failing allocations */

#if defined(HAMT_UNDER_ASAN) || defined(HAMT_UNDER_TSAN)
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

/* NCHANGES changes: puts of new and existing keys, deletes. */
static int stage(struct store *s)
{
	struct staging_change ch[NCHANGES];
	static char keys[NCHANGES][32], recs[NCHANGES][64];
	memset(ch, 0, sizeof(ch));
	for (size_t i = 0; i < NCHANGES; i++) {
		size_t id = i % 3 == 0 ? NKEYS + i : (i * 7) % NKEYS;
		ch[i].key = (const uint8_t *)keys[i];
		ch[i].klen = mapfixture_key(id, keys[i]);
		if (i % 5 == 4) {
			ch[i].record = STAGING_OP_TOMBSTONE;
		} else {
			ch[i].record = STAGING_OP_PUT;
			ch[i].data = (const uint8_t *)recs[i];
			ch[i].len = mapfixture_record(id, 2, recs[i]);
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

/* One fault sweep: for n = 0, stride, 2*stride, ... arm fault F to strike
 * at its n-th chance and run ATTEMPT; every run that fails must say why
 * (a message) and leave the store as UNCHANGED checks it. Ends with the
 * first run that succeeds and prints how many failed before it. Returns
 * the number of bad runs. */
struct sweep {
	const char *what;  /* "commit", ... */
	const char *claim; /* what each failed run left, for the summary */
	int (*attempt)(struct sweep *w, long long n);
	int (*unchanged)(struct sweep *w); /* 1 if the store is as before */
	const struct cid *root0;
	const char *input;
	struct store *s;
	size_t blocks_before; /* set by sweep() */
	struct cid got;	      /* the new root of the run that succeeded */
};

static unsigned long sweep(struct sweep *w, enum fault f)
{
	unsigned long bad = 0, points = 0;
	w->blocks_before = test_count_blocks(w->s);
	for (long long n = 0;; n += stride) {
		arm(w->s, f, n);
		err_clear();
		int rc = w->attempt(w, n);
		disarm(w->s);
		if (rc == 0)
			break;
		points++;
		if (!err_msg()[0] && bad++ < 5) /* every error says what */
			fprintf(stderr,
				"%s, %s fault %lld: rc %d, no message\n",
				w->what, fault_name[f], n, rc);
		if (!w->unchanged(w) && bad++ < 5)
			fprintf(stderr,
				"%s, %s fault %lld: store changed (%s)\n",
				w->what, fault_name[f], n, err_msg());
		if (n > 2000000) {
			CHECK(!"the run never succeeded");
			break;
		}
	}
	printf("%s: %lu %s fault points, each %s\n", w->what, points,
	       fault_name[f], w->claim);
	total_points += points;
	return bad;
}

/* The store as a pristine copy has it: the map of root0 with NCHANGES
 * staged, and no other block. */
static int same_blocks(struct sweep *w)
{
	return intact(w->s, w->root0, NCHANGES) &&
	       test_count_blocks(w->s) == w->blocks_before;
}

/* Open a fresh copy of the pristine store in the directory named NAME. */
static struct store *open_copy(const char *pristine, const char *name,
			       char *dir, size_t size)
{
	snprintf(dir, size, "%s", test_tmpdir(name));
	CHECK_OK(copy_dir(pristine, dir));
	struct store *s = NULL;
	CHECK_OK(store_open(&s, dir, 0));
	return s;
}

/* --- a commit of NCHANGES changes on an NKEYS map --- */

static int commit_attempt(struct sweep *w, long long n)
{
	(void)n;
	return staging_commit(w->s, "main", "main", w->root0, NULL, &w->got,
			      NULL);
}

static int commit_unchanged(struct sweep *w)
{
	return intact(w->s, w->root0, NCHANGES);
}

static void test_commit(const char *pristine, enum fault f,
			const struct cid *root0, const struct cid *want)
{
	char dir[512];
	struct sweep w = {.what = "commit",
			  .claim = "left the old root and the staging area",
			  .attempt = commit_attempt,
			  .unchanged = commit_unchanged,
			  .root0 = root0};
	if (!(w.s = open_copy(pristine, "faults-commit", dir, sizeof(dir))))
		return;
	CHECK(sweep(&w, f) == 0);
	CHECK(cid_equal(&w.got, want));
	CHECK(intact(w.s, want, 0));
	store_close(w.s);
}

/* --- a build of NKEYS keys into a store that has a map already --- */

static int build_attempt(struct sweep *w, long long n)
{
	(void)n;
	return mapfixture_build(w->s, "main", NKEYS, 7, &w->got);
}

static void test_build(const char *pristine, enum fault f,
		       const struct cid *root0)
{
	char dir[512];
	struct sweep w = {.what = "build",
			  .claim = "left the store as it was",
			  .attempt = build_attempt,
			  .unchanged = same_blocks,
			  .root0 = root0};
	if (!(w.s = open_copy(pristine, "faults-build", dir, sizeof(dir))))
		return;
	CHECK(sweep(&w, f) == 0);
	store_close(w.s);
}

/* --- `hamt build`'s parallel pipeline into a store that has a map --- */

static int pipeline_attempt(struct sweep *w, long long n)
{
	char spill[600];
	struct pipeline_opts o = {0};
	struct pipeline_stats st;
	snprintf(spill, sizeof(spill), "%s/spill", store_dir(w->s));
	o.input = w->input;
	o.in.format = INPUT_TSV;
	o.in.codec = CODEC_RAW;
	o.link = 1;
	hamt_params_default(&o.params);
	o.threads = 2;
	o.mem = n % 2 ? 16 << 10 : 64 << 20; /* spill, or not */
	o.spill_dir = spill;
	o.store = w->s;
	o.ref = "main";
	o.chunk = 4096;
	return pipeline_run(&o, &w->got, &st);
}

static void test_pipeline(const char *pristine, enum fault f,
			  const struct cid *root0, const char *input)
{
	char dir[512], spill[600];
	struct sweep w = {.what = "hamt build (pipeline)",
			  .claim = "left the store as it was",
			  .attempt = pipeline_attempt,
			  .unchanged = same_blocks,
			  .root0 = root0,
			  .input = input};
	if (!(w.s = open_copy(pristine, "faults-pipeline", dir, sizeof(dir))))
		return;
	snprintf(spill, sizeof(spill), "%s/spill", dir);
	CHECK(mkdir(spill, 0755) == 0);
	CHECK(sweep(&w, f) == 0);
	store_close(w.s);
}

/* --- an import of the spec fixture's CAR into an empty store --- */

static int import_attempt(struct sweep *w, long long n)
{
	(void)n;
	struct cid *roots = NULL;
	size_t nroots = 0;
	int rc = car_import(w->s, w->input, &roots, &nroots);
	free(roots);
	return rc;
}

static int no_blocks(struct sweep *w)
{
	return test_count_blocks(w->s) == 0;
}

static void test_import(enum fault f)
{
	struct sweep w = {.what = "import",
			  .claim = "left no block behind",
			  .attempt = import_attempt,
			  .unchanged = no_blocks,
			  .input = test_fixture("hamt-alice-words/hamt.car")};
	if (access(w.input, R_OK) != 0) {
		CHECK(!"the fixture is missing");
		return;
	}
	CHECK_OK(store_open(&w.s, test_tmpdir("faults-import"), STORE_CREATE));
	if (!w.s)
		return;
	CHECK(sweep(&w, f) == 0);
	CHECK(test_count_blocks(w.s) == 36);
	store_close(w.s);
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
	CHECK_OK(mapfixture_build(s, "main", NKEYS, 0, &root0));
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
		mapfixture_key(i, k);
		mapfixture_record(i, 9, r);
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
