/* writeback.h - put what a writer appends to a file on disk and let go of
 * its page cache, on a thread of its own.
 *
 * A bulk load asks, every 64 MiB it puts, for the writeback of what LMDB
 * has written (so that the commit's fsync finds little left to do) and
 * lets go of the page cache of what lies further than a window below the
 * end of the file once it is on disk (so that a load of many GB reuses a
 * window of pages instead of taking fresh ones). Done by the writer
 * itself, that took it 0.8-1.5 s of a 10M-record build, most of it
 * waiting: ext4 allocates the blocks of delayed writes and locks the pages
 * in sync_file_range() even when asked not to wait. Here a thread does
 * it, and the writer only asks.
 *
 * And every `flush_every` bytes it has put on disk, it flushes them
 * (fdatasync): a VM's host caches what its guest writes, and the flush
 * the commit's fsync ends with then writes out all of that cache at once
 * (measured here: 3 GiB written with O_DIRECT, then `sync`: 0.44-1.42 s;
 * 5 s later, 0.00 s). Flushed along the way, the commit waits only for
 * what came after the last one.
 *
 * Waiting for the writeback consumes a write error for the file, which
 * the commit's fsync would then no longer see: the thread keeps it, and
 * the writer must fail its transaction when writeback_error() says so.
 */
#ifndef STORE_WRITEBACK_H
#define STORE_WRITEBACK_H

#include <stdint.h>

struct writeback;

/* Start a thread for `fd`; it lets go of nothing below `from` (the size
 * of the file before the load: the pages there are not the load's), and
 * flushes every `flush_every` bytes it has put on disk (0: never). 0, or
 * -ENOMEM / a pthread_create errno with a message. */
int writeback_start(struct writeback **out, int fd, uint64_t from,
		    uint64_t flush_every);
/* Start the writeback of everything written so far, then wait for what
 * lies more than `behind` bytes below `end` (0: the file's size) and let
 * go of its page cache. Returns at once; a request while one is under way
 * is merged into the next. */
void writeback_kick(struct writeback *w, uint64_t end, uint64_t behind);
/* 0, or the errno (positive) of a failed wait for the writeback or of a
 * failed flush; it stays set. */
int writeback_error(struct writeback *w);
/* Wait until every request is done, then the end of what was let go
 * (`from` if nothing). */
uint64_t writeback_dropped(struct writeback *w);
/* How many times it has flushed (fdatasync) so far. */
unsigned writeback_flushes(struct writeback *w);
/* Finish the request under way (not those waiting), stop the thread and
 * free; what writeback_error() would say then. NULL is a no-op (0). */
int writeback_stop(struct writeback *w);

#endif
