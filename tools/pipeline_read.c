/* pipeline_read.c - the input and the read phase of the parallel build
 * (pipeline.c has the overview): the input is cut into chunks of whole
 * lines (a regular file by offset, each reader reading its chunks with
 * pread into a buffer of its own; anything else is read in turn); every
 * reader parses its chunks and appends key entries and record blocks (or,
 * for a regular file, references to them) to its own sorters, spilling
 * them past the memory budget.
 *
 * A chunk of a regular file is mapped (MAP_POPULATE: the page-table
 * entries of the whole chunk in one call, no fault per page) where the read
 * lease holds back any process that would truncate the file (a mapped page
 * past the end of a shrunk file raises SIGBUS; pl_stopped() checks the
 * lease before each chunk) and mapping has proved the cheaper way for this
 * file (tools/refcopy.h: on one machine mapping a cached 3.1 GB file cost
 * a tenth of what pread cost to copy it; on another, from a file just
 * written, several times more); else it is read with pread into the
 * worker's buffer.
 */
#include "tools/pipeline_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hamt/err.h"
#include "hamt/hash.h"
#include "store/store.h"
#include "tools/gzin.h"
#include "tools/inputlease.h"
#include "tools/refcopy.h"
#include "tools/sorter.h"

/* ------------------------------------------------------------- input */

/* N bytes of a regular file at OFF: all of them, or an error (a file
 * shorter than when it was opened has changed under the build). */
static int pread_full(const struct pipeline *pl, uint8_t *p, size_t n,
		      uint64_t off)
{
	while (n) {
		ssize_t r = pread(pl->fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(-errno, "%s: read at byte %llu: %s",
				       pl->name, (unsigned long long)off,
				       strerror(errno));
		if (r == 0)
			return pl_input_changed(pl, "it is shorter than when "
						    "it was opened");
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int read_some(struct pipeline *pl, uint8_t *p, size_t n, size_t *got)
{
	if (pl->gz) {
		int rc = gzin_read(pl->gz, p, n, got);
		atomic_store(&pl->gz_in, gzin_consumed(pl->gz));
		return rc;
	}
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

/* The first bytes of the input (at most 2), to tell gzip from text: of a
 * regular file of `size` bytes by pread (nothing consumed), of anything
 * else by read, and then they are the first bytes the reader takes
 * (pl->left). */
static int peek_start(struct pipeline *pl, int regular, uint64_t size,
		      uint8_t *p, size_t *n)
{
	if (regular) {
		*n = size < 2 ? (size_t)size : 2;
		return pread_full(pl, p, *n, 0);
	}
	*n = 0;
	while (*n < 2) {
		size_t got = 0;
		int rc = read_some(pl, p + *n, 2 - *n, &got);
		if (rc)
			return rc;
		if (got == 0)
			break;
		*n += got;
	}
	return 0;
}

int pl_input_open(struct pipeline *pl)
{
	const char *path = pl->o->input;
	struct stat st;
	uint8_t head[2];
	size_t nhead = 0;
	int rc;
	pl->fd = 0;
	if (path && strcmp(path, "-") != 0) {
		pl->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (pl->fd < 0)
			return err_set(-errno, "%s: %s", path, strerror(errno));
	}
	int regular = fstat(pl->fd, &st) == 0 && S_ISREG(st.st_mode);
	if ((rc = peek_start(pl, regular, regular ? (uint64_t)st.st_size : 0,
			     head, &nhead)) != 0)
		return rc;
	if (gzin_magic(head, nhead)) {
		/* gzip: decompressed as read, in turn, like a pipe (a
		 * regular file's offsets are of no use) */
		if (regular)
			pl->gz_size = (uint64_t)st.st_size;
		return gzin_open(&pl->gz, pl->fd, pl->name,
				 regular ? NULL : head, regular ? 0 : nhead);
	}
	if (!regular) {
		if (nhead) {
			if (!(pl->left = malloc(sizeof(head))))
				return err_set(-ENOMEM, "out of memory");
			memcpy(pl->left, head, nhead);
			pl->nleft = pl->capleft = nhead;
		}
		return 0;
	}
	pl->size = (uint64_t)st.st_size;
	pl->mtime = st.st_mtim;
	pl->regular = 1;
	pl->nchunks = (pl->size + pl->chunk - 1) / pl->chunk;
	if (pl->size) {
		/* a hint: its failure changes nothing */
		(void)posix_fadvise(pl->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		/* a writer now waits for us to let go of the file */
		atomic_store(&pl->lease, inputlease_take(pl->fd));
	}
	pl->chunk_lines = calloc(pl->nchunks + 1, sizeof(uint64_t));
	if (!pl->chunk_lines)
		return err_set(-ENOMEM, "out of memory");
	pl->ncl = pl->nchunks + 1;
	return 0;
}

/* Let a writer held back by the input's lease go on. */
void pl_input_release(struct pipeline *pl)
{
	inputlease_release(atomic_exchange(&pl->lease, -1));
}

void pl_input_close(struct pipeline *pl)
{
	pl_input_release(pl);
	gzin_close(pl->gz);
	pl->gz = NULL;
	if (pl->fd > 0)
		close(pl->fd);
}

/* Start of chunk c of a regular file: just after the first newline at or
 * after byte c*CHUNK-1 (or its end). */
static int boundary(const struct pipeline *pl, uint64_t c, uint64_t *at)
{
	uint8_t buf[16384];
	if (c == 0 || c >= pl->nchunks) {
		*at = c == 0 ? 0 : pl->size;
		return 0;
	}
	for (uint64_t i = c * pl->chunk - 1; i < pl->size;) {
		size_t n = pl->size - i < sizeof(buf) ? (size_t)(pl->size - i)
						      : sizeof(buf);
		int rc = pread_full(pl, buf, n, i);
		if (rc)
			return rc;
		const uint8_t *nl = memchr(buf, '\n', n);
		if (nl) {
			*at = i + (uint64_t)(nl - buf) + 1;
			return 0;
		}
		i += n;
	}
	*at = pl->size;
	return 0;
}

/* Let go of the mapped chunk, if any. */
static void chunk_unmap(struct worker *w)
{
	if (w->rmap)
		munmap(w->rmap, w->rmaplen);
	w->rmap = NULL;
}

/* Bytes [a, a + n) of a regular file into the worker: mapped under the
 * lease where the read phase's tries found mapping cheaper than reading
 * (tools/refcopy.h: each chunk's CPU time, parsing included, from here to
 * the worker's next chunk), else (no lease, no address space for it)
 * read into its buffer. */
static int chunk_bytes(struct worker *w, uint64_t a, size_t n)
{
	struct pipeline *pl = w->pl;
	w->ct0 = refcopy_lap(&pl->read_cost, w->rmap != NULL, w->ct0, w->clen);
	w->clen = n;
	chunk_unmap(w);
	if (n && atomic_load(&pl->lease) >= 0 &&
	    refcopy_use_map(&pl->read_cost) &&
	    (w->rdata = refcopy_map_range(pl->fd, a, n, &w->rmap,
					  &w->rmaplen)) != NULL)
		return 0;
	if (w->rcap < n) {
		uint8_t *p = realloc(w->rbuf, n);
		if (!p)
			return err_set(-ENOMEM,
				       "out of memory (a %zu-byte "
				       "chunk of %s)",
				       n, pl->name);
		w->rbuf = p;
		w->rcap = n;
	}
	w->rdata = w->rbuf;
	return pread_full(pl, w->rbuf, n, a);
}

/* The next chunk of whole lines: 1, 0 at the end, <0 error. */
static int chunk_next(struct worker *w, const char **data, size_t *len,
		      uint64_t *seq)
{
	struct pipeline *pl = w->pl;
	int rc = 0;
	if (pl->regular) {
		uint64_t c = atomic_fetch_add(&pl->next_chunk, 1), a, b;
		if (c >= pl->nchunks)
			return 0;
		if ((rc = boundary(pl, c, &a)) != 0 ||
		    (rc = boundary(pl, c + 1, &b)) != 0)
			return rc;
		size_t n = (size_t)(b - a);
		if ((rc = chunk_bytes(w, a, n)) != 0)
			return rc;
		if (pl->o->after_chunk)
			pl->o->after_chunk(pl->o->after_chunk_arg);
		w->rbase = a;
		w->rlen = n;
		*data = (const char *)w->rdata;
		*len = n;
		*seq = c;
		return 1;
	}
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
			w->rdata = w->rbuf;
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
			/* the record as it stands in the file, or (if the
			 * parser made it) inline */
			uintptr_t d = (uintptr_t)r.data,
				  m = (uintptr_t)w->rdata;
			int in_file = d >= m && d - m <= w->rlen &&
				      r.len <= w->rlen - (d - m);
			uint64_t off =
			    in_file ? w->rbase + (uint64_t)(d - m) : REF_INLINE;
			uint32_t l = (uint32_t)r.len;
			if ((rc = sorter_add(w->recs, part,
					     REF_HDR + (in_file ? 0 : r.len),
					     &dst)) != 0)
				return rc;
			memcpy(dst, digest, DIGEST_LEN);
			memcpy(dst + DIGEST_LEN, &l, 4);
			memcpy(dst + DIGEST_LEN + 4, &off, 8);
			if (!in_file)
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
		    (atomic_load(&pl->stop_seq) < seq || pl_stopped(pl)))
			return 0;
	}
	return note_lines(pl, seq, line);
}

int pl_spill_check(struct worker *w, struct sorter *a, struct sorter *b)
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

void *pl_read_main(void *arg)
{
	struct worker *w = arg;
	struct pipeline *pl = w->pl;
	for (;;) {
		const char *data = NULL;
		size_t len = 0;
		uint64_t seq = 0;
		if (pl_stopped(pl))
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
		if (!rc)
			rc = pl_spill_check(w, w->ents, w->recs);
		if (rc) {
			pl_fail(pl, rc);
			break;
		}
		atomic_fetch_add(&pl->bytes_done, len);
		atomic_fetch_add(&pl->recs_done, w->records - before);
	}
	chunk_unmap(w);
	return NULL;
}
