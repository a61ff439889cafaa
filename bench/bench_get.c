/* bench_get - random point lookups per second on a built store.
 * usage: bench_get STORE ROOT N_KEYS [LOOKUPS]
 * Keys are "rec/<i>" for i in [0, N_KEYS), as bench/run_build.sh makes them.
 * Prints: gets=K seconds=S gets_per_s=R (with value rendering). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hamt/cache.h"
#include "hamt/err.h"
#include "hamt/hamt.h"
#include "store/store.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
			"usage: bench_get STORE ROOT N_KEYS [LOOKUPS]\n");
		return 2;
	}
	unsigned long nkeys = strtoul(argv[3], NULL, 10);
	unsigned long lookups = argc > 4 ? strtoul(argv[4], NULL, 10) : 100000;
	struct store *s;
	struct hamt *h;
	struct cid root;
	if (store_open(&s, argv[1], 0) || store_resolve(s, argv[2], &root) ||
	    hamt_open(&h, s, &root)) {
		fprintf(stderr, "bench_get: %s\n", err_msg());
		return 1;
	}
	/* the same decoded-node cache a mount uses (64 MiB) */
	struct hamt_cache *cache = NULL;
	if (hamt_cache_new(&cache, 64u << 20) == 0)
		hamt_set_cache(h, cache);
	struct buf v = {0}, out = {0};
	uint64_t x = 88172645463325252ull;
	unsigned long found = 0;
	double t0 = now_s();
	for (unsigned long i = 0; i < lookups; i++) {
		char key[32];
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int n = snprintf(key, sizeof(key), "rec/%lu",
				 (unsigned long)(x % nkeys));
		buf_reset(&v);
		buf_reset(&out);
		if (hamt_get(h, (const uint8_t *)key, (size_t)n, &v) == 0 &&
		    hamt_value_render(s, v.data, v.len, &out) == 0)
			found++;
	}
	double dt = now_s() - t0;
	printf("gets=%lu found=%lu seconds=%.3f gets_per_s=%.0f\n", lookups,
	       found, dt, (double)lookups / dt);
	buf_free(&v);
	buf_free(&out);
	hamt_free(h);
	hamt_cache_free(cache);
	store_close(s);
	return found == lookups ? 0 : 1;
}
