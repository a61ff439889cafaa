/* buf.h - a growable byte buffer.
 *
 * A zeroed `struct buf` is an empty buffer ready for use. The buffer owns
 * `data`; release it with buf_free(). `data` may move on any append.
 * Sizes are checked for overflow before every allocation.
 */
#ifndef HAMT_BUF_H
#define HAMT_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Make room for at least `extra` more bytes. 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);
/* Append `n` bytes. 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
/* Append one byte. 0 or -ENOMEM. */
int buf_putc(struct buf *b, uint8_t c);
/* Append a NUL-terminated string (without the NUL). 0 or -ENOMEM. */
int buf_puts(struct buf *b, const char *s);
/* Append printf-style text. 0, -ENOMEM or -EINVAL. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Forget the contents, keep the allocation. */
void buf_reset(struct buf *b);
/* Release the allocation; the buffer is empty and reusable after. */
void buf_free(struct buf *b);
/* Hand the bytes to the caller (who must free() them); buffer becomes empty. */
uint8_t *buf_steal(struct buf *b, size_t *len);

#endif
