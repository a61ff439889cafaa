/* refcopy.h - gather pieces of a file into a buffer, in file order.
 *
 * `hamt build` keeps the records of a regular-file input as references
 * (offset and length) instead of copies while it reads. The writer needs
 * them in CID order, which is a random order in the file. refcopy visits
 * the pieces in offset order instead and reads the file front to back in
 * windows of `chunk` bytes (pread into the caller's buffer), skipping the
 * stretches that hold no piece.
 *
 * Or, where the caller can promise that the file will not shrink while it
 * is being copied, through a read-only mapping of `window` bytes at a
 * time, populated when it is made (MAP_POPULATE) and unmapped before the
 * next: a pass then costs the page-table entries of the window, not a
 * copy of every byte of it through the kernel (a pass over a 3.1 GB input
 * in the page cache, measured: 0.05 s to map it and touch every page,
 * 0.78 s with 1 MiB preads, 0.56 s with 256 KiB ones; the pieces' own
 * bytes are copied either way). A mapped page past the end of a file that
 * shrank raises SIGBUS: hence the promise, and a check before each window
 * (a read lease holds back a process that would truncate the file, and
 * tells this one, see tools/inputlease.h).
 *
 * Mapping is not always the cheaper way. On the VMs `hamt build` is
 * measured on, where the hypervisor keeps shadow page tables, a mapping
 * costs about as much per 4 KiB page as pread costs to copy one, or
 * several times more, depending on how the page cache holds the file:
 * a 10M-record build (22 passes over a 3.1 GB input) took 7.6-8.0 s mapped
 * and 8.2-8.6 s with pread from a file read in by readahead, but 20.3 s
 * mapped and 8.2-8.5 s with pread from the same file just written by a
 * generator or by cp (pread copies a cached 3.1 GB file in 0.13-0.18 s
 * there, whatever its folios). Elsewhere mapping was ten times cheaper
 * (0.05 s against 0.56-0.78 s a pass). So, given a refcopy_cost, the
 * copy tries both ways, stretch by stretch, and times each (this thread's
 * CPU time per byte, copies included); once both ways have
 * REFCOPY_TRY_BYTES behind them, the cheaper one is used from then on.
 *
 * Threads: any number may run at once on the same file, each with its own
 * window buffer.
 */
#ifndef TOOLS_REFCOPY_H
#define TOOLS_REFCOPY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define REFCOPY_TRY_BYTES ((uint64_t)128 << 20)

enum { REFCOPY_MAP = 1, REFCOPY_READ = 2 };

/* What mapping and reading a file have cost so far (zeroed to start),
 * shared by the threads that copy from it. */
struct refcopy_cost {
	atomic_uint_fast64_t ns[2], bytes[2]; /* [0] mapped, [1] read */
	atomic_int choice; /* 0 while trying both; REFCOPY_MAP or _READ */
	uint64_t after;	   /* try each way this long; 0: REFCOPY_TRY_BYTES */
};

/* Map the next stretch (1) or read it (0)? NULL: map. */
int refcopy_use_map(struct refcopy_cost *cost);
/* 1 while `cost` (not NULL) still tries both ways: only then is a
 * stretch worth timing (on a VM a CPU clock read can be a system call;
 * 22 passes over a 3.1 GB input timed every window made 537,000). */
int refcopy_trying(struct refcopy_cost *cost);
/* This thread's CPU time, in ns (0 where it cannot be read). */
uint64_t refcopy_now(void);
/* A stretch of `bytes` done mapped or read, started at `t0` (a refcopy_now()
 * reading; 0: not timed): while `cost` still tries both ways, add its CPU
 * time to it and return now, the start of the next stretch; else 0. */
uint64_t refcopy_lap(struct refcopy_cost *cost, int mapped, uint64_t t0,
		     uint64_t bytes);
/* A stretch of `bytes` done mapped or read took `ns` of CPU time: add it
 * to `cost` (NULL: nothing), which chooses once both ways have enough. */
void refcopy_cost_add(struct refcopy_cost *cost, int mapped, uint64_t ns,
		      uint64_t bytes);

/* One piece: `len` bytes at offset `off` of the file go to `dst` of the
 * output buffer. */
struct refcopy_item {
	uint64_t off;
	uint64_t dst;
	uint32_t len;
};

/* Copying through a mapping: `window` bytes are mapped at a time; `check(arg)`
 * is called before each window is mapped and returns 0 if the file is still as
 * it was, else a negative errno with a message, which stops the copy.
 * `cost` (or NULL: always map) is the file's (see above). */
struct refcopy_map {
	size_t window;
	int (*check)(void *arg);
	void *arg;
	struct refcopy_cost *cost;
};

/* Copy every items[i] from the file `fd` (`size` bytes, named `name` in
 * messages) to out + items[i].dst (the caller sized `out`). `items` is
 * reordered; `tmp` has room for n items (radix sort); `win` is a buffer
 * of `chunk` bytes (at least 4096). A piece longer than `chunk` is read
 * straight into `out`. With `map` non-NULL the other pieces are copied
 * from a mapping of the file (see above), else from `win` (pread); a
 * window that cannot be mapped (no address space left) is read with
 * pread instead, and so are the pieces after it.
 * 0; -EIO (with a message) if a piece lies outside `size` (nothing was
 * copied then) or the file ends early (it shrank during the copy: part of
 * `out` is then unset); what `map->check` returned; or the negative errno
 * of a failed read, with a message. */
int refcopy_run(int fd, const char *name, uint64_t size,
		struct refcopy_item *items, struct refcopy_item *tmp, size_t n,
		uint8_t *out, uint8_t *win, size_t chunk,
		const struct refcopy_map *map);

/* refcopy_run in two steps, for a copy shared by several threads:
 * refcopy_sort checks that every piece lies within `size` (else -EIO with
 * a message) and puts them in file order (`tmp` has room for n);
 * refcopy_copy then copies items[0..n) so sorted, or any stretch of them:
 * stretches of one sorted array may be copied at once by different
 * threads, each with its own `win`, into the same `out` (a thread's
 * windows reach no further than its last piece). The errors are
 * refcopy_run's. */
int refcopy_sort(const char *name, uint64_t size, struct refcopy_item *items,
		 struct refcopy_item *tmp, size_t n);
int refcopy_copy(int fd, const char *name, uint64_t size,
		 const struct refcopy_item *items, size_t n, uint8_t *out,
		 uint8_t *win, size_t chunk, const struct refcopy_map *map);

/* Map [off, off + len) of `fd` read-only, populated (MAP_POPULATE), from
 * the page boundary at or before `off`: the bytes at `off`, with the
 * mapping to munmap in *map and *maplen; or NULL if it cannot be mapped
 * (errno set). The caller promises, as above, that the file does not
 * shrink while it is mapped. */
const uint8_t *refcopy_map_range(int fd, uint64_t off, size_t len, void **map,
				 size_t *maplen);

#endif
