/* prefetch.h - read a file into the page cache ahead of whoever reads it
 * next, on a thread of its own.
 *
 * A bulk load into a store that has blocks looks them up in CID order,
 * walking the store file from start to end through LMDB's map; a page
 * fault that misses the page cache waits for a read. Asking the kernel
 * ahead (POSIX_FADV_WILLNEED) costs the asking thread the page-cache
 * allocation (26-145 us per call measured here, 0.2-0.7 s for a 3.3 GB
 * store), and one call reads at most the device's read-ahead window or
 * its largest request, whichever is larger (16 MiB asked for got 8 MiB
 * here; 4 MiB with a 128 KiB window). A prefetch thread instead gives
 * the hints for the ranges asked for, 128 KiB at a time, so that every
 * byte asked for is read, and the cost falls on a thread that would
 * otherwise be idle.
 *
 * Hints change nothing in the file, and a refused one ends its range and
 * nothing else; the part of a range past the end of the file is dropped.
 * The file descriptor stays the caller's and must stay open until
 * prefetch_stop().
 */
#ifndef STORE_PREFETCH_H
#define STORE_PREFETCH_H

#include <stdint.h>

struct prefetch;

/* Start a thread that reads `fd`. 0, or -ENOMEM / a pthread_create errno
 * with a message. */
int prefetch_start(struct prefetch **out, int fd);
/* Read [from, from + len) next. A range that starts where the last one
 * asked for ended extends it; any other drops what is left of the ranges
 * asked for before (the reader has moved on) and starts there. Never
 * blocks on a read. */
void prefetch_ask(struct prefetch *p, uint64_t from, uint64_t len);
/* Touch mode (off at the start): read what is asked for into a buffer
 * instead of giving hints, so that this thread, not the reader later,
 * pays the first touch of each page, which on this VM costs more than the
 * read (3.9 GB of a 10M-record store: 5.4 s of copying here). Worth it
 * for a reader slower than this thread that touches every page, as a load
 * of new blocks does (its inserts copy the pages they change: 3M new
 * records into a 10M-record store took 13.3 and 14.7 s with it, 17.1 and
 * 19.2 s without); not for lookups of blocks that are there (an update
 * build: 10.4 and 11.8 s with it, 8.6 and 9.5 s without), which keep up
 * with it and need the CPU it takes. Takes effect from the next read. */
void prefetch_set_touch(struct prefetch *p, int touch);
/* Wait until a hint was given for (or, touching, a read made of)
 * everything asked for, or it was dropped (for tests: a hint's reads may
 * still be under way). */
void prefetch_wait(struct prefetch *p);
/* Bytes hinted or read so far. */
uint64_t prefetch_read_bytes(struct prefetch *p);
/* Stop the thread (a read under way finishes first) and free. NULL is a
 * no-op. */
void prefetch_stop(struct prefetch *p);

#endif
