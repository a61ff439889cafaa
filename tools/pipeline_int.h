/* pipeline_int.h - internals shared by the files of the parallel bulk
 * build behind pipeline.h (pipeline.c, pipeline_read.c, pipeline_build.c,
 * pipeline_groups.c, pipeline_write.c): the constants, the helpers of the
 * sorters' record layouts, the state (struct pipeline, its workers and
 * group slots) and the functions one file calls in another. The overview
 * (threads, record layouts, locks) is at the top of pipeline.c.
 */
#ifndef TOOLS_PIPELINE_INT_H
#define TOOLS_PIPELINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "hamt/buf.h"
#include "hamt/bulk.h"
#include "hamt/cid.h"
#include "hamt/hamt.h"
#include "tools/input.h"
#include "tools/pipeline.h"
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
#define BUILDER_NICE 5	       /* builders yield to the writer */
/* Record bytes per write group (pipeline_group_bytes): a twelfth of the memory
 * budget within these bounds: the GSLOTS buffers take at most a sixth more than
 * a budget of 1.5 GiB or more (their indexes aside), more below it. Each
 * group reads the whole input again (its records are spread over all of it): a
 * 10M-record build (3.1 GB) with 128 MiB groups made 22 passes and 8.9-11.3 s,
 * with 256 MiB 11 passes and 8.3-11.1 s, the same runs interleaved; 512 MiB was
 * slower again (the writer waits longer for the first group and the last one is
 * written alone). Not below 128 MiB, the size before it followed the budget: a
 * twelfth of a small budget would read a large input hundreds of times (64 MiB
 * of --mem, 16 MiB groups: 195 passes over that 3.1 GB). */
#define GROUP_MIN ((uint64_t)128 << 20)
#define GROUP_MAX ((uint64_t)256 << 20)
#define GSLOTS 2			  /* groups filled at once */
#define REFCOPY_CHUNK ((size_t)256 << 10) /* bytes read back at a time */
#define REFCOPY_WINDOW ((size_t)64 << 20) /* or mapped at a time */
/* A group's copy is split in this many stretches of the input: a fill
 * takes about twice as long as writing the group, and a thread waiting for
 * it (the writer, an idle builder) takes stretches of it meanwhile; each
 * stretch re-reads at most one window of the one before it. */
#define COPY_PIECES 8
#define REF_HDR (DIGEST_LEN + 12)
#define REF_INLINE UINT64_MAX
#define WRITEBACK_EVERY 0.5 /* seconds between writeback starts */

/* ------------------------------------------------------ record kinds */

static inline uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b,
			    size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : (al > bl ? 1 : 0);
}

/* Raw blocks sort before DAG-CBOR ones (binary CIDs 01 55 12 20 ... and
 * 01 71 12 20 ...), then by digest. */
static inline unsigned blk_part(uint64_t codec, const uint8_t *digest)
{
	return (codec == CODEC_DAG_CBOR ? 256u : 0u) | digest[0];
}

/* The binary CID of a block of partition p. */
static inline void blk_cid(unsigned p, const uint8_t *digest, uint8_t *cid)
{
	cid[0] = 1;
	cid[1] = p >= 256 ? CODEC_DAG_CBOR : CODEC_RAW;
	cid[2] = MH_SHA2_256;
	cid[3] = DIGEST_LEN;
	memcpy(cid + 4, digest, DIGEST_LEN);
}

/* The DAG-CBOR of a link to a sha2-256 CIDv1: tag 42, bytes(37), 0x00,
 * the CID. */
static inline void link_encode(uint64_t codec, const uint8_t *digest,
			       uint8_t *out)
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
	size_t n, cap, used, size; /* size: of the newest block */
	size_t size0;		   /* of the first, kept on reset */
};

struct worker {
	struct pipeline *pl;
	unsigned id;
	pthread_t th;
	int running;
	struct sorter *ents, *recs, *nodes;
	struct input_scratch scratch;
	struct buf val;
	uint8_t *rbuf; /* the chunk being parsed, as read ... */
	size_t rcap;
	const uint8_t *rdata; /* ... or mapped: its bytes are here */
	void *rmap;	      /* the mapping (rdata is in it), or NULL */
	size_t rmaplen;
	uint64_t rbase;	    /* a regular file: the offset of rdata[0] ... */
	size_t rlen;	    /* ... and the chunk's length */
	uint64_t ct0, clen; /* the chunk's start (refcopy_now) and bytes */
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
	uint8_t *buf; /* its part of pl->gbuf, once filled */
	uint8_t *win; /* REFCOPY_CHUNK bytes: refcopy's window on the input */
	struct gent *ents; /* bigbufs (tools/bigbuf.h) of entlen, cilen bytes */
	size_t nents, entlen;
	/* the pieces of a fill this slot leads (tools/pipeline_groups.c):
	 * the items (their dst in pl->gbuf) in the first half of ci,
	 * refcopy's radix buffer in the second */
	struct refcopy_item *ci;
	size_t nci, cilen;
	struct sorter_scratch sx;
	int busy;
	/* the copy of the fill this slot leads, in COPY_PIECES stretches of
	 * ci (in file order) that any thread waiting for a slot or a group
	 * takes a share of (wlock guards these) */
	unsigned pieces;     /* 0: no copy open */
	unsigned next_piece; /* the next one to take */
	unsigned pieces_done;
	int copy_rc;   /* the first piece's error, or 0 */
	int copy_warm; /* every buffer the copy fills was filled before */
	int lead;      /* the slot that leads the fill of this one */
	int warm;      /* the buffer was filled before (its pages are in) */
};

struct store_new;

struct pipeline {
	const struct pipeline_opts *o;
	const char *name; /* the input, for messages */
	size_t hash_len;
	/* input */
	int fd;
	uint64_t size;
	struct timespec mtime; /* of a regular file, when opened */
	atomic_int lease;      /* inputlease handle of a regular file, or -1 */
	/* mapping or reading the input (refcopy.h): in the read phase, and
	 * in the write groups */
	struct refcopy_cost read_cost, map_cost;
	atomic_uint groups_copied; /* groups whose records are copied back */
	atomic_uint passes;	   /* copies from the input that did so */
	int regular;	  /* a regular file: cut by offset, read with pread */
	struct gzin *gz;  /* gzip input (read in turn), or NULL */
	uint64_t gz_size; /* of a gzip regular file (for progress), or 0 */
	atomic_uint_fast64_t gz_in; /* compressed bytes read so far */
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
	uint8_t *gbuf; /* the slots' buffers, group_cap bytes each (a bigbuf) */
	uint8_t gstate[NPART_ENT];
	int gslot_of[NPART_ENT];
	struct gslot gs[GSLOTS];
	struct cid root;
	struct store *store;
	/* a new store, made beside o->store_dir and moved there at the end */
	struct store_new *fresh;
	uint64_t w_blocks, w_bytes, w_present;
	double t_write_end, t_commit;
	/* progress */
	atomic_int phase; /* 0 read, 1 build+write, 2 commit, 3 done */
	/* the monitor's prefault of the heap (pipeline.c): bytes still to
	 * fault in, and the top of what it did */
	uint64_t pf_left;
	uintptr_t pf_hi;
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

#define LEASE_BROKEN "another process opened it for writing or truncated it"

/* pipeline.c: the failure and stop helpers */
double pl_now_s(void);
int pl_fail(struct pipeline *pl, int rc);
int pl_input_changed(const struct pipeline *pl, const char *how);
/* 1 if the build is to stop: a failure, a broken input lease, *o->stop */
int pl_stopped(struct pipeline *pl);

/* pipeline_read.c: the input and the read phase */
int pl_input_open(struct pipeline *pl);
void pl_input_release(struct pipeline *pl);
void pl_input_close(struct pipeline *pl);
int pl_spill_check(struct worker *w, struct sorter *a, struct sorter *b);
void *pl_read_main(void *arg); /* a reader thread: arg is its worker */

/* pipeline_build.c: the build phase */
void pl_arena_free(struct arena *a);
void *pl_build_main(void *arg); /* a builder thread: arg is its worker */

/* pipeline_groups.c: the write groups of a regular file (byref) */
void pl_plan_groups(struct pipeline *pl, uint64_t limit);
/* Unmap the slots' group buffers and free their windows (wlock held, or
 * no other thread left). */
void pl_groups_release(struct pipeline *pl);
/* The same, and the slots' entry arrays and scratch. */
void pl_groups_free(struct pipeline *pl);
/* An idle builder's share of the write groups: it fills the writer's next
 * groups (one pass over the input for every slot free) and copies
 * stretches of other threads' fills, until every group is filled. */
void pl_prepare_groups(struct pipeline *pl);
/* `*win` is the writer's refcopy window for a share of another thread's
 * copy, allocated on first use (NULL to start; the caller frees it). */
int pl_take_group(struct pipeline *pl, unsigned g, int *slot, uint8_t **win);
void pl_give_group(struct pipeline *pl, int slot);

/* pipeline_write.c: the partitions sorted ahead and the write phase */
void pl_prepare_ahead(struct pipeline *pl);
void pl_write_main(struct pipeline *pl);

#endif
