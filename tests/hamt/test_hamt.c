/* test_hamt.c - the HAMT against the spec fixture, and property tests:
 * order independence, merge == fresh build (block for block), verify. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/dagjson.h"
#include "hamt/hamt.h"
#include "store/car.h"
#include "store/store.h"
#include "test.h"

#define ALICE_ROOT "bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflova"

/* A sink that puts blocks into a mem backend and records their CIDs. */
struct rec_sink {
	struct store_backend *mem;
	struct cid *cids;
	size_t n, cap;
};

static int rec_put(void *payload, const struct cid *c, const uint8_t *data,
		   size_t len)
{
	struct rec_sink *r = payload;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->cids = realloc(r->cids, r->cap * sizeof(*r->cids));
		if (!r->cids)
			return -ENOMEM;
	}
	r->cids[r->n++] = *c;
	return r->mem->put(r->mem, c, data, len);
}

static int cid_qcmp(const void *a, const void *b)
{
	return cid_cmp(a, b);
}

/* ------------------------------------------------------------ fixture */

struct kvset {
	char **keys;
	struct buf *vals;
	size_t n;
};

static void alice_load(struct kvset *kv)
{
	json_error_t jerr;
	json_t *doc = json_load_file(test_fixture("hamt-alice-words/hamt.json"),
				     0, &jerr);
	CHECK(doc != NULL);
	if (!doc)
		return;
	kv->n = json_object_size(doc);
	kv->keys = calloc(kv->n, sizeof(char *));
	kv->vals = calloc(kv->n, sizeof(struct buf));
	const char *k;
	json_t *v;
	size_t i = 0;
	json_object_foreach(doc, k, v)
	{
		kv->keys[i] = strdup(k);
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		CHECK_OK(
		    dagjson_json_to_dagcbor(text, strlen(text), &kv->vals[i]));
		free(text);
		i++;
	}
	json_decref(doc);
}

static void kvset_free(struct kvset *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->keys[i]);
		buf_free(&kv->vals[i]);
	}
	free(kv->keys);
	free(kv->vals);
}

static void test_alice_build(struct kvset *kv)
{
	struct store_backend *mem;
	CHECK_OK(store_mem_new(&mem));
	struct rec_sink rs = {.mem = mem};
	struct hamt_sink sink = {rec_put, &rs};
	struct hamt_entry *e = calloc(kv->n, sizeof(*e));
	/* insert in reverse order too: the root must not change */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < kv->n; i++) {
			size_t j = pass ? kv->n - 1 - i : i;
			e[i] = (struct hamt_entry){
			    (const uint8_t *)kv->keys[j], strlen(kv->keys[j]),
			    kv->vals[j].data, kv->vals[j].len};
		}
		struct hamt_params p = {MH_SHA2_256, 5, 3};
		struct cid root;
		struct hamt_stats st;
		rs.n = 0;
		CHECK_OK(hamt_build(&p, e, kv->n, &sink, &root, &st));
		char txt[CID_MAX_TEXT];
		CHECK(strcmp(cid_format(&root, txt), ALICE_ROOT) == 0);
		if (strcmp(txt, ALICE_ROOT))
			fprintf(stderr, "alice root: got %s\n", txt);
		CHECK(st.blocks == 36);
		CHECK(rs.n == 36);
		CHECK(st.keys == kv->n);
	}
	/* the same 36 blocks as the fixture CAR */
	struct car_reader *r;
	CHECK_OK(
	    car_reader_open(&r, test_fixture("hamt-alice-words/hamt.car")));
	struct cid carc[64] = {0};
	size_t ncar = 0;
	struct cid c;
	const uint8_t *data;
	size_t len;
	int got;
	while ((got = car_reader_next(r, &c, &data, &len)) == 1 && ncar < 64)
		carc[ncar++] = c;
	CHECK(got == 0);
	car_reader_close(r);
	CHECK(ncar == 36);
	qsort(carc, ncar, sizeof(c), cid_qcmp);
	qsort(rs.cids, rs.n, sizeof(c), cid_qcmp);
	int same = ncar == rs.n;
	for (size_t i = 0; same && i < ncar; i++)
		same = cid_equal(&carc[i], &rs.cids[i]);
	CHECK(same);
	free(rs.cids);
	free(e);
	mem->free(mem);
}

static void test_alice_read(struct kvset *kv)
{
	struct store *s;
	const char *dir = test_tmpdir("alice-read");
	CHECK_OK(store_open(&s, dir, STORE_CREATE));
	struct cid *roots = NULL;
	size_t nroots = 0;
	CHECK_OK(car_import(s, test_fixture("hamt-alice-words/hamt.car"),
			    &roots, &nroots));
	CHECK(nroots == 1);
	struct hamt *h;
	CHECK_OK(hamt_open(&h, s, &roots[0]));
	const struct hamt_params *p = hamt_get_params(h);
	CHECK(p->bit_width == 5 && p->bucket_size == 3 &&
	      p->hash_alg == MH_SHA2_256);
	struct buf v = {0};
	size_t ok = 0;
	for (size_t i = 0; i < kv->n; i++) {
		buf_reset(&v);
		int rc = hamt_get(h, (const uint8_t *)kv->keys[i],
				  strlen(kv->keys[i]), &v);
		if (rc == 0 && v.len == kv->vals[i].len &&
		    memcmp(v.data, kv->vals[i].data, v.len) == 0)
			ok++;
	}
	CHECK(ok == kv->n);
	buf_reset(&v);
	CHECK_ERR(hamt_get(h, (const uint8_t *)"no-such-word", 12, &v),
		  -ENOENT);
	struct hamt_stats st;
	CHECK_OK(hamt_verify(h, &st));
	CHECK(st.keys == kv->n && st.blocks == 36);
	buf_free(&v);
	hamt_free(h);
	free(roots);
	store_close(s);
}

/* ----------------------------------------------------------- property */

struct model {
	char (*keys)[40];
	uint8_t (*vals)[16];
	uint8_t *live;
	size_t n;
};

static void model_entries(const struct model *m, struct hamt_entry *e,
			  size_t *n, struct buf *vals, uint64_t *rng)
{
	/* collect live entries in a random order */
	size_t k = 0;
	buf_reset(vals);
	size_t *off = calloc(m->n, sizeof(size_t));
	for (size_t i = 0; i < m->n; i++) {
		if (!m->live[i])
			continue;
		off[k] = vals->len;
		hamt_value_encode_bytes(m->vals[i], 16, vals);
		e[k].key = (const uint8_t *)m->keys[i];
		e[k].klen = strlen(m->keys[i]);
		e[k].vlen = vals->len - off[k];
		k++;
	}
	for (size_t i = 0; i < k; i++)
		e[i].val = vals->data + off[i];
	for (size_t i = k; i > 1; i--) {
		size_t j = test_rand(rng) % i;
		struct hamt_entry t = e[i - 1];
		e[i - 1] = e[j];
		e[j] = t;
	}
	*n = k;
	free(off);
}

static void test_property(unsigned bw, unsigned bs, size_t nkeys, uint64_t seed)
{
	uint64_t rng = seed;
	struct store *s;
	CHECK_OK(store_open(&s, test_tmpdir("prop"), STORE_CREATE));
	struct store_backend *mem;
	CHECK_OK(store_mem_new(&mem));
	CHECK_OK(store_add_backend(s, mem));
	struct rec_sink rs = {.mem = mem};
	struct hamt_sink sink = {rec_put, &rs};
	struct hamt_params p = {MH_SHA2_256, bw, bs};
	struct model m = {calloc(nkeys, 40), calloc(nkeys, 16),
			  calloc(nkeys, 1), nkeys};
	for (size_t i = 0; i < nkeys; i++) {
		snprintf(m.keys[i], 40, "k/%zu-%llx", i,
			 (unsigned long long)(test_rand(&rng) & 0xffff));
		for (int b = 0; b < 16; b++)
			m.vals[i][b] = (uint8_t)test_rand(&rng);
		m.live[i] = test_rand(&rng) % 2;
	}
	struct hamt_entry *e = calloc(nkeys, sizeof(*e));
	struct buf vals = {0};
	size_t n;
	model_entries(&m, e, &n, &vals, &rng);
	struct cid root, root2, merged;
	CHECK_OK(hamt_build(&p, e, n, &sink, &root, NULL));
	/* order independence */
	model_entries(&m, e, &n, &vals, &rng);
	CHECK_OK(hamt_build(&p, e, n, &sink, &root2, NULL));
	CHECK(cid_equal(&root, &root2));
	/* rounds of random puts/deletes merged in; each equals a fresh build */
	struct buf cv = {0};
	for (int round = 0; round < 6; round++) {
		size_t nch = 1 + test_rand(&rng) % (round < 3 ? 8 : nkeys / 2);
		struct hamt_change *ch = calloc(nch, sizeof(*ch));
		size_t *voff = calloc(nch, sizeof(size_t));
		buf_reset(&cv);
		for (size_t i = 0; i < nch; i++) {
			size_t k = test_rand(&rng) % nkeys;
			ch[i].key = (const uint8_t *)m.keys[k];
			ch[i].klen = strlen(m.keys[k]);
			if (test_rand(&rng) % 3 == 0) {
				m.live[k] = 0;
				voff[i] = SIZE_MAX;
			} else {
				m.live[k] = 1;
				for (int b = 0; b < 16; b++)
					m.vals[k][b] = (uint8_t)test_rand(&rng);
				voff[i] = cv.len;
				hamt_value_encode_bytes(m.vals[k], 16, &cv);
				ch[i].vlen = cv.len - voff[i];
			}
		}
		for (size_t i = 0; i < nch; i++)
			ch[i].val =
			    voff[i] == SIZE_MAX ? NULL : cv.data + voff[i];
		struct hamt *h;
		CHECK_OK(hamt_open(&h, s, &root));
		/* big batches merge the root's slots on several threads:
		 * the same tree either way */
		hamt_set_threads(h, (round & 1) ? 1 : 3);
		uint64_t written = 0;
		rs.n = 0;
		CHECK_OK(hamt_merge(h, ch, nch, &sink, &merged, &written));
		hamt_free(h);
		size_t merge_blocks = rs.n;
		CHECK(written == merge_blocks);
		/* fresh build of the model: same root, and every block the
		 * merge wrote is one of the fresh build's blocks */
		model_entries(&m, e, &n, &vals, &rng);
		rs.n = 0;
		CHECK_OK(hamt_build(&p, e, n, &sink, &root2, NULL));
		CHECK(cid_equal(&merged, &root2));
		if (!cid_equal(&merged, &root2)) {
			char a[CID_MAX_TEXT], b[CID_MAX_TEXT];
			fprintf(stderr,
				"bw %u bs %u round %d: merge %s != build %s\n",
				bw, bs, round, cid_format(&merged, a),
				cid_format(&root2, b));
		}
		CHECK(merge_blocks <= rs.n);
		/* the merged tree verifies, iterates to the model */
		CHECK_OK(hamt_open(&h, s, &merged));
		struct hamt_stats st;
		CHECK_OK(hamt_verify(h, &st));
		CHECK(st.keys == n);
		hamt_free(h);
		root = merged;
		free(ch);
		free(voff);
	}
	/* delete everything: the empty root equals a build of nothing */
	struct hamt_change *all = calloc(nkeys, sizeof(*all));
	for (size_t i = 0; i < nkeys; i++)
		all[i] = (struct hamt_change){(const uint8_t *)m.keys[i],
					      strlen(m.keys[i]), NULL, 0};
	struct hamt *h;
	CHECK_OK(hamt_open(&h, s, &root));
	CHECK_OK(hamt_merge(h, all, nkeys, &sink, &merged, NULL));
	hamt_free(h);
	CHECK_OK(hamt_build(&p, NULL, 0, &sink, &root2, NULL));
	CHECK(cid_equal(&merged, &root2));
	free(all);
	free(rs.cids);
	buf_free(&cv);
	buf_free(&vals);
	free(e);
	free(m.keys);
	free(m.vals);
	free(m.live);
	store_close(s);
}

/* A merge that changes one key writes exactly one block per level on its
 * path, and one that changes nothing writes nothing. */
static void test_merge_path(void)
{
	struct store *s;
	CHECK_OK(store_open(&s, test_tmpdir("path"), STORE_CREATE));
	struct store_backend *mem;
	CHECK_OK(store_mem_new(&mem));
	CHECK_OK(store_add_backend(s, mem));
	struct rec_sink rs = {.mem = mem};
	struct hamt_sink sink = {rec_put, &rs};
	struct hamt_params p;
	hamt_params_default(&p);
	size_t n = 20000;
	char(*keys)[24] = calloc(n, 24);
	struct hamt_entry *e = calloc(n, sizeof(*e));
	struct buf v = {0};
	hamt_value_encode_bytes((const uint8_t *)"v", 1, &v);
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], 24, "key%zu", i);
		e[i] = (struct hamt_entry){(const uint8_t *)keys[i],
					   strlen(keys[i]), v.data, v.len};
	}
	struct cid root, r2;
	struct hamt_stats st;
	CHECK_OK(hamt_build(&p, e, n, &sink, &root, &st));
	struct hamt *h;
	CHECK_OK(hamt_open(&h, s, &root));
	struct buf v2 = {0};
	hamt_value_encode_bytes((const uint8_t *)"w", 1, &v2);
	struct hamt_change c = {(const uint8_t *)"key7", 4, v2.data, v2.len};
	uint64_t written;
	CHECK_OK(hamt_merge(h, &c, 1, &sink, &r2, &written));
	CHECK(written >= 1 && written <= st.depth);
	/* same value again: nothing to write, same root */
	c.val = v.data;
	c.vlen = v.len;
	CHECK_OK(hamt_merge(h, &c, 1, &sink, &r2, &written));
	CHECK(written == 0 && cid_equal(&r2, &root));
	/* deleting a key that is not there changes nothing */
	struct hamt_change d = {(const uint8_t *)"absent", 6, NULL, 0};
	CHECK_OK(hamt_merge(h, &d, 1, &sink, &r2, &written));
	CHECK(written == 0 && cid_equal(&r2, &root));
	hamt_free(h);
	buf_free(&v);
	buf_free(&v2);
	free(keys);
	free(e);
	free(rs.cids);
	store_close(s);
}

int main(void)
{
	struct kvset kv = {0};
	alice_load(&kv);
	if (kv.n) {
		test_alice_build(&kv);
		test_alice_read(&kv);
	}
	kvset_free(&kv);
	static const unsigned params[][2] = {{3, 1}, {3, 2}, {4, 3}, {5, 3},
					     {8, 3}, {8, 1}, {6, 5}, {16, 2}};
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		test_property(params[i][0], params[i][1], 1500, 1000 + i);
	test_merge_path();
	return test_summary();
}
