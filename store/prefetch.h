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
 * here; 4 MiB with a 128 KiB window). A prefetch thread instead reads the
 * ranges asked for with pread(), so that every byte asked for is read, by
 * a thread that would otherwise be idle.
 *
 * Reading changes nothing in the file; a failed read ends that range and
 * nothing else. The file descriptor stays the caller's and must stay open
 * until prefetch_stop().
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
/* Wait until everything asked for is read or dropped (for tests). */
void prefetch_wait(struct prefetch *p);
/* Bytes read so far. */
uint64_t prefetch_read_bytes(struct prefetch *p);
/* Stop the thread (a read under way finishes first) and free. NULL is a
 * no-op. */
void prefetch_stop(struct prefetch *p);

#endif
