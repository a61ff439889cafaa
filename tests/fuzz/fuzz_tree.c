/* fuzz_tree.c - whole maps of fuzzed blocks through open, verify, the
 * cursor, get, merge and build (what a mount does with a stranger's root).
 *
 * Input: blocks, each a 2-byte little-endian length and that many bytes
 * (at most MAX_BLOCKS). Block 0 is the root. A fuzzer cannot write a
 * sha2-256 CID of another block, so links are resolved by the harness:
 * going from the last block to the first, every link in a block that is
 * valid DAG-CBOR and that does not already name a later block is pointed
 * at a later block (chosen by the first digest byte), with the codec it
 * had; the block is re-encoded and gets its real CID. Blocks are served by
 * a backend of this harness behind the store front (which verifies them),
 * so a link to a block the input lacks is a missing block.
 *
 * Invariants: nothing crashes or leaks, whatever the blocks; every key a
 * complete listing shows is found by hamt_get with the same value (what a
 * mount promises: a listed name opens); and when hamt_verify accepts the
 * map:
 *  - the cursor lists exactly stats.keys entries, each of which hamt_get
 *    finds with the same value;
 *  - building those entries afresh with the map's parameters gives the
 *    same root CID (verify accepts only canonical maps);
 *  - a merge that adds a key and deletes another gives a map that verify
 *    accepts, with one key added and one gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "hamt/dagcbor.h"
#include "hamt/hamt.h"
#include "hamt/hash.h"
#include "store/backend.h"
#include "store/store.h"

#define MAX_BLOCKS 64
#define MAX_EXTRA 256 /* blocks a merge may add */
#define MAX_KEYS 4096

struct blk {
	uint8_t digest[32]; /* sha2-256 of data */
	uint8_t *data;
	size_t len;
};

static struct blk blocks[MAX_BLOCKS + MAX_EXTRA];
static size_t nblocks;

/* --- a backend serving `blocks` by digest, whatever the codec ---------- */

static long find(const struct cid *c)
{
	if (c->mh_code != MH_SHA2_256 || c->digest_len != 32)
		return -1;
	for (size_t i = 0; i < nblocks; i++)
		if (!memcmp(blocks[i].digest, c->digest, 32))
			return (long)i;
	return -1;
}

static int be_get(struct store_backend *be, const struct cid *c, uint8_t **data,
		  size_t *len)
{
	(void)be;
	long i = find(c);
	if (i < 0)
		return err_set(-ENOENT, "fuzz: no such block");
	*data = malloc(blocks[i].len ? blocks[i].len : 1);
	if (!*data)
		return err_set(-ENOMEM, "fuzz: out of memory");
	memcpy(*data, blocks[i].data, blocks[i].len);
	*len = blocks[i].len;
	return 0;
}

static int be_has(struct store_backend *be, const struct cid *c)
{
	(void)be;
	return find(c) >= 0;
}

static void be_free(struct store_backend *be)
{
	(void)be;
}

static struct store_backend backend = {
    .name = "fuzz", .get = be_get, .has = be_has, .free = be_free};

static int add_block(const uint8_t *p, size_t len)
{
	if (nblocks == sizeof(blocks) / sizeof(blocks[0]))
		return err_set(-ENOSPC, "fuzz: too many blocks");
	struct blk *b = &blocks[nblocks];
	b->data = malloc(len ? len : 1);
	FUZZ_CHECK(b->data != NULL);
	memcpy(b->data, p, len);
	b->len = len;
	hash_sha256(p, len, b->digest);
	nblocks++;
	return 0;
}

static void clear_blocks(void)
{
	for (size_t i = 0; i < nblocks; i++)
		free(blocks[i].data);
	nblocks = 0;
}

static struct store *store;
static char tree_store_dir[64];

/* At exit: close the scratch store and remove it. */
static void remove_store(void)
{
	char path[96];
	store_close(store);
	store = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", tree_store_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", tree_store_dir);
	unlink(path);
	rmdir(tree_store_dir);
}

static struct store *the_store(void)
{
	if (store)
		return store;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(tree_store_dir, sizeof(tree_store_dir), "%s/fuzz_tree.XXXXXX",
		 base);
	FUZZ_CHECK(mkdtemp(tree_store_dir) != NULL);
	FUZZ_CHECK(store_open(&store, tree_store_dir, STORE_CREATE) == 0);
	FUZZ_CHECK(store_add_backend(store, &backend) == 0);
	atexit(remove_store);
	return store;
}

/* --- link resolution ----------------------------------------------------- */

/* Point the links under `it` (in input block `self` of `n`) at blocks
 * after it (see the top): `orig` holds the digests of the blocks as given,
 * `res` those of the blocks already resolved (after `self`). */
static void relink(cbor_item_t *it, size_t self, size_t n, uint8_t (*orig)[32],
		   const struct blk *res, int depth)
{
	if (depth > 300)
		return;
	if (cbor_isa_array(it)) {
		cbor_item_t **h = cbor_array_handle(it);
		for (size_t i = 0; i < cbor_array_size(it); i++)
			relink(h[i], self, n, orig, res, depth + 1);
		return;
	}
	if (cbor_isa_map(it)) {
		struct cbor_pair *p = cbor_map_handle(it);
		for (size_t i = 0; i < cbor_map_size(it); i++)
			relink(p[i].value, self, n, orig, res, depth + 1);
		return;
	}
	struct cid c;
	if (dagcbor_item_link(it, &c) != 1 || self + 1 >= n)
		return;
	if (c.mh_code != MH_SHA2_256 || c.digest_len != 32)
		return; /* a hash we cannot check: left as it is */
	size_t to = n;
	for (size_t j = self + 1; j < n && to == n; j++)
		if (!memcmp(orig[j], c.digest, 32))
			to = j;
	if (to == n)
		to = self + 1 + c.digest[0] % (n - self - 1);
	c.version = 1;
	memcpy(c.digest, res[to].digest, 32);
	cbor_item_t *nl = dagcbor_build_link(&c);
	FUZZ_CHECK(nl != NULL);
	cbor_item_t *old = it->metadata.tag_metadata.tagged_item;
	cbor_tag_set_item(it, nl->metadata.tag_metadata.tagged_item);
	cbor_decref(&nl);
	if (old)
		cbor_decref(&old);
}

/* Split the input into blocks, resolve links, fill `blocks` in order. */
static size_t load(const uint8_t *data, size_t size)
{
	const uint8_t *p[MAX_BLOCKS];
	size_t len[MAX_BLOCKS], n = 0;
	static uint8_t orig[MAX_BLOCKS][32];
	static struct blk res[MAX_BLOCKS];
	while (n < MAX_BLOCKS && size >= 2) {
		size_t l = (size_t)data[0] | (size_t)data[1] << 8;
		if (l > size - 2)
			l = size - 2;
		p[n] = data + 2;
		len[n] = l;
		hash_sha256(p[n], l, orig[n]);
		n++;
		data += 2 + l;
		size -= 2 + l;
	}
	for (size_t k = n; k-- > 0;) {
		cbor_item_t *it = NULL;
		struct buf out = {0};
		if (dagcbor_decode(p[k], len[k], &it) == 0) {
			relink(it, k, n, orig, res, 0);
			FUZZ_CHECK(dagcbor_encode(it, &out) == 0);
			cbor_decref(&it);
		} else {
			FUZZ_CHECK(buf_append(&out, p[k], len[k]) == 0);
		}
		res[k].len = out.len;
		res[k].data = buf_steal(&out, &res[k].len);
		if (!res[k].data) { /* empty block */
			res[k].data = malloc(1);
			FUZZ_CHECK(res[k].data != NULL);
		}
		hash_sha256(res[k].data, res[k].len, res[k].digest);
	}
	for (size_t k = 0; k < n; k++)
		blocks[k] = res[k];
	nblocks = n;
	return n;
}

/* --- the checks ---------------------------------------------------------- */

static int sink_put(void *payload, const struct cid *c, const uint8_t *data,
		    size_t len)
{
	(void)payload;
	if (find(c) >= 0)
		return 0;
	return add_block(data, len);
}

struct entries {
	struct hamt_entry e[MAX_KEYS];
	size_t n;
};

/* List the map; 1 if the listing was complete (0 if cut short). */
static int list(struct hamt *h, struct entries *en)
{
	struct hamt_cursor *cur = NULL;
	const uint8_t *k, *v;
	size_t kl, vl;
	int rc;
	en->n = 0;
	FUZZ_CHECK(hamt_cursor_new(h, &cur) == 0);
	while ((rc = hamt_cursor_next(cur, &k, &kl, &v, &vl)) == 1) {
		size_t hl;
		FUZZ_CHECK(hamt_cursor_hash(cur, &hl) != NULL && hl > 0);
		if (en->n == MAX_KEYS)
			break;
		uint8_t *kc = malloc(kl + vl + 1);
		FUZZ_CHECK(kc != NULL);
		memcpy(kc, k, kl);
		memcpy(kc + kl, v, vl);
		en->e[en->n++] = (struct hamt_entry){kc, kl, kc + kl, vl};
	}
	hamt_cursor_free(cur);
	return rc == 0;
}

static void free_entries(struct entries *en)
{
	for (size_t i = 0; i < en->n; i++)
		free((void *)en->e[i].key);
	en->n = 0;
}

static void check_valid(struct store *s, struct hamt *h,
			const struct hamt_stats *st)
{
	static struct entries en;
	struct buf val = {0};
	FUZZ_CHECK(list(h, &en) == 1 || en.n == MAX_KEYS);
	if (en.n == MAX_KEYS)
		goto out;
	FUZZ_CHECK(en.n == st->keys);
	/* every key of a small map, some of a big one (each get walks) */
	size_t step = en.n > 64 ? en.n / 64 : 1;
	for (size_t i = 0; i < en.n; i += step) {
		buf_reset(&val);
		FUZZ_CHECK(hamt_get(h, en.e[i].key, en.e[i].klen, &val) == 0);
		FUZZ_CHECK(val.len == en.e[i].vlen &&
			   !memcmp(val.data, en.e[i].val, val.len));
	}
	/* canonical: the same entries build the same root */
	struct cid root2;
	struct hamt_sink sink = {sink_put, NULL};
	int rc =
	    hamt_build(hamt_get_params(h), en.e, en.n, &sink, &root2, NULL);
	if (rc == -ENOSPC)
		goto out; /* the harness's block table is full */
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(cid_equal(&root2, hamt_root(h)));
	/* a merge: add a key, delete the first listed one */
	static const uint8_t nk[] = "fuzz-new-key", nv[] = "\x61v";
	buf_reset(&val);
	int had = hamt_get(h, nk, sizeof(nk) - 1, &val) == 0;
	struct hamt_change ch[2] = {{nk, sizeof(nk) - 1, nv, 2}};
	size_t nch = 1;
	int del = en.n > 0 && !(en.e[0].klen == sizeof(nk) - 1 &&
				!memcmp(en.e[0].key, nk, sizeof(nk) - 1));
	if (del)
		ch[nch++] =
		    (struct hamt_change){en.e[0].key, en.e[0].klen, NULL, 0};
	struct cid nr;
	rc = hamt_merge(h, ch, nch, &sink, &nr, NULL);
	if (rc == -ENOSPC)
		goto out;
	FUZZ_CHECK(rc == 0);
	struct hamt *h2 = NULL;
	struct hamt_stats st2;
	FUZZ_CHECK(hamt_open(&h2, s, &nr) == 0);
	FUZZ_CHECK(hamt_verify(h2, &st2) == 0);
	FUZZ_CHECK(st2.keys == st->keys + !had - (uint64_t)del);
	buf_reset(&val);
	FUZZ_CHECK(hamt_get(h2, nk, sizeof(nk) - 1, &val) == 0);
	FUZZ_CHECK(val.len == 2 && !memcmp(val.data, nv, 2));
	if (del) {
		buf_reset(&val);
		FUZZ_CHECK(hamt_get(h2, en.e[0].key, en.e[0].klen, &val) ==
			   -ENOENT);
	}
	hamt_free(h2);
out:
	buf_free(&val);
	free_entries(&en);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *s = the_store();
	if (load(data, size) == 0)
		return 0;
	struct cid root;
	cid_of_block(&root, CODEC_DAG_CBOR, blocks[0].data, blocks[0].len);
	struct hamt *h = NULL;
	if (hamt_open(&h, s, &root) == 0) {
		struct hamt_stats st;
		int valid = hamt_verify(h, &st) == 0;
		if (valid) {
			check_valid(s, h, &st);
		} else {
			/* a broken map: reading it fails cleanly, and a key
			 * a complete listing shows is one a lookup finds (a
			 * mounted directory never lists a name that does not
			 * open) */
			static struct entries en;
			int complete = list(h, &en) == 1 && en.n < MAX_KEYS;
			struct buf val = {0};
			for (size_t i = 0; i < en.n; i++) {
				buf_reset(&val);
				int rc = hamt_get(h, en.e[i].key, en.e[i].klen,
						  &val);
				if (complete)
					FUZZ_CHECK(rc == 0 &&
						   val.len == en.e[i].vlen &&
						   !memcmp(val.data,
							   en.e[i].val,
							   val.len));
			}
			buf_free(&val);
			free_entries(&en);
		}
		struct buf val = {0};
		hamt_get(h, (const uint8_t *)"x", 1, &val);
		buf_free(&val);
		hamt_free(h);
	}
	clear_blocks();
	return 0;
}
