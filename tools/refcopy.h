/* refcopy.h - gather pieces of a mapped file into a buffer, in file order.
 *
 * `hamt build` keeps the records of a mapped input as references (offset
 * and length) instead of copies while it reads. The writer needs them in
 * CID order, which is a random order in the file: reading them that way
 * from the mapping would keep the whole file resident in the process.
 * refcopy visits the pieces in offset order instead, so the mapping is
 * read front to back, and drops the pages it has passed (MADV_DONTNEED:
 * they stay in the page cache, only this process's mapping of them goes),
 * so no more than about `window` bytes of the file are mapped at a time.
 *
 * Threads: any number may run at once on the same mapping (a page one of
 * them drops while another reads it is simply mapped again).
 */
#ifndef TOOLS_REFCOPY_H
#define TOOLS_REFCOPY_H

#include <stddef.h>
#include <stdint.h>

/* One piece: `len` bytes at offset `off` of the file go to `dst` of the
 * output buffer. */
struct refcopy_item {
	uint64_t off;
	uint64_t dst;
	uint32_t len;
};

/* Copy every items[i] from map (a mapping of `size` bytes, page aligned)
 * to out + items[i].dst (the caller sized `out`). `items` is reordered;
 * `tmp` has room for n items (radix sort). window 0: never drop pages.
 * 0, or -EIO (with a message) if a piece lies outside the mapping, in
 * which case nothing was copied. */
int refcopy_run(const uint8_t *map, uint64_t size, struct refcopy_item *items,
		struct refcopy_item *tmp, size_t n, uint8_t *out,
		uint64_t window);

#endif
