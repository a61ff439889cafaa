/* pipeline.c - read, sort, build and write in parallel (see pipeline.h).
 *
 * Threads: `threads` workers read and parse; then `threads` workers build
 * the sub-trees and, once out of build work, sort the writer's next block
 * partitions ahead of it (PREP_AHEAD at most); the writer is the main
 * thread (it alone uses the LMDB write transaction); the last builder to
 * finish encodes the root. A monitor thread prints the progress line,
 * gives freed sort pages back to the kernel, pre-faults the heap the
 * writer's LMDB pages come from and starts the disk writes of the pages
 * the writer has written so far (store_writeback: best effort; the
 * commit's fsync is what counts).
 *
 * Records in the sorters (big-endian unless said):
 *   entry  hash[0..8) | ord (8) | klen (4, host order) | key | value
 *          partition hash[0]; `ord` = chunk number << 32 | entry number in
 *          the chunk, so a later line of a key sorts after an earlier one;
 *          value: the record's digest when values are links (the build
 *          makes the link), else the inline value. Only 8 hash bytes are
 *          kept: the build recomputes the full hash and puts entries whose
 *          8 bytes tie in full-hash order.
 *   block  sha2-256 digest (32) | data
 *          partition 0..255 raw blocks by digest[0], 256..511 DAG-CBOR
 *          ones: the order of their binary CIDs (01 55 12 20 digest, then
 *          01 71 12 20 digest).
 *   ref    (raw record blocks of a mapped input, "byref")
 *          digest (32) | len (4, host) | offset in the input (8, host)
 *          [| data, when the offset is REF_INLINE]
 *          A copy of every record would double the memory the read phase
 *          touches (and fresh pages are what it pays most for); the writer
 *          gets the bytes back one group of partitions at a time, copied
 *          from the mapping in file order (tools/refcopy.h) into a group
 *          buffer by an idle builder (or by itself), GSLOTS buffers in
 *          turn.
 *
 * Locks: pl->lock guards the failure, bad-line and line-count records;
 * pl->rlock the reading of a non-mapped input; pl->wlock/wcond the nodes'
 * readiness and the partitions sorted ahead; pl->mlock/mcond the monitor's
 * sleep. None is held while taking another.
 */
#include "tools/pipeline.h"
#include "tools/inputlease.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hamt/bulk.h"
#include "hamt/err.h"
#include "hamt/hash.h"
#include "store/car.h"
#include "store/store.h"
#include "tools/refcopy.h"
#include "tools/sorter.h"

#define CHUNK_DEFAULT ((size_t)4 << 20) /* bytes of input per chunk */
#define NPART_ENT 256u
#define NPART_BLK 512u
#define PREP_AHEAD 8 /* block partitions sorted ahead of the writer */
#define CID_LEN 36   /* binary CIDv1 sha2-256, one-byte codec */
#define DIGEST_LEN 32
#define ENT_HDR 20
#define LINK_LEN (5 + CID_LEN) /* DAG-CBOR of a link */
#define BAD_KEEP 10	       /* malformed lines reported when skipped */
#define TRIM_KEEP ((uint64_t)64 << 20)
#define BUILDER_NICE 5			    /* builders yield to the writer */
#define GROUP_DEFAULT ((uint64_t)256 << 20) /* record bytes per group */
#define GSLOTS 2			    /* groups filled at once */
#define REFCOPY_WINDOW ((uint64_t)64 << 20)
#define REF_HDR (DIGEST_LEN + 12)
#define REF_INLINE UINT64_MAX
#define WRITEBACK_EVERY 0.5 /* seconds between writeback starts */

/* ------------------------------------------------------ record kinds */

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : (al > bl ? 1 : 0);
}

static uint64_t ent_prefix(const uint8_t *r, size_t len)
{
	(void)len;
	return be64(r) << 8; /* hash[0] is the partition */
}

static int ent_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	(void)al;
	(void)bl;
	int c = memcmp(a, b, 8);
	if (c)
		return c;
	uint32_t ka, kb;
	memcpy(&ka, a + 16, 4);
	memcpy(&kb, b + 16, 4);
	c = bytes_cmp(a + ENT_HDR, ka, b + ENT_HDR, kb);
	return c ? c : memcmp(a + 8, b + 8, 8);
}

static const struct sorter_kind ENT_KIND = {NPART_ENT, ent_prefix, ent_cmp};

static uint64_t blk_prefix(const uint8_t *r, size_t len)
{
	(void)len;
	return be64(r + 1); /* digest[1..9); digest[0] is the partition */
}

static int blk_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	(void)al;
	(void)bl;
	return memcmp(a, b, DIGEST_LEN);
}

static const struct sorter_kind BLK_KIND = {NPART_BLK, blk_prefix, blk_cmp};

/* Raw blocks sort before DAG-CBOR ones (binary CIDs 01 55 12 20 ... and
 * 01 71 12 20 ...), then by digest. */
static unsigned blk_part(uint64_t codec, const uint8_t *digest)
{
	return (codec == CODEC_DAG_CBOR ? 256u : 0u) | digest[0];
}

/* The binary CID of a block of partition p. */
static void blk_cid(unsigned p, const uint8_t *digest, uint8_t *cid)
{
	cid[0] = 1;
	cid[1] = p >= 256 ? CODEC_DAG_CBOR : CODEC_RAW;
	cid[2] = MH_SHA2_256;
	cid[3] = DIGEST_LEN;
	memcpy(cid + 4, digest, DIGEST_LEN);
}

/* The DAG-CBOR of a link to a sha2-256 CIDv1: tag 42, bytes(37), 0x00,
 * the CID. */
static void link_encode(uint64_t codec, const uint8_t *digest, uint8_t *out)
{
	out[0] = 0xd8;
	out[1] = 0x2a;
	out[2] = 0x58;
	out[3] = CID_LEN + 1;
	out[4] = 0;
	blk_cid(codec == CODEC_DAG_CBOR ? 256 : 0, digest, out + 5);
}

/* ------------------------------------------------------------- state */

struct bad_line {
	uint64_t seq, line;
	char msg[256];
};

/* Transient copies of records read from run files during one job. */
struct arena {
	uint8_t **blocks;
	size_t n, cap, used, size;
};

struct worker {
	struct pipeline *pl;
	unsigned id;
	pthread_t th;
	int running;
	struct sorter *ents, *recs, *nodes;
	struct input_scratch scratch;
	struct buf val;
	uint8_t *rbuf; /* chunk buffer when the input is not mapped */
	size_t rcap;
	unsigned epoch;
	uint64_t lines, records, entries, no_key, ignored, bad;
	uint64_t rbytes[NPART_ENT]; /* byref: record bytes per partition */
	struct hamt_stats hs;
	/* build jobs' working memory, kept from job to job */
	struct sorter_scratch sx;
	struct hamt_item *it;
	size_t itcap;
	uint8_t *links; /* LINK_LEN bytes per item */
	struct arena ar;
};

/* A group's records in CID order, repeats dropped (byref). */
struct gent {
	uint8_t digest[DIGEST_LEN];
	uint64_t dst; /* where in the group buffer */
	uint32_t len;
};

struct gslot {
	uint8_t *buf;
	struct gent *ents;
	size_t nents, entcap;
	struct refcopy_item *ci; /* 2 * cicap: the items, then refcopy's */
	size_t nci, cicap;	 /* radix buffer */
	struct sorter_scratch sx;
	int busy;
};

struct pipeline {
	const struct pipeline_opts *o;
	const char *name; /* the input, for messages */
	size_t hash_len;
	/* input */
	int fd;
	const char *map;
	uint64_t size;
	struct timespec mtime; /* of a mapped input, when opened */
	atomic_int lease;      /* inputlease handle of a mapped input, or -1 */
	atomic_uint groups_copied; /* groups whose records are copied back */
	int mapped;
	size_t chunk;
	uint64_t nchunks;
	atomic_uint_fast64_t next_chunk;
	pthread_mutex_t rlock; /* guards left, nleft, eof, rseq */
	uint8_t *left;
	size_t nleft, capleft;
	int eof;
	uint64_t rseq;
	/* lines, errors */
	pthread_mutex_t lock;
	uint64_t *chunk_lines;
	size_t ncl;
	struct bad_line bad[BAD_KEEP];
	size_t nbad;
	atomic_uint_fast64_t stop_seq; /* first chunk with a fatal bad line */
	atomic_int failed;
	int rc;
	char msg[1024];
	/* memory */
	struct sorter_pool *pool;
	atomic_uint epoch;
	/* build */
	struct hamt_bulk *bulk;
	atomic_uint next_job, jobs_done, builders_done;
	atomic_uint full_hash_jobs; /* jobs that needed whole key hashes */
	struct hamt_stats hs;	    /* of the whole tree, once built */
	unsigned ent_runs;	    /* run files of the entry sorters, freed */
	double t_built;
	unsigned njobs, parts_per_job;
	/* write; wlock guards nodes_ready and the prep_ fields */
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	int nodes_ready;
	/* block partitions opened (gathered and sorted) by idle builders
	 * ahead of the writer: state 0 untouched, 1 being opened, 2 ready,
	 * 3 taken by the writer */
	uint8_t prep_state[NPART_BLK];
	struct sorter_merge *prep_m[NPART_BLK];
	int prep_slot[NPART_BLK];
	struct sorter_scratch prep_sx[PREP_AHEAD];
	int prep_busy[PREP_AHEAD];
	unsigned prep_next, wpos;
	/* byref: groups of raw partitions [gstart[g], gstart[g+1]);
	 * gstate as prep_state; wlock guards them and the slots' busy */
	int byref;
	unsigned ngroups, g_next, wg;
	unsigned gstart[NPART_ENT + 1];
	uint64_t group_cap;
	uint8_t gstate[NPART_ENT];
	int gslot_of[NPART_ENT];
	struct gslot gs[GSLOTS];
	struct cid root;
	struct store *store;
	uint64_t w_blocks, w_bytes, w_present;
	double t_write_end, t_commit;
	/* progress */
	atomic_int phase; /* 0 read, 1 build+write, 2 commit, 3 done */
	atomic_uint_fast64_t bytes_done, recs_done, blocks_done, nodes_made;
	atomic_uint_fast64_t wbytes_done;
	uint64_t blocks_total;
	pthread_mutex_t mlock;
	pthread_cond_t mcond;
	int mon_done;
	double t0;
	struct worker *w;
	unsigned nw;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record the first fatal error (this thread's message) and stop all. */
static int pl_fail(struct pipeline *pl, int rc)
{
	pthread_mutex_lock(&pl->lock);
	if (!atomic_load(&pl->failed)) {
		pl->rc = rc;
		snprintf(pl->msg, sizeof(pl->msg), "%s", err_msg());
		atomic_store(&pl->failed, 1);
	}
	pthread_mutex_unlock(&pl->lock);
	pthread_mutex_lock(&pl->wlock);
	pthread_cond_broadcast(&pl->wcond);
	pthread_mutex_unlock(&pl->wlock);
	return rc;
}

/* The error of an input that changed under the build. */
static int input_changed(const struct pipeline *pl, const char *how)
{
	return err_set(-ESTALE,
		       "%s: the input file changed during the build (%s; "
		       "nothing was committed)",
		       pl->name, how);
}

#define LEASE_BROKEN "another process opened it for writing or truncated it"

static int stopped(struct pipeline *pl)
{
	if (atomic_load(&pl->failed))
		return 1;
	if (inputlease_broken(atomic_load(&pl->lease))) {
		pl_fail(pl, input_changed(pl, LEASE_BROKEN));
		return 1;
	}
	if (pl->o->stop && *pl->o->stop) {
		err_set(-EINTR, "interrupted");
		pl_fail(pl, -EINTR);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------- input */

static int input_open(struct pipeline *pl)
{
	const char *path = pl->o->input;
	struct stat st;
	pl->fd = 0;
	if (path && strcmp(path, "-") != 0) {
		pl->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (pl->fd < 0)
			return err_set(-errno, "%s: %s", path, strerror(errno));
	}
	if (fstat(pl->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		pl->size = (uint64_t)st.st_size;
		pl->mtime = st.st_mtim;
		pl->mapped = 1;
		pl->nchunks = (pl->size + pl->chunk - 1) / pl->chunk;
		if (pl->size) {
			void *m = mmap(NULL, (size_t)pl->size, PROT_READ,
				       MAP_PRIVATE, pl->fd, 0);
			if (m == MAP_FAILED)
				return err_set(-errno, "%s: mmap: %s", pl->name,
					       strerror(errno));
			pl->map = m;
			madvise(m, (size_t)pl->size, MADV_SEQUENTIAL);
			/* a writer now waits for us to let go of the file */
			atomic_store(&pl->lease, inputlease_take(pl->fd));
		}
		pl->chunk_lines = calloc(pl->nchunks + 1, sizeof(uint64_t));
		if (!pl->chunk_lines)
			return err_set(-ENOMEM, "out of memory");
		pl->ncl = pl->nchunks + 1;
	}
	return 0;
}

/* Let a writer held back by the input's lease go on. */
static void input_release(struct pipeline *pl)
{
	inputlease_release(atomic_exchange(&pl->lease, -1));
}

static void input_close(struct pipeline *pl)
{
	input_release(pl);
	if (pl->map)
		munmap((void *)pl->map, (size_t)pl->size);
	if (pl->fd > 0)
		close(pl->fd);
}

/* Start of chunk c of a mapped input: just after the first newline at or
 * after byte c*CHUNK-1. */
static uint64_t boundary(const struct pipeline *pl, uint64_t c)
{
	if (c == 0)
		return 0;
	if (c >= pl->nchunks)
		return pl->size;
	uint64_t i = c * pl->chunk - 1;
	const char *nl = memchr(pl->map + i, '\n', (size_t)(pl->size - i));
	return nl ? (uint64_t)(nl - pl->map) + 1 : pl->size;
}

static int read_some(struct pipeline *pl, uint8_t *p, size_t n, size_t *got)
{
	for (;;) {
		ssize_t r = read(pl->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(-errno, "%s: read: %s", pl->name,
				       strerror(errno));
		*got = (size_t)r;
		return 0;
	}
}

/* The next chunk of whole lines: 1, 0 at the end, <0 error. */
static int chunk_next(struct worker *w, const char **data, size_t *len,
		      uint64_t *seq)
{
	struct pipeline *pl = w->pl;
	if (pl->mapped) {
		uint64_t c = atomic_fetch_add(&pl->next_chunk, 1);
		if (c >= pl->nchunks)
			return 0;
		uint64_t a = boundary(pl, c), b = boundary(pl, c + 1);
		*data = pl->map + a;
		*len = (size_t)(b - a);
		*seq = c;
		return 1;
	}
	int rc = 0;
	pthread_mutex_lock(&pl->rlock);
	if (pl->eof && !pl->nleft) {
		pthread_mutex_unlock(&pl->rlock);
		return 0;
	}
	size_t have = 0;
	if (w->rcap < pl->chunk || w->rcap < pl->nleft * 2) {
		size_t cap =
		    pl->chunk > pl->nleft * 2 ? pl->chunk : pl->nleft * 2;
		uint8_t *b = realloc(w->rbuf, cap);
		if (!b) {
			rc = err_set(-ENOMEM, "out of memory");
			goto out;
		}
		w->rbuf = b;
		w->rcap = cap;
	}
	if (pl->nleft)
		memcpy(w->rbuf, pl->left, pl->nleft);
	have = pl->nleft;
	pl->nleft = 0;
	for (;;) {
		while (!pl->eof && have < w->rcap) {
			size_t got = 0;
			if ((rc = read_some(pl, w->rbuf + have, w->rcap - have,
					    &got)) != 0)
				goto out;
			if (got == 0)
				pl->eof = 1;
			have += got;
		}
		const uint8_t *nl = have ? memrchr(w->rbuf, '\n', have) : NULL;
		if (nl || pl->eof) {
			size_t cut =
			    nl && !pl->eof ? (size_t)(nl - w->rbuf) + 1 : have;
			size_t rest = have - cut;
			if (rest > pl->capleft) {
				uint8_t *b = realloc(pl->left, rest);
				if (!b) {
					rc = err_set(-ENOMEM, "out of memory");
					goto out;
				}
				pl->left = b;
				pl->capleft = rest;
			}
			if (rest)
				memcpy(pl->left, w->rbuf + cut, rest);
			pl->nleft = rest;
			*data = (const char *)w->rbuf;
			*len = cut;
			*seq = pl->rseq++;
			rc = 1;
			goto out;
		}
		/* one line longer than the buffer: grow it */
		uint8_t *b = realloc(w->rbuf, w->rcap * 2);
		if (!b) {
			rc = err_set(-ENOMEM, "out of memory");
			goto out;
		}
		w->rbuf = b;
		w->rcap *= 2;
	}
out:
	pthread_mutex_unlock(&pl->rlock);
	if (rc == 1 && *len == 0)
		rc =
		    chunk_next(w, data, len, seq); /* only a final empty read */
	return rc;
}

static int note_lines(struct pipeline *pl, uint64_t seq, uint64_t lines)
{
	int rc = 0;
	pthread_mutex_lock(&pl->lock);
	if (seq >= pl->ncl) {
		size_t n = pl->ncl ? pl->ncl : 64;
		while (n <= seq)
			n *= 2;
		uint64_t *v = realloc(pl->chunk_lines, n * sizeof(*v));
		if (v) {
			memset(v + pl->ncl, 0, (n - pl->ncl) * sizeof(*v));
			pl->chunk_lines = v;
			pl->ncl = n;
		} else {
			rc = err_set(-ENOMEM, "out of memory");
		}
	}
	if (!rc)
		pl->chunk_lines[seq] = lines;
	pthread_mutex_unlock(&pl->lock);
	return rc;
}

/* Keep a malformed line (the BAD_KEEP first ones in input order). */
static void note_bad(struct pipeline *pl, uint64_t seq, uint64_t line)
{
	pthread_mutex_lock(&pl->lock);
	size_t i = pl->nbad;
	while (i > 0 &&
	       (pl->bad[i - 1].seq > seq ||
		(pl->bad[i - 1].seq == seq && pl->bad[i - 1].line > line)))
		i--;
	if (i < BAD_KEEP) {
		size_t n = pl->nbad < BAD_KEEP ? pl->nbad : BAD_KEEP - 1;
		memmove(&pl->bad[i + 1], &pl->bad[i],
			(n - i) * sizeof(pl->bad[0]));
		pl->bad[i].seq = seq;
		pl->bad[i].line = line;
		snprintf(pl->bad[i].msg, sizeof(pl->bad[i].msg), "%s",
			 err_msg());
		if (pl->nbad < BAD_KEEP)
			pl->nbad++;
	}
	pthread_mutex_unlock(&pl->lock);
}

/* -------------------------------------------------------------- read */

static int do_line(struct worker *w, const char *line, size_t len, uint64_t seq,
		   uint32_t *ord)
{
	struct pipeline *pl = w->pl;
	const struct pipeline_opts *o = pl->o;
	struct input_rec r;
	int rc = input_parse_line(&o->in, line, len, &w->scratch, &r);
	if (rc)
		return rc;
	w->ignored += r.ignored;
	if (r.nkeys == 0) {
		w->no_key++;
		return 0;
	}
	const uint8_t *val = r.data;
	size_t vlen = r.len;
	uint8_t digest[DIGEST_LEN];
	uint8_t *dst;
	if (o->link) {
		if (r.len > STORE_MAX_WRITE)
			return err_set(-EFBIG,
				       "record is %zu bytes, over the %u-byte "
				       "block limit",
				       r.len, STORE_MAX_WRITE);
		hash_sha256(r.data, r.len, digest);
		unsigned part = blk_part(o->in.codec, digest);
		if (pl->byref && part < NPART_ENT) {
			uintptr_t d = (uintptr_t)r.data, m = (uintptr_t)pl->map;
			int in_map = d >= m && d - m <= pl->size &&
				     r.len <= pl->size - (d - m);
			uint64_t off = in_map ? (uint64_t)(d - m) : REF_INLINE;
			uint32_t l = (uint32_t)r.len;
			if ((rc = sorter_add(w->recs, part,
					     REF_HDR + (in_map ? 0 : r.len),
					     &dst)) != 0)
				return rc;
			memcpy(dst, digest, DIGEST_LEN);
			memcpy(dst + DIGEST_LEN, &l, 4);
			memcpy(dst + DIGEST_LEN + 4, &off, 8);
			if (!in_map)
				memcpy(dst + REF_HDR, r.data, r.len);
			w->rbytes[part] += r.len;
		} else {
			if ((rc = sorter_add(w->recs, part, DIGEST_LEN + r.len,
					     &dst)) != 0)
				return rc;
			memcpy(dst, digest, DIGEST_LEN);
			memcpy(dst + DIGEST_LEN, r.data, r.len);
		}
		/* the entry keeps the digest; the build makes the link */
		val = digest;
		vlen = DIGEST_LEN;
	} else if (o->in.codec == CODEC_RAW) {
		buf_reset(&w->val);
		if ((rc = hamt_value_encode_bytes(r.data, r.len, &w->val)) != 0)
			return rc;
		val = w->val.data;
		vlen = w->val.len;
	}
	w->records++;
	for (size_t k = 0; k < r.nkeys; k++) {
		uint8_t h[HASH_MAX_BYTES];
		size_t hl = 0;
		const struct input_key *key = &r.keys[k];
		if ((rc = hash_key(o->params.hash_alg, key->p, key->len, h,
				   &hl)) != 0)
			return rc;
		if ((rc = sorter_add(w->ents, h[0], ENT_HDR + key->len + vlen,
				     &dst)) != 0)
			return rc;
		uint32_t kl = (uint32_t)key->len;
		memcpy(dst, h, 8);
		put_be64(dst + 8, seq << 32 | (*ord)++);
		memcpy(dst + 16, &kl, 4);
		memcpy(dst + ENT_HDR, key->p, key->len);
		memcpy(dst + ENT_HDR + key->len, val, vlen);
		w->entries++;
	}
	return 0;
}

static int do_chunk(struct worker *w, const char *data, size_t len,
		    uint64_t seq)
{
	struct pipeline *pl = w->pl;
	const char *p = data, *end = data + len;
	uint64_t line = 0;
	uint32_t ord = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;
		line++;
		if (n && p[n - 1] == '\r')
			n--;
		if (n) {
			w->lines++;
			int rc = do_line(w, p, n, seq, &ord);
			if (rc == -EINVAL || rc == -EFBIG) {
				w->bad++;
				note_bad(pl, seq, line);
				if (!pl->o->skip_bad) {
					uint_fast64_t s =
					    atomic_load(&pl->stop_seq);
					while (seq < s &&
					       !atomic_compare_exchange_weak(
						   &pl->stop_seq, &s, seq))
						;
					return 0;
				}
			} else if (rc) {
				return rc;
			}
		}
		p = next;
		if ((line & 4095) == 0 &&
		    (atomic_load(&pl->stop_seq) < seq || stopped(pl)))
			return 0;
	}
	return note_lines(pl, seq, line);
}

static int spill_check(struct worker *w, struct sorter *a, struct sorter *b)
{
	struct pipeline *pl = w->pl;
	if (sorter_pool_used(pl->pool) > pl->o->mem) {
		unsigned e = w->epoch;
		atomic_compare_exchange_strong(&pl->epoch, &e, w->epoch + 1);
	}
	unsigned now = atomic_load(&pl->epoch);
	if (now == w->epoch)
		return 0;
	w->epoch = now;
	int rc = a ? sorter_spill(a) : 0;
	if (!rc && b)
		rc = sorter_spill(b);
	return rc;
}

static void *read_main(void *arg)
{
	struct worker *w = arg;
	struct pipeline *pl = w->pl;
	for (;;) {
		const char *data = NULL;
		size_t len = 0;
		uint64_t seq = 0;
		if (stopped(pl))
			break;
		int rc = chunk_next(w, &data, &len, &seq);
		if (rc < 0) {
			pl_fail(pl, rc);
			break;
		}
		if (rc == 0 || seq > atomic_load(&pl->stop_seq))
			break;
		uint64_t before = w->records;
		rc = do_chunk(w, data, len, seq);
		if (pl->mapped) {
			/* drop the chunk's file pages from this process */
			uintptr_t a = (uintptr_t)data & ~(uintptr_t)4095;
			uintptr_t b = (uintptr_t)data + len;
			madvise((void *)a, b - a, MADV_DONTNEED);
		}
		if (!rc)
			rc = spill_check(w, w->ents, w->recs);
		if (rc) {
			pl_fail(pl, rc);
			break;
		}
		atomic_fetch_add(&pl->bytes_done, len);
		atomic_fetch_add(&pl->recs_done, w->records - before);
	}
	return NULL;
}

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
		a->blocks[a->n++] = b;
		a->size = size;
		a->used = 0;
	}
	uint8_t *d = a->blocks[a->n - 1] + a->used;
	memcpy(d, p, n);
	a->used += n;
	return d;
}

/* Forget the contents (the blocks go back to malloc). */
static void arena_reset(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	a->n = 0;
	a->used = a->size = 0;
}

static void arena_free(struct arena *a)
{
	arena_reset(a);
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
		struct hamt_item *v = malloc((size_t)total * sizeof(*v));
		uint8_t *l =
		    pl->o->link ? malloc((size_t)total * LINK_LEN) : NULL;
		if (!v || (pl->o->link && !l)) {
			free(v);
			free(l);
			return err_set(-ENOMEM,
				       "out of memory for %llu entries",
				       (unsigned long long)total);
		}
		free(w->it);
		free(w->links);
		w->it = v;
		w->links = l;
		w->itcap = (size_t)total;
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
static void prepare_ahead(struct pipeline *pl)
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

/* ------------------------------------------------------------ groups */

/* Split the raw partitions into groups of at most `limit` record bytes
 * (a partition bigger than that is a group of its own). */
static void plan_groups(struct pipeline *pl, uint64_t limit)
{
	uint64_t acc = 0;
	unsigned g = 0;
	pl->gstart[0] = 0;
	for (unsigned p = 0; p < NPART_ENT; p++) {
		uint64_t b = 0;
		for (unsigned i = 0; i < pl->nw; i++)
			b += pl->w[i].rbytes[p];
		if (acc && acc + b > limit) {
			pl->gstart[++g] = p;
			if (acc > pl->group_cap)
				pl->group_cap = acc;
			acc = 0;
		}
		acc += b;
	}
	pl->gstart[++g] = NPART_ENT;
	if (acc > pl->group_cap)
		pl->group_cap = acc;
	pl->ngroups = g;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	void *q = realloc(*p, need * size);
	if (!q)
		return err_set(-ENOMEM, "out of memory");
	*p = q;
	*cap = need;
	return 0;
}

static int bad_ref(unsigned p)
{
	return err_set(-EIO,
		       "build: malformed record reference in "
		       "partition %u (a damaged spill file?)",
		       p);
}

/* The records of a mapped input are read again after the read phase:
 * the file must still be what was read (else the bytes copied back would
 * not be the ones hashed). Checked before and after each group: the read
 * lease (nobody has opened the file for writing or truncated it since it
 * was opened), or where no lease could be taken, its size and mtime. */
static int input_unchanged(const struct pipeline *pl)
{
	struct stat st;
	if (fstat(pl->fd, &st) != 0)
		return err_set(-errno, "%s: %s", pl->name, strerror(errno));
	if (inputlease_broken(atomic_load(&pl->lease)))
		return input_changed(pl, LEASE_BROKEN);
	if ((uint64_t)st.st_size != pl->size ||
	    st.st_mtim.tv_sec != pl->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != pl->mtime.tv_nsec)
		return input_changed(pl, "its size or mtime is not what it "
					 "was");
	return 0;
}

/* One partition's refs, in CID order, into the slot. */
static int group_part(struct pipeline *pl, unsigned p, struct gslot *s,
		      uint64_t *used)
{
	struct sorter *src[pl->nw];
	struct sorter_merge *m = NULL;
	for (unsigned i = 0; i < pl->nw; i++)
		src[i] = pl->w[i].recs;
	int rc = sorter_merge_open(&m, src, pl->nw, p, &s->sx);
	if (rc)
		return rc;
	size_t more = (size_t)sorter_merge_total(m);
	if ((rc = grow((void **)&s->ents, &s->entcap, s->nents + more,
		       sizeof(*s->ents))) != 0 ||
	    (rc = grow((void **)&s->ci, &s->cicap, s->nci + more,
		       2 * sizeof(*s->ci))) != 0) {
		sorter_merge_close(m);
		return rc;
	}
	const uint8_t *r;
	size_t len;
	while ((rc = sorter_merge_next(m, &r, &len, NULL)) == 1) {
		if (len < REF_HDR) {
			rc = bad_ref(p);
			break;
		}
		if (s->nents &&
		    memcmp(s->ents[s->nents - 1].digest, r, DIGEST_LEN) == 0)
			continue; /* the same block again */
		uint32_t l;
		uint64_t off;
		memcpy(&l, r + DIGEST_LEN, 4);
		memcpy(&off, r + DIGEST_LEN + 4, 8);
		size_t want = off == REF_INLINE ? REF_HDR + (size_t)l : REF_HDR;
		if (len != want || l > pl->group_cap - *used) {
			rc = bad_ref(p);
			break;
		}
		if (off == REF_INLINE)
			memcpy(s->buf + *used, r + REF_HDR, l);
		else
			s->ci[s->nci++] = (struct refcopy_item){
			    .off = off, .dst = *used, .len = l};
		struct gent *e = &s->ents[s->nents++];
		memcpy(e->digest, r, DIGEST_LEN);
		e->dst = *used;
		e->len = l;
		*used += l;
	}
	sorter_merge_close(m);
	return rc < 0 ? rc : 0;
}

/* Fill a slot with group g: its records in CID order in the buffer. The
 * refs' sorter pages go back to the pool once their bytes are copied. */
static int group_fill(struct pipeline *pl, unsigned g, struct gslot *s)
{
	uint64_t used = 0;
	int rc = 0;
	if (!s->buf && !(s->buf = malloc(pl->group_cap ? pl->group_cap : 1)))
		return err_set(-ENOMEM,
			       "out of memory (a %llu-byte group "
			       "buffer)",
			       (unsigned long long)pl->group_cap);
	s->nents = s->nci = 0;
	for (unsigned p = pl->gstart[g]; p < pl->gstart[g + 1] && !rc; p++)
		rc = stopped(pl) ? -ECANCELED : group_part(pl, p, s, &used);
	if (!rc)
		rc = input_unchanged(pl);
	if (!rc)
		rc = refcopy_run((const uint8_t *)pl->map, pl->size, s->ci,
				 s->ci + s->cicap, s->nci, s->buf,
				 REFCOPY_WINDOW);
	if (!rc)
		rc = input_unchanged(pl);
	/* the last group copied: the input is not read again */
	if (!rc && atomic_fetch_add(&pl->groups_copied, 1) + 1 == pl->ngroups)
		input_release(pl);
	if (!rc)
		for (unsigned p = pl->gstart[g]; p < pl->gstart[g + 1]; p++)
			for (unsigned i = 0; i < pl->nw; i++)
				sorter_release(pl->w[i].recs, p);
	return rc;
}

static int free_slot(const struct pipeline *pl)
{
	for (int i = 0; i < GSLOTS; i++)
		if (!pl->gs[i].busy)
			return i;
	return -1;
}

/* Claim group g into a free slot and fill it (wlock held on entry and
 * exit, not while filling). */
static void group_claim_fill(struct pipeline *pl, unsigned g, int slot)
{
	pl->gstate[g] = 1;
	pl->gs[slot].busy = 1;
	pl->gslot_of[g] = slot;
	pthread_mutex_unlock(&pl->wlock);
	int rc = group_fill(pl, g, &pl->gs[slot]);
	if (rc)
		pl_fail(pl, rc);
	pthread_mutex_lock(&pl->wlock);
	pl->gstate[g] = 2;
	pthread_cond_broadcast(&pl->wcond);
}

/* An idle builder fills the writer's next groups (GSLOTS at most). */
static void prepare_groups(struct pipeline *pl)
{
	pthread_mutex_lock(&pl->wlock);
	for (;;) {
		unsigned g = pl->g_next;
		if (g >= pl->ngroups || atomic_load(&pl->failed))
			break;
		if (pl->gstate[g] != 0) {
			pl->g_next++;
			continue;
		}
		int slot = free_slot(pl);
		if (slot < 0 || g >= pl->wg + GSLOTS) {
			pthread_cond_wait(&pl->wcond, &pl->wlock);
			continue;
		}
		pl->g_next = g + 1;
		group_claim_fill(pl, g, slot);
	}
	pthread_mutex_unlock(&pl->wlock);
}

/* The writer's group g, filled by a helper or here; its slot index. */
static int take_group(struct pipeline *pl, unsigned g, int *slot)
{
	pthread_mutex_lock(&pl->wlock);
	pl->wg = g;
	pthread_cond_broadcast(&pl->wcond);
	for (;;) {
		if (atomic_load(&pl->failed))
			break;
		if (pl->gstate[g] == 2)
			break;
		int s = pl->gstate[g] == 0 ? free_slot(pl) : -1;
		if (s >= 0)
			group_claim_fill(pl, g, s);
		else
			pthread_cond_wait(&pl->wcond, &pl->wlock);
	}
	pl->gstate[g] = 3;
	*slot = pl->gslot_of[g];
	pthread_mutex_unlock(&pl->wlock);
	return atomic_load(&pl->failed) ? -ECANCELED : 0;
}

static void give_group(struct pipeline *pl, int slot)
{
	pthread_mutex_lock(&pl->wlock);
	pl->gs[slot].busy = 0;
	pthread_cond_broadcast(&pl->wcond);
	pthread_mutex_unlock(&pl->wlock);
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
	pl->t_built = now_s();
	pthread_mutex_lock(&pl->wlock);
	pl->nodes_ready = 1;
	pthread_cond_broadcast(&pl->wcond);
	pthread_mutex_unlock(&pl->wlock);
}

static void *build_main(void *arg)
{
	struct worker *w = arg;
	struct pipeline *pl = w->pl;
	/* The writer is the one thread that can write: a builder gives way
	 * to it (a lower priority for this thread only; best effort) and
	 * takes what CPU is left, all of it while the writer waits. */
	setpriority(PRIO_PROCESS, (id_t)gettid(), BUILDER_NICE);
	while (!stopped(pl)) {
		unsigned j = atomic_fetch_add(&pl->next_job, 1);
		if (j >= pl->njobs)
			break;
		int rc = build_job(w, j);
		if (!rc)
			rc = spill_check(w, w->nodes, NULL);
		if (rc) {
			pl_fail(pl, rc);
			break;
		}
		atomic_fetch_add(&pl->jobs_done, 1);
	}
	if (atomic_fetch_add(&pl->builders_done, 1) + 1 == pl->nw)
		finish_root(w);
	if (pl->byref)
		prepare_groups(pl);
	prepare_ahead(pl);
	return NULL;
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
		if (stopped(pl))
			return -ECANCELED;
	}
	return 0;
}

/* byref: the raw record blocks, group by group. */
static int write_groups(struct pipeline *pl, struct out *out)
{
	uint8_t cid[CID_LEN];
	for (unsigned g = 0; g < pl->ngroups; g++) {
		int slot, rc;
		if (stopped(pl))
			return -ECANCELED;
		if ((rc = take_group(pl, g, &slot)) != 0)
			return rc;
		const struct gslot *s = &pl->gs[slot];
		uint64_t n = 0;
		for (size_t i = 0; i < s->nents && !rc; i++) {
			const struct gent *e = &s->ents[i];
			blk_cid(0, e->digest, cid);
			rc = write_one(pl, out, cid, s->buf + e->dst, e->len,
				       &n);
		}
		write_progress(pl, n & 4095);
		give_group(pl, slot);
		if (rc)
			return rc;
	}
	/* every group is filled and written: the buffers go back to the
	 * kernel now, which has the commit's page-cache writes to place */
	pthread_mutex_lock(&pl->wlock);
	for (int i = 0; i < GSLOTS; i++) {
		struct gslot *s = &pl->gs[i];
		free(s->buf);
		s->buf = NULL;
	}
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
		if (stopped(pl))
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
		uint64_t stored = 0;
		store_bulk_end(out->bulk, &stored, &pl->w_present);
		out->bulk = NULL;
		if (o->ref)
			rc = store_txn_set_ref(out->txn, o->ref, &pl->root);
	} else {
		rc = car_writer_set_root(out->car, &pl->root);
	}
	return rc;
}

/* The writer (on the main thread: LMDB's dirty pages then come from the
 * main malloc arena, which grows in large steps). */
static void write_main(struct pipeline *pl)
{
	struct out out = {0};
	int rc = write_blocks(pl, &out);
	pl->t_write_end = now_s();
	if (!rc && stopped(pl))
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
	pl->t_commit = now_s() - pl->t_write_end;
	if (rc && rc != -ECANCELED)
		pl_fail(pl, rc);
	store_bulk_end(out.bulk, NULL, NULL);
	sorter_scratch_free(&out.sx);
	store_txn_abort(out.txn);
	car_writer_abort(out.car);
}

/* ----------------------------------------------------------- monitor */

static void fmt_count(char *out, size_t n, uint64_t v)
{
	if (v >= 10000000)
		snprintf(out, n, "%.1fM", (double)v / 1e6);
	else if (v >= 10000)
		snprintf(out, n, "%.0fk", (double)v / 1e3);
	else
		snprintf(out, n, "%llu", (unsigned long long)v);
}

static void fmt_bytes(char *out, size_t n, uint64_t v)
{
	if (v >= ((uint64_t)1 << 30))
		snprintf(out, n, "%.2f GiB", (double)v / (1 << 30));
	else
		snprintf(out, n, "%.1f MiB", (double)v / (1 << 20));
}

static void fmt_eta(char *out, size_t n, double secs)
{
	if (secs < 0 || secs > 1e6)
		snprintf(out, n, "--:--");
	else
		snprintf(out, n, "%d:%02d", (int)secs / 60, (int)secs % 60);
}

static void progress_print(struct pipeline *pl, double start, double *last_t,
			   uint64_t *last_v)
{
	char a[32], b[32], c[32], e[16], line[512];
	double t = now_s();
	int phase = atomic_load(&pl->phase);
	if (phase == 0) {
		uint64_t recs = atomic_load(&pl->recs_done);
		uint64_t bytes = atomic_load(&pl->bytes_done);
		double rate = recs / (t - start > 1e-3 ? t - start : 1e-3);
		double brate = bytes / (t - start > 1e-3 ? t - start : 1e-3);
		fmt_count(a, sizeof(a), recs);
		fmt_count(b, sizeof(b), (uint64_t)rate);
		fmt_bytes(c, sizeof(c), bytes);
		fmt_eta(e, sizeof(e),
			pl->size && brate > 0
			    ? (double)(pl->size - bytes) / brate
			    : -1);
		snprintf(line, sizeof(line),
			 "read: %s records, %s records/s, %s, ETA %s", a, b, c,
			 e);
	} else if (phase == 1) {
		uint64_t done = atomic_load(&pl->blocks_done);
		uint64_t total =
		    pl->blocks_total + atomic_load(&pl->nodes_made);
		double dt = t - *last_t;
		double rate = dt > 0 ? (double)(done - *last_v) / dt : 0;
		char d[32];
		fmt_count(a, sizeof(a), done);
		fmt_count(b, sizeof(b), total);
		fmt_count(c, sizeof(c), (uint64_t)rate);
		fmt_bytes(d, sizeof(d), atomic_load(&pl->wbytes_done));
		fmt_eta(e, sizeof(e),
			rate > 0 ? (double)(total - done) / rate : -1);
		snprintf(line, sizeof(line),
			 "write: %s/%s blocks, %s, %s blocks/s, tree %u/%u, "
			 "ETA %s",
			 a, b, d, c, atomic_load(&pl->jobs_done), pl->njobs, e);
		*last_t = t;
		*last_v = done;
	} else {
		snprintf(line, sizeof(line), "commit: syncing to disk");
	}
	/* one line: never wider than the terminal */
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
	    strlen(line) >= ws.ws_col)
		line[ws.ws_col - 1] = '\0';
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* The writer's LMDB pages are malloc()ed one page at a time from the main
 * arena, which grows at the top of the heap (M_TOP_PAD at a time, see
 * cmd_build.c). The first touch of fresh memory is expensive (on the VMs
 * this was measured on, ~0.3 GB/s in 4 KiB pages); while the writer works,
 * fault in the newest part of the heap from this otherwise idle thread.
 * MADV_POPULATE_WRITE maps pages without changing their contents, so it is
 * harmless on memory malloc has handed out; an older kernel refuses it
 * and nothing happens. */
static void prefault_heap(void)
{
	static const uintptr_t span = (uintptr_t)64 << 20;
	uintptr_t top = (uintptr_t)sbrk(0) & ~(uintptr_t)4095;
	if (top > span)
		madvise((void *)(top - span), span, MADV_POPULATE_WRITE);
}

static void *monitor_main(void *arg)
{
	struct pipeline *pl = arg;
	double start = now_s(), last_print = 0, last_t = start, last_wb = 0;
	uint64_t last_v = 0;
	int printed = 0;
	pthread_mutex_lock(&pl->mlock);
	while (!pl->mon_done) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pl->mcond, &pl->mlock, &ts);
		if (pl->mon_done)
			break;
		pthread_mutex_unlock(&pl->mlock);
		sorter_pool_trim(pl->pool, TRIM_KEEP);
		if (atomic_load(&pl->phase) == 1) {
			prefault_heap();
			/* the disk writes the fsync would wait for, now */
			if (pl->store && now_s() - last_wb >= WRITEBACK_EVERY) {
				store_writeback(pl->store);
				last_wb = now_s();
			}
		}
		double t = now_s();
		if (pl->o->progress && t - last_print >= 0.25) {
			if (atomic_load(&pl->phase) == 1 && last_v == 0)
				last_t = t - 0.25;
			progress_print(pl, start, &last_t, &last_v);
			last_print = t;
			printed = 1;
		}
		pthread_mutex_lock(&pl->mlock);
	}
	pthread_mutex_unlock(&pl->mlock);
	if (printed) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	return NULL;
}

/* -------------------------------------------------------------- main */

/* Line numbers and messages of the malformed lines, once reading ended. */
static int report_bad(struct pipeline *pl, uint64_t nbad)
{
	for (size_t i = 1; i < pl->ncl; i++)
		pl->chunk_lines[i] += pl->chunk_lines[i - 1];
	for (size_t i = 0; i < pl->nbad; i++) {
		const struct bad_line *b = &pl->bad[i];
		uint64_t base = b->seq ? pl->chunk_lines[b->seq - 1] : 0;
		if (!pl->o->skip_bad)
			return err_set(-EINVAL, "%s:%llu: %s", pl->name,
				       (unsigned long long)(base + b->line),
				       b->msg);
		fprintf(stderr, "hamt build: %s:%llu: %s (line skipped)\n",
			pl->name, (unsigned long long)(base + b->line), b->msg);
	}
	if (nbad > pl->nbad)
		fprintf(stderr,
			"hamt build: ... and %llu more malformed lines "
			"skipped\n",
			(unsigned long long)(nbad - pl->nbad));
	return 0;
}

/* 1 if dir holds an LMDB data file (a store, or something to refuse). */
static int store_exists(const char *dir)
{
	struct stat sb;
	size_t n = strlen(dir);
	char *p = malloc(n + sizeof("/data.mdb"));
	if (!p)
		return 0;
	memcpy(p, dir, n);
	memcpy(p + n, "/data.mdb", sizeof("/data.mdb"));
	int r = stat(p, &sb) == 0;
	free(p);
	return r;
}

static int start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	int e = pthread_create(th, NULL, fn, arg);
	return e ? err_set(-e, "cannot start a thread: %s", strerror(e)) : 0;
}

static int run_workers(struct pipeline *pl, void *(*fn)(void *))
{
	int rc = 0;
	for (unsigned i = 0; i < pl->nw; i++) {
		if ((rc = start(&pl->w[i].th, fn, &pl->w[i])) != 0) {
			pl_fail(pl, rc);
			break;
		}
		pl->w[i].running = 1;
	}
	for (unsigned i = 0; i < pl->nw; i++) {
		if (pl->w[i].running)
			pthread_join(pl->w[i].th, NULL);
		pl->w[i].running = 0;
	}
	return rc;
}

int pipeline_run(const struct pipeline_opts *o, struct cid *root,
		 struct pipeline_stats *st)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));
	pthread_t mon;
	int mon_on = 0, rc;
	if (!pl)
		return err_set(-ENOMEM, "out of memory");
	memset(st, 0, sizeof(*st));
	pl->o = o;
	pl->name = o->input && strcmp(o->input, "-") ? o->input : "stdin";
	pl->fd = -1;
	atomic_init(&pl->lease, -1);
	pl->nw = o->threads ? o->threads : 1;
	pl->chunk = o->chunk ? o->chunk : CHUNK_DEFAULT;
	pl->t0 = now_s();
	atomic_init(&pl->stop_seq, UINT64_MAX);
	pthread_mutex_init(&pl->rlock, NULL);
	pthread_mutex_init(&pl->lock, NULL);
	pthread_mutex_init(&pl->wlock, NULL);
	pthread_cond_init(&pl->wcond, NULL);
	pthread_mutex_init(&pl->mlock, NULL);
	pthread_cond_init(&pl->mcond, NULL);
	if ((rc = hamt_bulk_new(&pl->bulk, &o->params)) != 0)
		goto out;
	pl->hash_len = hamt_bulk_hash_len(pl->bulk);
	if (o->params.bit_width >= 8) {
		pl->njobs = 256;
		pl->parts_per_job = 1;
	} else {
		pl->njobs = 1u << o->params.bit_width;
		pl->parts_per_job = 256u >> o->params.bit_width;
	}
	/* an existing store is opened now (a bad one fails before reading);
	 * a new one is made only once the input has been read */
	if (o->store)
		pl->store = o->store;
	else if (o->store_dir && store_exists(o->store_dir) &&
		 (rc = store_open(&pl->store, o->store_dir, 0)) != 0)
		goto out;
	struct stat sb;
	if (o->store_dir && !pl->store && stat(o->store_dir, &sb) == 0 &&
	    !S_ISDIR(sb.st_mode)) {
		rc = err_set(-ENOTDIR, "store %s: not a directory",
			     o->store_dir);
		goto out;
	}
	if ((rc = sorter_pool_new(&pl->pool)) != 0)
		goto out;
	pl->w = calloc(pl->nw, sizeof(*pl->w));
	if (!pl->w) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < pl->nw; i++) {
		struct worker *w = &pl->w[i];
		w->pl = pl;
		w->id = i;
		if ((rc = sorter_new(&w->ents, pl->pool, &ENT_KIND,
				     o->spill_dir)) != 0 ||
		    (rc = sorter_new(&w->recs, pl->pool, &BLK_KIND,
				     o->spill_dir)) != 0 ||
		    (rc = sorter_new(&w->nodes, pl->pool, &BLK_KIND,
				     o->spill_dir)) != 0)
			goto out;
	}
	if ((rc = input_open(pl)) != 0)
		goto out;
	if ((rc = start(&mon, monitor_main, pl)) != 0)
		goto out;
	mon_on = 1;

	/* 1. read */
	pl->byref =
	    pl->mapped && pl->map && o->link && o->in.codec == CODEC_RAW;
	run_workers(pl, read_main);
	double t_read = now_s();
	st->t_read = t_read - pl->t0;
	st->input_bytes = atomic_load(&pl->bytes_done);
	for (unsigned i = 0; i < pl->nw; i++) {
		struct worker *w = &pl->w[i];
		st->lines += w->lines;
		st->records += w->records;
		st->entries += w->entries;
		st->no_key += w->no_key;
		st->ignored += w->ignored;
		st->bad_lines += w->bad;
		pl->blocks_total += sorter_count(w->recs);
	}
	if (o->after_read)
		o->after_read(o->after_read_arg);
	if (pl->byref) {
		/* the records are read from the mapping again */
		plan_groups(pl, o->group ? o->group : GROUP_DEFAULT);
		pl->prep_next = NPART_ENT;
		if (pl->ngroups == 0) /* no record to copy back */
			input_release(pl);
	} else {
		input_close(pl);
		pl->fd = -1;
		pl->map = NULL;
	}
	if (atomic_load(&pl->failed)) {
		rc = err_set(pl->rc, "%s", pl->msg);
		goto out;
	}
	if ((rc = report_bad(pl, st->bad_lines)) != 0)
		goto out;
	if (!pl->store && o->store_dir &&
	    (rc = store_open(&pl->store, o->store_dir, STORE_CREATE)) != 0)
		goto out;

	/* 2.+3. build (threads) and write (this thread) */
	atomic_store(&pl->phase, 1);
	unsigned started = 0;
	for (; started < pl->nw; started++) {
		if ((rc = start(&pl->w[started].th, build_main,
				&pl->w[started])) != 0) {
			pl_fail(pl, rc);
			break;
		}
	}
	write_main(pl);
	for (unsigned i = 0; i < started; i++)
		pthread_join(pl->w[i].th, NULL);
	if (atomic_load(&pl->failed)) {
		rc = err_set(pl->rc, "%s", pl->msg);
		goto out;
	}
	st->keys = pl->hs.keys;
	st->node_blocks = pl->hs.blocks;
	st->node_bytes = pl->hs.bytes;
	st->depth = pl->hs.depth;
	st->t_build = pl->t_built - t_read;
	*root = pl->root;
	st->t_write = pl->t_write_end - t_read;
	st->t_commit = pl->t_commit;
	st->blocks = pl->w_blocks;
	st->bytes = pl->w_bytes;
	st->present = pl->w_present;
	rc = 0;
out:
	if (mon_on) {
		pthread_mutex_lock(&pl->mlock);
		pl->mon_done = 1;
		pthread_cond_signal(&pl->mcond);
		pthread_mutex_unlock(&pl->mlock);
		pthread_join(mon, NULL);
	}
	if (pl->pool)
		st->mem_peak = sorter_pool_peak(pl->pool);
	st->spills = pl->ent_runs;
	st->groups = pl->ngroups;
	if (pl->w) {
		for (unsigned i = 0; i < pl->nw; i++) {
			struct worker *w = &pl->w[i];
			/* any of them may be missing after a failed start */
			if (w->ents)
				st->spills += sorter_runs(w->ents);
			if (w->recs)
				st->spills += sorter_runs(w->recs);
			if (w->nodes)
				st->spills += sorter_runs(w->nodes);
			sorter_free(w->ents);
			sorter_free(w->recs);
			sorter_free(w->nodes);
			input_scratch_free(&w->scratch);
			sorter_scratch_free(&w->sx);
			arena_free(&w->ar);
			free(w->it);
			free(w->links);
			buf_free(&w->val);
			free(w->rbuf);
		}
		free(pl->w);
	}
	for (unsigned p = 0; p < NPART_BLK; p++)
		sorter_merge_close(pl->prep_m[p]);
	for (int i = 0; i < PREP_AHEAD; i++)
		sorter_scratch_free(&pl->prep_sx[i]);
	for (int i = 0; i < GSLOTS; i++) {
		struct gslot *g = &pl->gs[i];
		free(g->buf);
		free(g->ents);
		free(g->ci);
		sorter_scratch_free(&g->sx);
	}
	if (pl->fd >= 0)
		input_close(pl);
	st->t_total = now_s() - pl->t0;
	sorter_pool_free(pl->pool);
	if (pl->store != o->store)
		store_close(pl->store);
	hamt_bulk_free(pl->bulk);
	free(pl->chunk_lines);
	free(pl->left);
	pthread_mutex_destroy(&pl->rlock);
	pthread_mutex_destroy(&pl->lock);
	pthread_mutex_destroy(&pl->wlock);
	pthread_cond_destroy(&pl->wcond);
	pthread_mutex_destroy(&pl->mlock);
	pthread_cond_destroy(&pl->mcond);
	free(pl);
	return rc;
}
