/* test_store.c - the store front: blocks, verification, refs, txns,
 * backends, threads. */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "test.h"

#define NBLOCKS 500

/* Deterministic raw blocks: block i is "block <i>" padded to 16..1040
 * bytes with PRNG bytes. */
static uint8_t *make_block(size_t i, size_t *len, struct cid *c)
{
	uint64_t rng = 0x1234 + i;
	*len = 16 + (size_t)(test_rand(&rng) % 1024);
	uint8_t *p = malloc(*len);
	for (size_t j = 0; j < *len; j++)
		p[j] = (uint8_t)test_rand(&rng);
	char tag[32];
	int tl = snprintf(tag, sizeof(tag), "block %zu", i);
	memcpy(p, tag, (size_t)tl < 16 ? (size_t)tl : 16);
	cid_of_block(c, CODEC_RAW, p, *len);
	return p;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_open_errors(void)
{
	struct store *s = NULL;
	const char *dir = test_tmpdir("open");
	char sub[4200];
	/* missing directory without CREATE */
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	CHECK_ERR(store_open(&s, sub, 0), -ENOENT);
	CHECK(s == NULL);
	/* empty directory: no store there */
	CHECK_ERR(store_open(&s, dir, 0), -ENOENT);
	/* a directory with other things in it: not a store */
	snprintf(sub, sizeof(sub), "%s/junk", dir);
	FILE *f = fopen(sub, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	CHECK_ERR(store_open(&s, dir, 0), -EINVAL);
	CHECK(strstr(err_msg(), "not a hamtfs store") != NULL);
	/* a plain file */
	CHECK_ERR(store_open(&s, sub, STORE_CREATE), -ENOTDIR);
	/* CREATE makes nested directories */
	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	CHECK_OK(store_open(&s, sub, STORE_CREATE));
	store_close(s);
	CHECK_OK(store_open(&s, sub, 0));
	store_close(s);
	/* an LMDB environment that is not ours */
	snprintf(sub, sizeof(sub), "%s/foreign", dir);
	mkdir(sub, 0755);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	CHECK(mdb_env_create(&env) == 0);
	CHECK(mdb_env_open(env, sub, 0, 0644) == 0);
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CHECK(mdb_dbi_open(txn, NULL, 0, &dbi) == 0);
	MDB_val k = {3, "foo"}, v = {3, "bar"};
	CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
	CHECK_ERR(store_open(&s, sub, STORE_CREATE), -EINVAL);
	CHECK(strstr(err_msg(), "not a hamtfs store") != NULL);
}

static void test_roundtrip(void)
{
	const char *dir = test_tmpdir("roundtrip");
	struct store *s;
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	struct cid cs[NBLOCKS];
	for (size_t i = 0; i < NBLOCKS; i++) {
		size_t len;
		uint8_t *p = make_block(i, &len, &cs[i]);
		if (i < 10) {
			CHECK_OK(store_put(s, &cs[i], p, len));
		} else {
			static struct store_txn *t;
			if (i == 10)
				CHECK_OK(store_txn_begin(s, &t));
			CHECK_OK(store_txn_put(t, &cs[i], p, len));
			CHECK_OK(store_txn_put(t, &cs[i], p, len)); /* dup */
			if (i == NBLOCKS - 1)
				CHECK_OK(store_txn_commit(t));
		}
		free(p);
	}
	/* putting an existing block again is fine */
	{
		size_t len;
		uint8_t *p = make_block(3, &len, &cs[3]);
		CHECK_OK(store_put(s, &cs[3], p, len));
		free(p);
	}
	store_close(s);
	CHECK_OK(store_open(&s, dir, 0));
	size_t ok = 0;
	for (size_t i = 0; i < NBLOCKS; i++) {
		size_t len, glen;
		struct cid c;
		uint8_t *p = make_block(i, &len, &c), *g = NULL;
		if (store_has(s, &c) == 1 && store_get(s, &c, &g, &glen) == 0 &&
		    glen == len && memcmp(g, p, len) == 0)
			ok++;
		free(g);
		free(p);
	}
	CHECK(ok == NBLOCKS);
	CHECK(test_count_blocks(s) == NBLOCKS);
	/* an absent block */
	struct cid absent;
	cid_of_block(&absent, CODEC_RAW, (const uint8_t *)"nope", 4);
	uint8_t *g = (uint8_t *)"x";
	size_t glen = 7;
	CHECK(store_has(s, &absent) == 0);
	CHECK_ERR(store_get(s, &absent, &g, &glen), -ENOENT);
	char txt[CID_MAX_TEXT];
	CHECK(strstr(err_msg(), cid_format(&absent, txt)) != NULL);
	CHECK(g == NULL);
	/* identity CIDs need no storage */
	struct cid id = {.version = 1,
			 .codec = CODEC_RAW,
			 .mh_code = MH_IDENTITY,
			 .digest_len = 3,
			 .digest = {'a', 'b', 'c'}};
	CHECK(store_has(s, &id) == 1);
	CHECK_OK(store_get(s, &id, &g, &glen));
	CHECK(glen == 3 && memcmp(g, "abc", 3) == 0);
	free(g);
	/* iteration is in CID order */
	store_close(s);

	/* read-only open: reads work, writes are refused */
	CHECK_OK(store_open(&s, dir, STORE_RDONLY));
	CHECK(store_has(s, &cs[0]) == 1);
	struct store_txn *t = NULL;
	CHECK_ERR(store_txn_begin(s, &t), -EROFS);
	CHECK_ERR(store_put(s, &absent, (const uint8_t *)"nope", 4), -EROFS);
	store_close(s);
}

static void test_big_block(void)
{
	struct store *s;
	CHECK_OK(store_open(&s, test_tmpdir("big"), STORE_CREATE));
	size_t n = STORE_MAX_BLOCK + 1;
	uint8_t *p = calloc(1, n);
	struct cid c;
	cid_of_block(&c, CODEC_RAW, p, n);
	CHECK_ERR(store_put(s, &c, p, n), -EFBIG);
	/* exactly the limit is accepted */
	cid_of_block(&c, CODEC_RAW, p, n - 1);
	CHECK_OK(store_put(s, &c, p, n - 1));
	uint8_t *g;
	size_t glen;
	CHECK_OK(store_get(s, &c, &g, &glen));
	CHECK(glen == n - 1);
	free(g);
	free(p);
	store_close(s);
}

static void test_corrupt(void)
{
	const char *dir = test_tmpdir("corrupt");
	struct store *s;
	struct cid c;
	size_t len;
	uint8_t *p = make_block(42, &len, &c);
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	CHECK_OK(store_put(s, &c, p, len));
	store_close(s);
	/* overwrite the block with other bytes behind the store's back */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t key[CID_MAX_BYTES];
	CHECK(mdb_env_create(&env) == 0);
	mdb_env_set_maxdbs(env, 8);
	/* a small map: LMDB would adopt the store's 1 TiB, which cannot be
	 * mapped where address space is limited (valgrind) */
	mdb_env_set_mapsize(env, (size_t)1 << 28);
	CHECK(mdb_env_open(env, dir, 0, 0644) == 0);
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CHECK(mdb_dbi_open(txn, "blocks", 0, &dbi) == 0);
	p[5] ^= 1;
	MDB_val k = {cid_to_bytes(&c, key), key}, v = {len, p};
	CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);

	CHECK_OK(store_open(&s, dir, 0));
	uint8_t *g = NULL;
	size_t glen;
	CHECK_ERR(store_get(s, &c, &g, &glen), -EIO);
	CHECK(g == NULL);
	char txt[CID_MAX_TEXT];
	CHECK(strstr(err_msg(), cid_format(&c, txt)) != NULL);
	CHECK(store_has(s, &c) == 1);
	size_t n = 0;
	CHECK_ERR(store_iterate(s, test_count_cb, &n), -EIO);
	store_close(s);
	free(p);
}

struct logent {
	uint64_t time;
	int has_old;
	struct cid old, new_root;
};

struct logbuf {
	struct logent e[16];
	size_t n;
};

static int log_cb(void *payload, uint64_t time, const struct cid *old,
		  const struct cid *new_root)
{
	struct logbuf *lb = payload;
	if (lb->n == 16)
		return 1;
	struct logent *e = &lb->e[lb->n++];
	e->time = time;
	e->has_old = old != NULL;
	if (old)
		e->old = *old;
	e->new_root = *new_root;
	return 0;
}

struct reflist {
	char names[8][32];
	size_t n;
};

static int list_cb(void *payload, const char *name, const struct cid *root)
{
	struct reflist *rl = payload;
	(void)root;
	if (rl->n < 8)
		snprintf(rl->names[rl->n++], 32, "%s", name);
	return 0;
}

static void test_refs(void)
{
	const char *dir = test_tmpdir("refs");
	struct store *s;
	struct cid a, b, c, got;
	cid_of_block(&a, CODEC_DAG_CBOR, (const uint8_t *)"a", 1);
	cid_of_block(&b, CODEC_DAG_CBOR, (const uint8_t *)"b", 1);
	cid_of_block(&c, CODEC_DAG_CBOR, (const uint8_t *)"c", 1);
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	CHECK_ERR(store_ref_get(s, "main", &got), -ENOENT);
	CHECK_ERR(store_resolve(s, "main", &got), -ENOENT);
	CHECK(strstr(err_msg(), "unknown ref or CID: main") != NULL);
	CHECK_OK(store_ref_set(s, "main", &a));
	CHECK_OK(store_ref_set(s, "main", &b));
	CHECK_OK(store_ref_set(s, "ma", &c)); /* a prefix of "main" */
	CHECK_OK(store_ref_set(s, "mainx", &c));
	/* bad names */
	CHECK_ERR(store_ref_set(s, "", &a), -EINVAL);
	CHECK_ERR(store_ref_set(s, "has space", &a), -EINVAL);
	CHECK_ERR(store_ref_set(s, "tab\t", &a), -EINVAL);
	char longname[STORE_REF_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[STORE_REF_MAX + 1] = '\0';
	CHECK_ERR(store_ref_set(s, longname, &a), -EINVAL);
	longname[STORE_REF_MAX] = '\0';
	CHECK_OK(store_ref_set(s, longname, &a));
	store_close(s);

	CHECK_OK(store_open(&s, dir, 0));
	CHECK_OK(store_ref_get(s, "main", &got));
	CHECK(cid_equal(&got, &b));
	CHECK_OK(store_resolve(s, "main", &got));
	CHECK(cid_equal(&got, &b));
	char txt[CID_MAX_TEXT];
	CHECK_OK(store_resolve(s, cid_format(&c, txt), &got));
	CHECK(cid_equal(&got, &c));
	CHECK_ERR(store_resolve(s, "", &got), -EINVAL);
	CHECK_ERR(store_resolve(s, "no such", &got), -EINVAL);

	struct logbuf lb = {0};
	uint64_t now = (uint64_t)time(NULL);
	CHECK_OK(store_ref_log(s, "main", log_cb, &lb));
	CHECK(lb.n == 2);
	if (lb.n == 2) {
		/* newest first */
		CHECK(lb.e[0].has_old && cid_equal(&lb.e[0].old, &a));
		CHECK(cid_equal(&lb.e[0].new_root, &b));
		CHECK(!lb.e[1].has_old);
		CHECK(cid_equal(&lb.e[1].new_root, &a));
		CHECK(lb.e[0].time <= now && lb.e[0].time + 600 > now);
	}
	lb.n = 0;
	CHECK_OK(store_ref_log(s, "ma", log_cb, &lb));
	CHECK(lb.n == 1);
	lb.n = 0;
	CHECK_OK(store_ref_log(s, "mainx", log_cb, &lb));
	CHECK(lb.n == 1);
	lb.n = 0;
	CHECK_OK(store_ref_log(s, "nothing", log_cb, &lb));
	CHECK(lb.n == 0);

	struct reflist rl = {0};
	CHECK_OK(store_ref_list(s, list_cb, &rl));
	CHECK(rl.n == 4);
	if (rl.n == 4) {
		CHECK(strcmp(rl.names[0], "ma") == 0);
		CHECK(strcmp(rl.names[1], "main") == 0);
		CHECK(strcmp(rl.names[2], "mainx") == 0);
	}
	store_close(s);
}

static void test_abort(void)
{
	const char *dir = test_tmpdir("abort");
	struct store *s;
	struct store_txn *t;
	struct cid c, r;
	size_t len;
	uint8_t *p = make_block(7, &len, &c);
	cid_of_block(&r, CODEC_DAG_CBOR, (const uint8_t *)"r", 1);
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, &t));
	CHECK_OK(store_txn_put(t, &c, p, len));
	CHECK_OK(store_txn_set_ref(t, "main", &r));
	store_txn_abort(t);
	CHECK(store_has(s, &c) == 0);
	struct cid got;
	CHECK_ERR(store_ref_get(s, "main", &got), -ENOENT);
	store_close(s);
	CHECK_OK(store_open(&s, dir, 0));
	CHECK(store_has(s, &c) == 0);
	CHECK(test_count_blocks(s) == 0);
	struct logbuf lb = {0};
	CHECK_OK(store_ref_log(s, "main", log_cb, &lb));
	CHECK(lb.n == 0);
	/* a commit after a txn-level error writes nothing either */
	CHECK_OK(store_txn_begin(s, &t));
	CHECK_OK(store_txn_put(t, &c, p, len));
	CHECK_ERR(store_txn_set_ref(t, "bad name", &r), -EINVAL);
	store_txn_abort(t);
	CHECK(store_has(s, &c) == 0);
	store_close(s);
	free(p);
}

static void test_mem_backend(void)
{
	struct store *s;
	struct store_backend *mem;
	CHECK_OK(store_open(&s, test_tmpdir("mem"), STORE_CREATE));
	CHECK_OK(store_mem_new(&mem));
	CHECK_OK(store_add_backend(s, mem));
	struct cid c, d;
	size_t len, dlen;
	uint8_t *p = make_block(1, &len, &c);
	uint8_t *q = make_block(2, &dlen, &d);
	CHECK_OK(mem->put(mem, &c, p, len));
	CHECK_OK(mem->put(mem, &c, p, len));
	CHECK(store_mem_count(mem) == 1);
	CHECK(store_has(s, &c) == 1);
	uint8_t *g;
	size_t glen;
	CHECK_OK(store_get(s, &c, &g, &glen));
	CHECK(glen == len && memcmp(g, p, len) == 0);
	free(g);
	/* wrong bytes under a CID in a backend are caught by the front */
	CHECK_OK(mem->put(mem, &d, p, len));
	CHECK_ERR(store_get(s, &d, &g, &glen), -EIO);
	CHECK(strstr(err_msg(), "mem") != NULL);
	CHECK(store_mem_count(mem) == 2);
	size_t n = 0;
	CHECK_OK(mem->iterate(mem, test_count_cb, &n));
	CHECK(n == 2);
	/* LMDB is not affected */
	CHECK(test_count_blocks(s) == 0);
	/* many entries: the table grows */
	for (size_t i = 100; i < 1100; i++) {
		struct cid e;
		size_t el;
		uint8_t *b = make_block(i, &el, &e);
		CHECK_OK(mem->put(mem, &e, b, el));
		free(b);
	}
	CHECK(store_mem_count(mem) == 1002);
	for (size_t i = 100; i < 1100; i += 37) {
		struct cid e;
		size_t el;
		uint8_t *b = make_block(i, &el, &e);
		CHECK_OK(store_get(s, &e, &g, &glen));
		CHECK(glen == el && memcmp(g, b, el) == 0);
		free(g);
		free(b);
	}
	store_close(s); /* frees mem */
	free(p);
	free(q);
}

/* ------------------------------------------------------------ threads */

struct thr {
	struct store *s;
	struct cid *cs;
	size_t n, ok;
	unsigned seed;
	int writer;
};

static void *reader_main(void *arg)
{
	struct thr *t = arg;
	uint64_t rng = t->seed;
	for (size_t round = 0; round < 20; round++) {
		for (size_t j = 0; j < t->n; j++) {
			size_t i = (size_t)(test_rand(&rng) % t->n);
			uint8_t *g;
			size_t glen, len;
			struct cid c;
			if (store_get(t->s, &t->cs[i], &g, &glen) != 0)
				continue;
			uint8_t *p = make_block(i, &len, &c);
			if (glen == len && memcmp(g, p, len) == 0)
				t->ok++;
			free(p);
			free(g);
		}
	}
	return NULL;
}

static void *writer_main(void *arg)
{
	struct thr *t = arg;
	for (size_t i = 0; i < 200; i++) {
		struct cid c;
		size_t len;
		uint8_t *p = make_block(100000 + t->seed * 1000 + i, &len, &c);
		if (store_put(t->s, &c, p, len) == 0)
			t->ok++;
		free(p);
	}
	return NULL;
}

static void test_threads(void)
{
	struct store *s;
	CHECK_OK(store_open(&s, test_tmpdir("threads"), STORE_CREATE));
	struct cid *cs = calloc(NBLOCKS, sizeof(*cs));
	struct store_txn *t;
	CHECK_OK(store_txn_begin(s, &t));
	for (size_t i = 0; i < NBLOCKS; i++) {
		size_t len;
		uint8_t *p = make_block(i, &len, &cs[i]);
		CHECK_OK(store_txn_put(t, &cs[i], p, len));
		free(p);
	}
	CHECK_OK(store_txn_commit(t));

	enum { NR = 8, NW = 2 };
	pthread_t th[NR + NW];
	struct thr a[NR + NW];
	double t0 = now_s();
	for (int i = 0; i < NR + NW; i++) {
		a[i] =
		    (struct thr){s, cs, NBLOCKS, 0, (unsigned)i + 1, i >= NR};
		pthread_create(&th[i], NULL, i < NR ? reader_main : writer_main,
			       &a[i]);
	}
	size_t reads = 0;
	double tr = 0;
	for (int i = 0; i < NR + NW; i++) {
		pthread_join(th[i], NULL);
		if (i == NR - 1)
			tr = now_s() - t0;
		if (i < NR) {
			CHECK(a[i].ok == 20 * NBLOCKS);
			reads += a[i].ok;
		} else {
			CHECK(a[i].ok == 200);
		}
	}
	double dt = now_s() - t0;
	printf("threads: %zu verified reads by %d threads in %.3fs (%.0f "
	       "reads/s) while %d writers made %d durable commits in %.3fs\n",
	       reads, NR, tr, (double)reads / tr, NW, NW * 200, dt);
	CHECK(test_count_blocks(s) == NBLOCKS + NW * 200);

	/* single-thread small-read rate, for the record */
	t0 = now_s();
	size_t n = 0;
	for (int round = 0; round < 20; round++)
		for (size_t i = 0; i < NBLOCKS; i++) {
			uint8_t *g;
			size_t glen;
			if (store_get(s, &cs[i], &g, &glen) == 0) {
				n++;
				free(g);
			}
		}
	dt = now_s() - t0;
	printf("1 thread: %zu verified reads in %.3fs (%.0f reads/s)\n", n, dt,
	       (double)n / dt);
	free(cs);
	store_close(s);
}

/* A store opens where the address space is limited (ulimit -v, valgrind):
 * the 1 TiB map cannot be reserved there, a smaller one is used. */
static void test_limited_address_space(void)
{
	const char *dir = test_tmpdir("limited-vm");
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		if (!f || fscanf(f, "%ld", &pages) != 1)
			_exit(3);
		fclose(f);
		/* what the process has mapped now, plus 4 GiB */
		struct rlimit rl;
		rl.rlim_cur = rl.rlim_max =
		    (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
		    ((rlim_t)4 << 30);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
		struct store *s;
		struct cid c;
		size_t len, glen;
		uint8_t *p = make_block(7, &len, &c), *g = NULL;
		int rc = store_open(&s, dir, STORE_CREATE);
		if (!rc)
			rc = store_put(s, &c, p, len);
		if (!rc)
			rc = store_get(s, &c, &g, &glen);
		if (rc)
			fprintf(stderr, "limited address space: %s\n",
				err_msg());
		else if (glen != len || memcmp(g, p, len) != 0)
			rc = -EIO;
		free(g);
		free(p);
		if (!rc)
			store_close(s);
		_exit(rc ? 1 : 0);
	}
	int st = 0;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A bulk load lets go of the page cache of what it wrote long enough ago
 * (here with a 4 MiB window instead of 256 MiB). LMDB writes a
 * transaction's pages before the commit only past 512 MiB of dirty pages,
 * so this takes ~300,000 blocks of up to 1,900 bytes (~600 MB):
 * BULK_DROP_BLOCKS sets fewer (valgrind), and whether anything was dropped
 * is then not checked. Every block reads back whole, in the same process
 * and after a reopen. */
static size_t drop_len(size_t i)
{
	return 1500 + i % 400;
}

static void drop_fill(uint8_t *p, size_t i)
{
	size_t len = drop_len(i);
	memset(p, (int)(i * 131 % 251), len);
	memcpy(p, &i, sizeof(i));
}

static int drop_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 36); /* binary CIDv1 raw sha2-256 */
}

/* Blocks read back whole: keys[] holds (binary CID, index) records. */
static size_t drop_check(struct store *s, const uint8_t *keys, size_t n)
{
	size_t ok = 0;
	uint8_t want[2048];
	for (size_t k = 0; k < n; k++) {
		const uint8_t *r = keys + k * 44;
		size_t i, glen = 0;
		uint8_t *g = NULL;
		struct cid c;
		memcpy(&i, r + 36, sizeof(i));
		drop_fill(want, i);
		if (cid_from_bytes(&c, r, 36, NULL) == 0 &&
		    store_get(s, &c, &g, &glen) == 0 && glen == drop_len(i) &&
		    memcmp(g, want, glen) == 0)
			ok++;
		free(g);
	}
	return ok;
}

/* The (binary CID, index) records of blocks first..first+n-1, sorted by
 * CID. */
static uint8_t *drop_keys_at(size_t first, size_t n)
{
	uint8_t *keys = malloc(n * 44), blk[2048];
	CHECK(keys != NULL);
	for (size_t k = 0; keys && k < n; k++) {
		struct cid c;
		size_t i = first + k;
		drop_fill(blk, i);
		cid_of_block(&c, CODEC_RAW, blk, drop_len(i));
		CHECK(cid_to_bytes(&c, keys + k * 44) == 36);
		memcpy(keys + k * 44 + 36, &i, sizeof(i));
	}
	if (keys)
		qsort(keys, n, 44, drop_cmp);
	return keys;
}

static uint8_t *drop_keys(size_t n)
{
	return drop_keys_at(0, n);
}

/* Put the blocks of keys[0..n) through `bulk`; the number put. */
static size_t drop_put(struct store_bulk *bulk, const uint8_t *keys, size_t n)
{
	uint8_t blk[2048];
	size_t put = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i;
		memcpy(&i, keys + k * 44 + 36, sizeof(i));
		drop_fill(blk, i);
		if (store_bulk_put(bulk, keys + k * 44, 36, blk, drop_len(i)) ==
		    0)
			put++;
	}
	return put;
}

/* End the bulk load of keys[0..n), set `ref` (if not NULL) to `root` in
 * its transaction and commit; every block reads back whole, also after the
 * store is closed and opened again (ordinarily), which is returned. */
static struct store *drop_commit_reopen(struct store *s, const char *dir,
					struct store_txn *t,
					struct store_bulk *bulk,
					const uint8_t *keys, size_t n,
					const char *ref, const struct cid *root)
{
	uint64_t stored = 0, present = 0;
	store_bulk_end(bulk, &stored, &present);
	CHECK(stored == n && present == 0);
	if (ref)
		CHECK_OK(store_txn_set_ref(t, ref, root));
	CHECK_OK(store_txn_commit(t));
	CHECK(drop_check(s, keys, n) == n);
	store_close(s);
	CHECK_OK(store_open(&s, dir, 0));
	CHECK(drop_check(s, keys, n) == n);
	CHECK(test_count_blocks(s) == n);
	return s;
}

/* A store of bulk-loaded blocks (appended: the load looks nothing up),
 * opened again after the load. */
struct dropped {
	struct store *s;
	uint8_t *keys;			 /* drop_keys(n) */
	char dir[4096], path[4096 + 16]; /* the store, its data.mdb */
	off_t size;			 /* of data.mdb */
};

/* Make one in the test directory `name` with the blocks 0..n-1. */
static void drop_store(struct dropped *d, const char *name, size_t n)
{
	struct store_txn *t;
	struct store_bulk *bulk;
	struct stat st;
	snprintf(d->dir, sizeof(d->dir), "%s", test_tmpdir(name));
	snprintf(d->path, sizeof(d->path), "%s/data.mdb", d->dir);
	d->keys = drop_keys(n);
	CHECK_OK(store_open(&d->s, d->dir, STORE_CREATE));
	CHECK_OK(store_txn_begin(d->s, &t));
	CHECK_OK(store_bulk_begin(t, &bulk));
	CHECK(drop_put(bulk, d->keys, n) == n);
	CHECK(store_bulk_read_ahead(bulk) == 0);
	d->s =
	    drop_commit_reopen(d->s, d->dir, t, bulk, d->keys, n, NULL, NULL);
	d->size = stat(d->path, &st) == 0 ? st.st_size : 0;
}

static void test_bulk_drop_behind(void)
{
	const char *dir = test_tmpdir("bulkdrop");
	const char *env = getenv("BULK_DROP_BLOCKS");
	size_t n = env ? (size_t)strtoull(env, NULL, 10) : 300000;
	uint8_t *keys = drop_keys(n);

	struct store *s;
	struct store_txn *t;
	struct store_bulk *bulk;
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	CHECK_OK(store_txn_begin(s, &t));
	CHECK_OK(store_bulk_begin(t, &bulk));
	store_bulk_set_window(bulk, 1 << 20, 4 << 20);
	/* not a private store: no steps, whatever is asked */
	store_bulk_set_step(bulk, 1 << 20);
	CHECK(drop_put(bulk, keys, n) == n);
	CHECK(store_bulk_steps(bulk) == 0);
	/* LMDB wrote (spilled) pages before the commit, and the load let go
	 * of the page cache below its window: the blocks must read back
	 * whole all the same (from disk) */
	uint64_t dropped = store_bulk_dropped(bulk);
	if (n >= 300000)
		CHECK(dropped >= (uint64_t)64 << 20);
	s = drop_commit_reopen(s, dir, t, bulk, keys, n, NULL, NULL);
	store_close(s);
	free(keys);
}

/* A private store's bulk load commits in steps; the ref set in the same
 * transaction after it and every block are there after the commit, also
 * for an ordinary open later. */
static void test_bulk_private_steps(void)
{
	const char *dir = test_tmpdir("bulkprivate");
	size_t n = 20000;
	uint8_t *keys = drop_keys(n);
	struct store *s;
	struct store_txn *t;
	struct store_bulk *bulk;
	struct cid root, got;
	CHECK(cid_from_bytes(&root, keys, 36, NULL) == 0);
	CHECK_OK(store_open(&s, dir, STORE_CREATE | STORE_PRIVATE));
	CHECK_OK(store_txn_begin(s, &t));
	CHECK_OK(store_bulk_begin(t, &bulk));
	store_bulk_set_step(bulk, 1 << 20); /* ~600 blocks a step */
	CHECK(drop_put(bulk, keys, n) == n);
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += 36 + drop_len(i);
	CHECK(store_bulk_steps(bulk) == bytes >> 20);
	s = drop_commit_reopen(s, dir, t, bulk, keys, n, "main", &root);
	CHECK_OK(store_ref_get(s, "main", &got));
	CHECK(cid_equal(&got, &root));
	store_close(s);
	free(keys);
}

/* Resident KiB of this process's mapping of `path` (/proc/self/smaps),
 * or -1 if it is not mapped. */
static long map_rss_kib(const char *path)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[4096];
	long rss = -1;
	int in = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			size_t n = strlen(line), pl = strlen(path);
			in =
			    n > pl && strncmp(line + n - pl - 1, path, pl) == 0;
			continue;
		}
		long kib;
		if (in && sscanf(line, "Rss: %ld kB", &kib) == 1)
			rss = (rss < 0 ? 0 : rss) + kib;
	}
	fclose(f);
	return rss;
}

/* The share of the first `len` bytes of file `path` in the page cache. */
static double cached_share(const char *path, size_t len)
{
	int fd = open(path, O_RDONLY);
	double c = fd >= 0 ? test_cached(fd, 0, len) : 0;
	if (fd >= 0)
		close(fd);
	return c;
}

/* A load into a store that has the blocks already looks every one up: it
 * reads ahead of its lookups in the file and unmaps what it has left
 * behind (here 1 MiB at a time, 4 MiB ahead, unmapped past 4 MiB behind,
 * on a ~40 MB store); with unmapping off, the same load leaves the whole
 * file mapped, which shows that the figure read is the one that counts.
 * The same for a load of blocks that are all new. */
static void test_bulk_read_ahead(void)
{
	const size_t n = 20000;
	struct dropped d;
	drop_store(&d, "bulkra", n);
	struct store *s = d.s;
	uint8_t *keys = d.keys;
	const char *path = d.path;
	const off_t size = d.size;
	struct store_txn *t;
	struct store_bulk *bulk;
	uint64_t stored, present;
	CHECK(size > (30 << 20));

	for (int trim = 1; trim >= 0; trim--) {
		CHECK_OK(store_txn_begin(s, &t));
		CHECK_OK(store_bulk_begin(t, &bulk));
		store_bulk_set_read_ahead(bulk, 1 << 20, 4 << 20,
					  trim ? 4 << 20 : UINT64_MAX);
		CHECK(drop_put(bulk, keys, n) == n);
		long rss = map_rss_kib(path);
		uint64_t asked = store_bulk_read_ahead(bulk);
		store_bulk_end(bulk, &stored, &present);
		CHECK(stored == 0 && present == n);
		store_txn_abort(t);
		CHECK(asked >= (uint64_t)size * 3 / 4);
		int ok = trim ? rss >= 0 && rss <= 16 * 1024
			      : rss >= (long)(size >> 10) * 3 / 4;
		CHECK(ok);
		if (!ok)
			fprintf(stderr,
				"bulkra: trim %d: %ld KiB of %lld mapped\n",
				trim, rss, (long long)size >> 10);
	}
	/* blocks the store does not have, whose CIDs fall between its own:
	 * every lookup misses, and the read-ahead learns where they are
	 * from the lookups it makes apart now and then */
	uint8_t *more = drop_keys_at(n, n);
	CHECK_OK(store_txn_begin(s, &t));
	CHECK_OK(store_bulk_begin(t, &bulk));
	store_bulk_set_read_ahead(bulk, 1 << 20, 4 << 20, 4 << 20);
	/* and the page cache of what it writes is let go 4 MiB behind the
	 * end, but never that of the store's own pages below */
	store_bulk_set_window(bulk, 1 << 20, 4 << 20);
	CHECK(drop_put(bulk, more, n) == n);
	long rss = map_rss_kib(path);
	uint64_t asked = store_bulk_read_ahead(bulk);
	CHECK(store_bulk_dropped(bulk) >= (uint64_t)size);
	CHECK(cached_share(path, (size_t)size) >= 0.75);
	store_bulk_end(bulk, &stored, &present);
	CHECK(stored == n && present == 0);
	CHECK(asked >= (uint64_t)size * 3 / 4);
	CHECK(rss >= 0 && rss <= 16 * 1024);
	CHECK_OK(store_txn_commit(t));
	CHECK(drop_check(s, keys, n) == n);
	CHECK(drop_check(s, more, n) == n);
	CHECK(test_count_blocks(s) == 2 * n);
	store_close(s);
	free(keys);
	free(more);
}

/* Reads map pages of the store file into the process. With no budget (the
 * command-line tools) a walk of every block leaves the file mapped; with
 * one (the mount's daemon) they are dropped past it: at most the budget
 * plus what the reads between two looks map (256 reads of a 64 KiB
 * fault-around window each: 16 MiB) stay, on a store of ~50 MB. */
static void test_map_budget(void)
{
	const size_t n = 30000;
	struct dropped d;
	drop_store(&d, "mapbudget", n);
	CHECK(d.size > (40 << 20));
	for (int budget = 0; budget <= 1; budget++) {
		store_close(d.s);
		CHECK_OK(store_open(&d.s, d.dir, 0));
		if (budget)
			store_set_map_budget(d.s, 4 << 20);
		CHECK(drop_check(d.s, d.keys, n) == n);
		long rss = map_rss_kib(d.path);
		int ok = budget ? rss >= 0 && rss <= 24 * 1024
				: rss >= (long)(d.size >> 10) * 3 / 4;
		CHECK(ok);
		if (!ok)
			fprintf(stderr,
				"mapbudget: budget %d: %ld KiB of %lld "
				"mapped\n",
				budget, rss, (long long)d.size >> 10);
	}
	store_close(d.s);
	free(d.keys);
}

int main(void)
{
	test_limited_address_space();
	test_open_errors();
	test_roundtrip();
	test_big_block();
	test_corrupt();
	test_refs();
	test_abort();
	test_mem_backend();
	test_threads();
	test_bulk_drop_behind();
	test_bulk_private_steps();
	test_bulk_read_ahead();
	test_map_budget();
	return test_summary();
}
