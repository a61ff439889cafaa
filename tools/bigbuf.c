/* bigbuf.c - large buffers in huge pages (see bigbuf.h). */
#include "tools/bigbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "hamt/err.h"

#ifndef BIGBUF_MALLOC
/* The mapped length for `len` bytes: whole huge pages (the kernel maps a
 * huge page only where the range covers all of it). */
static size_t mapped_len(size_t len)
{
	if (len == 0)
		len = 1;
	return (len + BIGBUF_HUGE_PAGE - 1) & ~(BIGBUF_HUGE_PAGE - 1);
}
#endif

void *bigbuf_alloc(size_t len)
{
	if (len > SIZE_MAX - BIGBUF_HUGE_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
#ifdef BIGBUF_MALLOC
	return malloc(len ? len : 1);
#else
	size_t n = mapped_len(len);
	void *m = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	/* a hint: where the kernel has no huge pages, small ones serve */
	madvise(m, n, MADV_HUGEPAGE);
	return m;
#endif
}

int bigbuf_grow(void **p, size_t *len, size_t need)
{
	if (need <= *len)
		return 0;
	size_t want = *len + *len / 2;
	if (want < *len || want < need)
		want = need;
	if (want > SIZE_MAX - BIGBUF_HUGE_PAGE)
		return err_set(-ENOMEM, "out of memory (%zu bytes)", need);
	void *q;
#ifdef BIGBUF_MALLOC
	q = realloc(*p, want);
#else
	if (!*p)
		q = bigbuf_alloc(want);
	else if (mapped_len(want) == mapped_len(*len))
		q = *p;
	else if ((q = mremap(*p, mapped_len(*len), mapped_len(want),
			     MREMAP_MAYMOVE)) == MAP_FAILED)
		q = NULL;
#endif
	if (!q)
		return err_set(-ENOMEM, "out of memory (%zu bytes)", want);
	*p = q;
	*len = want;
	return 0;
}

void bigbuf_free(void *p, size_t len)
{
	if (!p)
		return;
#ifdef BIGBUF_MALLOC
	(void)len;
	free(p);
#else
	munmap(p, mapped_len(len));
#endif
}
