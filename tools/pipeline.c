/* pipeline.c - read, sort, build and write in parallel (see pipeline.h).
 *
 * The build is split over five files, which share pipeline_int.h:
 *   pipeline_read.c    the input and the read phase
 *   pipeline_build.c   the build phase (the sub-trees, then the root)
 *   pipeline_groups.c  the write groups of a regular file ("byref")
 *   pipeline_write.c   the block partitions sorted ahead, the write phase
 *   pipeline.c         this overview, the sorters' record kinds, the
 *                      failure and stop helpers, the progress line, the
 *                      monitor thread and pipeline_run
 *
 * Threads: `threads` workers read and parse; then `threads` workers build
 * the sub-trees and, once out of build work, sort the writer's next block
 * partitions ahead of it (PREP_AHEAD at most); the writer is the main
 * thread (it alone uses the LMDB write transaction); the last builder to
 * finish encodes the root. A monitor thread prints the progress line,
 * gives free sort pages beyond the memory budget back to the kernel,
 * pre-faults the heap the writer's LMDB pages come from and starts the
 * disk writes of the pages the writer has written so far (store_writeback:
 * best effort; the commit's fsync is what counts).
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
 *   ref    (raw record blocks of a regular file, "byref")
 *          digest (32) | len (4, host) | offset in the input (8, host)
 *          [| data, when the offset is REF_INLINE]
 *          A copy of every record would double the memory the read phase
 *          touches (and fresh pages are what it pays most for); the writer
 *          gets the bytes back one group of partitions at a time, read
 *          back from the input in file order (tools/refcopy.h) into a group
 *          buffer by an idle builder (or by itself), GSLOTS buffers in
 *          turn, each pass over the input filling every buffer free when it
 *          starts; the threads that wait for a fill (the writer, a builder
 *          with no slot to fill) copy stretches of it meanwhile.
 *
 * Locks: pl->lock guards the failure, bad-line and line-count records;
 * pl->rlock the reading of an input that is not a regular file; pl->wlock/wcond
 * the nodes' readiness and the partitions sorted ahead; pl->mlock/mcond the
 * monitor's sleep. None is held while taking another.
 */
#include "tools/pipeline_int.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hamt/bulk.h"
#include "hamt/err.h"
#include "store/newstore.h"
#include "store/store.h"
#include "tools/bigbuf.h"
#include "tools/inputlease.h"
#include "tools/sorter.h"

/* ------------------------------------------------------ record kinds */

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

/* ------------------------------------------------------------- state */

double pl_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record the first fatal error (this thread's message) and stop all. */
int pl_fail(struct pipeline *pl, int rc)
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
int pl_input_changed(const struct pipeline *pl, const char *how)
{
	return err_set(-ESTALE,
		       "%s: the input file changed during the build (%s; "
		       "nothing was committed)",
		       pl->name, how);
}

int pl_stopped(struct pipeline *pl)
{
	if (atomic_load(&pl->failed))
		return 1;
	if (inputlease_broken(atomic_load(&pl->lease))) {
		pl_fail(pl, pl_input_changed(pl, LEASE_BROKEN));
		return 1;
	}
	if (pl->o->stop &&
	    atomic_load_explicit(pl->o->stop, memory_order_relaxed)) {
		err_set(-EINTR, "interrupted");
		pl_fail(pl, -EINTR);
		return 1;
	}
	return 0;
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
	double t = pl_now_s();
	int phase = atomic_load(&pl->phase);
	if (phase == 0) {
		uint64_t recs = atomic_load(&pl->recs_done);
		uint64_t bytes = atomic_load(&pl->bytes_done);
		double rate = recs / (t - start > 1e-3 ? t - start : 1e-3);
		fmt_count(a, sizeof(a), recs);
		fmt_count(b, sizeof(b), (uint64_t)rate);
		fmt_bytes(c, sizeof(c), bytes);
		/* gzip: by the compressed bytes */
		uint64_t size = pl->gz ? pl->gz_size : pl->size;
		uint64_t in = pl->gz ? atomic_load(&pl->gz_in) : bytes;
		double irate = in / (t - start > 1e-3 ? t - start : 1e-3);
		fmt_eta(e, sizeof(e),
			size && irate > 0 && in <= size
			    ? (double)(size - in) / irate
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
 * this was measured on, ~0.3 GB/s in 4 KiB pages), and the writer is the
 * build's bottleneck: while it works, this otherwise idle thread faults in
 * the free top of the heap (the part malloc has not handed out yet), a
 * step at a time, in huge pages where they fit, up to what the writer's
 * pages can take in all (pl->pf_left). MADV_POPULATE_WRITE maps pages without
 * changing their contents, so racing the writer for a page is harmless; an
 * older kernel refuses it and the writer faults them itself. */
#define PREFAULT_STEP ((uintptr_t)8 << 20)
#define PREFAULT_TICK ((uintptr_t)64 << 20)
/* in all, at most: LMDB's dirty pages for a step of the bulk load (about
 * 75 MiB, see store.c) and some */
#define PREFAULT_MAX ((uint64_t)160 << 20)
static void prefault_heap(struct pipeline *pl)
{
	uintptr_t top = (uintptr_t)sbrk(0) & ~(uintptr_t)4095;
	/* nothing new since the last tick: no need to ask malloc (which
	 * takes the writer's arena lock) */
	if (!pl->pf_left || top <= pl->pf_hi)
		return;
	struct mallinfo2 mi = mallinfo2();
	uintptr_t lo = (top - mi.keepcost + 4095) & ~(uintptr_t)4095;
	if (lo < pl->pf_hi)
		lo = pl->pf_hi;
	for (uintptr_t done = 0;
	     lo < top && pl->pf_left && done < PREFAULT_TICK;) {
		uintptr_t n = top - lo;
		if (n > PREFAULT_STEP)
			n = PREFAULT_STEP;
		if (n > pl->pf_left)
			n = (uintptr_t)pl->pf_left;
		/* in huge pages where whole ones fit (a hint: the heap is
		 * the writer's, its pages stay where they are) */
		const uintptr_t hp = BIGBUF_HUGE_PAGE;
		uintptr_t h0 = (lo + hp - 1) & ~(hp - 1),
			  h1 = (lo + n) & ~(hp - 1);
		if (h1 > h0)
			madvise((void *)h0, h1 - h0, MADV_HUGEPAGE);
		if (madvise((void *)lo, n, MADV_POPULATE_WRITE) != 0) {
			pl->pf_left = 0;
			break;
		}
		lo += n;
		done += n;
		pl->pf_hi = lo;
		pl->pf_left -= n;
	}
}

/* Bytes of memory the kernel could hand out now without swapping
 * (MemAvailable), or 0 where it does not say. */
static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long kb = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kb << 10;
}

/* The largest input file whose records are read back from it: the
 * write reads it once per group (pipeline_groups.c), which is cheap only
 * while it stays in the page cache; a larger one would be read from disk
 * again and again (a 50 GB dump in 256 MiB groups: 200 times), so its
 * records are copied as they are read instead (into the sorters, which
 * spill past the memory budget): read once, spilled once. */
static uint64_t reread_max(const struct pipeline_opts *o)
{
	if (o->reread_max)
		return o->reread_max;
	uint64_t avail = mem_available();
	if (avail == 0) {
		long pages = sysconf(_SC_AVPHYS_PAGES),
		     psize = sysconf(_SC_PAGESIZE);
		if (pages > 0 && psize > 0)
			avail = (uint64_t)pages * (uint64_t)psize;
	}
	return avail > o->mem ? avail - o->mem : 0;
}

static void *monitor_main(void *arg)
{
	struct pipeline *pl = arg;
	double start = pl_now_s(), last_print = 0, last_t = start, last_wb = 0;
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
		/* free sort pages are kept for reuse, up to the memory
		 * budget: one given back and taken again is a fresh page, and
		 * the first touch of those is what this build pays most for
		 * (the TLB flushes of giving them back cost the other threads
		 * too) */
		sorter_pool_trim(pl->pool, pl->o->mem);
		if (atomic_load(&pl->phase) == 1) {
			prefault_heap(pl);
			/* the disk writes the fsync would wait for, now */
			if (pl->store &&
			    pl_now_s() - last_wb >= WRITEBACK_EVERY) {
				store_writeback(pl->store);
				last_wb = pl_now_s();
			}
		}
		double t = pl_now_s();
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
	pl->t0 = pl_now_s();
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
	if ((rc = pl_input_open(pl)) != 0)
		goto out;
	if ((rc = start(&mon, monitor_main, pl)) != 0)
		goto out;
	mon_on = 1;

	/* 1. read */
	pl->byref = pl->regular && pl->size && o->link &&
		    o->in.codec == CODEC_RAW && pl->size <= reread_max(o);
	run_workers(pl, pl_read_main);
	double t_read = pl_now_s();
	st->t_read = t_read - pl->t0;
	st->input_bytes = atomic_load(&pl->bytes_done);
	st->gzip_bytes = pl->gz ? atomic_load(&pl->gz_in) : 0;
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
		/* the records are read back from the file */
		pl_plan_groups(pl, o->group ? o->group
					    : pipeline_group_bytes(o->mem));
		pl->prep_next = NPART_ENT;
		if (pl->ngroups == 0) /* no record to copy back */
			pl_input_release(pl);
	} else {
		pl_input_close(pl);
		pl->fd = -1;
	}
	if (atomic_load(&pl->failed)) {
		rc = err_set(pl->rc, "%s", pl->msg);
		goto out;
	}
	if ((rc = report_bad(pl, st->bad_lines)) != 0)
		goto out;
	if (!pl->store && o->store_dir) {
		/* a new store is made aside, without a sync or a spill until
		 * its end, and moved to its place only when it is done */
		if ((rc = store_new_begin(o->store_dir, &pl->fresh, &st->swept,
					  &st->swept_bytes)) != 0)
			goto out;
		const char *at =
		    pl->fresh ? store_new_path(pl->fresh) : o->store_dir;
		if ((rc = store_open(&pl->store, at,
				     STORE_CREATE |
					 (pl->fresh ? STORE_PRIVATE : 0))) != 0)
			goto out;
	}

	/* 2.+3. build (threads) and write (this thread) */
	if (pl->store)
		pl->pf_left = st->input_bytes < PREFAULT_MAX ? st->input_bytes
							     : PREFAULT_MAX;
	atomic_store(&pl->phase, 1);
	unsigned started = 0;
	for (; started < pl->nw; started++) {
		if ((rc = start(&pl->w[started].th, pl_build_main,
				&pl->w[started])) != 0) {
			pl_fail(pl, rc);
			break;
		}
	}
	pl_write_main(pl);
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
	if (!rc && pl->fresh) {
		/* committed and synced; closed (the monitor, which starts its
		 * writeback, is gone), it moves to its place */
		store_close(pl->store);
		pl->store = NULL;
		rc = store_new_publish(pl->fresh);
	} else if (rc && pl->fresh && rc != -ECANCELED && rc != -EINTR) {
		/* the message may name the private directory, which goes
		 * below: say what it was and that DIR was never made */
		char *m = strdup(err_msg());
		rc = err_set(rc,
			     "%s (the new store %s was being made in %s, "
			     "which is removed: nothing was made at %s)",
			     m ? m : "", o->store_dir,
			     store_new_path(pl->fresh), o->store_dir);
		free(m);
	}
	if (pl->pool)
		st->mem_peak = sorter_pool_peak(pl->pool);
	st->spills = pl->ent_runs;
	st->groups = pl->ngroups;
	st->passes = atomic_load(&pl->passes);
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
			pl_arena_free(&w->ar);
			bigbuf_free(w->it, w->itcap * sizeof(*w->it));
			bigbuf_free(w->links, w->itcap * LINK_LEN);
			buf_free(&w->val);
			free(w->rbuf);
		}
		free(pl->w);
	}
	for (unsigned p = 0; p < NPART_BLK; p++)
		sorter_merge_close(pl->prep_m[p]);
	for (int i = 0; i < PREP_AHEAD; i++)
		sorter_scratch_free(&pl->prep_sx[i]);
	pl_groups_free(pl);
	if (pl->fd >= 0)
		pl_input_close(pl);
	st->t_total = pl_now_s() - pl->t0;
	sorter_pool_free(pl->pool);
	if (pl->store != o->store)
		store_close(pl->store);
	store_new_free(pl->fresh); /* removed unless it was moved in place */
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
