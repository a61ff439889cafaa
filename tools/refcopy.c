/* refcopy.c - pieces of a file copied in file order (see refcopy.h). */
#include "tools/refcopy.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
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

uint64_t refcopy_now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int refcopy_use_map(struct refcopy_cost *cost)
{
	if (!cost)
		return 1;
	int c = atomic_load(&cost->choice);
	if (c)
		return c == REFCOPY_MAP;
	/* trying both: the way with fewer bytes measured */
	return atomic_load(&cost->bytes[0]) <= atomic_load(&cost->bytes[1]);
}

int refcopy_trying(struct refcopy_cost *cost)
{
	return cost && !atomic_load(&cost->choice);
}

uint64_t refcopy_lap(struct refcopy_cost *cost, int mapped, uint64_t t0,
		     uint64_t bytes)
{
	if (!refcopy_trying(cost))
		return 0;
	uint64_t now = refcopy_now();
	if (t0 && now > t0)
		refcopy_cost_add(cost, mapped, now - t0, bytes);
	return now;
}

void refcopy_cost_add(struct refcopy_cost *cost, int mapped, uint64_t ns,
		      uint64_t bytes)
{
	if (!cost || atomic_load(&cost->choice))
		return;
	int i = mapped ? 0 : 1;
	atomic_fetch_add(&cost->ns[i], ns);
	atomic_fetch_add(&cost->bytes[i], bytes);
	uint64_t after = cost->after ? cost->after : REFCOPY_TRY_BYTES;
	uint64_t bm = atomic_load(&cost->bytes[0]),
		 br = atomic_load(&cost->bytes[1]);
	if (bm < after || br < after)
		return;
	/* ns per byte, compared without dividing: nm / bm <= nr / br */
	double nm = (double)atomic_load(&cost->ns[0]),
	       nr = (double)atomic_load(&cost->ns[1]);
	int c = nm * (double)br <= nr * (double)bm ? REFCOPY_MAP : REFCOPY_READ;
	int none = 0;
	atomic_compare_exchange_strong(&cost->choice, &none, c);
}

const uint8_t *refcopy_map_range(int fd, uint64_t off, size_t len, void **map,
				 size_t *maplen)
{
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	uint64_t a = off - off % (uint64_t)page;
	size_t n = (size_t)(off - a) + len;
	void *m =
	    mmap(NULL, n, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)a);
	if (m == MAP_FAILED)
		return NULL;
	*map = m;
	*maplen = n;
	return (const uint8_t *)m + (off - a);
}

/* The stretch of the file that pieces are copied from: [a, b), its bytes
 * at `base`; mapped (m set) or read into `win`. Mapping is allowed while
 * `map` is set, and chosen while map->cost says so; each stretch's CPU
 * time, from its move to the next, goes to map->cost. */
struct window {
	const struct refcopy_map *map;
	uint8_t *win;
	size_t chunk;
	void *m; /* the mapping, or NULL */
	size_t mlen;
	const uint8_t *base; /* NULL: no window yet */
	uint64_t a, b;
	uint64_t t0; /* refcopy_now() when it moved here, 0: not timed */
};

/* Let go of the window; with `lap`, its stretch's CPU time (the unmapping
 * included) goes to map->cost and the next one's starts now. */
static void window_drop(struct window *w, int lap)
{
	int mapped = w->m != NULL;
	if (w->m)
		munmap(w->m, w->mlen);
	if (lap && w->map)
		w->t0 = refcopy_lap(w->map->cost, mapped, w->base ? w->t0 : 0,
				    w->b - w->a);
	w->m = NULL;
	w->base = NULL;
}

/* Move the window to hold the piece [off, off + len), len <= chunk: a
 * mapping of map->window bytes from the piece on (after map->check), or a
 * read of `chunk` bytes; if a mapping fails (no address space left), reads
 * from then on. */
static int window_move(struct window *w, int fd, const char *name,
		       uint64_t size, uint64_t off, uint32_t len)
{
	window_drop(w, 1);
	if (w->map && refcopy_use_map(w->map->cost)) {
		int rc = w->map->check(w->map->arg);
		if (rc)
			return rc;
		uint64_t b =
		    off + w->map->window < size ? off + w->map->window : size;
		if (b < off + len) /* keep it whole */
			b = off + len;
		if ((w->base = refcopy_map_range(fd, off, (size_t)(b - off),
						 &w->m, &w->mlen)) != NULL) {
			w->a = off;
			w->b = b;
			return 0;
		}
		w->map = NULL;
	}
	w->a = off & ~(uint64_t)4095;
	if (off + len - w->a > w->chunk) /* keep it whole */
		w->a = off;
	w->b = w->a + w->chunk < size ? w->a + w->chunk : size;
	int rc = read_at(fd, name, w->win, (size_t)(w->b - w->a), w->a);
	if (!rc)
		w->base = w->win;
	return rc;
}

/* Check that every piece lies within the `size`-byte input: 0 with the
 * largest offset in *max and the end of the piece that ends last in *end,
 * or -EIO with a message. */
static int check_pieces(const char *name, uint64_t size,
			const struct refcopy_item *items, size_t n,
			uint64_t *max, uint64_t *end)
{
	*max = *end = 0;
	for (size_t i = 0; i < n; i++) {
		const struct refcopy_item *it = &items[i];
		if (it->off > size || it->len > size - it->off)
			return err_set(-EIO,
				       "%s: record at offset %llu (%u bytes) "
				       "is outside the %llu-byte input: was "
				       "it changed during the build?",
				       name, (unsigned long long)it->off,
				       it->len, (unsigned long long)size);
		if (it->off > *max)
			*max = it->off;
		if (it->off + it->len > *end)
			*end = it->off + it->len;
	}
	return 0;
}

int refcopy_sort(const char *name, uint64_t size, struct refcopy_item *items,
		 struct refcopy_item *tmp, size_t n)
{
	uint64_t max, end;
	int rc = check_pieces(name, size, items, n, &max, &end);
	if (!rc && n)
		sort_by_off(items, tmp, n, max);
	return rc;
}

int refcopy_copy(int fd, const char *name, uint64_t size,
		 const struct refcopy_item *items, size_t n, uint8_t *out,
		 uint8_t *win, size_t chunk, const struct refcopy_map *map)
{
	/* no window reaches past the last piece (where the caller split
	 * the items, the next run maps or reads on from there) */
	uint64_t max, end;
	int rc = check_pieces(name, size, items, n, &max, &end);
	if (rc)
		return rc;
	struct window w = {map, win, chunk, NULL, 0, NULL, 0, 0, 0};
	for (size_t i = 0; i < n && !rc; i++) {
		const struct refcopy_item *it = &items[i];
		if (it->len > chunk) {
			rc = read_at(fd, name, out + it->dst, it->len, it->off);
			continue;
		}
		if ((!w.base || it->off < w.a || it->off + it->len > w.b) &&
		    (rc = window_move(&w, fd, name, end, it->off, it->len)))
			break;
		memcpy(out + it->dst, w.base + (it->off - w.a), it->len);
	}
	window_drop(&w, !rc);
	return rc;
}

int refcopy_run(int fd, const char *name, uint64_t size,
		struct refcopy_item *items, struct refcopy_item *tmp, size_t n,
		uint8_t *out, uint8_t *win, size_t chunk,
		const struct refcopy_map *map)
{
	int rc = refcopy_sort(name, size, items, tmp, n);
	return rc ? rc
		  : refcopy_copy(fd, name, size, items, n, out, win, chunk,
				 map);
}
