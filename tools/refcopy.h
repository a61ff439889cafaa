/* refcopy.h - gather pieces of a file into a buffer, in file order.
 *
 * `hamt build` keeps the records of a regular-file input as references
 * (offset and length) instead of copies while it reads. The writer needs
 * them in CID order, which is a random order in the file. refcopy visits
 * the pieces in offset order instead and reads the file front to back in
 * windows of `chunk` bytes (pread into the caller's buffer), skipping the
 * stretches that hold no piece.
 *
 * Why not a mapping: every 4 KiB page of a mapping that a pass touches
 * costs a page-table entry (and on a VM, work for the host) each time it
 * is mapped again, and the pieces of one group lie on nearly every page of
 * the file: a pass over a mapping cost several times what a pass of pread,
 * which copies through the kernel's own mapping of the page cache, costs.
 *
 * Threads: any number may run at once on the same file, each with its own
 * window buffer.
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

/* Copy every items[i] from the file `fd` (`size` bytes, named `name` in
 * messages) to out + items[i].dst (the caller sized `out`). `items` is
 * reordered; `tmp` has room for n items (radix sort); `win` is a buffer
 * of `chunk` bytes (at least 4096). A piece longer than `chunk` is read
 * straight into `out`. 0; -EIO (with a message) if a piece lies outside
 * `size` (nothing was copied then) or the file ends early (it shrank
 * during the copy: part of `out` is then unset); or the negative errno of
 * a failed read, with a message. */
int refcopy_run(int fd, const char *name, uint64_t size,
		struct refcopy_item *items, struct refcopy_item *tmp, size_t n,
		uint8_t *out, uint8_t *win, size_t chunk);

#endif
