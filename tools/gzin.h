/* gzin.h - a gzip stream read as the bytes it holds, for hamt build's
 * input (the Open Library dump comes as .txt.gz): ISA-L's inflate (igzip,
 * several times zlib's speed) over a file descriptor, one gzip member or
 * several back to back (as gzip -c a b, pigz and bgzip write them). Each
 * member's CRC-32 and length are checked; damaged data, a stream that ends
 * inside a member and bytes after the last member that are not gzip are errors
 * (-EINVAL with a message naming the input and the compressed byte), never
 * output. Not thread-safe: one reader at a time.
 */
#ifndef TOOLS_GZIN_H
#define TOOLS_GZIN_H

#include <stddef.h>
#include <stdint.h>

struct gzin;

/* 1 if p[0..n) starts like a gzip member (n >= 2), else 0. */
int gzin_magic(const uint8_t *p, size_t n);

/* Read gzip from `fd` (not closed by gzin_close), whose first `npre`
 * bytes were already read into `pre`. `name` is for messages. 0 or
 * -ENOMEM. */
int gzin_open(struct gzin **out, int fd, const char *name, const uint8_t *pre,
	      size_t npre);

/* Up to `n` decompressed bytes into `p`: *got > 0, or *got == 0 at the
 * end of the stream. 0, or a negative errno with a message. */
int gzin_read(struct gzin *g, uint8_t *p, size_t n, size_t *got);

/* For tests: read at most `n` bytes (1 to 256 KiB) from fd at a time, so
 * that the compressed data arrives in pieces that small (the default is
 * 256 KiB). */
void gzin_set_read_size(struct gzin *g, size_t n);

/* Compressed bytes consumed so far (for progress). */
uint64_t gzin_consumed(const struct gzin *g);

/* NULL is a no-op. */
void gzin_close(struct gzin *g);

#endif
