/* bench_commit - the cost of a commit of K changes on an N-key map, with
 * no FUSE in the way: builds N keys (or reuses the store), stages K puts
 * of new and existing keys (raw records of ~1 KiB) and commits them,
 * printing the commit's phases; then the same K changes as a full build of
 * the resulting N(+) keys for the ratio.
 *
 *   bench_commit STORE_DIR N K
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "hamt/err.h"
#include "hamt/hamt.h"
#include "mapfixture.h"
#include "store/staging.h"
#include "store/store.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_commit STORE_DIR N K\n");
		return 2;
	}
	size_t n = strtoull(argv[2], NULL, 10), k = strtoull(argv[3], NULL, 10);
	struct store *s = NULL;
	struct cid root, nr;
	double bsecs = 0;
	int rc = store_open(&s, argv[1], STORE_CREATE);
	if (!rc && store_ref_get(s, "main", &root) != 0) {
		double t0 = bench_now();
		rc = mapfixture_build(s, "main", n, 0, &root);
		bsecs = bench_now() - t0;
	}
	if (rc) {
		fprintf(stderr, "bench_commit: %s\n", err_msg());
		return 1;
	}
	/* K changes: every other one a new key, records of ~1 KiB */
	struct staging_change *ch = calloc(k, sizeof(*ch));
	char *keys = malloc(k * 32);
	uint8_t *recs = malloc(k * 1024);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < k; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t id = i % 2 ? n + i : (size_t)(x % n);
		ch[i].key = (const uint8_t *)keys + i * 32;
		ch[i].klen = mapfixture_key(id, keys + i * 32);
		size_t l = mapfixture_record(id, 1, (char *)recs + i * 1024);
		memset(recs + i * 1024 + l, 'x', 1024 - l);
		ch[i].record = STAGING_OP_PUT;
		ch[i].data = recs + i * 1024;
		ch[i].len = 1024;
	}
	/* keys may repeat: staging_apply wants distinct keys */
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		int dup = 0;
		if (i % 2 == 0)
			for (size_t j = 0; j < i && !dup; j += 2)
				dup = ch[j].klen == ch[i].klen &&
				      !memcmp(ch[j].key, ch[i].key, ch[i].klen);
		if (!dup)
			ch[m++] = ch[i];
	}
	rc = staging_apply(s, "main", ch, m);
	struct staging_commit_stats st = {0};
	unsigned long long w0 = bench_wchar();
	double t0 = bench_now();
	if (!rc)
		rc = staging_commit(s, "main", "main", &root, NULL, &nr, &st);
	double csecs = bench_now() - t0;
	unsigned long long w1 = bench_wchar();
	if (rc) {
		fprintf(stderr, "bench_commit: %s\n", err_msg());
		return 1;
	}
	printf("commit of %zu changes on %zu keys: %.3f s (records %.3f, "
	       "merge %.3f, write %.3f, sync %.3f), %llu blocks\n",
	       m, n, csecs, st.collect_s, st.merge_s, st.write_s, st.sync_s,
	       (unsigned long long)st.blocks_written);
	printf("new blocks %.1f MiB; the store wrote %.1f MiB for them "
	       "(%.1fx)\n",
	       (double)st.bytes_written / (1 << 20),
	       (double)(w1 - w0) / (1 << 20),
	       st.bytes_written ? (double)(w1 - w0) / (double)st.bytes_written
				: 0.0);
	if (bsecs > 0)
		printf("build of %zu keys: %.3f s; commit/build %.2f%%\n", n,
		       bsecs, 100 * csecs / bsecs);
	free(ch);
	free(keys);
	free(recs);
	store_close(s);
	return 0;
}
