/* refcopy.c - pieces of a file copied in file order (see refcopy.h). */
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

/* Read [off, off + len) of the file into buf, all of it. */
static int read_at(int fd, const char *name, uint8_t *buf, size_t len,
		   uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(-errno, "%s: read at offset %llu: %s",
				       name, (unsigned long long)(off + got),
				       strerror(errno));
		if (r == 0)
			return err_set(-EIO,
				       "%s: ends at %llu bytes while a record "
				       "at %llu was read back: was it changed "
				       "during the build?",
				       name, (unsigned long long)(off + got),
				       (unsigned long long)off);
		got += (size_t)r;
	}
	return 0;
}

/* The pieces no longer than `chunk` through windows of the mapping, the
 * longer ones with pread; items sorted by offset. 0 when all are copied;
 * 1 with *done set when a window could not be mapped (no address space:
 * the caller reads the pieces from *done on instead); or an error. */
static int copy_mapped(int fd, const char *name, uint64_t size,
		       const struct refcopy_item *items, size_t n, uint8_t *out,
		       size_t chunk, const struct refcopy_map *map,
		       size_t *done)
{
	uint8_t *m = NULL;
	uint64_t ma = 0, mb = 0; /* the mapping holds [ma, mb) */
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct refcopy_item *it = &items[i];
		if (it->len > chunk) {
			rc = read_at(fd, name, out + it->dst, it->len, it->off);
			continue;
		}
		if (m && it->off + it->len <= mb) {
			memcpy(out + it->dst, m + (it->off - ma), it->len);
			continue;
		}
		if (m)
			munmap(m, (size_t)(mb - ma));
		m = NULL;
		if ((rc = map->check(map->arg)) != 0)
			break;
		ma = it->off & ~(uint64_t)4095;
		mb = ma + map->window < size ? ma + map->window : size;
		if (mb < it->off + it->len) /* keep it whole */
			mb = it->off + it->len;
		void *p = mmap(NULL, (size_t)(mb - ma), PROT_READ,
			       MAP_SHARED | MAP_POPULATE, fd, (off_t)ma);
		if (p == MAP_FAILED) {
			*done = i;
			return 1;
		}
		m = p;
		memcpy(out + it->dst, m + (it->off - ma), it->len);
	}
	if (m)
		munmap(m, (size_t)(mb - ma));
	return rc;
}

/* The pieces through pread windows of `chunk` bytes (`win`); items sorted
 * by offset. */
static int copy_read(int fd, const char *name, uint64_t size,
		     const struct refcopy_item *items, size_t n, uint8_t *out,
		     uint8_t *win, size_t chunk)
{
	uint64_t wa = 0, wb = 0; /* the window holds [wa, wb) */
	for (size_t i = 0; i < n; i++) {
		const struct refcopy_item *it = &items[i];
		int rc;
		if (it->len > chunk) {
			rc = read_at(fd, name, out + it->dst, it->len, it->off);
			if (rc)
				return rc;
			continue;
		}
		if (it->off < wa || it->off + it->len > wb) {
			wa = it->off & ~(uint64_t)4095;
			if (it->off + it->len - wa > chunk) /* keep it whole */
				wa = it->off;
			wb = wa + chunk < size ? wa + chunk : size;
			if ((rc =
				 read_at(fd, name, win, (size_t)(wb - wa), wa)))
				return rc;
		}
		memcpy(out + it->dst, win + (it->off - wa), it->len);
	}
	return 0;
}

int refcopy_run(int fd, const char *name, uint64_t size,
		struct refcopy_item *items, struct refcopy_item *tmp, size_t n,
		uint8_t *out, uint8_t *win, size_t chunk,
		const struct refcopy_map *map)
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
	size_t done = 0;
	if (map) {
		int rc = copy_mapped(fd, name, size, items, n, out, chunk, map,
				     &done);
		if (rc != 1)
			return rc;
	}
	return copy_read(fd, name, size, items + done, n - done, out, win,
			 chunk);
}
