/* pipeline_groups.c - the write groups of a regular file ("byref"; see the
 * ref records in pipeline.c): the raw record partitions are split into
 * groups of at most a group's bytes; an idle builder (or the writer) fills
 * a group slot with a group's records, read back from the input in file
 * order into a buffer in CID order, GSLOTS slots in turn. Each pass reads
 * the whole input (a group's records are spread all over it), so one pass
 * fills every slot that is free when it starts: both at the start of the
 * write phase, and while the builders are still building and the writer
 * fills its own groups (10 passes instead of 11 for the 10M-record bench).
 * The copy from the input is split into COPY_PIECES stretches, which the
 * threads waiting for the group or for a free slot take a share of (on the
 * 2-vCPU VM of the 10M-record bench: 0.75 core-seconds idle instead of
 * 1.5, 0.3-0.8 s less wall time in each of four interleaved pairs of
 * runs).
 */
#include "tools/pipeline_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hamt/err.h"
#include "tools/bigbuf.h"
#include "tools/inputlease.h"
#include "tools/refcopy.h"
#include "tools/sorter.h"

/* ------------------------------------------------------------ groups */

uint64_t pipeline_group_bytes(uint64_t mem)
{
	uint64_t g = mem / 12;
	return g < GROUP_MIN ? GROUP_MIN : g > GROUP_MAX ? GROUP_MAX : g;
}

/* Split the raw partitions into groups of at most `limit` record bytes
 * (a partition bigger than that is a group of its own). */
void pl_plan_groups(struct pipeline *pl, uint64_t limit)
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

/* Room for NEED elements of SIZE bytes in the bigbuf *p of *bytes bytes,
 * grown by half again at least, as it grows once per partition of a group
 * (to the exact need, every partition would copy all those before it
 * wherever the buffer cannot be moved, e.g. under AddressSanitizer). */
static int grow(void **p, size_t *bytes, size_t need, size_t size)
{
	if (need > SIZE_MAX / size)
		return err_set(-ENOMEM, "out of memory (%zu entries)", need);
	return bigbuf_grow(p, bytes, need * size);
}

static int bad_ref(unsigned p)
{
	return err_set(-EIO,
		       "build: malformed record reference in "
		       "partition %u (a damaged spill file?)",
		       p);
}

/* The records of an input file are read again after the read phase:
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
		return pl_input_changed(pl, LEASE_BROKEN);
	if ((uint64_t)st.st_size != pl->size ||
	    st.st_mtim.tv_sec != pl->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != pl->mtime.tv_nsec)
		return pl_input_changed(pl, "its size or mtime is not what it "
					    "was");
	return 0;
}

/* One partition's refs, in CID order, into slot s (`*used` bytes of its
 * buffer taken so far); the pieces to copy from the input go to the fill's
 * lead slot, their dst in pl->gbuf (where s->buf starts at `base`). */
static int group_part(struct pipeline *pl, unsigned p, struct gslot *s,
		      struct gslot *lead, uint64_t base, uint64_t *used)
{
	struct sorter *src[pl->nw];
	struct sorter_merge *m = NULL;
	for (unsigned i = 0; i < pl->nw; i++)
		src[i] = pl->w[i].recs;
	int rc = sorter_merge_open(&m, src, pl->nw, p, &s->sx);
	if (rc)
		return rc;
	size_t more = (size_t)sorter_merge_total(m);
	if ((rc = grow((void **)&s->ents, &s->entlen, s->nents + more,
		       sizeof(*s->ents))) != 0 ||
	    (rc = grow((void **)&lead->ci, &lead->cilen, lead->nci + more,
		       2 * sizeof(*lead->ci))) != 0) {
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
			lead->ci[lead->nci++] = (struct refcopy_item){
			    .off = off, .dst = base + *used, .len = l};
		struct gent *e = &s->ents[s->nents++];
		memcpy(e->digest, r, DIGEST_LEN);
		e->dst = *used;
		e->len = l;
		*used += l;
	}
	sorter_merge_close(m);
	return rc < 0 ? rc : 0;
}

/* The slots' group buffers: one bigbuf (the first touch of fresh memory
 * is what the write phase pays most for, and a huge page costs far less
 * than 512 small ones), slot i's at i * gbuf_len(); one mapping, so that
 * the pieces of a fill of several slots all have their dst in it. */
static size_t gbuf_len(const struct pipeline *pl)
{
	return pl->group_cap ? (size_t)pl->group_cap : 1;
}

void pl_groups_release(struct pipeline *pl)
{
	bigbuf_free(pl->gbuf, GSLOTS * gbuf_len(pl));
	pl->gbuf = NULL;
	for (int i = 0; i < GSLOTS; i++) {
		struct gslot *s = &pl->gs[i];
		free(s->win);
		s->buf = s->win = NULL;
		s->warm = 0;
	}
}

void pl_groups_free(struct pipeline *pl)
{
	pl_groups_release(pl);
	for (int i = 0; i < GSLOTS; i++) {
		struct gslot *s = &pl->gs[i];
		bigbuf_free(s->ents, s->entlen);
		bigbuf_free(s->ci, s->cilen);
		s->ents = NULL;
		s->ci = NULL;
		s->entlen = s->cilen = 0;
		sorter_scratch_free(&s->sx);
	}
}

/* refcopy's check before each window of the mapped input. */
static int input_check(void *arg)
{
	return input_unchanged(arg);
}

/* Copy stretch k of the copy open in (lead) slot s, with `win` (wlock not
 * held); a failure stops the build (its message is this thread's). */
static int copy_piece(struct pipeline *pl, struct gslot *s, unsigned k,
		      uint8_t *win)
{
	size_t a = s->nci * k / s->pieces, b = s->nci * (k + 1) / s->pieces;
	/* mapped only under the read lease: a process that would truncate
	 * the file waits for this one, which learns of it before its next
	 * window (a page past the end of a shrunk file raises SIGBUS) */
	struct refcopy_map map = {REFCOPY_WINDOW, input_check, pl,
				  &pl->map_cost};
	/* A fresh buffer is read into, untimed: the copy's CPU time per
	 * byte is what refcopy chooses between mapping and reading by, and
	 * the first copy into a buffer faults in nearly all of it, charged
	 * to whichever way is tried first (a 10M build measured mapping at
	 * 3.7 ns/B and reading at 0.1 that way; into warm buffers, 0.33-0.41
	 * against 0.12-0.18) */
	int rc = pl_stopped(pl) ? -ECANCELED : 0;
	if (!rc)
		rc = refcopy_copy(
		    pl->fd, pl->name, pl->size, s->ci + a, b - a, pl->gbuf, win,
		    REFCOPY_CHUNK,
		    s->copy_warm && atomic_load(&pl->lease) >= 0 ? &map : NULL);
	if (rc && rc != -ECANCELED)
		pl_fail(pl, rc);
	return rc;
}

/* Take and copy stretches of slot s's open copy while there are any
 * (wlock held on entry and exit, not while copying); 1 if it took one. */
static int help_copy(struct pipeline *pl, struct gslot *s, uint8_t *win)
{
	int took = 0;
	while (s->next_piece < s->pieces) {
		unsigned k = s->next_piece++;
		pthread_mutex_unlock(&pl->wlock);
		int rc = copy_piece(pl, s, k, win);
		pthread_mutex_lock(&pl->wlock);
		if (rc && !s->copy_rc)
			s->copy_rc = rc;
		s->pieces_done++;
		pthread_cond_broadcast(&pl->wcond);
		took = 1;
	}
	return took;
}

/* Help with a copy open in a slot, slot `first` (or -1) before the others
 * (wlock held); 1 if it took a stretch. */
static int help_any(struct pipeline *pl, int first, uint8_t **win)
{
	for (int j = first < 0 ? 0 : -1; j < GSLOTS; j++) {
		struct gslot *s = &pl->gs[j < 0 ? first : j];
		if (s->next_piece >= s->pieces)
			continue;
		if (!*win && !(*win = malloc(REFCOPY_CHUNK)))
			return 0; /* helping is optional */
		if (help_copy(pl, s, *win))
			return 1;
	}
	return 0;
}

/* Fill slots[0..k) with groups g..g+k-1, in one pass over the input: each
 * slot's records in CID order in its buffer. slots[0] leads: it holds the
 * pieces of them all and their copy. The refs' sorter pages go back to the
 * pool once their bytes are copied. */
static int group_fill(struct pipeline *pl, unsigned g, unsigned k,
		      const int *slots)
{
	struct gslot *lead = &pl->gs[slots[0]];
	int rc = 0, warm = 1;
	if (!lead->win && !(lead->win = malloc(REFCOPY_CHUNK)))
		return err_set(-ENOMEM, "out of memory (a %zu-byte window)",
			       REFCOPY_CHUNK);
	lead->nci = 0;
	for (unsigned j = 0; j < k && !rc; j++) {
		struct gslot *s = &pl->gs[slots[j]];
		uint64_t base = (uint64_t)slots[j] * gbuf_len(pl), used = 0;
		s->buf = pl->gbuf + base;
		s->nents = 0;
		warm &= s->warm;
		for (unsigned p = pl->gstart[g + j];
		     p < pl->gstart[g + j + 1] && !rc; p++)
			rc = pl_stopped(pl)
				 ? -ECANCELED
				 : group_part(pl, p, s, lead, base, &used);
	}
	if (!rc)
		rc = input_unchanged(pl);
	if (!rc)
		rc = refcopy_sort(pl->name, pl->size, lead->ci,
				  lead->ci +
				      lead->cilen / (2 * sizeof(*lead->ci)),
				  lead->nci);
	if (rc)
		return rc;
	/* open the copy to the threads that wait, take stretches of it
	 * too, and wait for the ones they took */
	pthread_mutex_lock(&pl->wlock);
	lead->pieces = lead->nci ? COPY_PIECES : 0;
	lead->next_piece = lead->pieces_done = 0;
	lead->copy_rc = 0;
	lead->copy_warm = warm;
	pthread_cond_broadcast(&pl->wcond);
	help_copy(pl, lead, lead->win);
	while (lead->pieces_done < lead->pieces)
		pthread_cond_wait(&pl->wcond, &pl->wlock);
	rc = lead->copy_rc;
	lead->pieces = lead->next_piece = lead->pieces_done = 0;
	for (unsigned j = 0; j < k; j++)
		pl->gs[slots[j]].warm = 1;
	pthread_mutex_unlock(&pl->wlock);
	if (!rc)
		rc = input_unchanged(pl);
	if (!rc && lead->nci)
		atomic_fetch_add(&pl->passes, 1);
	/* the last group copied: the input is not read again */
	if (!rc && atomic_fetch_add(&pl->groups_copied, k) + k == pl->ngroups)
		pl_input_release(pl);
	if (!rc)
		for (unsigned p = pl->gstart[g]; p < pl->gstart[g + k]; p++)
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

/* Claim group g and those after it that nobody has claimed, one per free
 * slot while they are within GSLOTS of the writer's, and fill them in one
 * pass over the input (each pass reads all of it: on the 10M-record bench
 * a pass costs about 0.3 s of CPU). At least one slot must be free (wlock
 * held on entry and exit, not while filling). */
static void group_claim_fill(struct pipeline *pl, unsigned g)
{
	int slots[GSLOTS];
	unsigned k = 0;
	int rc = 0;
	for (int i = 0; i < GSLOTS; i++) {
		unsigned h = g + k;
		if (h >= pl->ngroups || h >= pl->wg + GSLOTS ||
		    pl->gstate[h] != 0)
			break;
		if (pl->gs[i].busy)
			continue;
		pl->gstate[h] = 1;
		pl->gs[i].busy = 1;
		pl->gslot_of[h] = i;
		slots[k++] = i;
		pl->gs[i].lead = slots[0];
	}
	if (k == 0) /* the caller saw a free slot and group g unclaimed */
		return;
	if (!pl->gbuf && !(pl->gbuf = bigbuf_alloc(GSLOTS * gbuf_len(pl))))
		rc = err_set(-ENOMEM,
			     "out of memory (%d group buffers of %llu bytes)",
			     GSLOTS, (unsigned long long)pl->group_cap);
	pthread_mutex_unlock(&pl->wlock);
	if (!rc)
		rc = group_fill(pl, g, k, slots);
	if (rc)
		pl_fail(pl, rc);
	pthread_mutex_lock(&pl->wlock);
	for (unsigned j = 0; j < k; j++)
		pl->gstate[g + j] = 2;
	pthread_cond_broadcast(&pl->wcond);
}

/* An idle builder fills the writer's next groups (GSLOTS at most), and
 * while it cannot start one, copies stretches of those being filled. */
void pl_prepare_groups(struct pipeline *pl)
{
	uint8_t *win = NULL; /* for stretches of another thread's fill */
	pthread_mutex_lock(&pl->wlock);
	for (;;) {
		unsigned g = pl->g_next;
		if (atomic_load(&pl->failed))
			break;
		if (g >= pl->ngroups) {
			if (help_any(pl, -1, &win))
				continue;
			break;
		}
		if (pl->gstate[g] != 0) {
			pl->g_next++;
			continue;
		}
		if (free_slot(pl) < 0 || g >= pl->wg + GSLOTS) {
			if (!help_any(pl, -1, &win))
				pthread_cond_wait(&pl->wcond, &pl->wlock);
			continue;
		}
		pl->g_next = g + 1;
		group_claim_fill(pl, g);
	}
	pthread_mutex_unlock(&pl->wlock);
	free(win);
}

/* The writer's group g, filled by a helper (the writer takes stretches of
 * its copy while it waits) or here; its slot index. */
int pl_take_group(struct pipeline *pl, unsigned g, int *slot, uint8_t **win)
{
	pthread_mutex_lock(&pl->wlock);
	pl->wg = g;
	pthread_cond_broadcast(&pl->wcond);
	for (;;) {
		if (atomic_load(&pl->failed))
			break;
		if (pl->gstate[g] == 2)
			break;
		if (pl->gstate[g] == 0 && free_slot(pl) >= 0)
			group_claim_fill(pl, g);
		else if (!help_any(pl,
				   pl->gstate[g] == 1
				       ? pl->gs[pl->gslot_of[g]].lead
				       : -1,
				   win))
			pthread_cond_wait(&pl->wcond, &pl->wlock);
	}
	pl->gstate[g] = 3;
	*slot = pl->gslot_of[g];
	pthread_mutex_unlock(&pl->wlock);
	return atomic_load(&pl->failed) ? -ECANCELED : 0;
}

void pl_give_group(struct pipeline *pl, int slot)
{
	pthread_mutex_lock(&pl->wlock);
	pl->gs[slot].busy = 0;
	pthread_cond_broadcast(&pl->wcond);
	pthread_mutex_unlock(&pl->wlock);
}
