/* stagebuf.c - a write-behind buffer over one staging area (stagebuf.h).
 *
 * State: `pending`, the table of changes not yet in LMDB, and `flushing`,
 * the table a flush is writing to LMDB right now (empty otherwise). A read
 * looks at pending, then flushing, then LMDB. A flush moves pending to
 * flushing and starts a new journal (under the write lock), writes flushing
 * to LMDB in one synced transaction (no lock held), then drops flushing
 * (under the write lock) and deletes the older journals. Readers hold the
 * read lock across their LMDB read, so they never miss a change between
 * flushing being dropped and LMDB showing it.
 *
 * Journal record (little-endian):
 *   0  u32 CRC-32 (zlib) of bytes 4..len
 *   4  u32 len, the whole record
 *   8  u8  type: 1 header, 2 change
 *   9  u8  flags: 1 = another record of the same change follows
 *   10 u8  record op (enum staging_op, or J_DELTA)
 *   11 u8  attrs op (enum staging_op)
 *   12 u32 key length
 *   16 i64 mtime seconds, u32 nanoseconds, u32 mode (for attrs SET)
 *   32 key, then: PUT: the data; DELTA: u32 new length, u32 offset, bytes
 *      to write there (after resizing, zero-filled); header: "HAMTFSJ1"
 *      and the area name.
 * A change of two keys (rename) is two records, the first flagged; replay
 * applies a change only when all its records are whole.
 *
 * Lock order: flush_lock before lock; tlock is a leaf.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "hamt/err.h"
#include "hamt/hash.h"
#include "store/stagebuf.h"

#define J_HEADER 1
#define J_CHANGE 2
#define J_MORE 1
#define J_DELTA 6 /* record op: a delta against the previous put */
#define J_FIXED 32
#define J_MAGIC "HAMTFSJ1"
#define J_MAX (J_FIXED + 4096 + STAGING_MAX_RECORD + 8)

/* ------------------------------------------------------------- the table */

struct sb_entry {
	struct sb_entry *next; /* hash chain */
	uint64_t h;
	uint8_t rec; /* enum staging_op: NONE, PUT, TOMBSTONE, UNSTAGE */
	uint8_t aop; /* enum staging_op: NONE, SET, DROP */
	struct staging_attrs attrs;
	uint8_t *data; /* PUT: len bytes (cap allocated) */
	size_t len, cap;
	size_t klen;
	uint8_t key[];
};

struct sb_table {
	struct sb_entry **slots;
	size_t nslots, n;
	size_t bytes; /* keys + data held */
};

static uint64_t key_hash(const uint8_t *k, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static void table_free(struct sb_table *t)
{
	for (size_t i = 0; i < t->nslots; i++) {
		struct sb_entry *e = t->slots[i], *nx;
		for (; e; e = nx) {
			nx = e->next;
			free(e->data);
			free(e);
		}
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static struct sb_entry *table_find(const struct sb_table *t, const uint8_t *k,
				   size_t n)
{
	if (!t->n)
		return NULL;
	uint64_t h = key_hash(k, n);
	for (struct sb_entry *e = t->slots[h & (t->nslots - 1)]; e; e = e->next)
		if (e->h == h && e->klen == n && !memcmp(e->key, k, n))
			return e;
	return NULL;
}

static int table_grow(struct sb_table *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 64;
	struct sb_entry **s = calloc(ns, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, "staging buffer: out of memory");
	for (size_t i = 0; i < t->nslots; i++) {
		struct sb_entry *e = t->slots[i], *nx;
		for (; e; e = nx) {
			nx = e->next;
			e->next = s[e->h & (ns - 1)];
			s[e->h & (ns - 1)] = e;
		}
	}
	free(t->slots);
	t->slots = s;
	t->nslots = ns;
	return 0;
}

static int table_add(struct sb_table *t, const uint8_t *k, size_t n,
		     struct sb_entry **out)
{
	struct sb_entry *e = table_find(t, k, n);
	if (e) {
		*out = e;
		return 0;
	}
	if (t->n >= t->nslots) {
		int rc = table_grow(t);
		if (rc)
			return rc;
	}
	e = calloc(1, sizeof(*e) + n);
	if (!e)
		return err_set(-ENOMEM, "staging buffer: out of memory");
	e->h = key_hash(k, n);
	e->klen = n;
	if (n)
		memcpy(e->key, k, n);
	e->next = t->slots[e->h & (t->nslots - 1)];
	t->slots[e->h & (t->nslots - 1)] = e;
	t->n++;
	t->bytes += sizeof(*e) + n;
	*out = e;
	return 0;
}

/* Set e's data to p[0..n) (p may alias nothing in e). */
static int entry_set_data(struct sb_table *t, struct sb_entry *e,
			  const uint8_t *p, size_t n)
{
	if (n > e->cap || e->cap > 2 * n + 4096) {
		size_t cap = n ? n : 1;
		uint8_t *d = malloc(cap);
		if (!d)
			return err_set(-ENOMEM,
				       "staging buffer: out of memory");
		t->bytes = t->bytes - e->cap + cap;
		free(e->data);
		e->data = d;
		e->cap = cap;
	}
	if (n)
		memcpy(e->data, p, n);
	e->len = n;
	return 0;
}

static void entry_drop_data(struct sb_table *t, struct sb_entry *e)
{
	t->bytes -= e->cap;
	free(e->data);
	e->data = NULL;
	e->len = e->cap = 0;
}

/* Resize e's put to `newlen` (zero-filled) and write p[0..n) at `off`. */
static int entry_delta(struct sb_table *t, struct sb_entry *e, size_t newlen,
		       size_t off, const uint8_t *p, size_t n)
{
	if (e->rec != STAGING_OP_PUT || off > newlen || n > newlen - off)
		return err_set(-EIO, "staging journal: delta without a base");
	if (newlen > e->cap) {
		size_t cap = e->cap * 2 > newlen ? e->cap * 2 : newlen;
		if (cap > STAGING_MAX_RECORD)
			cap = newlen;
		uint8_t *d = realloc(e->data, cap);
		if (!d)
			return err_set(-ENOMEM,
				       "staging buffer: out of memory");
		t->bytes = t->bytes - e->cap + cap;
		e->data = d;
		e->cap = cap;
	}
	if (newlen > e->len)
		memset(e->data + e->len, 0, newlen - e->len);
	e->len = newlen;
	if (n)
		memcpy(e->data + off, p, n);
	return 0;
}

/* ----------------------------------------------------------- the buffer */

struct stagebuf {
	struct store *store;
	char area[STAGING_AREA_MAX + 1];
	unsigned flags;
	char hexname[17]; /* 16 hex digits of SHA-256(area) */
	char *jdir;	  /* DIR/journal */
	int lock_fd;

	pthread_rwlock_t lock; /* guards pending, flushing, count, journal */
	struct sb_table pending, flushing;
	uint64_t count;	    /* written under lock; read atomically */
	int jfd;	    /* current journal, -1 if none */
	uint64_t jseq;	    /* its sequence number */
	off_t jsize;	    /* its length */
	uint64_t first_seq; /* oldest journal not yet in LMDB */
	struct buf rec;	    /* scratch for one journal record */

	pthread_mutex_t flush_lock; /* one flush at a time */

	pthread_mutex_t tlock; /* guards stop, kick; with tcond */
	pthread_cond_t tcond;
	int stop, kick;
	pthread_t thread;
	int has_thread;
	int last_rc; /* outcome of the last background flush (atomic) */

	uint64_t rec_records, rec_dropped;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ------------------------------------------------------- journal records */

/* One change of one key, as the journal and the table know it. */
struct sb_change {
	const uint8_t *key;
	size_t klen;
	uint8_t rec; /* NONE, PUT, TOMBSTONE, UNSTAGE or J_DELTA */
	const uint8_t *data;
	size_t len;	    /* PUT: data length; DELTA: bytes at off */
	size_t newlen, off; /* DELTA */
	uint8_t aop;	    /* NONE, SET, DROP */
	struct staging_attrs attrs;
};

static int rec_append(struct buf *out, uint8_t type, uint8_t flags,
		      const struct sb_change *c, const uint8_t *extra,
		      size_t elen)
{
	size_t start = out->len;
	size_t payload = c->rec == STAGING_OP_PUT ? c->len
			 : c->rec == J_DELTA	  ? 8 + c->len
						  : 0;
	size_t total = J_FIXED + c->klen + payload + elen;
	int rc = buf_reserve(out, total);
	if (rc)
		return rc;
	uint8_t *p = out->data + start;
	memset(p, 0, J_FIXED);
	put32(p + 4, (uint32_t)total);
	p[8] = type;
	p[9] = flags;
	p[10] = c->rec;
	p[11] = c->aop;
	put32(p + 12, (uint32_t)c->klen);
	put64(p + 16, (uint64_t)c->attrs.mtime_sec);
	put32(p + 24, c->attrs.mtime_nsec);
	put32(p + 28, c->attrs.mode);
	uint8_t *q = p + J_FIXED;
	if (c->klen)
		memcpy(q, c->key, c->klen);
	q += c->klen;
	if (c->rec == STAGING_OP_PUT && c->len) {
		memcpy(q, c->data, c->len);
		q += c->len;
	} else if (c->rec == J_DELTA) {
		put32(q, (uint32_t)c->newlen);
		put32(q + 4, (uint32_t)c->off);
		if (c->len)
			memcpy(q + 8, c->data, c->len);
		q += 8 + c->len;
	}
	if (elen)
		memcpy(q, extra, elen);
	put32(p, (uint32_t)crc32(0L, p + 4, (uInt)(total - 4)));
	out->len = start + total;
	return 0;
}

/* Parse the record at p[0..avail): 0 with c, type, flags and used set, or 1
 * if it is torn or corrupt. Header records give the area in c->data. */
static int rec_parse(const uint8_t *p, size_t avail, uint8_t *type,
		     uint8_t *flags, struct sb_change *c, size_t *used)
{
	if (avail < J_FIXED)
		return 1;
	size_t total = get32(p + 4);
	if (total < J_FIXED || total > avail || total > J_MAX)
		return 1;
	if (get32(p) != (uint32_t)crc32(0L, p + 4, (uInt)(total - 4)))
		return 1;
	memset(c, 0, sizeof(*c));
	*type = p[8];
	*flags = p[9];
	c->rec = p[10];
	c->aop = p[11];
	c->klen = get32(p + 12);
	c->attrs.mtime_sec = (int64_t)get64(p + 16);
	c->attrs.mtime_nsec = get32(p + 24);
	c->attrs.mode = get32(p + 28);
	if (c->klen > total - J_FIXED)
		return 1;
	c->key = p + J_FIXED;
	const uint8_t *q = c->key + c->klen;
	size_t rest = total - J_FIXED - c->klen;
	if (*type == J_HEADER) {
		c->data = q;
		c->len = rest;
	} else if (*type != J_CHANGE) {
		return 1;
	} else if (c->rec == STAGING_OP_PUT) {
		c->data = q;
		c->len = rest;
	} else if (c->rec == J_DELTA) {
		if (rest < 8)
			return 1;
		c->newlen = get32(q);
		c->off = get32(q + 4);
		c->data = q + 8;
		c->len = rest - 8;
	} else if (rest != 0 || c->rec > STAGING_OP_UNSTAGE) {
		return 1;
	}
	if (c->aop != STAGING_OP_NONE && c->aop != STAGING_OP_SET &&
	    c->aop != STAGING_OP_DROP)
		return 1;
	*used = total;
	return 0;
}

/* Apply one change to a table. */
static int table_apply(struct sb_table *t, const struct sb_change *c)
{
	struct sb_entry *e;
	int rc = table_add(t, c->key, c->klen, &e);
	if (rc)
		return rc;
	switch (c->rec) {
	case STAGING_OP_PUT:
		rc = entry_set_data(t, e, c->data, c->len);
		if (!rc)
			e->rec = STAGING_OP_PUT;
		break;
	case J_DELTA:
		rc = entry_delta(t, e, c->newlen, c->off, c->data, c->len);
		break;
	case STAGING_OP_TOMBSTONE:
	case STAGING_OP_UNSTAGE:
		entry_drop_data(t, e);
		e->rec = c->rec;
		break;
	default:
		break;
	}
	if (!rc && c->aop != STAGING_OP_NONE) {
		e->aop = c->aop;
		e->attrs = c->aop == STAGING_OP_SET ? c->attrs
						    : (struct staging_attrs){0};
	}
	return rc;
}

/* ------------------------------------------------------------ journals */

static int journal_path(const struct stagebuf *b, uint64_t seq, char *out,
			size_t n)
{
	int w = snprintf(out, n, "%s/%s.%llu", b->jdir, b->hexname,
			 (unsigned long long)seq);
	return w > 0 && (size_t)w < n
		   ? 0
		   : err_set(-ENAMETOOLONG, "staging journal: path too long");
}

/* Write the whole of p[0..n) at the end of the journal, or nothing. */
static int journal_write(struct stagebuf *b, const uint8_t *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(b->jfd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : ENOSPC;
			if (ftruncate(b->jfd, b->jsize) != 0) {
				/* cannot take the half record back: a replay
				 * drops it as a torn tail */
			}
			return err_set(-e, "staging journal %s/%s.%llu: %s",
				       b->jdir, b->hexname,
				       (unsigned long long)b->jseq,
				       strerror(e));
		}
		done += (size_t)w;
	}
	b->jsize += (off_t)n;
	return 0;
}

/* Start journal number `seq` (its header record). */
static int journal_start(struct stagebuf *b, uint64_t seq, int *fd)
{
	char path[PATH_MAX];
	int rc = journal_path(b, seq, path, sizeof(path));
	if (rc)
		return rc;
	int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
		     0644);
	if (f < 0)
		return err_set(-errno, "staging journal %s: %s", path,
			       strerror(errno));
	uint8_t extra[8 + STAGING_AREA_MAX];
	size_t alen = strlen(b->area);
	memcpy(extra, J_MAGIC, 8);
	memcpy(extra + 8, b->area, alen);
	struct sb_change c = {0};
	struct buf r = {0};
	rc = rec_append(&r, J_HEADER, 0, &c, extra, 8 + alen);
	ssize_t w = rc ? -1 : write(f, r.data, r.len);
	if (!rc && (w < 0 || (size_t)w != r.len))
		rc = err_set(w < 0 ? -errno : -ENOSPC, "staging journal %s: %s",
			     path, w < 0 ? strerror(errno) : "disk full");
	if (rc) {
		close(f);
		unlink(path);
	} else {
		*fd = f;
		b->jsize = (off_t)r.len;
	}
	buf_free(&r);
	return rc;
}

static void journals_remove(struct stagebuf *b, uint64_t from, uint64_t to)
{
	char path[PATH_MAX];
	for (uint64_t s = from; s < to; s++)
		if (!journal_path(b, s, path, sizeof(path)))
			unlink(path);
}

/* ------------------------------------------------------------ LMDB side */

/* The change list of a table, sorted by key, pointing into the table. */
static int key_cmp(const void *pa, const void *pb)
{
	const struct staging_change *a = pa, *b = pb;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = n ? memcmp(a->key, b->key, n) : 0;
	if (c)
		return c;
	return a->klen < b->klen ? -1 : a->klen > b->klen;
}

static int table_changes(const struct sb_table *t, struct staging_change **out)
{
	struct staging_change *v = calloc(t->n ? t->n : 1, sizeof(*v));
	if (!v)
		return err_set(-ENOMEM, "staging buffer: out of memory");
	size_t k = 0;
	for (size_t i = 0; i < t->nslots; i++)
		for (struct sb_entry *e = t->slots[i]; e; e = e->next)
			v[k++] = (struct staging_change){
			    e->key,  e->klen, (enum staging_op)e->rec,
			    e->data, e->len,  (enum staging_op)e->aop,
			    e->attrs};
	qsort(v, k, sizeof(*v), key_cmp);
	*out = v;
	return 0;
}

static int table_to_lmdb(struct stagebuf *b, const struct sb_table *t)
{
	struct staging_change *v = NULL;
	int rc = table_changes(t, &v);
	if (!rc)
		rc = staging_apply(b->store, b->area, v, t->n);
	free(v);
	return rc;
}

/* ----------------------------------------------------------------- reads */

/* The record state of `key` over every layer: PUT (data appended to `data`
 * if not NULL), TOMBSTONE, or UNSTAGE for "nothing staged". Read lock
 * held. */
static int layered_record(struct stagebuf *b, const uint8_t *key, size_t klen,
			  struct buf *data, uint8_t *state)
{
	const struct sb_table *layers[2] = {&b->pending, &b->flushing};
	for (int i = 0; i < 2; i++) {
		struct sb_entry *e = table_find(layers[i], key, klen);
		if (e && e->rec != STAGING_OP_NONE) {
			*state = e->rec;
			if (e->rec == STAGING_OP_PUT && data)
				return buf_append(data, e->data, e->len);
			return 0;
		}
	}
	enum staging_kind kind;
	int rc = staging_get(b->store, b->area, key, klen, &kind, data);
	if (rc == -ENOENT) {
		*state = STAGING_OP_UNSTAGE;
		return 0;
	}
	if (rc == 0)
		*state =
		    kind == STAGING_PUT ? STAGING_OP_PUT : STAGING_OP_TOMBSTONE;
	return rc;
}

static int is_staged(uint8_t state)
{
	return state == STAGING_OP_PUT || state == STAGING_OP_TOMBSTONE;
}

int stagebuf_get(struct stagebuf *b, const uint8_t *key, size_t klen,
		 enum staging_kind *kind, struct buf *data)
{
	uint8_t st;
	pthread_rwlock_rdlock(&b->lock);
	int rc = layered_record(b, key, klen, data, &st);
	pthread_rwlock_unlock(&b->lock);
	if (rc)
		return rc;
	if (!is_staged(st))
		return -ENOENT;
	*kind = st == STAGING_OP_PUT ? STAGING_PUT : STAGING_TOMBSTONE;
	return 0;
}

static int layered_attrs(struct stagebuf *b, const uint8_t *key, size_t klen,
			 struct staging_attrs *a)
{
	const struct sb_table *layers[2] = {&b->pending, &b->flushing};
	for (int i = 0; i < 2; i++) {
		struct sb_entry *e = table_find(layers[i], key, klen);
		if (e && e->aop != STAGING_OP_NONE) {
			if (e->aop == STAGING_OP_DROP)
				return -ENOENT;
			*a = e->attrs;
			return 0;
		}
	}
	return staging_get_attrs(b->store, b->area, key, klen, a);
}

int stagebuf_get_attrs(struct stagebuf *b, const uint8_t *key, size_t klen,
		       struct staging_attrs *attrs)
{
	pthread_rwlock_rdlock(&b->lock);
	int rc = layered_attrs(b, key, klen, attrs);
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

uint64_t stagebuf_count(struct stagebuf *b)
{
	return __atomic_load_n(&b->count, __ATOMIC_ACQUIRE);
}

/* --- iterate: the table's entries merged into the LMDB walk, by key --- */

struct merged {
	const uint8_t *key;
	size_t klen;
	uint8_t rec; /* effective: NONE means "as in LMDB" */
	const uint8_t *data;
	size_t len;
};

struct iter_ctx {
	struct merged *v;
	size_t n, next;
	staging_cb cb;
	void *payload;
};

static int merged_cmp_key(const struct merged *m, const uint8_t *k, size_t n)
{
	size_t l = m->klen < n ? m->klen : n;
	int c = l ? memcmp(m->key, k, l) : 0;
	if (c)
		return c;
	return m->klen < n ? -1 : m->klen > n;
}

static int merged_cmp(const void *pa, const void *pb)
{
	const struct merged *a = pa, *b = pb;
	return merged_cmp_key(a, b->key, b->klen);
}

static int emit(struct iter_ctx *c, const struct merged *m)
{
	if (m->rec == STAGING_OP_PUT)
		return c->cb(c->payload, m->key, m->klen, STAGING_PUT, m->data,
			     m->len);
	if (m->rec == STAGING_OP_TOMBSTONE)
		return c->cb(c->payload, m->key, m->klen, STAGING_TOMBSTONE,
			     NULL, 0);
	return 0;
}

static int iter_lmdb(void *payload, const uint8_t *key, size_t klen,
		     enum staging_kind kind, const uint8_t *data, size_t len)
{
	struct iter_ctx *c = payload;
	int rc = 0;
	while (!rc && c->next < c->n &&
	       merged_cmp_key(&c->v[c->next], key, klen) < 0)
		rc = emit(c, &c->v[c->next++]);
	if (rc)
		return rc;
	if (c->next < c->n && merged_cmp_key(&c->v[c->next], key, klen) == 0) {
		struct merged *m = &c->v[c->next++];
		if (m->rec != STAGING_OP_NONE)
			return emit(c, m);
	}
	return c->cb(c->payload, key, klen, kind, data, len);
}

static int collect_merged(struct stagebuf *b, struct merged **out, size_t *n)
{
	size_t cap = b->pending.n + b->flushing.n, k = 0;
	struct merged *v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return err_set(-ENOMEM, "staging buffer: out of memory");
	const struct sb_table *layers[2] = {&b->pending, &b->flushing};
	for (int l = 0; l < 2; l++) {
		const struct sb_table *t = layers[l];
		for (size_t i = 0; i < t->nslots; i++) {
			for (struct sb_entry *e = t->slots[i]; e; e = e->next) {
				if (l == 1 &&
				    table_find(&b->pending, e->key, e->klen))
					continue; /* shadowed */
				struct merged m = {e->key, e->klen, e->rec,
						   e->data, e->len};
				if (l == 0 && e->rec == STAGING_OP_NONE) {
					struct sb_entry *f = table_find(
					    &b->flushing, e->key, e->klen);
					if (f) {
						m.rec = f->rec;
						m.data = f->data;
						m.len = f->len;
					}
				}
				v[k++] = m;
			}
		}
	}
	qsort(v, k, sizeof(*v), merged_cmp);
	*out = v;
	*n = k;
	return 0;
}

int stagebuf_iterate(struct stagebuf *b, staging_cb cb, void *payload)
{
	struct iter_ctx c = {.cb = cb, .payload = payload};
	pthread_rwlock_rdlock(&b->lock);
	int rc = collect_merged(b, &c.v, &c.n);
	if (!rc)
		rc = staging_iterate(b->store, b->area, iter_lmdb, &c);
	while (!rc && c.next < c.n)
		rc = emit(&c, &c.v[c.next++]);
	pthread_rwlock_unlock(&b->lock);
	free(c.v);
	return rc;
}

/* --------------------------------------------------------------- changes */

static int check_key(struct stagebuf *b, size_t klen)
{
	size_t max = staging_key_max(b->store, b->area);
	if (klen > max)
		return err_set(-ENAMETOOLONG,
			       "staging: key of %zu bytes is too long to "
			       "stage in area %s (at most %zu bytes)",
			       klen, b->area, max);
	return 0;
}

static int check_record(struct stagebuf *b, size_t len)
{
	if (len > STAGING_MAX_RECORD)
		return err_set(-EFBIG,
			       "staging area %s: record of %zu bytes is over "
			       "the %u-byte limit",
			       b->area, len, STAGING_MAX_RECORD);
	return 0;
}

static int check_attrs(const struct staging_attrs *a)
{
	if (a && a->mtime_nsec >= 1000000000u)
		return err_set(-EINVAL,
			       "staging: mtime nanoseconds %u out of range",
			       a->mtime_nsec);
	return 0;
}

static void kick_flusher(struct stagebuf *b)
{
	pthread_mutex_lock(&b->tlock);
	b->kick = 1;
	pthread_cond_signal(&b->tcond);
	pthread_mutex_unlock(&b->tlock);
}

/* A put of data[0..len) as a delta against e's current put, when smaller. */
static void as_delta(const struct sb_entry *e, struct sb_change *c)
{
	if (!e || e->rec != STAGING_OP_PUT)
		return;
	size_t n = c->len, o = e->len, m = n < o ? n : o;
	size_t pre = 0;
	while (pre < m && e->data[pre] == c->data[pre])
		pre++;
	size_t end = n; /* bytes from pre to end are rewritten */
	if (n == o)
		while (end > pre && e->data[end - 1] == c->data[end - 1])
			end--;
	c->rec = J_DELTA;
	c->newlen = n;
	c->off = pre;
	c->data += pre;
	c->len = end - pre;
}

/* Journal and apply a change of one or two keys (`nc`), adjusting the
 * count. The caller has checked every argument. */
static int change(struct stagebuf *b, struct sb_change *cs, size_t nc)
{
	if (b->flags & STAGEBUF_RDONLY)
		return err_set(-EROFS, "staging area %s: opened read-only",
			       b->area);
	pthread_rwlock_wrlock(&b->lock);
	if (b->pending.bytes > STAGEBUF_HARD_BYTES) {
		/* back-pressure: wait for the table to reach LMDB */
		pthread_rwlock_unlock(&b->lock);
		int frc = stagebuf_flush(b);
		if (frc)
			return frc;
		pthread_rwlock_wrlock(&b->lock);
	}
	uint8_t before[2];
	int rc = 0;
	for (size_t i = 0; !rc && i < nc; i++) {
		rc = layered_record(b, cs[i].key, cs[i].klen, NULL, &before[i]);
		if (!rc && cs[i].rec == STAGING_OP_PUT)
			as_delta(table_find(&b->pending, cs[i].key, cs[i].klen),
				 &cs[i]);
	}
	buf_reset(&b->rec);
	for (size_t i = 0; !rc && i < nc; i++)
		rc = rec_append(&b->rec, J_CHANGE, i + 1 < nc ? J_MORE : 0,
				&cs[i], NULL, 0);
	if (!rc)
		rc = journal_write(b, b->rec.data, b->rec.len);
	for (size_t i = 0; !rc && i < nc; i++) {
		rc = table_apply(&b->pending, &cs[i]);
		if (rc)
			break; /* out of memory after journaling: the journal
				  still has it; a reopen replays it */
		uint8_t after = cs[i].rec == J_DELTA	       ? STAGING_OP_PUT
				: cs[i].rec == STAGING_OP_NONE ? before[i]
							       : cs[i].rec;
		__atomic_store_n(&b->count,
				 b->count + (uint64_t)is_staged(after) -
				     (uint64_t)is_staged(before[i]),
				 __ATOMIC_RELEASE);
	}
	size_t bytes = b->pending.bytes;
	pthread_rwlock_unlock(&b->lock);
	if (!rc && bytes > STAGEBUF_SOFT_BYTES)
		kick_flusher(b);
	return rc;
}

int stagebuf_put(struct stagebuf *b, const uint8_t *key, size_t klen,
		 const uint8_t *data, size_t len,
		 const struct staging_attrs *attrs)
{
	int rc = check_key(b, klen);
	if (!rc)
		rc = check_record(b, len);
	if (!rc)
		rc = check_attrs(attrs);
	if (rc)
		return rc;
	struct sb_change c = {key,
			      klen,
			      STAGING_OP_PUT,
			      data,
			      len,
			      0,
			      0,
			      attrs ? STAGING_OP_SET : STAGING_OP_NONE,
			      attrs ? *attrs : (struct staging_attrs){0}};
	return change(b, &c, 1);
}

int stagebuf_delete(struct stagebuf *b, const uint8_t *key, size_t klen)
{
	int rc = check_key(b, klen);
	if (rc)
		return rc;
	struct sb_change c = {.key = key,
			      .klen = klen,
			      .rec = STAGING_OP_TOMBSTONE,
			      .aop = STAGING_OP_DROP};
	return change(b, &c, 1);
}

int stagebuf_rename(struct stagebuf *b, const uint8_t *from, size_t flen,
		    const uint8_t *to, size_t tlen, const uint8_t *data,
		    size_t len, const struct staging_attrs *attrs)
{
	int rc = check_key(b, flen);
	if (!rc)
		rc = check_key(b, tlen);
	if (!rc)
		rc = check_record(b, len);
	if (!rc)
		rc = check_attrs(attrs);
	if (rc)
		return rc;
	int same = flen == tlen && (flen == 0 || !memcmp(from, to, flen));
	struct sb_change cs[2] = {
	    {to, tlen, STAGING_OP_PUT, data, len, 0, 0,
	     attrs ? STAGING_OP_SET
		   : (same ? STAGING_OP_NONE : STAGING_OP_DROP),
	     attrs ? *attrs : (struct staging_attrs){0}},
	    {.key = from,
	     .klen = flen,
	     .rec = STAGING_OP_TOMBSTONE,
	     .aop = STAGING_OP_DROP}};
	return change(b, cs, same ? 1 : 2);
}

int stagebuf_unstage(struct stagebuf *b, const uint8_t *key, size_t klen)
{
	int rc = check_key(b, klen);
	if (rc)
		return rc;
	struct sb_change c = {
	    .key = key, .klen = klen, .rec = STAGING_OP_UNSTAGE};
	return change(b, &c, 1);
}

int stagebuf_set_attrs(struct stagebuf *b, const uint8_t *key, size_t klen,
		       const struct staging_attrs *attrs)
{
	int rc = check_key(b, klen);
	if (!rc)
		rc = check_attrs(attrs);
	if (rc)
		return rc;
	struct sb_change c = {
	    .key = key, .klen = klen, .aop = STAGING_OP_SET, .attrs = *attrs};
	return change(b, &c, 1);
}

/* ----------------------------------------------------------------- flush */

/* Put back what a failed flush could not write: pending wins per part. */
static int merge_back(struct stagebuf *b)
{
	int rc = 0;
	struct sb_table *f = &b->flushing;
	for (size_t i = 0; !rc && i < f->nslots; i++) {
		for (struct sb_entry *e = f->slots[i]; !rc && e; e = e->next) {
			struct sb_entry *p;
			rc = table_add(&b->pending, e->key, e->klen, &p);
			if (rc)
				break;
			if (p->rec == STAGING_OP_NONE && e->rec) {
				p->rec = e->rec;
				if (e->rec == STAGING_OP_PUT)
					rc = entry_set_data(&b->pending, p,
							    e->data, e->len);
			}
			if (p->aop == STAGING_OP_NONE && e->aop) {
				p->aop = e->aop;
				p->attrs = e->attrs;
			}
		}
	}
	table_free(f);
	return rc;
}

/* flush_lock held. */
static int flush_locked(struct stagebuf *b)
{
	if (b->flags & STAGEBUF_RDONLY)
		return 0;
	pthread_rwlock_wrlock(&b->lock);
	if (b->pending.n == 0) {
		pthread_rwlock_unlock(&b->lock);
		return 0;
	}
	int nfd = -1;
	int rc = journal_start(b, b->jseq + 1, &nfd);
	if (rc) {
		pthread_rwlock_unlock(&b->lock);
		return err_wrap(rc, "staging area %s: flush", b->area);
	}
	off_t nsize = b->jsize;
	int ofd = b->jfd;
	b->jfd = nfd;
	b->jseq++;
	b->jsize = nsize;
	b->flushing = b->pending;
	memset(&b->pending, 0, sizeof(b->pending));
	pthread_rwlock_unlock(&b->lock);
	close(ofd);

	rc = table_to_lmdb(b, &b->flushing);

	pthread_rwlock_wrlock(&b->lock);
	if (rc) {
		int mrc = merge_back(b);
		err_wrap(rc, "staging area %s: flush", b->area);
		if (mrc)
			rc = mrc;
	} else {
		table_free(&b->flushing);
	}
	uint64_t first = b->first_seq, cur = b->jseq;
	if (!rc)
		b->first_seq = cur;
	pthread_rwlock_unlock(&b->lock);
	if (!rc)
		journals_remove(b, first, cur);
	return rc;
}

int stagebuf_flush(struct stagebuf *b)
{
	pthread_mutex_lock(&b->flush_lock);
	int rc = flush_locked(b);
	pthread_mutex_unlock(&b->flush_lock);
	return rc;
}

static void *flusher(void *arg)
{
	struct stagebuf *b = arg;
	unsigned wait_ms = STAGEBUF_FLUSH_MS;
	for (;;) {
		pthread_mutex_lock(&b->tlock);
		if (!b->stop && !b->kick) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait_ms / 1000;
			ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&b->tcond, &b->tlock, &ts);
		}
		int stop = b->stop;
		b->kick = 0;
		pthread_mutex_unlock(&b->tlock);
		if (stop)
			break;
		int rc = stagebuf_flush(b);
		__atomic_store_n(&b->last_rc, rc, __ATOMIC_RELAXED);
		/* after a failure (a full disk, say) try less often */
		wait_ms = rc ? (wait_ms < 5000 ? wait_ms * 2 : 5000)
			     : STAGEBUF_FLUSH_MS;
	}
	return NULL;
}

/* ---------------------------------------------------------------- commit */

int stagebuf_commit(struct stagebuf *b, const char *ref, const struct cid *root,
		    struct hamt_cache *cache, struct cid *new_root,
		    struct staging_commit_stats *stats)
{
	pthread_mutex_lock(&b->flush_lock);
	int rc = flush_locked(b);
	if (!rc)
		rc = staging_commit(b->store, b->area, ref, root, cache,
				    new_root, stats);
	if (!rc) {
		/* the area in LMDB is empty now: count what came since */
		pthread_rwlock_wrlock(&b->lock);
		uint64_t n = 0;
		for (size_t i = 0; i < b->pending.nslots; i++)
			for (struct sb_entry *e = b->pending.slots[i]; e;
			     e = e->next)
				n += (uint64_t)is_staged(e->rec);
		__atomic_store_n(&b->count, n, __ATOMIC_RELEASE);
		pthread_rwlock_unlock(&b->lock);
	}
	pthread_mutex_unlock(&b->flush_lock);
	return rc;
}

/* -------------------------------------------------------- open and close */

/* Write "PID KIND" into the lock file as one fixed-width write, so a reader
 * never sees it empty or mixed. The name is only for messages and for
 * others to decide whether to wait: a failed write changes nothing else. */
static void write_holder(int fd, const char *kind)
{
	char who[32];
	memset(who, ' ', sizeof(who));
	int n = snprintf(who, sizeof(who), "%ld %s", (long)getpid(), kind);
	if (n > 0 && n < 30)
		who[n] = ' ';
	who[30] = '\n';
	if (pwrite(fd, who, 31, 0) != 31) {
		/* see above */
	}
}

/* How long a mount holding the area may take to say it is closing: the
 * moment `fusermount3 -u` returns, the daemon has not yet seen it. Only
 * waited out when the holder has not said which mount it is (or the
 * mount table cannot be read): else the table tells at once. */
#define MOUNT_GRACE_MS 3000

/* What a holder of the area is, from its "PID KIND[ MAJ:MIN]" line. */
enum holder_state {
	HOLDER_DONE_SOON, /* a tool, a closing mount, or an unmounted one */
	HOLDER_MOUNTED,	  /* a mount that the mount table still shows */
	HOLDER_UNKNOWN,	  /* a mount that said no device, or no table */
};

static enum holder_state holder_state(const char *who, char *where, size_t wn)
{
	long pid = 0;
	char kind[16] = "";
	unsigned ma, mi;
	int n = sscanf(who, "%ld %15s %u:%u", &pid, kind, &ma, &mi);
	if (n >= 2 && (!strcmp(kind, "tool") || !strcmp(kind, "closing")))
		return HOLDER_DONE_SOON;
	if (n < 4 || strcmp(kind, "mount") || pid <= 0)
		return HOLDER_UNKNOWN;
	int rc =
	    mounts_has_dev((pid_t)pid, (struct mount_dev){ma, mi}, where, wn);
	return rc == 1	 ? HOLDER_MOUNTED
	       : rc == 0 ? HOLDER_DONE_SOON /* unmounted: finishing */
			 : HOLDER_UNKNOWN;
}

/* The lock file holds "PID KIND\n" of its holder, KIND "mount", "mount
 * MAJ:MIN" (stagebuf_mounted), "tool" (STAGEBUF_TOOL) or "closing"
 * (stagebuf_closing). A tool, a closing mount or a mount whose device is
 * no longer mounted is done soon: wait for it. A mount still in its
 * holder's mount table holds the area for as long as it is mounted:
 * refuse at once. A mount that named no device: refuse after
 * MOUNT_GRACE_MS for it to say it is closing. */
static int take_lock(struct stagebuf *b)
{
	char path[PATH_MAX];
	int w = snprintf(path, sizeof(path), "%s/%s.lock", b->jdir, b->hexname);
	if (w < 0 || (size_t)w >= sizeof(path))
		return err_set(-ENAMETOOLONG, "staging journal: path too long");
	b->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (b->lock_fd < 0)
		return err_set(-errno, "staging lock %s: %s", path,
			       strerror(errno));
	int waited_ms = 0;
	while (flock(b->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		if (e != EWOULDBLOCK)
			return err_set(-e, "staging lock %s: %s", path,
				       strerror(e));
		char who[64] = "", where[MOUNTS_PATH_MAX] = "";
		ssize_t n = pread(b->lock_fd, who, sizeof(who) - 1, 0);
		who[n > 0 ? n : 0] = '\0';
		who[strcspn(who, "\n")] = '\0';
		for (size_t l = strlen(who); l && who[l - 1] == ' ';)
			who[--l] = '\0';
		enum holder_state st = holder_state(who, where, sizeof(where));
		if (st == HOLDER_MOUNTED)
			return err_set(-EBUSY,
				       "staging area %s is in use by the mount "
				       "on %s (pid %ld)",
				       b->area, where, strtol(who, NULL, 10));
		if (st == HOLDER_UNKNOWN) {
			/* a mount, or a holder that has not written its name
			 * yet: it may be about to close */
			if (waited_ms < MOUNT_GRACE_MS) {
				usleep(10000);
				waited_ms += 10;
				continue;
			}
			return err_set(-EBUSY,
				       "staging area %s is in use by another "
				       "process%s%s (a mount of it?)",
				       b->area, who[0] ? ": pid " : "", who);
		}
		/* done soon */
		while (flock(b->lock_fd, LOCK_EX) != 0)
			if (errno != EINTR)
				return err_set(-errno, "staging lock %s: %s",
					       path, strerror(errno));
		break;
	}
	write_holder(b->lock_fd, b->flags & STAGEBUF_TOOL ? "tool" : "mount");
	return 0;
}

void stagebuf_closing(struct stagebuf *b)
{
	if (b && b->lock_fd >= 0)
		write_holder(b->lock_fd, "closing");
}

void stagebuf_mounted(struct stagebuf *b, struct mount_dev dev)
{
	char kind[32];
	snprintf(kind, sizeof(kind), "mount %u:%u", dev.major, dev.minor);
	/* the line has 30 characters: without the device rather than cut */
	if (snprintf(NULL, 0, "%ld %s", (long)getpid(), kind) >= 30)
		snprintf(kind, sizeof(kind), "mount");
	if (b && b->lock_fd >= 0)
		write_holder(b->lock_fd, kind);
}

static int seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sequence numbers of this area's journals, sorted. */
static int list_journals(struct stagebuf *b, uint64_t **out, size_t *n)
{
	DIR *d = opendir(b->jdir);
	if (!d)
		return err_set(-errno, "staging journals %s: %s", b->jdir,
			       strerror(errno));
	size_t cap = 0, k = 0;
	uint64_t *v = NULL;
	struct dirent *e;
	size_t hl = strlen(b->hexname);
	int rc = 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, b->hexname, hl) || e->d_name[hl] != '.')
			continue;
		char *end;
		unsigned long long s = strtoull(e->d_name + hl + 1, &end, 10);
		if (*end || end == e->d_name + hl + 1)
			continue; /* the .lock file */
		if (k == cap) {
			cap = cap ? cap * 2 : 8;
			uint64_t *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = err_set(-ENOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		v[k++] = s;
	}
	closedir(d);
	if (rc) {
		free(v);
		return rc;
	}
	if (k)
		qsort(v, k, sizeof(*v), seq_cmp);
	*out = v;
	*n = k;
	return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(-errno, "staging journal %s: %s", path,
			       strerror(errno));
	struct stat st;
	int rc = 0;
	uint8_t *p = NULL;
	if (fstat(fd, &st) != 0)
		rc = err_set(-errno, "staging journal %s: %s", path,
			     strerror(errno));
	else if (!(p = malloc(st.st_size ? (size_t)st.st_size : 1)))
		rc = err_set(-ENOMEM, "out of memory");
	size_t got = 0;
	while (!rc && got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	*n = got;
	return 0;
}

/* Replay every journal left behind into LMDB, then remove them; returns the
 * next sequence number to use in *next. A replay stops at the first torn or
 * corrupt record: what follows it (in that journal and later ones) is
 * dropped, so what is kept is always a prefix of the changes made. */
static int recover(struct stagebuf *b, uint64_t *next)
{
	uint64_t *seqs = NULL;
	size_t ns = 0;
	struct sb_table t = {0};
	int rc = list_journals(b, &seqs, &ns);
	if (rc)
		return rc;
	int stopped = 0;
	size_t ngroup = 0;
	struct sb_change group[2];
	for (size_t i = 0; !rc && i < ns; i++) {
		char path[PATH_MAX];
		uint8_t *p = NULL;
		size_t n = 0, at = 0;
		rc = journal_path(b, seqs[i], path, sizeof(path));
		if (!rc)
			rc = read_file(path, &p, &n);
		if (rc)
			break;
		int first = 1;
		while (!stopped && at < n) {
			uint8_t type, flags;
			size_t used;
			struct sb_change c;
			if (rec_parse(p + at, n - at, &type, &flags, &c,
				      &used)) {
				stopped = 1;
				break;
			}
			if (first) {
				size_t alen = strlen(b->area);
				if (type != J_HEADER || c.len != 8 + alen ||
				    memcmp(c.data, J_MAGIC, 8) ||
				    memcmp(c.data + 8, b->area, alen)) {
					rc =
					    err_set(-EIO,
						    "staging journal %s: not a "
						    "journal of area %s",
						    path, b->area);
					break;
				}
				first = 0;
			} else if (type == J_CHANGE && ngroup < 2) {
				group[ngroup++] = c;
				if (!(flags & J_MORE)) {
					for (size_t g = 0; !rc && g < ngroup;
					     g++)
						rc = table_apply(&t, &group[g]);
					b->rec_records += ngroup;
					ngroup = 0;
				}
			} else {
				stopped = 1;
				break;
			}
			at += used;
		}
		if (stopped)
			b->rec_dropped += n - at;
		else if (ngroup)
			stopped = 1; /* a change cut between two journals */
		free(p);
	}
	if (!rc && t.n)
		rc = table_to_lmdb(b, &t);
	if (!rc && ns)
		journals_remove(b, seqs[0], seqs[ns - 1] + 1);
	if (!rc)
		*next = ns ? seqs[ns - 1] + 1 : 1;
	else
		err_wrap(rc, "staging area %s: replaying its journal", b->area);
	table_free(&t);
	free(seqs);
	return rc;
}

int stagebuf_open(struct stagebuf **out, struct store *s, const char *area,
		  unsigned flags)
{
	size_t alen = area ? strlen(area) : 0;
	if (alen == 0 || alen > STAGING_AREA_MAX)
		return err_set(-EINVAL, "staging: bad area name");
	if (!(flags & STAGEBUF_RDONLY) && store_is_rdonly(s))
		return err_set(-EROFS,
			       "staging area %s: the store is opened "
			       "read-only",
			       area);
	struct stagebuf *b = calloc(1, sizeof(*b));
	if (!b)
		return err_set(-ENOMEM, "out of memory");
	b->store = s;
	b->flags = flags;
	b->lock_fd = b->jfd = -1;
	memcpy(b->area, area, alen + 1);
	pthread_rwlock_init(&b->lock, NULL);
	pthread_mutex_init(&b->flush_lock, NULL);
	pthread_mutex_init(&b->tlock, NULL);
	pthread_cond_init(&b->tcond, NULL);
	int rc = 0;
	if (!(flags & STAGEBUF_RDONLY)) {
		uint8_t h[HASH_MAX_BYTES];
		size_t hl;
		static const char hex[] = "0123456789abcdef";
		rc = hash_key(MH_SHA2_256, (const uint8_t *)area, alen, h, &hl);
		for (int i = 0; !rc && i < 8; i++) {
			b->hexname[2 * i] = hex[h[i] >> 4];
			b->hexname[2 * i + 1] = hex[h[i] & 15];
		}
		const char *dir = store_dir(s);
		size_t dl = strlen(dir);
		if (!rc && !(b->jdir = malloc(dl + sizeof("/journal"))))
			rc = err_set(-ENOMEM, "out of memory");
		if (!rc) {
			memcpy(b->jdir, dir, dl);
			memcpy(b->jdir + dl, "/journal", sizeof("/journal"));
			if (mkdir(b->jdir, 0755) != 0 && errno != EEXIST)
				rc = err_set(-errno, "staging journals %s: %s",
					     b->jdir, strerror(errno));
		}
		if (!rc)
			rc = take_lock(b);
		uint64_t next = 1;
		if (!rc)
			rc = recover(b, &next);
		if (!rc) {
			rc = journal_start(b, next, &b->jfd);
			b->jseq = b->first_seq = next;
		}
	}
	if (!rc)
		rc = staging_count(s, area, &b->count);
	if (!rc && !(flags & STAGEBUF_RDONLY)) {
		if (pthread_create(&b->thread, NULL, flusher, b) != 0)
			rc = err_set(-EAGAIN, "staging buffer: no thread");
		else
			b->has_thread = 1;
	}
	if (rc) {
		stagebuf_close(b);
		return rc;
	}
	*out = b;
	return 0;
}

int stagebuf_close(struct stagebuf *b)
{
	if (!b)
		return 0;
	int rc = 0;
	if (b->has_thread) {
		pthread_mutex_lock(&b->tlock);
		b->stop = 1;
		pthread_cond_signal(&b->tcond);
		pthread_mutex_unlock(&b->tlock);
		pthread_join(b->thread, NULL);
	}
	if (b->jfd >= 0) {
		rc = stagebuf_flush(b);
		close(b->jfd);
		b->jfd = -1;
		if (!rc)
			journals_remove(b, b->first_seq, b->jseq + 1);
	}
	if (b->lock_fd >= 0)
		close(b->lock_fd); /* releases the flock */
	table_free(&b->pending);
	table_free(&b->flushing);
	buf_free(&b->rec);
	free(b->jdir);
	pthread_rwlock_destroy(&b->lock);
	pthread_mutex_destroy(&b->flush_lock);
	pthread_mutex_destroy(&b->tlock);
	pthread_cond_destroy(&b->tcond);
	free(b);
	return rc;
}

void stagebuf_recovered(const struct stagebuf *b, uint64_t *records,
			uint64_t *dropped_bytes)
{
	*records = b->rec_records;
	*dropped_bytes = b->rec_dropped;
}
