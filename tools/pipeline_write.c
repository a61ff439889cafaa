/* pipeline_write.c - the write phase of the parallel build (pipeline.c has
 * the overview): the block partitions idle builders sort ahead of the
 * writer, and the writer (the main thread), which merges every partition
 * of blocks in CID order, drops repeated CIDs and appends them to the
 * store in one LMDB transaction or streams them into a CARv1, then sets
 * the ref (or the CAR's root) and commits.
 */
#include "tools/pipeline_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/car.h"
#include "store/store.h"
#include "tools/sorter.h"

/* The sorters holding block partition p: records, and nodes for the
 * DAG-CBOR half (only once the nodes are all made). */
static size_t block_sources(struct pipeline *pl, unsigned p,
			    struct sorter **src)
{
	size_t ns = 0;
	for (unsigned i = 0; i < pl->nw; i++)
		src[ns++] = pl->w[i].recs;
	if (p >= 256)
		for (unsigned i = 0; i < pl->nw; i++)
			src[ns++] = pl->w[i].nodes;
	return ns;
}

/* An idle builder sorts the writer's next partitions, at most PREP_AHEAD
 * ahead of it, so that the writer (the one thread that can write to LMDB)
 * only writes. */
void pl_prepare_ahead(struct pipeline *pl)
{
	struct sorter *src[2 * pl->nw];
	pthread_mutex_lock(&pl->wlock);
	for (;;) {
		unsigned p = pl->prep_next;
		int slot = -1;
		if (p >= NPART_BLK || atomic_load(&pl->failed))
			break;
		if (pl->prep_state[p] != 0) { /* the writer got there */
			pl->prep_next++;
			continue;
		}
		for (int i = 0; i < PREP_AHEAD && slot < 0; i++)
			if (!pl->prep_busy[i])
				slot = i;
		if (slot < 0 || p >= pl->wpos + PREP_AHEAD ||
		    (p >= 256 && !pl->nodes_ready)) {
			pthread_cond_wait(&pl->wcond, &pl->wlock);
			continue;
		}
		pl->prep_state[p] = 1;
		pl->prep_busy[slot] = 1;
		pl->prep_next = p + 1;
		pthread_mutex_unlock(&pl->wlock);
		struct sorter_merge *m = NULL;
		size_t ns = block_sources(pl, p, src);
		int rc = sorter_merge_open(&m, src, ns, p, &pl->prep_sx[slot]);
		if (rc)
			pl_fail(pl, rc);
		pthread_mutex_lock(&pl->wlock);
		pl->prep_m[p] = m;
		pl->prep_slot[p] = slot;
		pl->prep_state[p] = 2;
		pthread_cond_broadcast(&pl->wcond);
	}
	pthread_mutex_unlock(&pl->wlock);
}

/* The writer's partition p: prepared by a helper, or opened here. */
static int take_partition(struct pipeline *pl, unsigned p,
			  struct sorter_scratch *own, struct sorter_merge **m,
			  int *slot)
{
	struct sorter *src[2 * pl->nw];
	*m = NULL;
	*slot = -1;
	pthread_mutex_lock(&pl->wlock);
	pl->wpos = p;
	pthread_cond_broadcast(&pl->wcond);
	while (pl->prep_state[p] == 1 && !atomic_load(&pl->failed))
		pthread_cond_wait(&pl->wcond, &pl->wlock);
	int state = pl->prep_state[p];
	pl->prep_state[p] = 3;
	if (state == 2) {
		*m = pl->prep_m[p];
		*slot = pl->prep_slot[p];
		pl->prep_m[p] = NULL;
	}
	pthread_mutex_unlock(&pl->wlock);
	if (atomic_load(&pl->failed))
		return -ECANCELED;
	if (state == 2)
		return *m ? 0 : -ECANCELED;
	size_t ns = block_sources(pl, p, src);
	return sorter_merge_open(m, src, ns, p, own);
}

static void give_back(struct pipeline *pl, struct sorter_merge *m, int slot)
{
	sorter_merge_close(m);
	if (slot < 0)
		return;
	pthread_mutex_lock(&pl->wlock);
	pl->prep_busy[slot] = 0;
	pthread_cond_broadcast(&pl->wcond);
	pthread_mutex_unlock(&pl->wlock);
}

/* ------------------------------------------------------------- write */

/* Wait until the nodes are all made (or the build failed). */
static int wait_nodes(struct pipeline *pl)
{
	pthread_mutex_lock(&pl->wlock);
	while (!pl->nodes_ready && !atomic_load(&pl->failed))
		pthread_cond_wait(&pl->wcond, &pl->wlock);
	pthread_mutex_unlock(&pl->wlock);
	return atomic_load(&pl->failed) ? -ECANCELED : 0;
}

struct out {
	struct sorter_scratch sx;
	struct store_txn *txn;
	struct store_bulk *bulk;
	struct car_writer *car;
};

static int out_put(struct out *out, const uint8_t *cid, const uint8_t *data,
		   size_t len)
{
	if (out->bulk)
		return store_bulk_put(out->bulk, cid, CID_LEN, data, len);
	struct cid c;
	int rc = cid_from_bytes(&c, cid, CID_LEN, NULL);
	return rc ? rc : car_writer_put(out->car, &c, data, len);
}

static void write_progress(struct pipeline *pl, uint64_t n)
{
	atomic_fetch_add(&pl->blocks_done, n);
	atomic_store(&pl->wbytes_done, pl->w_bytes);
}

/* Put one block and count it; every 4096th (`*n` counts a partition's or
 * group's blocks) publishes the progress and honours a stop. The caller
 * publishes the last n & 4095. */
static int write_one(struct pipeline *pl, struct out *out, const uint8_t *cid,
		     const uint8_t *data, size_t len, uint64_t *n)
{
	int rc = out_put(out, cid, data, len);
	if (rc)
		return rc;
	pl->w_blocks++;
	pl->w_bytes += len;
	if ((++*n & 4095) == 0) {
		write_progress(pl, 4096);
		if (pl_stopped(pl))
			return -ECANCELED;
	}
	return 0;
}

/* byref: the raw record blocks, group by group. */
static int write_groups(struct pipeline *pl, struct out *out)
{
	uint8_t cid[CID_LEN];
	uint8_t *win = NULL; /* for stretches of another thread's fill */
	int rc = 0;
	for (unsigned g = 0; g < pl->ngroups && !rc; g++) {
		int slot;
		rc = pl_stopped(pl) ? -ECANCELED
				    : pl_take_group(pl, g, &slot, &win);
		if (rc)
			break;
		const struct gslot *s = &pl->gs[slot];
		uint64_t n = 0;
		for (size_t i = 0; i < s->nents && !rc; i++) {
			const struct gent *e = &s->ents[i];
			blk_cid(0, e->digest, cid);
			rc = write_one(pl, out, cid, s->buf + e->dst, e->len,
				       &n);
		}
		write_progress(pl, n & 4095);
		pl_give_group(pl, slot);
	}
	free(win);
	if (rc)
		return rc;
	/* every group is filled and written: the buffers go back to the
	 * kernel now, which has the commit's page-cache writes to place */
	pthread_mutex_lock(&pl->wlock);
	pl_groups_release(pl);
	pthread_mutex_unlock(&pl->wlock);
	return 0;
}

static int write_blocks(struct pipeline *pl, struct out *out)
{
	const struct pipeline_opts *o = pl->o;
	uint8_t prev[DIGEST_LEN], cid[CID_LEN];
	int have_prev = 0, rc = 0;
	if (o->car) {
		struct cid ph = {.version = 1,
				 .codec = CODEC_DAG_CBOR,
				 .mh_code = MH_SHA2_256,
				 .digest_len = 32};
		rc = car_writer_open(&out->car, o->car, &ph, 1);
	} else {
		rc = store_txn_begin(pl->store, &out->txn);
		if (!rc)
			rc = store_bulk_begin(out->txn, &out->bulk);
	}
	if (rc)
		return rc;
	if (pl->byref && (rc = write_groups(pl, out)) != 0)
		return rc;
	for (unsigned p = pl->byref ? NPART_ENT : 0; p < NPART_BLK; p++) {
		struct sorter *src[2 * pl->nw];
		struct sorter_merge *m;
		int slot;
		if (p == NPART_ENT)
			have_prev = 0; /* raw and DAG-CBOR CIDs differ */
		/* DAG-CBOR: the nodes are in these partitions */
		if (p >= 256 && (rc = wait_nodes(pl)) != 0)
			return rc;
		if (pl_stopped(pl))
			return -ECANCELED;
		if ((rc = take_partition(pl, p, &out->sx, &m, &slot)) != 0)
			return rc;
		const uint8_t *r;
		size_t len;
		uint64_t n = 0;
		while ((rc = sorter_merge_next(m, &r, &len, NULL)) == 1) {
			if (have_prev && memcmp(prev, r, DIGEST_LEN) == 0)
				continue; /* the same block again */
			memcpy(prev, r, DIGEST_LEN);
			have_prev = 1;
			blk_cid(p, r, cid);
			if ((rc = write_one(pl, out, cid, r + DIGEST_LEN,
					    len - DIGEST_LEN, &n)) != 0)
				break;
		}
		write_progress(pl, n & 4095);
		give_back(pl, m, slot);
		if (rc < 0)
			return rc;
		rc = 0;
		size_t ns = block_sources(pl, p, src);
		for (size_t i = 0; i < ns; i++)
			sorter_release(src[i], p);
	}
	if ((rc = wait_nodes(pl)) != 0)
		return rc;
	if (out->bulk) {
		rc = store_bulk_end(out->bulk, NULL, &pl->w_present);
		out->bulk = NULL;
		if (!rc && o->ref)
			rc = store_txn_set_ref(out->txn, o->ref, &pl->root);
	} else {
		rc = car_writer_set_root(out->car, &pl->root);
	}
	return rc;
}

/* The writer (on the main thread: LMDB's dirty pages then come from the
 * main malloc arena, which grows in large steps). */
void pl_write_main(struct pipeline *pl)
{
	struct out out = {0};
	int rc = write_blocks(pl, &out);
	pl->t_write_end = pl_now_s();
	if (!rc && pl_stopped(pl))
		rc = -ECANCELED;
	if (!rc) {
		atomic_store(&pl->phase, 2);
		if (out.txn) {
			rc = store_txn_commit(out.txn);
			out.txn = NULL;
		} else {
			rc = car_writer_finish(out.car);
			out.car = NULL;
		}
	}
	pl->t_commit = pl_now_s() - pl->t_write_end;
	if (rc && rc != -ECANCELED)
		pl_fail(pl, rc);
	(void)store_bulk_end(out.bulk, NULL, NULL); /* failed already */
	sorter_scratch_free(&out.sx);
	store_txn_abort(out.txn);
	car_writer_abort(out.car);
}
