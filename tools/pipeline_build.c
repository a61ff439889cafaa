/* pipeline_build.c - the build phase of the parallel build (pipeline.c
 * has the overview): for each range of root slots (a job), the entries of
 * its partitions from every reader are merged in hash order, deduplicated
 * (the last line of a key wins) and built into sub-trees whose node blocks
 * go to the builder's own sorter; the last builder to finish encodes the
 * root. A builder then helps the writer (pipeline_groups.c,
 * pipeline_write.c).
 */
#include "tools/pipeline_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hamt/bulk.h"
#include "hamt/err.h"
#include "hamt/hash.h"
#include "tools/bigbuf.h"
#include "tools/sorter.h"

/* ------------------------------------------------------------- build */

static void *arena_copy(struct arena *a, const uint8_t *p, size_t n)
{
	if (!a->n || a->size - a->used < n) {
		size_t size = n > ((size_t)1 << 20) ? n : ((size_t)1 << 20);
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 16;
			uint8_t **v = realloc(a->blocks, cap * sizeof(*v));
			if (!v)
				return NULL;
			a->blocks = v;
			a->cap = cap;
		}
		uint8_t *b = malloc(size);
		if (!b)
			return NULL;
		if (a->n == 0)
			a->size0 = size;
		a->blocks[a->n++] = b;
		a->size = size;
		a->used = 0;
	}
	uint8_t *d = a->blocks[a->n - 1] + a->used;
	memcpy(d, p, n);
	a->used += n;
	return d;
}

/* Forget the contents: the first block is kept for the next job (one per
 * job would otherwise go back to malloc and be taken again), the others
 * go back to malloc. */
static void arena_reset(struct arena *a)
{
	for (size_t i = 1; i < a->n; i++)
		free(a->blocks[i]);
	if (a->n) {
		a->n = 1;
		a->size = a->size0;
	}
	a->used = 0;
}

void pl_arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

static int item_cmp(const struct hamt_item *a, const struct hamt_item *b,
		    size_t hl)
{
	int c = memcmp(a->hash, b->hash, hl);
	if (c)
		return c;
	c = bytes_cmp(a->key, a->klen, b->key, b->klen);
	if (c)
		return c;
	return a->ord < b->ord ? -1 : (a->ord > b->ord ? 1 : 0);
}

static int node_put(void *payload, const struct cid *c, const uint8_t *data,
		    size_t len)
{
	struct worker *w = payload;
	uint8_t *dst;
	if (c->version != 1 || c->codec != CODEC_DAG_CBOR ||
	    c->mh_code != MH_SHA2_256 || c->digest_len != DIGEST_LEN)
		return err_set(-EINVAL, "HAMT build: unexpected node CID");
	int rc = sorter_add(w->nodes, blk_part(CODEC_DAG_CBOR, c->digest),
			    DIGEST_LEN + len, &dst);
	if (rc)
		return rc;
	memcpy(dst, c->digest, DIGEST_LEN);
	memcpy(dst + DIGEST_LEN, data, len);
	atomic_fetch_add(&w->pl->nodes_made, 1);
	return 0;
}

/* Do more than bucketSize of the sorted items share their first
 * (64 / bitWidth) * bitWidth hash bits? */
static int needs_full_hash(const struct hamt_item *it, size_t n,
			   const struct hamt_params *p)
{
	unsigned bits = (64 / p->bit_width) * p->bit_width;
	uint64_t mask = bits >= 64 ? ~(uint64_t)0 : ~(~(uint64_t)0 >> bits);
	size_t run = 1;
	for (size_t i = 1; i < n; i++) {
		if ((be64(it[i].hash) & mask) != (be64(it[i - 1].hash) & mask))
			run = 1;
		else if (++run > p->bucket_size)
			return 1;
	}
	return 0;
}

static int build_job(struct worker *w, unsigned job)
{
	struct pipeline *pl = w->pl;
	size_t hl = pl->hash_len;
	unsigned p0 = job * pl->parts_per_job, p1 = p0 + pl->parts_per_job;
	struct sorter *ents[pl->nw];
	struct sorter_merge *m = NULL;
	uint64_t total = 0;
	size_t n = 0;
	int rc = 0;
	for (unsigned i = 0; i < pl->nw; i++) {
		ents[i] = pl->w[i].ents;
		for (unsigned p = p0; p < p1; p++)
			total += sorter_part_count(ents[i], p);
	}
	if (total == 0)
		return 0;
	if (total > w->itcap) {
		size_t k = (size_t)total;
		struct hamt_item *v = bigbuf_alloc(k * sizeof(*v));
		uint8_t *l = pl->o->link ? bigbuf_alloc(k * LINK_LEN) : NULL;
		if (!v || (pl->o->link && !l)) {
			bigbuf_free(v, k * sizeof(*v));
			bigbuf_free(l, k * LINK_LEN);
			return err_set(-ENOMEM,
				       "out of memory for %llu entries",
				       (unsigned long long)total);
		}
		bigbuf_free(w->it, w->itcap * sizeof(*w->it));
		bigbuf_free(w->links, w->itcap * LINK_LEN);
		w->it = v;
		w->links = l;
		w->itcap = k;
	}
	struct hamt_item *it = w->it;
	arena_reset(&w->ar);
	for (unsigned p = p0; p < p1; p++) {
		if ((rc = sorter_merge_open(&m, ents, pl->nw, p, &w->sx)) != 0)
			goto out;
		const uint8_t *r;
		size_t len;
		int stable;
		while ((rc = sorter_merge_next(m, &r, &len, &stable)) == 1) {
			if (n == total) {
				rc = err_set(-EIO, "sort: more entries than "
						   "counted");
				goto out;
			}
			if (!stable && !(r = arena_copy(&w->ar, r, len))) {
				rc = err_set(-ENOMEM, "out of memory");
				goto out;
			}
			struct hamt_item *x = &it[n++];
			uint32_t kl;
			memcpy(&kl, r + 16, 4);
			x->key = r + ENT_HDR;
			x->klen = kl;
			x->val = r + ENT_HDR + kl;
			x->vlen = len - ENT_HDR - kl;
			if (pl->o->link) {
				/* the entry holds the record's digest */
				uint8_t *l = w->links + (n - 1) * LINK_LEN;
				if (x->vlen != DIGEST_LEN) {
					rc = err_set(-EIO, "sort: bad entry");
					goto out;
				}
				link_encode(pl->o->in.codec, x->val, l);
				x->val = l;
				x->vlen = LINK_LEN;
			}
			x->ord = be64(r + 8);
			/* the 8 kept bytes; the rest only when needed */
			memcpy(x->hash, r, hl < 8 ? hl : 8);
			if (hl > 8)
				memset(x->hash + 8, 0, hl - 8);
		}
		sorter_merge_close(m);
		m = NULL;
		if (rc < 0)
			goto out;
		rc = 0;
	}
	/* Which of the hash is needed: a node at depth d reads bits
	 * [d*bw, d*bw+bw). The kept 64 bits cover the depths below
	 * D = 64/bw; a node at depth D exists only if more than bucketSize
	 * entries share the first D*bw bits. Only then are the full hashes
	 * computed (the key is hashed again) and ties of the 8 bytes put in
	 * full-hash order; else the tail of every hash stays zero and is
	 * never read, and entries that tie are in one bucket, sorted by key
	 * there. */
	if (hl > 8 &&
	    (pl->o->full_hash || needs_full_hash(it, n, &pl->o->params))) {
		for (size_t i = 0; i < n; i++) {
			size_t got;
			if ((rc = hash_key(pl->o->params.hash_alg, it[i].key,
					   it[i].klen, it[i].hash, &got)) != 0)
				goto out;
		}
		atomic_fetch_add(&pl->full_hash_jobs, 1);
	}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && memcmp(it[j].hash, it[i].hash, 8) == 0)
			j++;
		for (size_t a = i + 1; a < j; a++) {
			struct hamt_item x = it[a];
			size_t b = a;
			while (b > i && item_cmp(&it[b - 1], &x, hl) > 0) {
				it[b] = it[b - 1];
				b--;
			}
			it[b] = x;
		}
		i = j;
	}
	/* the last entry of a key wins */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && memcmp(it[i].hash, it[i + 1].hash, hl) == 0 &&
		    bytes_cmp(it[i].key, it[i].klen, it[i + 1].key,
			      it[i + 1].klen) == 0)
			continue;
		if (k != i)
			it[k] = it[i];
		k++;
	}
	struct hamt_sink sink = {node_put, w};
	rc = hamt_bulk_add(pl->bulk, it, k, &sink, &w->hs);
out:
	sorter_merge_close(m);
	if (!rc)
		for (unsigned i = 0; i < pl->nw; i++)
			for (unsigned p = p0; p < p1; p++)
				sorter_release(ents[i], p);
	return rc;
}

/* The last builder to finish: encode the root, let the writer go on. */
static void finish_root(struct worker *w)
{
	struct pipeline *pl = w->pl;
	if (!atomic_load(&pl->failed)) {
		struct hamt_sink sink = {node_put, w};
		struct hamt_stats hs = {0};
		int rc = hamt_bulk_finish(pl->bulk, &sink, &pl->root, &hs);
		if (rc)
			pl_fail(pl, rc);
		for (unsigned i = 0; i < pl->nw; i++) {
			const struct hamt_stats *x = &pl->w[i].hs;
			hs.keys += x->keys;
			hs.blocks += x->blocks;
			hs.bytes += x->bytes;
			if (x->depth > hs.depth)
				hs.depth = x->depth;
		}
		pl->hs = hs;
	}
	/* every entry is in the tree: their sorters (and run files, which
	 * can be large) go now, not at the end */
	for (unsigned i = 0; i < pl->nw; i++) {
		pl->ent_runs += sorter_runs(pl->w[i].ents);
		sorter_free(pl->w[i].ents);
		pl->w[i].ents = NULL;
	}
	pl->t_built = pl_now_s();
	pthread_mutex_lock(&pl->wlock);
	pl->nodes_ready = 1;
	pthread_cond_broadcast(&pl->wcond);
	pthread_mutex_unlock(&pl->wlock);
}

void *pl_build_main(void *arg)
{
	struct worker *w = arg;
	struct pipeline *pl = w->pl;
	/* The writer is the one thread that can write: a builder gives way
	 * to it (a lower priority for this thread only; best effort) and
	 * takes what CPU is left, all of it while the writer waits. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), BUILDER_NICE);
	while (!pl_stopped(pl)) {
		unsigned j = atomic_fetch_add(&pl->next_job, 1);
		if (j >= pl->njobs)
			break;
		int rc = build_job(w, j);
		if (!rc)
			rc = pl_spill_check(w, w->nodes, NULL);
		if (rc) {
			pl_fail(pl, rc);
			break;
		}
		atomic_fetch_add(&pl->jobs_done, 1);
	}
	if (atomic_fetch_add(&pl->builders_done, 1) + 1 == pl->nw)
		finish_root(w);
	if (pl->byref)
		pl_prepare_groups(pl);
	pl_prepare_ahead(pl);
	return NULL;
}
