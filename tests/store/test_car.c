/* test_car.c - CAR reading (spec fixtures), import, the CAR backend,
 * truncation at every byte, oversized blocks, export round trips. */
#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hamt/cid.h"
#include "hamt/dagcbor.h"
#include "hamt/varint.h"
#include "store/car.h"
#include "store/store.h"
#include "test.h"

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Read a fixture with car_reader and compare it with its .json. */
static void check_fixture(const char *car, const char *json)
{
	json_error_t jerr;
	json_t *doc = json_load_file(test_fixture(json), 0, &jerr);
	CHECK(doc != NULL);
	if (!doc)
		return;
	json_t *hdr = json_object_get(doc, "header");
	json_t *jroots = json_object_get(hdr, "roots");
	json_t *jblocks = json_object_get(doc, "blocks");
	struct car_reader *r;
	CHECK_OK(car_reader_open(&r, test_fixture(car)));
	if (!r) {
		json_decref(doc);
		return;
	}
	size_t nroots;
	const struct cid *roots = car_reader_roots(r, &nroots);
	CHECK(nroots == json_array_size(jroots));
	for (size_t i = 0; i < nroots && i < json_array_size(jroots); i++) {
		char txt[CID_MAX_TEXT];
		const char *want = json_string_value(
		    json_object_get(json_array_get(jroots, i), "/"));
		struct cid wc;
		CHECK_OK(cid_parse(&wc, want ? want : ""));
		CHECK(cid_equal(&roots[i], &wc));
		/* canonical text of a parsed CID is what the fixture says */
		CHECK(want && strcmp(cid_format(&roots[i], txt), want) == 0);
	}
	struct cid c;
	const uint8_t *data;
	size_t len, n = 0;
	int rc;
	while ((rc = car_reader_next(r, &c, &data, &len)) == 1) {
		json_t *b = json_array_get(jblocks, n);
		CHECK(b != NULL);
		if (!b)
			break;
		const char *want = json_string_value(
		    json_object_get(json_object_get(b, "cid"), "/"));
		char txt[CID_MAX_TEXT];
		CHECK(want && strcmp(cid_format(&c, txt), want) == 0);
		CHECK(len == (size_t)json_integer_value(
				 json_object_get(b, "blockLength")));
		CHECK(car_reader_block_offset(r) ==
		      (uint64_t)json_integer_value(
			  json_object_get(b, "blockOffset")));
		n++;
	}
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "%s: %s\n", car, err_msg());
	CHECK(n == json_array_size(jblocks));
	/* reading past the end stays at the end */
	CHECK(car_reader_next(r, &c, &data, &len) == 0);
	car_reader_close(r);

	/* import: every block lands in the store, roots come back */
	struct store *s;
	CHECK_OK(store_open(&s, test_tmpdir("fixture-import"), STORE_CREATE));
	struct cid *iroots;
	size_t ni;
	CHECK_OK(car_import(s, test_fixture(car), &iroots, &ni));
	CHECK(ni == nroots);
	CHECK(test_count_blocks(s) == json_array_size(jblocks));
	for (size_t i = 0; i < json_array_size(jblocks); i++) {
		const char *t = json_string_value(json_object_get(
		    json_object_get(json_array_get(jblocks, i), "cid"), "/"));
		struct cid bc;
		uint8_t *g;
		size_t gl;
		CHECK_OK(cid_parse(&bc, t ? t : ""));
		CHECK_OK(store_get(s, &bc, &g, &gl));
		free(g);
	}
	free(iroots);
	store_close(s);

	/* the CAR backend serves the same blocks through the front */
	CHECK_OK(store_open(&s, test_tmpdir("fixture-backend"), STORE_CREATE));
	struct store_backend *be;
	CHECK_OK(store_car_open(&be, test_fixture(car)));
	CHECK_OK(store_add_backend(s, be));
	size_t ok = 0, nb = json_array_size(jblocks);
	for (size_t i = 0; i < nb; i++) {
		json_t *b = json_array_get(jblocks, i);
		const char *t = json_string_value(
		    json_object_get(json_object_get(b, "cid"), "/"));
		struct cid bc;
		uint8_t *g;
		size_t gl;
		if (cid_parse(&bc, t ? t : "") == 0 && store_has(s, &bc) == 1 &&
		    store_get(s, &bc, &g, &gl) == 0) {
			if (gl == (size_t)json_integer_value(
				      json_object_get(b, "blockLength")))
				ok++;
			free(g);
		}
	}
	CHECK(ok == nb);
	size_t it = 0;
	CHECK_OK(be->iterate(be, test_count_cb, &it));
	CHECK(it == nb);
	CHECK(test_count_blocks(s) == 0); /* LMDB untouched */
	store_close(s);
	json_decref(doc);
}

/* Empty the blocks database behind the front (through its LMDB handle),
 * so each import below starts from an empty store without recreating it. */
static int empty_blocks(struct store *s)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	if (mdb_txn_begin(store_lmdb_env(s), NULL, 0, &txn))
		return -1;
	if (mdb_dbi_open(txn, "blocks", 0, &dbi) || mdb_drop(txn, dbi, 0)) {
		mdb_txn_abort(txn);
		return -1;
	}
	return mdb_txn_commit(txn) ? -1 : 0;
}

/* Cut the fixture at every byte: the reader must error or end cleanly
 * (never crash), and an import must keep all or nothing. */
static void check_truncated(const char *car)
{
	size_t n;
	uint8_t *whole = test_read_file(test_fixture(car), &n);
	CHECK(whole != NULL);
	if (!whole)
		return;
	const char *dir = test_tmpdir("trunc");
	char path[4200], sdir[4200];
	snprintf(path, sizeof(path), "%s/cut.car", dir);
	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	size_t clean = 0, errors = 0, bad = 0;
	struct store *s;
	CHECK_OK(store_open(&s, sdir, STORE_CREATE));
	for (size_t cut = 0; cut < n; cut++) {
		if (write_file(path, whole, cut) < 0) {
			bad++;
			continue;
		}
		/* reader */
		struct car_reader *r;
		size_t blocks = 0;
		int rc = car_reader_open(&r, path);
		if (rc == 0) {
			struct cid c;
			const uint8_t *d;
			size_t l;
			while ((rc = car_reader_next(r, &c, &d, &l)) == 1)
				blocks++;
			car_reader_close(r);
		}
		if (rc == 0)
			clean++;
		else
			errors++;
		if (rc > 0)
			bad++;
		/* import into an empty store: all or nothing */
		struct cid *roots = NULL;
		size_t nr;
		int irc = car_import(s, path, &roots, &nr);
		size_t have = test_count_blocks(s);
		if ((irc == 0) != (rc == 0))
			bad++;
		if (irc == 0 && have != blocks)
			bad++;
		if (irc != 0 && (have != 0 || roots != NULL))
			bad++;
		free(roots);
		if (have && empty_blocks(s) != 0)
			bad++;
		/* the backend too */
		struct store_backend *be;
		int brc = store_car_open(&be, path);
		if ((brc == 0) != (rc == 0))
			bad++;
		if (brc == 0)
			be->free(be);
	}
	store_close(s);
	printf("%s: %zu cuts, %zu read cleanly, %zu errors\n", car, n, clean,
	       errors);
	CHECK(bad == 0);
	CHECK(errors > n / 2);
	free(whole);
}

/* A CAR with one raw block of `blen` bytes (all 'x'), written by hand. */
static void make_big_car(const char *path, size_t blen, struct cid *c)
{
	uint8_t *data = malloc(blen);
	memset(data, 'x', blen);
	cid_of_block(c, CODEC_RAW, data, blen);
	struct car_writer *w;
	CHECK_OK(car_writer_open(&w, path, c, 1));
	CHECK_OK(car_writer_finish(w));
	FILE *f = fopen(path, "ab");
	CHECK(f != NULL);
	if (f) {
		uint8_t cb[CID_MAX_BYTES], vb[VARINT_MAX_BYTES];
		size_t cl = cid_to_bytes(c, cb);
		size_t vl = varint_encode(cl + blen, vb);
		fwrite(vb, 1, vl, f);
		fwrite(cb, 1, cl, f);
		fwrite(data, 1, blen, f);
		fclose(f);
	}
	free(data);
}

static void test_big(void)
{
	const char *dir = test_tmpdir("bigcar");
	char path[4200];
	struct cid c;
	struct store *s;
	struct cid *roots = NULL;
	size_t nr;
	snprintf(path, sizeof(path), "%s/big.car", dir);
	CHECK_OK(store_open(&s, test_tmpdir("bigcar-store"), STORE_CREATE));
	make_big_car(path, STORE_MAX_BLOCK + 1, &c);
	CHECK_ERR(car_import(s, path, &roots, &nr), -EFBIG);
	CHECK(strstr(err_msg(), "refused") != NULL);
	CHECK(roots == NULL);
	CHECK(test_count_blocks(s) == 0);
	struct store_backend *be;
	CHECK_ERR(store_car_open(&be, path), -EFBIG);
	/* exactly the limit is fine */
	make_big_car(path, STORE_MAX_BLOCK, &c);
	CHECK_OK(car_import(s, path, &roots, &nr));
	CHECK(nr == 1 && store_has(s, &c) == 1);
	free(roots);
	/* the writer refuses too */
	struct car_writer *w;
	uint8_t *data = calloc(1, STORE_MAX_BLOCK + 1);
	CHECK_OK(car_writer_open(&w, path, &c, 1));
	CHECK_ERR(car_writer_put(w, &c, data, STORE_MAX_BLOCK + 1), -EFBIG);
	car_writer_abort(w);
	free(data);
	store_close(s);
}

/* A CAR whose last block does not match its CID: nothing is imported. */
static void test_bad_block(void)
{
	size_t n;
	uint8_t *whole =
	    test_read_file(test_fixture("car/carv1-basic.car"), &n);
	CHECK(whole != NULL);
	if (!whole)
		return;
	whole[n - 1] ^= 0x40; /* last byte of the last block */
	const char *dir = test_tmpdir("badblock");
	char path[4200];
	snprintf(path, sizeof(path), "%s/bad.car", dir);
	CHECK(write_file(path, whole, n) == 0);
	struct store *s;
	struct cid *roots = NULL;
	size_t nr;
	CHECK_OK(store_open(&s, test_tmpdir("badblock-store"), STORE_CREATE));
	CHECK_ERR(car_import(s, path, &roots, &nr), -EIO);
	CHECK(test_count_blocks(s) == 0);
	struct store_backend *be;
	CHECK_ERR(store_car_open(&be, path), -EIO);
	/* header garbage */
	memset(whole, 0xff, 8);
	CHECK(write_file(path, whole, n) == 0);
	CHECK_ERR(car_import(s, path, &roots, &nr), -EINVAL);
	/* missing file */
	snprintf(path, sizeof(path), "%s/none.car", dir);
	CHECK_ERR(car_import(s, path, &roots, &nr), -ENOENT);
	store_close(s);
	free(whole);
}

struct cidlist {
	struct cid v[256];
	size_t n;
};

/* 1 if block `from` (DAG-CBOR) holds a link to `to`. */
static int link_is(void *payload, const struct cid *c)
{
	return cid_equal(payload, c);
}

static int block_links(struct store *s, const struct cid *from,
		       const struct cid *to)
{
	uint8_t *d;
	size_t l;
	if (store_get(s, from, &d, &l) != 0)
		return 0;
	int rc = dagcbor_links(d, l, link_is, (void *)to);
	free(d);
	return rc == 1;
}

static void read_all(const char *path, struct cidlist *l, struct cid *root)
{
	struct car_reader *r;
	l->n = 0;
	CHECK_OK(car_reader_open(&r, path));
	if (!r)
		return;
	size_t nr;
	const struct cid *roots = car_reader_roots(r, &nr);
	if (root && nr)
		*root = roots[0];
	struct cid c;
	const uint8_t *d;
	size_t len;
	int rc;
	while ((rc = car_reader_next(r, &c, &d, &len)) == 1 && l->n < 256)
		l->v[l->n++] = c;
	CHECK(rc == 0);
	car_reader_close(r);
}

static int cid_qcmp(const void *a, const void *b)
{
	return cid_cmp(a, b);
}

static void test_export(void)
{
	const char *dir = test_tmpdir("export");
	char out1[4200], out2[4200];
	snprintf(out1, sizeof(out1), "%s/out1.car", dir);
	snprintf(out2, sizeof(out2), "%s/out2.car", dir);
	const char *alice = test_fixture("hamt-alice-words/hamt.car");
	struct cidlist orig, exp1, exp2;
	struct cid root, r1;
	read_all(alice, &orig, &root);
	CHECK(orig.n == 36);

	/* store A: import the fixture, export from its root */
	struct store *a, *b;
	struct cid *roots;
	size_t nr;
	uint64_t nblocks = 0, nbytes = 0;
	CHECK_OK(store_open(&a, test_tmpdir("export-a"), STORE_CREATE));
	CHECK_OK(car_import(a, alice, &roots, &nr));
	free(roots);
	CHECK_OK(car_export(a, &root, out1, &nblocks, &nbytes));
	CHECK(nblocks == 36);
	read_all(out1, &exp1, &r1);
	CHECK(cid_equal(&r1, &root));
	CHECK(exp1.n == 36);
	/* the root comes first; every other block after a block linking it */
	CHECK(exp1.n && cid_equal(&exp1.v[0], &root));
	{
		size_t ok = 0;
		for (size_t i = 1; i < exp1.n; i++) {
			int found = 0;
			for (size_t j = 0; j < i && !found; j++)
				found = block_links(a, &exp1.v[j], &exp1.v[i]);
			ok += found;
		}
		CHECK(ok + 1 == exp1.n);
	}
	/* the same block set as the fixture */
	qsort(orig.v, orig.n, sizeof(struct cid), cid_qcmp);
	struct cidlist sorted = exp1;
	qsort(sorted.v, sorted.n, sizeof(struct cid), cid_qcmp);
	int same = sorted.n == orig.n;
	for (size_t i = 0; same && i < orig.n; i++)
		same = cid_equal(&sorted.v[i], &orig.v[i]);
	CHECK(same);

	/* store B: re-import the export, export again: identical bytes */
	CHECK_OK(store_open(&b, test_tmpdir("export-b"), STORE_CREATE));
	CHECK_OK(car_import(b, out1, &roots, &nr));
	CHECK(nr == 1 && cid_equal(&roots[0], &root));
	free(roots);
	CHECK(test_count_blocks(b) == 36);
	CHECK_OK(car_export(b, &root, out2, NULL, NULL));
	read_all(out2, &exp2, NULL);
	size_t l1, l2;
	uint8_t *f1 = test_read_file(out1, &l1),
		*f2 = test_read_file(out2, &l2);
	CHECK(f1 && f2 && l1 == l2 && memcmp(f1, f2, l1) == 0);
	/* header bytes: varint(58) {"roots": [link], "version": 1} */
	static const uint8_t hdr[] = {0x3a, 0xa2, 0x65, 'r',  'o',  'o',
				      't',  's',  0x81, 0xd8, 0x2a, 0x58,
				      0x25, 0x00, 0x01, 0x71, 0x12, 0x20};
	CHECK(f1 && l1 > 59 && memcmp(f1, hdr, sizeof(hdr)) == 0);
	CHECK(f1 && memcmp(f1 + 50, "\x67version\x01", 9) == 0);
	free(f1);
	free(f2);
	store_close(b);

	/* a missing block: -ENOENT naming it, and no output file */
	struct cid only_root;
	CHECK_OK(store_open(&b, test_tmpdir("export-c"), STORE_CREATE));
	{
		uint8_t *d;
		size_t l;
		CHECK_OK(store_get(a, &root, &d, &l));
		CHECK_OK(store_put(b, &root, d, l));
		free(d);
		only_root = root;
	}
	char out3[4200];
	snprintf(out3, sizeof(out3), "%s/out3.car", dir);
	CHECK_ERR(car_export(b, &only_root, out3, NULL, NULL), -ENOENT);
	CHECK(strstr(err_msg(), "bafy") != NULL);
	CHECK(access(out3, F_OK) != 0);
	store_close(b);

	/* carv1-basic: dag-pb blocks are included but not followed */
	CHECK_OK(
	    car_import(a, test_fixture("car/carv1-basic.car"), &roots, &nr));
	CHECK(nr == 2);
	if (nr == 2) {
		CHECK_OK(car_export(a, &roots[0], out1, &nblocks, NULL));
		CHECK(nblocks ==
		      2); /* the DAG-CBOR root and its dag-pb child */
		CHECK_OK(car_export(a, &roots[1], out1, &nblocks, NULL));
		CHECK(nblocks == 1); /* {"link": null} */
	}
	free(roots);
	store_close(a);
}

static void test_writer(void)
{
	const char *dir = test_tmpdir("writer");
	char path[4200];
	snprintf(path, sizeof(path), "%s/w.car", dir);
	struct cid c;
	cid_of_block(&c, CODEC_RAW, (const uint8_t *)"hello", 5);
	struct car_writer *w;
	/* abort leaves nothing behind */
	CHECK_OK(car_writer_open(&w, path, &c, 1));
	CHECK_OK(car_writer_put(w, &c, (const uint8_t *)"hello", 5));
	car_writer_abort(w);
	CHECK(access(path, F_OK) != 0);
	char cmd[4300];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
	CHECK(system(cmd) == 0);
	/* finish makes a readable CAR */
	CHECK_OK(car_writer_open(&w, path, &c, 1));
	CHECK_OK(car_writer_put(w, &c, (const uint8_t *)"hello", 5));
	CHECK_OK(car_writer_finish(w));
	struct cidlist l;
	struct cid r;
	read_all(path, &l, &r);
	CHECK(l.n == 1 && cid_equal(&l.v[0], &c) && cid_equal(&r, &c));
	/* a directory that does not exist */
	CHECK(car_writer_open(&w, "/nonexistent-dir/x.car", &c, 1) < 0);
}

int main(void)
{
	check_fixture("car/carv1-basic.car", "car/carv1-basic.json");
	check_fixture("car/carv2-basic.car", "car/carv2-basic.json");
	check_truncated("car/carv1-basic.car");
	check_truncated("car/carv2-basic.car");
	test_big();
	test_bad_block();
	test_writer();
	test_export();
	return test_summary();
}
