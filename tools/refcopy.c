/* refcopy.c - pieces of a mapping copied in file order (see refcopy.h). */
#include "tools/refcopy.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hamt/err.h"

/* LSD radix sort of items by offset, 8 bits a pass, as many passes as the
 * largest offset needs. */
static void sort_by_off(struct refcopy_item *v, struct refcopy_item *tmp,
			size_t n, uint64_t max)
{
	struct refcopy_item *a = v, *b = tmp;
	for (unsigned shift = 0; shift < 64 && (max >> shift); shift += 8) {
		size_t count[256] = {0};
		for (size_t i = 0; i < n; i++)
			count[(a[i].off >> shift) & 255]++;
		if (count[(a[0].off >> shift) & 255] == n)
			continue;
		size_t sum = 0;
		for (unsigned d = 0; d < 256; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[count[(a[i].off >> shift) & 255]++] = a[i];
		struct refcopy_item *t = a;
		a = b;
		b = t;
	}
	if (a != v)
		memcpy(v, a, n * sizeof(*v));
}

static void drop(const uint8_t *map, uint64_t from, uint64_t to)
{
	if (to > from)
		madvise((void *)(map + from), (size_t)(to - from),
			MADV_DONTNEED);
}

int refcopy_run(const uint8_t *map, uint64_t size, struct refcopy_item *items,
		struct refcopy_item *tmp, size_t n, uint8_t *out,
		uint64_t window)
{
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		const struct refcopy_item *it = &items[i];
		if (it->off > size || it->len > size - it->off)
			return err_set(-EIO,
				       "record at offset %llu (%u bytes) is "
				       "outside the %llu-byte input: was it "
				       "changed during the build?",
				       (unsigned long long)it->off, it->len,
				       (unsigned long long)size);
		if (it->off > max)
			max = it->off;
	}
	if (!n)
		return 0;
	sort_by_off(items, tmp, n, max);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t kept = items[0].off & ~(page - 1); /* first mapped byte */
	for (size_t i = 0; i < n; i++) {
		const struct refcopy_item *it = &items[i];
		if (window && it->off - kept >= window) {
			uint64_t to = it->off & ~(page - 1);
			drop(map, kept, to);
			kept = to;
		}
		if (i + 4 < n)
			__builtin_prefetch(map + items[i + 4].off);
		memcpy(out + it->dst, map + it->off, it->len);
	}
	if (window) {
		const struct refcopy_item *last = &items[n - 1];
		uint64_t end = (last->off + last->len + page - 1) & ~(page - 1);
		drop(map, kept, end < size ? end : size);
	}
	return 0;
}
