/* sorter.c - partitioned page lists, radix sort, run files, k-way merge.
 *
 * A record in a page is a 4-byte length (host order) and its bytes. Pages
 * are 64 KiB pieces of 64 MiB anonymous mappings (slabs); a record bigger
 * than a quarter page gets an allocation of its own ("big" page).
 *
 * Run file layout: for each partition in order, its records sorted, each
 * as a 4-byte length and the bytes; the partition offsets stay in memory.
 */
#include "tools/sorter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hamt/err.h"

#define PAGE_BYTES ((size_t)64 << 10)
#define SLAB_BYTES ((size_t)64 << 20)
#define RUN_BUF ((size_t)256 << 10)
#define WRITE_BUF ((size_t)1 << 20)

struct page {
	struct page *next;
	uint32_t used;
	uint32_t cap; /* bytes of data[] */
	uint32_t big; /* allocated apart (malloc) */
	uint8_t data[];
};

#define PAGE_DATA (PAGE_BYTES - sizeof(struct page))
#define BIG_LIMIT (PAGE_DATA / 4)

struct sorter_pool {
	pthread_mutex_t lock; /* guards everything but the counters */
	struct page *dirty;   /* freed, still resident */
	size_t ndirty;
	struct page *clean; /* freed and given back to the kernel */
	uint8_t *slab;	    /* unused rest of the newest slab */
	size_t slab_left;
	void **slabs;
	size_t nslabs, slabcap;
	atomic_uint_fast64_t used, peak;
};

struct part {
	struct page *head, *tail;
	uint8_t *wp; /* where the next record goes in `tail` */
	size_t left; /* bytes left there */
	uint64_t n;  /* records in memory */
	uint64_t spilled;
};

struct run {
	int fd;
	uint64_t *off; /* nparts + 1 offsets */
};

struct sorter {
	struct sorter_pool *pool;
	const struct sorter_kind *kind;
	struct part *parts;
	struct run *runs;
	unsigned nruns;
	char *dir;
	uint64_t count;
	/* a spill's sort arrays and write buffer, kept for the next spill
	 * (a sorter with a small budget spills often) */
	struct sorter_scratch spill_sx;
	uint8_t *wb;
};

/* ------------------------------------------------------------------ pool */

int sorter_pool_new(struct sorter_pool **out)
{
	struct sorter_pool *p = calloc(1, sizeof(*p));
	*out = NULL;
	if (!p)
		return err_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	atomic_init(&p->used, 0);
	atomic_init(&p->peak, 0);
	*out = p;
	return 0;
}

void sorter_pool_free(struct sorter_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nslabs; i++)
		munmap(p->slabs[i], SLAB_BYTES);
	free(p->slabs);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

uint64_t sorter_pool_used(const struct sorter_pool *p)
{
	return atomic_load(&((struct sorter_pool *)p)->used);
}

uint64_t sorter_pool_peak(const struct sorter_pool *p)
{
	return atomic_load(&((struct sorter_pool *)p)->peak);
}

static void pool_count(struct sorter_pool *p, uint64_t add)
{
	uint64_t now = atomic_fetch_add(&p->used, add) + add;
	uint64_t peak = atomic_load(&p->peak);
	while (now > peak &&
	       !atomic_compare_exchange_weak(&p->peak, &peak, now))
		;
}

static struct page *page_get(struct sorter_pool *p)
{
	struct page *pg = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->dirty) {
		pg = p->dirty;
		p->dirty = pg->next;
		p->ndirty--;
	} else if (p->clean) {
		pg = p->clean;
		p->clean = pg->next;
	} else {
		if (p->slab_left < PAGE_BYTES) {
			if (p->nslabs == p->slabcap) {
				size_t cap = p->slabcap ? p->slabcap * 2 : 16;
				void **v = realloc(p->slabs, cap * sizeof(*v));
				if (!v)
					goto out;
				p->slabs = v;
				p->slabcap = cap;
			}
			void *m = mmap(
			    NULL, SLAB_BYTES, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (m == MAP_FAILED)
				goto out;
			/* fewer page faults: 2 MiB at a time (a hint) */
			madvise(m, SLAB_BYTES, MADV_HUGEPAGE);
			p->slabs[p->nslabs++] = m;
			p->slab = m;
			p->slab_left = SLAB_BYTES;
		}
		pg = (struct page *)p->slab;
		p->slab += PAGE_BYTES;
		p->slab_left -= PAGE_BYTES;
	}
out:
	pthread_mutex_unlock(&p->lock);
	if (pg) {
		pg->next = NULL;
		pg->used = 0;
		pg->cap = (uint32_t)PAGE_DATA;
		pg->big = 0;
		pool_count(p, PAGE_BYTES);
	}
	return pg;
}

static struct page *page_big(struct sorter_pool *p, size_t need)
{
	struct page *pg = malloc(sizeof(*pg) + need);
	if (!pg)
		return NULL;
	pg->next = NULL;
	pg->used = 0;
	pg->cap = (uint32_t)need;
	pg->big = 1;
	pool_count(p, sizeof(*pg) + need);
	return pg;
}

/* Give a list of pages back. */
static void pages_put(struct sorter_pool *p, struct page *list)
{
	struct page *keep = NULL, *last = NULL;
	size_t n = 0;
	uint64_t bytes = 0;
	while (list) {
		struct page *next = list->next;
		if (list->big) {
			bytes += sizeof(*list) + list->cap;
			free(list);
		} else {
			bytes += PAGE_BYTES;
			list->next = keep;
			if (!keep)
				last = list;
			keep = list;
			n++;
		}
		list = next;
	}
	atomic_fetch_sub(&p->used, bytes);
	if (!keep)
		return;
	pthread_mutex_lock(&p->lock);
	last->next = p->dirty;
	p->dirty = keep;
	p->ndirty += n;
	pthread_mutex_unlock(&p->lock);
}

void sorter_pool_trim(struct sorter_pool *p, uint64_t keep)
{
	for (;;) {
		struct page *batch[256];
		size_t n = 0;
		pthread_mutex_lock(&p->lock);
		while (p->dirty && (uint64_t)p->ndirty * PAGE_BYTES > keep &&
		       n < sizeof(batch) / sizeof(batch[0])) {
			batch[n++] = p->dirty;
			p->dirty = p->dirty->next;
			p->ndirty--;
		}
		pthread_mutex_unlock(&p->lock);
		if (!n)
			return;
		/* zeroes the pages, links included: relink after */
		for (size_t i = 0; i < n; i++)
			madvise(batch[i], PAGE_BYTES, MADV_DONTNEED);
		pthread_mutex_lock(&p->lock);
		for (size_t i = 0; i < n; i++) {
			batch[i]->next = p->clean;
			p->clean = batch[i];
		}
		pthread_mutex_unlock(&p->lock);
	}
}

/* --------------------------------------------------------------- sorting */

static int ref_cmp(const struct sorter_ref *a, const struct sorter_ref *b,
		   const struct sorter_kind *k)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	uint32_t al, bl;
	memcpy(&al, a->rec, 4);
	memcpy(&bl, b->rec, 4);
	return k->cmp(a->rec + 4, al, b->rec + 4, bl);
}

static void insertion_fix(struct sorter_ref *v, size_t n,
			  const struct sorter_kind *k)
{
	for (size_t i = 1; i < n; i++) {
		if (ref_cmp(&v[i - 1], &v[i], k) <= 0)
			continue;
		struct sorter_ref x = v[i];
		size_t j = i;
		while (j > 0 && ref_cmp(&v[j - 1], &x, k) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

void sorter_sort_with(struct sorter_ref *idx, struct sorter_ref *tmp, size_t n,
		      const struct sorter_kind *k)
{
	if (n < 2)
		return;
	if (n <= 32) {
		insertion_fix(idx, n, k);
		return;
	}
	/* LSD radix on the top bits: enough that equal top bits are rare,
	 * then an insertion pass puts the few ties in order */
	unsigned bits =
	    (unsigned)(64 - __builtin_clzll((unsigned long long)n)) + 8;
	unsigned passes = bits >= 64 ? 8 : (bits + 7) / 8;
	struct sorter_ref *a = idx, *b = tmp;
	for (unsigned pass = 0; pass < passes; pass++) {
		unsigned shift = 64 - 8 * (passes - pass);
		size_t count[256] = {0};
		for (size_t i = 0; i < n; i++)
			count[(a[i].key >> shift) & 255]++;
		if (count[(a[0].key >> shift) & 255] == n)
			continue; /* one digit value: nothing to move */
		size_t sum = 0;
		for (unsigned d = 0; d < 256; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[count[(a[i].key >> shift) & 255]++] = a[i];
		struct sorter_ref *t = a;
		a = b;
		b = t;
	}
	if (a != idx)
		memcpy(idx, a, n * sizeof(*idx));
	insertion_fix(idx, n, k);
}

int sorter_sort(struct sorter_ref *idx, size_t n, const struct sorter_kind *k)
{
	if (n < 2)
		return 0;
	struct sorter_ref *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return err_set(-ENOMEM, "sort: out of memory for %zu records",
			       n);
	sorter_sort_with(idx, tmp, n, k);
	free(tmp);
	return 0;
}

static int scratch_need(struct sorter_scratch *x, size_t n)
{
	if (n <= x->cap)
		return 0;
	size_t cap = x->cap ? x->cap : 1024;
	while (cap < n)
		cap *= 2;
	struct sorter_ref *a = malloc(cap * sizeof(*a));
	struct sorter_ref *b = malloc(cap * sizeof(*b));
	if (!a || !b) {
		free(a);
		free(b);
		return err_set(-ENOMEM, "sort: out of memory for %zu records",
			       n);
	}
	free(x->idx);
	free(x->tmp);
	x->idx = a;
	x->tmp = b;
	x->cap = cap;
	return 0;
}

void sorter_scratch_free(struct sorter_scratch *x)
{
	free(x->idx);
	free(x->tmp);
	memset(x, 0, sizeof(*x));
}

/* ---------------------------------------------------------------- sorter */

int sorter_new(struct sorter **out, struct sorter_pool *pool,
	       const struct sorter_kind *kind, const char *spill_dir)
{
	*out = NULL;
	struct sorter *s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, "out of memory");
	s->pool = pool;
	s->kind = kind;
	s->parts = calloc(kind->nparts, sizeof(*s->parts));
	s->dir = strdup(spill_dir ? spill_dir : ".");
	if (!s->parts || !s->dir) {
		sorter_free(s);
		return err_set(-ENOMEM, "out of memory");
	}
	*out = s;
	return 0;
}

void sorter_free(struct sorter *s)
{
	if (!s)
		return;
	if (s->parts)
		for (unsigned p = 0; p < s->kind->nparts; p++)
			pages_put(s->pool, s->parts[p].head);
	for (unsigned r = 0; r < s->nruns; r++) {
		close(s->runs[r].fd);
		free(s->runs[r].off);
	}
	free(s->runs);
	free(s->parts);
	free(s->dir);
	sorter_scratch_free(&s->spill_sx);
	free(s->wb);
	free(s);
}

int sorter_add(struct sorter *s, unsigned part, size_t len, uint8_t **dst)
{
	struct part *p = &s->parts[part];
	size_t need = 4 + len;
	uint32_t l32 = (uint32_t)len;
	if (need <= p->left) {
		memcpy(p->wp, &l32, 4);
		*dst = p->wp + 4;
		p->wp += need;
		p->left -= need;
		p->n++;
		s->count++;
		return 0;
	}
	if (len > UINT32_MAX - 4)
		return err_set(-EFBIG, "record of %zu bytes is too large", len);
	struct page *pg;
	if (need > BIG_LIMIT) {
		pg = page_big(s->pool, need);
		if (!pg)
			return err_set(-ENOMEM,
				       "out of memory for a "
				       "%zu-byte record",
				       len);
		/* at the head: the tail stays the page being filled */
		pg->used = (uint32_t)need;
		pg->next = p->head;
		p->head = pg;
		if (!p->tail)
			p->tail = pg;
		memcpy(pg->data, &l32, 4);
		*dst = pg->data + 4;
	} else {
		pg = page_get(s->pool);
		if (!pg)
			return err_set(-ENOMEM, "out of memory (sort pages)");
		if (p->tail && !p->tail->big)
			p->tail->used = (uint32_t)(p->wp - p->tail->data);
		if (p->tail)
			p->tail->next = pg;
		else
			p->head = pg;
		p->tail = pg;
		memcpy(pg->data, &l32, 4);
		*dst = pg->data + 4;
		p->wp = pg->data + need;
		p->left = pg->cap - need;
	}
	p->n++;
	s->count++;
	return 0;
}

uint64_t sorter_count(const struct sorter *s)
{
	return s->count;
}

unsigned sorter_runs(const struct sorter *s)
{
	return s->nruns;
}

uint64_t sorter_part_count(const struct sorter *s, unsigned part)
{
	return s->parts[part].n + s->parts[part].spilled;
}

/* Append refs to the in-memory records of one partition. */
static void gather(const struct sorter *s, unsigned part,
		   struct sorter_ref *idx, size_t *n)
{
	const struct sorter_kind *k = s->kind;
	const struct part *pt = &s->parts[part];
	for (const struct page *pg = pt->head; pg; pg = pg->next) {
		uint32_t off = 0, used = pg->used;
		if (pg == pt->tail && !pg->big)
			used = (uint32_t)(pt->wp - pg->data);
		while (off < used) {
			uint32_t len;
			memcpy(&len, pg->data + off, 4);
			const uint8_t *rec = pg->data + off;
			idx[(*n)++] =
			    (struct sorter_ref){k->prefix(rec + 4, len), rec};
			off += 4 + len;
		}
	}
}

void sorter_release(struct sorter *s, unsigned part)
{
	struct part *p = &s->parts[part];
	pages_put(s->pool, p->head);
	p->head = p->tail = NULL;
	p->wp = NULL;
	p->left = 0;
	p->n = 0;
}

static int open_spill(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* a file system without O_TMPFILE: a named file, unlinked at once */
	size_t n = strlen(dir);
	char *path = malloc(n + sizeof("/hamt-spill.XXXXXX"));
	if (!path)
		return err_set(-ENOMEM, "out of memory");
	memcpy(path, dir, n);
	memcpy(path + n, "/hamt-spill.XXXXXX", sizeof("/hamt-spill.XXXXXX"));
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		fd = err_set(-errno, "spill file in %s: %s", dir,
			     strerror(errno));
	else
		unlink(path);
	free(path);
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n, const char *dir)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_set(w < 0 ? -errno : -EIO,
				       "spill file in %s: write: %s", dir,
				       strerror(w < 0 ? errno : EIO));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int sorter_spill(struct sorter *s)
{
	const struct sorter_kind *k = s->kind;
	uint64_t inmem = 0, most = 0;
	for (unsigned p = 0; p < k->nparts; p++) {
		inmem += s->parts[p].n;
		if (s->parts[p].n > most)
			most = s->parts[p].n;
	}
	if (inmem == 0)
		return 0;
	struct run r = {-1, NULL};
	struct sorter_ref *idx, *tmp;
	uint8_t *wb;
	size_t wn = 0;
	uint64_t pos = 0;
	int rc = 0;
	struct run *runs = realloc(s->runs, (s->nruns + 1) * sizeof(*runs));
	if (!runs)
		return err_set(-ENOMEM, "out of memory");
	s->runs = runs;
	/* every entry is set below */
	r.off = malloc((k->nparts + 1) * sizeof(*r.off));
	if (!s->wb)
		s->wb = malloc(WRITE_BUF);
	if (!r.off || !s->wb) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = scratch_need(&s->spill_sx, (size_t)most)) != 0)
		goto out;
	idx = s->spill_sx.idx;
	tmp = s->spill_sx.tmp;
	wb = s->wb;
	if ((r.fd = open_spill(s->dir)) < 0) {
		rc = r.fd;
		goto out;
	}
	for (unsigned p = 0; p < k->nparts; p++) {
		size_t n = 0;
		r.off[p] = pos;
		gather(s, p, idx, &n);
		sorter_sort_with(idx, tmp, n, k);
		for (size_t i = 0; i < n; i++) {
			uint32_t len;
			memcpy(&len, idx[i].rec, 4);
			size_t need = 4 + (size_t)len;
			if (wn + need > WRITE_BUF) {
				if ((rc = write_all(r.fd, wb, wn, s->dir)))
					goto out;
				wn = 0;
			}
			if (need > WRITE_BUF) {
				rc = write_all(r.fd, idx[i].rec, need, s->dir);
				if (rc)
					goto out;
			} else {
				memcpy(wb + wn, idx[i].rec, need);
				wn += need;
			}
			pos += need;
		}
	}
	r.off[k->nparts] = pos;
	if (wn && (rc = write_all(r.fd, wb, wn, s->dir)))
		goto out;
	for (unsigned p = 0; p < k->nparts; p++) {
		s->parts[p].spilled += s->parts[p].n;
		sorter_release(s, p);
	}
	s->runs[s->nruns++] = r;
	r.fd = -1;
	r.off = NULL;
out:
	if (r.fd >= 0)
		close(r.fd);
	free(r.off);
	return rc;
}

/* ----------------------------------------------------------------- merge */

struct src {
	int mem;
	/* mem: position in the merge's sorted refs */
	size_t i;
	/* run: a window of the file */
	int fd;
	uint64_t pos, end;
	uint8_t *buf;
	size_t cap, have, at;
	/* current record */
	const uint8_t *rec;
	size_t len;
	uint64_t key;
};

struct sorter_merge {
	const struct sorter_kind *kind;
	struct sorter_ref *idx;
	size_t nidx;
	struct sorter_scratch own; /* when the caller lent none */
	struct src *src;
	size_t nsrc;
	size_t *heap;
	size_t nheap;
	long last; /* source to advance before the next record, or -1 */
	uint64_t total;
};

/* Load the next record of a run source: 1, 0 at its end, <0 error. */
static int run_next(struct src *s)
{
	for (;;) {
		size_t avail = s->have - s->at;
		if (avail >= 4) {
			uint32_t len;
			memcpy(&len, s->buf + s->at, 4);
			if (avail >= 4 + (size_t)len) {
				s->rec = s->buf + s->at + 4;
				s->len = len;
				s->at += 4 + (size_t)len;
				return 1;
			}
			if (4 + (size_t)len > s->cap) {
				size_t cap = 4 + (size_t)len;
				uint8_t *b = malloc(cap);
				if (!b)
					return err_set(-ENOMEM,
						       "out of memory");
				memcpy(b, s->buf + s->at, avail);
				free(s->buf);
				s->buf = b;
				s->cap = cap;
				s->have = avail;
				s->at = 0;
			}
		}
		if (s->pos >= s->end) {
			if (avail)
				return err_set(-EIO, "spill file: truncated "
						     "record");
			return 0;
		}
		memmove(s->buf, s->buf + s->at, avail);
		s->have = avail;
		s->at = 0;
		size_t want = s->cap - s->have;
		if (want > s->end - s->pos)
			want = (size_t)(s->end - s->pos);
		ssize_t got =
		    pread(s->fd, s->buf + s->have, want, (off_t)s->pos);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return err_set(got < 0 ? -errno : -EIO,
				       "spill file: read: %s",
				       strerror(got < 0 ? errno : EIO));
		s->have += (size_t)got;
		s->pos += (uint64_t)got;
	}
}

/* Move a source to its next record: 1, 0 when exhausted, <0 error. */
static int src_next(struct sorter_merge *m, struct src *s)
{
	if (s->mem) {
		if (s->i >= m->nidx)
			return 0;
		const uint8_t *r = m->idx[s->i].rec;
		uint32_t len;
		memcpy(&len, r, 4);
		s->rec = r + 4;
		s->len = len;
		s->key = m->idx[s->i].key;
		s->i++;
		if (s->i + 8 < m->nidx)
			__builtin_prefetch(m->idx[s->i + 8].rec);
		return 1;
	}
	int rc = run_next(s);
	if (rc == 1)
		s->key = m->kind->prefix(s->rec, s->len);
	return rc;
}

static int src_less(const struct sorter_merge *m, size_t a, size_t b)
{
	const struct src *x = &m->src[a], *y = &m->src[b];
	if (x->key != y->key)
		return x->key < y->key;
	int c = m->kind->cmp(x->rec, x->len, y->rec, y->len);
	return c < 0 || (c == 0 && a < b);
}

static void sift_down(struct sorter_merge *m, size_t i)
{
	size_t n = m->nheap;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < n && src_less(m, m->heap[l], m->heap[best]))
			best = l;
		if (r < n && src_less(m, m->heap[r], m->heap[best]))
			best = r;
		if (best == i)
			return;
		size_t t = m->heap[i];
		m->heap[i] = m->heap[best];
		m->heap[best] = t;
		i = best;
	}
}

int sorter_merge_open(struct sorter_merge **out, struct sorter *const *s,
		      size_t n, unsigned part, struct sorter_scratch *x)
{
	struct sorter_merge *m = calloc(1, sizeof(*m));
	size_t inmem = 0, nruns = 0;
	int rc = 0;
	*out = NULL;
	if (!m)
		return err_set(-ENOMEM, "out of memory");
	m->last = -1;
	m->kind = n ? s[0]->kind : NULL;
	if (!x)
		x = &m->own;
	for (size_t i = 0; i < n; i++) {
		inmem += s[i]->parts[part].n;
		nruns += s[i]->nruns;
		m->total += s[i]->parts[part].n + s[i]->parts[part].spilled;
	}
	m->src = calloc(nruns + 1, sizeof(*m->src));
	m->heap = calloc(nruns + 1, sizeof(*m->heap));
	if (!m->src || !m->heap) {
		rc = err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = scratch_need(x, inmem)) != 0)
		goto fail;
	m->idx = x->idx;
	for (size_t i = 0; i < n; i++)
		gather(s[i], part, m->idx, &m->nidx);
	sorter_sort_with(m->idx, x->tmp, m->nidx, m->kind);
	if (m->nidx)
		m->src[m->nsrc++] = (struct src){.mem = 1, .fd = -1};
	for (size_t i = 0; i < n; i++) {
		for (unsigned r = 0; r < s[i]->nruns; r++) {
			const struct run *run = &s[i]->runs[r];
			if (run->off[part] == run->off[part + 1])
				continue;
			struct src *x = &m->src[m->nsrc++];
			x->fd = run->fd;
			x->pos = run->off[part];
			x->end = run->off[part + 1];
			/* the segment holds whole records: a buffer of
			 * its size holds any of them */
			x->cap = x->end - x->pos < RUN_BUF
				     ? (size_t)(x->end - x->pos)
				     : RUN_BUF;
			if (!(x->buf = malloc(x->cap))) {
				rc = err_set(-ENOMEM, "out of memory");
				goto fail;
			}
		}
	}
	for (size_t i = 0; i < m->nsrc; i++) {
		rc = src_next(m, &m->src[i]);
		if (rc < 0)
			goto fail;
		if (rc == 1)
			m->heap[m->nheap++] = i;
	}
	rc = 0;
	for (size_t i = m->nheap; i-- > 0;)
		sift_down(m, i);
	*out = m;
	return 0;
fail:
	sorter_merge_close(m);
	return rc;
}

int sorter_merge_next(struct sorter_merge *m, const uint8_t **rec, size_t *len,
		      int *stable)
{
	if (m->last >= 0) {
		int rc = src_next(m, &m->src[m->last]);
		if (rc < 0)
			return rc;
		if (rc == 0)
			m->heap[0] = m->heap[--m->nheap];
		if (m->nheap)
			sift_down(m, 0);
		m->last = -1;
	}
	if (!m->nheap)
		return 0;
	size_t top = m->heap[0];
	struct src *x = &m->src[top];
	*rec = x->rec;
	*len = x->len;
	if (stable)
		*stable = x->mem;
	m->last = (long)top;
	return 1;
}

uint64_t sorter_merge_total(const struct sorter_merge *m)
{
	return m->total;
}

void sorter_merge_close(struct sorter_merge *m)
{
	if (!m)
		return;
	if (m->src)
		for (size_t i = 0; i < m->nsrc; i++)
			free(m->src[i].buf);
	free(m->src);
	free(m->heap);
	sorter_scratch_free(&m->own);
	free(m);
}
