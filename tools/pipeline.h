/* pipeline.h - the parallel bulk build behind `hamt build`.
 *
 * The order of the steps is the whole design (../shared/seeds/003):
 *
 *  1. read: the input is cut into chunks of whole lines (a regular file is
 *     cut by offset and each chunk read with pread, anything else is read
 *     in turn); every
 *     thread parses its chunks, computes each record's block CID and each
 *     key's hash, and appends key entries (partitioned by hash) and record
 *     blocks (partitioned by CID) to its own sorters (tools/sorter.h).
 *     Past the memory budget the sorters are spilled as sorted runs.
 *     The raw record blocks of a regular file are kept as references
 *     (offset, length) into the file, not copies (unless the file is
 *     larger than the page cache could keep: reread_max).
 *  2. build: for each range of root slots (a job), the entries of its
 *     partitions from every thread are merged in hash order, deduplicated
 *     (the last line of a key wins) and built into sub-trees
 *     (hamt/bulk.h), one job per thread at a time; the node blocks go to
 *     per-thread sorters too. The root is built last.
 *  3. write, at the same time as 2: one thread merges every partition of
 *     blocks in CID order, drops repeated CIDs and appends them to the
 *     store in one LMDB transaction (store_bulk_*: MDB_APPEND; blocks the
 *     store has already are skipped), or streams them into a CARv1.
 *     Referenced records come back a group of partitions at a time: an
 *     idle builder reads them back from the file in file order
 *     (tools/refcopy.h) into a buffer in CID order. Raw
 *     record blocks sort before every DAG-CBOR block, so they are written
 *     while the tree is still being built; the DAG-CBOR partitions wait
 *     for the build.
 *  4. commit: the ref is set in the same transaction, which is then
 *     committed (or the CAR's header gets its root and the file is renamed
 *     into place).
 *
 * Nothing reaches the store before the input has been read to its end
 * without a fatal error: a malformed line (without skip_bad), an
 * interruption or any failure before the commit leaves the store and its
 * refs exactly as they were (the transaction is aborted; a process killed
 * outright never commits it). Spill files are unnamed (O_TMPFILE) and
 * vanish with the process.
 */
#ifndef TOOLS_PIPELINE_H
#define TOOLS_PIPELINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hamt/hamt.h"
#include "tools/input.h"

struct pipeline_opts {
	const char *input; /* a path, or NULL or "-" for stdin */
	struct input_opts in;
	int link; /* values are links to record blocks (else inline) */
	struct hamt_params params;
	unsigned threads; /* >= 1 */
	uint64_t mem;	  /* bytes of records kept in memory before spilling */
	int skip_bad;	  /* skip malformed lines (else stop at the first) */
	const char *spill_dir;
	/* output: a store (and optionally a ref to set), or a CAR file;
	 * `store` (if not NULL) is a store already open, used instead of
	 * opening store_dir (and not closed) */
	struct store *store;
	const char *store_dir;
	const char *ref;
	const char *car;
	/* set (by a signal handler) to abandon the build; may be NULL. An
	 * atomic, not a volatile sig_atomic_t: every worker thread reads it,
	 * and a lock-free atomic is both signal-safe and thread-safe */
	const atomic_int *stop;
	int progress; /* print a progress line to stderr */
	size_t chunk; /* bytes of input per chunk; 0: 4 MiB (tests use less) */
	uint64_t group;	     /* record bytes per write group of a regular file
				(pipeline.c, "byref"); 0:
				pipeline_group_bytes(mem) (tests use less) */
	uint64_t reread_max; /* the largest input file whose raw records
				are read back from it for the write ("byref")
				rather than copied as read; 0: what the page
				cache can keep beside the memory budget
				(MemAvailable at the start minus mem) */
	int full_hash;	     /* tests: always hash keys again in the build (the
				path taken when 64 hash bits are not enough) */
	/* tests: called between the read phase and the build */
	void (*after_read)(void *arg);
	void *after_read_arg;
	/* tests: called by a reader each time it has read a chunk of a
	 * regular file (from any reader thread) */
	void (*after_chunk)(void *arg);
	void *after_chunk_arg;
};

struct pipeline_stats {
	uint64_t input_bytes;
	uint64_t gzip_bytes;  /* gzip input: its compressed bytes; else 0 */
	uint64_t lines;	      /* non-empty lines */
	uint64_t records;     /* lines that gave at least one key */
	uint64_t entries;     /* keys given (before the last-wins rule) */
	uint64_t keys;	      /* keys in the map */
	uint64_t bad_lines;   /* malformed lines skipped */
	uint64_t no_key;      /* records without a key, skipped */
	uint64_t ignored;     /* key values that cannot be keys */
	uint64_t node_blocks; /* HAMT nodes, root included */
	uint64_t node_bytes;
	uint64_t blocks;  /* distinct blocks of the build (records + nodes) */
	uint64_t bytes;	  /* their bytes */
	uint64_t present; /* of those, already in the store */
	unsigned depth;
	unsigned spills; /* run files written */
	uint64_t mem_peak;
	unsigned groups; /* write groups of records read back from the
			    input file (0: the records were copied as
			    read) */
	unsigned passes; /* passes over the input that read them back: one
			    fills as many groups as there are free slots */
	double t_read, t_build, t_write, t_commit, t_total;
	/* directories of killed builds of a new store, removed (newstore.h) */
	unsigned swept;
	uint64_t swept_bytes;
};

/* The record bytes per write group where opts.group is 0, for a memory
 * budget of `mem` bytes: a twelfth of it, within 128-256 MiB. */
uint64_t pipeline_group_bytes(uint64_t mem);

/* Run a build. `*root` gets the root CID. On a malformed line (without
 * skip_bad) -EINVAL with the message "NAME:LINE: what"; the first few
 * skipped lines are reported on stderr with their numbers. -EINTR when
 * `*stop` was set. Any error: nothing written. */
int pipeline_run(const struct pipeline_opts *o, struct cid *root,
		 struct pipeline_stats *st);

#endif
