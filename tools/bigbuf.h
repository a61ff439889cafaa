/* bigbuf.h - large, long-lived buffers (arrays of millions of entries, a
 * write group's up to 256 MiB) in huge pages where the kernel has them.
 *
 * The first touch of fresh memory is what `hamt build` pays most for on
 * the VMs it is measured on: about 10 us per 4 KiB page fault, against
 * one fault per 2 MiB in a huge page (memset of 1 GiB of new memory,
 * measured: 2.5 s in small pages, 0.09 s in huge pages the host has
 * backed). A bigbuf is its own anonymous mapping with MADV_HUGEPAGE, which
 * the kernel honours in its default THP mode ("madvise"); it grows with
 * mremap, which moves page-table entries instead of copying bytes.
 *
 * Under AddressSanitizer these are plain malloc/realloc/free, so that
 * overflows of them are still caught; under ThreadSanitizer too (it does
 * not follow mremap).
 *
 * Threads: no shared state; a buffer belongs to its caller.
 */
#ifndef TOOLS_BIGBUF_H
#define TOOLS_BIGBUF_H

#include <stddef.h>

#include "hamt/sanitizer.h"

#define BIGBUF_HUGE_PAGE ((size_t)2 << 20) /* x86-64's huge page */

/* Defined where a bigbuf is plain malloc (no huge pages, no mremap): under
 * AddressSanitizer, and under ThreadSanitizer, which does not follow mremap
 * (a grown buffer's accesses looked like races with whatever was mapped at
 * its new address before). */
#if defined(HAMT_UNDER_ASAN) || defined(HAMT_UNDER_TSAN)
#define BIGBUF_MALLOC 1
#endif

/* A new buffer of at least `len` bytes (not zeroed), or NULL with errno
 * set. The length to pass back to bigbuf_grow/bigbuf_free is `len`. */
void *bigbuf_alloc(size_t len);

/* Make the buffer *p of *len bytes hold at least `need` bytes, keeping its
 * contents: grown by half again at least (so that growing by small steps
 * stays linear). *p may be NULL (with *len 0). 0, or -ENOMEM with a
 * message (then *p and *len are as they were). */
int bigbuf_grow(void **p, size_t *len, size_t need);

/* Free a buffer of `len` bytes (NULL: nothing). */
void bigbuf_free(void *p, size_t len);

#endif
