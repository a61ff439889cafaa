/* sorter.h - external sorting of variable-length records, by partition.
 *
 * `hamt build` sorts two kinds of records: key entries by key hash (to
 * build the tree) and blocks by CID (to append them to LMDB in order).
 * Both keys are uniform hashes, so a record's partition (its first hash
 * byte) is known when it is made: each producing thread appends records to
 * its own sorter (no locks), into per-partition lists of pages; a
 * partition is sorted only when it is consumed, with a radix sort on a
 * 64-bit prefix of the key and a comparison for ties.
 *
 * When the records in memory pass the budget, a sorter is spilled: every
 * partition sorted and written in order to one run file (an unnamed
 * O_TMPFILE file in the spill directory, gone when closed or when the
 * process dies, even by SIGKILL). Reading a partition merges the sorted
 * in-memory records of any number of sorters with each sorter's runs
 * (k-way, with a heap).
 *
 * Memory: pages (64 KiB) come from a pool shared by all sorters, which
 * counts the bytes in use (the budget check) and recycles freed pages;
 * sorter_pool_trim() gives the free ones back to the kernel.
 *
 * Threads: the pool is thread-safe. A sorter is used by one thread at a
 * time; merges over sorters may run at the same time on disjoint
 * partitions once nothing is added to those sorters any more.
 */
#ifndef TOOLS_SORTER_H
#define TOOLS_SORTER_H

#include <stddef.h>
#include <stdint.h>

/* How records of one kind are ordered. */
struct sorter_kind {
	unsigned nparts; /* partitions, in sort order */
	/* The first 64 bits of the record's sort key below its partition
	 * (most significant first): records with different prefixes are
	 * ordered by it. */
	uint64_t (*prefix)(const uint8_t *rec, size_t len);
	/* Total order (<0, 0, >0); called for equal prefixes only. */
	int (*cmp)(const uint8_t *a, size_t alen, const uint8_t *b,
		   size_t blen);
};

struct sorter_pool;
struct sorter;
struct sorter_merge;

int sorter_pool_new(struct sorter_pool **out);
/* Free the pool; every sorter using it must be freed first. NULL: no-op. */
void sorter_pool_free(struct sorter_pool *p);
/* Bytes of pages handed out (and records stored apart) right now, and the
 * most there ever were. */
uint64_t sorter_pool_used(const struct sorter_pool *p);
uint64_t sorter_pool_peak(const struct sorter_pool *p);
/* Give free pages beyond `keep` bytes back to the kernel (they stay
 * reusable). */
void sorter_pool_trim(struct sorter_pool *p, uint64_t keep);

/* A new empty sorter; spill files go to `spill_dir` (copied). */
int sorter_new(struct sorter **out, struct sorter_pool *pool,
	       const struct sorter_kind *kind, const char *spill_dir);
/* Free the sorter, its pages and its run files. NULL is a no-op. */
void sorter_free(struct sorter *s);

/* Room for one record of `len` bytes in partition `part`: `*dst` gets
 * where to write it (valid until the next call on this sorter). */
int sorter_add(struct sorter *s, unsigned part, size_t len, uint8_t **dst);
/* Sort all records in memory and write them as one run file; their pages
 * go back to the pool. A no-op when nothing is in memory. */
int sorter_spill(struct sorter *s);
/* Records added so far (in memory and spilled), spill files written. */
uint64_t sorter_count(const struct sorter *s);
unsigned sorter_runs(const struct sorter *s);
/* Records of partition `part` in memory and in runs. */
uint64_t sorter_part_count(const struct sorter *s, unsigned part);

/* Working memory a thread reuses across merges (zero it before first
 * use; sorter_scratch_free() at the end). */
struct sorter_scratch {
	struct sorter_ref *idx, *tmp;
	size_t cap;
};
void sorter_scratch_free(struct sorter_scratch *x);

/* Read partition `part` of sorters[0..n) (all of the same kind) in order.
 * `x` (may be NULL) lends working memory: it must outlive the merge and
 * serve one merge at a time. */
int sorter_merge_open(struct sorter_merge **out, struct sorter *const *s,
		      size_t n, unsigned part, struct sorter_scratch *x);
/* Next record: 1 with `*rec`, `*len` (valid until the next call, or, if
 * `*stable` is set, until sorter_release() of the partition), 0 at the
 * end, negative errno on a read error. `stable` may be NULL. */
int sorter_merge_next(struct sorter_merge *m, const uint8_t **rec, size_t *len,
		      int *stable);
/* Records the merge will give in all (equal records included). */
uint64_t sorter_merge_total(const struct sorter_merge *m);
void sorter_merge_close(struct sorter_merge *m);

/* Drop the in-memory records of `part` (after reading it); its pages go
 * back to the pool. */
void sorter_release(struct sorter *s, unsigned part);

/* Sort idx[0..n) by (key, then cmp on the records they point at); exposed
 * for tests. Each element: a 64-bit prefix and a record pointer. */
struct sorter_ref {
	uint64_t key;
	const uint8_t *rec; /* points at the record's 4-byte length */
};
int sorter_sort(struct sorter_ref *idx, size_t n, const struct sorter_kind *k);
/* The same with a caller's buffer of n elements for the radix passes. */
void sorter_sort_with(struct sorter_ref *idx, struct sorter_ref *tmp, size_t n,
		      const struct sorter_kind *k);

#endif
