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
 * Mapping is not always the cheaper way. A populated mapping takes a page
 * fault per large folio of the file's page cache, but one per 16 pages
 * (the kernel's fault-around) where the page cache holds the file in 4 KiB
 * folios, as it does for a file just written in small pieces (by cp, or a
 * generator's stdio). On the VMs `hamt build` is measured on a fault costs
 * about 10 us, while pread copies a cached 3.1 GB file in 0.13-0.18 s
 * whatever its folios: a 10M-record build (22 passes) took 20.4 s mapped
 * against 9.5-10.5 s with pread, from a file in small folios, and 7.6-8.0 s
 * mapped against 8.2-8.6 s with pread from one in large folios. So a
 * mapping counts the faults it took (this thread's minor faults), and
 * once REFCOPY_COSTLY_AFTER bytes of a file were mapped with more than
 * REFCOPY_COSTLY_FAULTS per MiB in all, the file is "costly" and the rest
 * is read with pread. (Not judged by the first mapping: even a file read
 * into the page cache by readahead begins with small folios, 16 faults per
 * MiB for its first 4 MiB, then about one.)
 *
 * Threads: any number may run at once on the same file, each with its own
 * window buffer.
 */
#ifndef TOOLS_REFCOPY_H
#define TOOLS_REFCOPY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define REFCOPY_COSTLY_FAULTS 4 /* page faults per MiB mapped */
#define REFCOPY_COSTLY_AFTER ((uint64_t)256 << 20)

/* What mapping a file has cost so far (zeroed to start); shared by the
 * threads that map it. */
struct refcopy_cost {
	atomic_uint_fast64_t bytes, faults; /* mapped, and the faults taken */
	atomic_int costly;		    /* judged costly (see above) */
	uint64_t after; /* judged after this many bytes; 0: the default */
};

/* 1 if `cost` (or NULL: 0) says the file is costly to map. */
int refcopy_costly(struct refcopy_cost *cost);

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
 * `cost` (or NULL) is the file's (see above): once it says costly, nothing
 * more is mapped and the pieces are read with pread. */
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

/* Map [off, off + len) of `fd` read-only, populated (MAP_POPULATE), from
 * the page boundary at or before `off`: the bytes at `off`, with the
 * mapping to munmap in *map and *maplen; or NULL if it cannot be mapped
 * (errno set). The caller promises, as above, that the file does not
 * shrink while it is mapped. Adds what the mapping cost to `cost` (if not
 * NULL), which may then say costly. */
const uint8_t *refcopy_map_range(int fd, uint64_t off, size_t len, void **map,
				 size_t *maplen, struct refcopy_cost *cost);

#endif
