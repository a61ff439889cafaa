/* merge.c - apply a sorted batch of puts and deletes to an existing map,
 * writing only the nodes on changed paths. A child that no change reaches
 * keeps its CID and is never read. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamt/err.h"
#include "hamt/hamt_int.h"

enum { MRES_EMPTY, MRES_BUCKET, MRES_LINK };

/* What a sub-tree became: nothing, a small set of entries (to be a bucket
 * in the parent), or a node. */
struct mres {
	int kind;
	struct cid link;
	size_t nkv;
	struct hamt_kv *kv; /* malloc()ed, sorted by key */
};

struct merge_ctx {
	struct hamt *h;
	struct hamt_writer w;
	struct hamt_node **keep; /* nodes whose bytes results point into */
	size_t nkeep, capkeep;
};

static int keep_node(struct merge_ctx *m, struct hamt_node *n)
{
	if (m->nkeep == m->capkeep) {
		size_t cap = m->capkeep ? m->capkeep * 2 : 16;
		struct hamt_node **k = realloc(m->keep, cap * sizeof(*k));
		if (!k)
			return err_set(-ENOMEM, "HAMT merge: out of memory");
		m->keep = k;
		m->capkeep = cap;
	}
	m->keep[m->nkeep++] = n;
	return 0;
}

/* Entries of a bucket combined with the changes for its slot: the result
 * of applying the changes, sorted by hash, deletes removed. */
static int combine_bucket(struct merge_ctx *m, const struct hamt_elem *e,
			  const struct hamt_item *chg, size_t nchg,
			  struct hamt_item **out, size_t *nout)
{
	size_t nold = e ? e->nkv : 0;
	struct hamt_item *it = calloc(nold + nchg, sizeof(*it));
	if (!it)
		return err_set(-ENOMEM, "HAMT merge: out of memory");
	for (size_t i = 0; i < nold; i++) {
		const struct hamt_kv *kv = &e->kvs[i];
		size_t hl;
		int rc = hash_key(m->w.params.hash_alg, kv->key, kv->klen,
				  it[i].hash, &hl);
		if (rc) {
			free(it);
			return rc;
		}
		it[i].key = kv->key;
		it[i].klen = kv->klen;
		it[i].val = kv->val;
		it[i].vlen = kv->vlen;
		it[i].ord = 0;
	}
	memcpy(it + nold, chg, nchg * sizeof(*it));
	size_t n = hamt_items_sort_dedup(it, nold + nchg, m->w.hash_len);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (it[i].val)
			it[k++] = it[i];
	*out = it;
	*nout = k;
	return 0;
}

static int kv_cmp(const void *pa, const void *pb)
{
	const struct hamt_kv *a = pa, *b = pb;
	return hamt_key_cmp(a->key, a->klen, b->key, b->klen);
}

static int merge_node(struct merge_ctx *m, struct hamt_node *node,
		      const struct cid *node_cid, unsigned depth,
		      const struct hamt_item *chg, size_t nchg,
		      struct mres *res);

/* Merge the changes for one slot whose current element is `e` (NULL if the
 * slot is empty) of the node `node_cid` into `r`. */
static int merge_slot(struct merge_ctx *m, const struct cid *node_cid,
		      const struct hamt_elem *e, unsigned depth,
		      const struct hamt_item *chg, size_t nchg, struct mres *r)
{
	int rc;
	if (e && !e->is_link) {
		/* a bucket of a broken tree must not be carried into the new
		 * one: the changes share its path, so check it against it */
		uint32_t path[HAMT_MAX_LEVELS];
		for (unsigned d = 0; d <= depth; d++)
			path[d] = (uint32_t)hamt_hash_index(
			    chg[0].hash, m->w.hash_len, d,
			    m->w.params.bit_width);
		rc = hamt_check_bucket(m->h, node_cid, path, depth, e, NULL, 0);
		if (rc)
			return rc;
	}
	if (e && e->is_link) {
		struct hamt_node *child = NULL;
		rc = hamt_node_get(m->h, &e->link, &child);
		if (rc)
			return rc;
		rc = keep_node(m, child);
		if (rc) {
			hamt_node_unref(child);
			return rc;
		}
		if (child->bit_width != m->w.params.bit_width) {
			char txt[CID_MAX_TEXT];
			return err_set(-EIO,
				       "HAMT merge: node %s has bitWidth %u, "
				       "the root %u",
				       cid_format(&e->link, txt),
				       child->bit_width, m->w.params.bit_width);
		}
		return merge_node(m, child, &e->link, depth + 1, chg, nchg, r);
	}
	struct hamt_item *it = NULL;
	size_t n = 0;
	rc = combine_bucket(m, e, chg, nchg, &it, &n);
	if (rc)
		return rc;
	if (n == 0) {
		r->kind = MRES_EMPTY;
	} else if (n <= m->w.params.bucket_size) {
		r->kind = MRES_BUCKET;
		r->kv = malloc(n * sizeof(*r->kv));
		if (!r->kv) {
			rc = err_set(-ENOMEM, "HAMT merge: out of memory");
		} else {
			for (size_t i = 0; i < n; i++)
				r->kv[i] =
				    (struct hamt_kv){it[i].key, it[i].klen,
						     it[i].val, it[i].vlen};
			qsort(r->kv, n, sizeof(*r->kv), kv_cmp);
			r->nkv = n;
		}
	} else {
		r->kind = MRES_LINK;
		rc = hamt_build_node(&m->w, it, n, depth + 1, &r->link);
	}
	free(it);
	return rc;
}

/* --- the root's slots on several threads ---------------------------------
 * Each changed slot of the root is an independent sub-tree: with enough
 * changes, threads merge them in parallel (each with its own writer and
 * kept nodes; the sink is shared under a lock), and the root is then
 * assembled from their results in slot order, as when done in one thread.
 */

#define MERGE_PAR_MIN 256 /* changes below which one thread does it all */
#define MERGE_MAX_THREADS 16

struct slot_job {
	uint32_t slot;
	const struct hamt_elem *e; /* the root's element there, or NULL */
	size_t ci, cend;	   /* its changes */
	struct mres r;
	int rc;
	char msg[512];
};

struct par_ctx {
	struct merge_ctx *m;
	const struct cid *node_cid;
	const struct hamt_item *chg;
	struct slot_job *jobs;
	size_t njobs, next;   /* next: atomic */
	int failed;	      /* atomic: stop taking jobs */
	int keep_failed;      /* under lock: out of memory keeping nodes */
	pthread_mutex_t lock; /* guards the shared sink and the totals */
	struct hamt_sink sink;
};

static int locked_put(void *payload, const struct cid *c, const uint8_t *data,
		      size_t len)
{
	struct par_ctx *p = payload;
	pthread_mutex_lock(&p->lock);
	int rc = p->m->w.sink->put(p->m->w.sink->payload, c, data, len);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static void *par_worker(void *arg)
{
	struct par_ctx *p = arg;
	struct merge_ctx wm = {.h = p->m->h};
	wm.w.params = p->m->w.params;
	wm.w.hash_len = p->m->w.hash_len;
	wm.w.sink = &p->sink;
	for (;;) {
		if (__atomic_load_n(&p->failed, __ATOMIC_RELAXED))
			break;
		size_t j = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (j >= p->njobs)
			break;
		struct slot_job *job = &p->jobs[j];
		job->rc =
		    merge_slot(&wm, p->node_cid, job->e, 0, p->chg + job->ci,
			       job->cend - job->ci, &job->r);
		if (job->rc) {
			snprintf(job->msg, sizeof(job->msg), "%s", err_msg());
			__atomic_store_n(&p->failed, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_lock(&p->lock);
	struct merge_ctx *m = p->m;
	m->w.written += wm.w.written;
	m->w.bytes += wm.w.bytes;
	if (wm.w.max_depth > m->w.max_depth)
		m->w.max_depth = wm.w.max_depth;
	/* the results point into these nodes: hand them to the caller (if
	 * that fails, the merge fails and no result is used) */
	for (size_t i = 0; i < wm.nkeep; i++) {
		if (keep_node(m, wm.keep[i]) != 0) {
			hamt_node_unref(wm.keep[i]);
			p->keep_failed = 1;
		}
	}
	pthread_mutex_unlock(&p->lock);
	free(wm.keep);
	buf_free(&wm.w.block);
	return NULL;
}

static unsigned merge_threads(const struct hamt *h)
{
	unsigned n = h->threads;
	const char *env = getenv("HAMT_MERGE_THREADS");
	if (n == 0 && env && *env)
		n = (unsigned)strtoul(env, NULL, 10);
	if (n == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (unsigned)c : 1;
	}
	return n > MERGE_MAX_THREADS ? MERGE_MAX_THREADS : n;
}

/* Merge every changed slot of the root into jobs[] (in parallel). */
static int par_slots(struct merge_ctx *m, struct hamt_node *node,
		     const struct cid *node_cid, const struct hamt_item *chg,
		     size_t nchg, unsigned nthreads, struct slot_job **out,
		     size_t *njobs)
{
	unsigned bw = node->bit_width;
	size_t n = 0;
	struct slot_job *jobs = calloc(nchg ? nchg : 1, sizeof(*jobs));
	if (!jobs)
		return err_set(-ENOMEM, "HAMT merge: out of memory");
	for (size_t ci = 0; ci < nchg;) {
		long cslot =
		    hamt_hash_index(chg[ci].hash, m->w.hash_len, 0, bw);
		size_t cend = ci + 1;
		while (cend < nchg &&
		       hamt_hash_index(chg[cend].hash, m->w.hash_len, 0, bw) ==
			   cslot)
			cend++;
		long ei = hamt_node_find(node, (uint32_t)cslot);
		struct slot_job *j = &jobs[n++];
		j->slot = (uint32_t)cslot;
		j->e = ei >= 0 ? &node->elems[ei] : NULL;
		j->ci = ci;
		j->cend = cend;
		ci = cend;
	}
	struct par_ctx p = {
	    m, node_cid, chg, jobs, n, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER, {0}};
	p.sink = (struct hamt_sink){locked_put, &p};
	pthread_t t[MERGE_MAX_THREADS];
	unsigned started = 0;
	if (nthreads > n)
		nthreads = (unsigned)n;
	for (unsigned i = 1; i < nthreads; i++)
		if (pthread_create(&t[started], NULL, par_worker, &p) == 0)
			started++;
	par_worker(&p); /* this thread works too */
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&p.lock);
	int rc = 0;
	for (size_t j = 0; j < n && !rc; j++)
		if (jobs[j].rc)
			rc = err_set(jobs[j].rc, "%s", jobs[j].msg);
	if (!rc && p.keep_failed)
		rc = err_set(-ENOMEM, "HAMT merge: out of memory");
	if (rc) {
		for (size_t j = 0; j < n; j++)
			free(jobs[j].r.kv);
		free(jobs);
		return rc;
	}
	*out = jobs;
	*njobs = n;
	return 0;
}

static int merge_node(struct merge_ctx *m, struct hamt_node *node,
		      const struct cid *node_cid, unsigned depth,
		      const struct hamt_item *chg, size_t nchg,
		      struct mres *res)
{
	unsigned bw = node->bit_width;
	size_t bs = m->w.params.bucket_size;
	size_t nlinks = 0;
	struct hamt_kv *small = malloc((bs + 1) * sizeof(*small));
	size_t nsmall = 0; /* entries in buckets, counted up to bs + 1 */
	struct hamt_enc *enc = malloc(sizeof(*enc));
	struct slot_job *pre = NULL; /* the root's changed slots, if done */
	size_t npre = 0, pi = 0;
	int rc = 0;
	if (!small || !enc) {
		free(small);
		free(enc);
		return err_set(-ENOMEM, "HAMT merge: out of memory");
	}
	hamt_enc_init(enc, bw);
	if ((rc = hamt_check_depth(m->h, node_cid, depth)) != 0)
		goto out;
	/* the root with many changes: its slots on several threads first
	 * (merge_threads asks sysconf, a read of /sys: only for the root) */
	unsigned nthreads =
	    depth == 0 && nchg >= MERGE_PAR_MIN ? merge_threads(m->h) : 1;
	if (nthreads > 1 && (rc = par_slots(m, node, node_cid, chg, nchg,
					    nthreads, &pre, &npre)) != 0)
		goto out;
	size_t ei = 0, ci = 0;
	while (!rc && (ei < node->nelem || ci < nchg)) {
		long cslot = -1;
		size_t cend = ci;
		if (ci < nchg) {
			cslot = hamt_hash_index(chg[ci].hash, m->w.hash_len,
						depth, bw);
			if (cslot < 0) {
				rc = err_set(-EINVAL,
					     "HAMT merge: more than %zu keys "
					     "share the whole hash",
					     bs);
				break;
			}
			cend = ci + 1;
			while (cend < nchg &&
			       hamt_hash_index(chg[cend].hash, m->w.hash_len,
					       depth, bw) == cslot)
				cend++;
		}
		const struct hamt_elem *e = NULL;
		if (ei < node->nelem &&
		    (cslot < 0 || node->elems[ei].slot <= (uint32_t)cslot))
			e = &node->elems[ei];
		struct mres r = {0};
		uint32_t slot;
		if (e && (cslot < 0 || e->slot < (uint32_t)cslot)) {
			/* untouched element: copied as it is */
			slot = e->slot;
			ei++;
			if (e->is_link) {
				r.kind = MRES_LINK;
				r.link = e->link;
			} else {
				r.kind = MRES_BUCKET;
				r.nkv = e->nkv;
			}
		} else if (pre) {
			slot = (uint32_t)cslot; /* done already: take it */
			r = pre[pi].r;
			pre[pi++].r.kv = NULL;
			ci = cend;
			if (e)
				ei++;
		} else {
			slot = (uint32_t)cslot;
			rc = merge_slot(m, node_cid, e, depth, chg + ci,
					cend - ci, &r);
			ci = cend;
			if (e)
				ei++;
			if (rc)
				break;
		}
		const struct hamt_kv *kvs = r.kv ? r.kv : (e ? e->kvs : NULL);
		if (r.kind == MRES_LINK) {
			nlinks++;
			rc = hamt_enc_link(enc, slot, &r.link);
		} else if (r.kind == MRES_BUCKET) {
			rc = hamt_enc_bucket(enc, slot, kvs, r.nkv);
			for (size_t i = 0; i < r.nkv && nsmall <= bs; i++)
				small[nsmall++] = kvs[i];
		}
		free(r.kv);
	}
	if (rc)
		goto out;
	if (depth > 0 && nlinks == 0 && nsmall <= bs) {
		/* collapses into a bucket of the parent (or vanishes) */
		if (nsmall == 0) {
			res->kind = MRES_EMPTY;
		} else {
			qsort(small, nsmall, sizeof(*small), kv_cmp);
			res->kind = MRES_BUCKET;
			res->kv = small;
			res->nkv = nsmall;
			small = NULL;
		}
		goto out;
	}
	res->kind = MRES_LINK;
	rc =
	    hamt_enc_finish(enc, depth == 0 ? &m->w.params : NULL, &m->w.block);
	if (rc)
		goto out;
	struct cid now;
	cid_of_block(&now, CODEC_DAG_CBOR, m->w.block.data, m->w.block.len);
	if (cid_equal(&now, node_cid)) {
		res->link = now; /* unchanged: nothing to write */
		goto out;
	}
	rc = hamt_writer_emit(&m->w, enc, depth == 0, depth, &res->link);
out:
	for (size_t j = 0; j < npre; j++)
		free(pre[j].r.kv);
	free(pre);
	free(small);
	hamt_enc_free(enc);
	free(enc);
	return rc;
}

int hamt_merge(struct hamt *h, const struct hamt_change *changes, size_t n,
	       struct hamt_sink *sink, struct cid *new_root, uint64_t *written)
{
	struct merge_ctx m = {.h = h};
	m.w.params = h->params;
	m.w.hash_len = h->hash_len;
	m.w.sink = sink;
	struct hamt_item *items = NULL;
	int rc = 0;
	if (n && !(items = calloc(n, sizeof(*items))))
		return err_set(-ENOMEM,
			       "HAMT merge: out of memory for %zu "
			       "changes",
			       n);
	for (size_t i = 0; i < n; i++) {
		size_t hl;
		items[i].key = changes[i].key;
		items[i].klen = changes[i].klen;
		items[i].val = changes[i].val;
		items[i].vlen = changes[i].vlen;
		items[i].ord = i + 1;
		rc = hash_key(h->params.hash_alg, changes[i].key,
			      changes[i].klen, items[i].hash, &hl);
		if (rc)
			goto out;
	}
	n = hamt_items_sort_dedup(items, n, h->hash_len);
	struct mres res = {0};
	rc = merge_node(&m, h->root_node, &h->root, 0, items, n, &res);
	if (!rc)
		*new_root = res.link;
	free(res.kv);
	if (written)
		*written = m.w.written;
out:
	for (size_t i = 0; i < m.nkeep; i++)
		hamt_node_unref(m.keep[i]);
	free(m.keep);
	buf_free(&m.w.block);
	free(items);
	return rc;
}
