/* bench_floor - what the blocks a commit wrote cost on their own, with no
 * HAMT work: what any commit that writes them into DESIGN.md's store pays
 * on this machine. In a process of its own, the durable commit is timed
 * as a process's first one; a running mount's later commits pay less for
 * it (bench/run_write.sh prints the daemon's own phases beside these).
 *
 *   bench_floor BEFORE AFTER
 *
 * BEFORE is a copy (mdb_copy) of the store taken just before a commit,
 * AFTER the store after it. The commit's new blocks are the blocks of
 * AFTER that BEFORE lacks. Of those, this prints the time of
 *   - SHA-256 over their bytes (each block's CID computed again);
 *   - writing their bytes to a new file in BEFORE and fdatasync;
 *   - putting them into BEFORE (sorted by CID, one LMDB transaction) and
 *     committing it durably: the store's part of the commit, on the same
 *     B-tree the commit found. The puts are timed in a first transaction
 *     that is aborted, and again in the one that commits.
 * The store comes first, so that the file written for the second figure
 * cannot be in the way of its commit. The hash and the file write are
 * timed three times and the fastest is printed (the first write of a
 * process can meet cold memory).
 * The last line is for scripts: "floor BLOCKS BYTES HASH_S FILE_S
 * COLD_PUT_S PUT_S COMMIT_S WCHAR". BEFORE is changed (it gets the blocks). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "hamt/buf.h"
#include "hamt/cid.h"
#include "hamt/err.h"
#include "store/store.h"

struct newblk {
	struct cid cid;
	size_t off, len;
};

struct diff {
	struct store *before;
	struct newblk *v;
	size_t n, cap;
	struct buf bytes;
};

static int diff_cb(void *payload, const struct cid *c, const uint8_t *data,
		   size_t len)
{
	struct diff *d = payload;
	int rc = store_has(d->before, c);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 4096;
		struct newblk *nv = realloc(d->v, cap * sizeof(*nv));
		if (!nv)
			return err_set(-ENOMEM, "bench_floor: out of memory");
		d->v = nv;
		d->cap = cap;
	}
	d->v[d->n] = (struct newblk){*c, d->bytes.len, len};
	if ((rc = buf_append(&d->bytes, data, len)) != 0)
		return rc;
	d->n++;
	return 0;
}

/* write all of `d`'s bytes to a new file in `dir`, fdatasync, remove it */
static int file_floor(const char *dir, const struct diff *d)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/floor.blocks", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(-errno, "bench_floor: create %s: %s", path,
			       strerror(errno));
	int rc = 0;
	for (size_t off = 0; off < d->bytes.len && !rc;) {
		size_t want = d->bytes.len - off;
		if (want > (8u << 20))
			want = 8u << 20;
		ssize_t w = write(fd, d->bytes.data + off, want);
		if (w < 0)
			rc = err_set(-errno, "bench_floor: write %s: %s", path,
				     strerror(errno));
		else
			off += (size_t)w;
	}
	if (!rc && fdatasync(fd) != 0)
		rc = err_set(-errno, "bench_floor: fdatasync %s: %s", path,
			     strerror(errno));
	close(fd);
	unlink(path);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench_floor BEFORE AFTER\n");
		return 2;
	}
	struct store *after = NULL;
	struct store_txn *t = NULL;
	struct store_batch *b = NULL;
	struct diff d = {0};
	double hash_s = 0, file_s = 0, cold_s = 0, put_s = 0, commit_s = 0;
	unsigned long long w0 = 0, w1 = 0;
	int rc = store_open(&d.before, argv[1], 0);
	if (!rc)
		rc = store_open(&after, argv[2], STORE_RDONLY);
	if (!rc)
		rc = store_iterate(after, diff_cb, &d);
	/* the same puts twice: first in a transaction that is thrown away
	 * (a process's first transaction faults in the map's pages and
	 * mallocs LMDB's dirty pages, as a mount's first commit does), then
	 * in one that is committed, as a later commit of a running mount
	 * does */
	for (int round = 0; round < 2 && !rc; round++) {
		w0 = bench_wchar();
		double t0 = bench_now();
		rc = store_txn_begin(d.before, &t);
		if (!rc)
			rc = store_batch_new(&b, t, 0);
		for (size_t i = 0; i < d.n && !rc; i++)
			rc = store_batch_add_ref(b, &d.v[i].cid,
						 d.bytes.data + d.v[i].off,
						 d.v[i].len);
		if (!rc)
			rc = store_batch_put(b);
		double t1 = bench_now();
		store_batch_free(b);
		b = NULL;
		if (round == 0) {
			cold_s = t1 - t0;
			store_txn_abort(t);
			t = NULL;
			continue;
		}
		put_s = t1 - t0;
		if (!rc) {
			rc = store_txn_commit(t);
			t = NULL;
		}
		commit_s = bench_now() - t1;
		w1 = bench_wchar();
	}
	for (int round = 0; round < 3 && !rc; round++) {
		double t0 = bench_now();
		for (size_t i = 0; i < d.n; i++) {
			struct cid c;
			cid_of_block(&c, d.v[i].cid.codec,
				     d.bytes.data + d.v[i].off, d.v[i].len);
			if (!cid_equal(&c, &d.v[i].cid))
				rc = err_set(-EIO,
					     "bench_floor: block %zu of %s "
					     "does not match its CID",
					     i, argv[2]);
		}
		double dt = bench_now() - t0;
		if (round == 0 || dt < hash_s)
			hash_s = dt;
	}
	for (int round = 0; round < 3 && !rc; round++) {
		double t0 = bench_now();
		rc = file_floor(argv[1], &d);
		double dt = bench_now() - t0;
		if (round == 0 || dt < file_s)
			file_s = dt;
	}
	if (rc)
		fprintf(stderr, "bench_floor: %s\n", err_msg());
	else {
		double mib = (double)d.bytes.len / (1 << 20);
		printf("%zu new blocks, %.1f MiB: SHA-256 %.3f s; written to a "
		       "file with fdatasync %.3f s; LMDB puts %.3f s (in the "
		       "process's first transaction: %.3f s) + durable commit "
		       "%.3f s (wrote %.1f MiB, %.1fx)\n",
		       d.n, mib, hash_s, file_s, put_s, cold_s, commit_s,
		       (double)(w1 - w0) / (1 << 20),
		       mib > 0 ? (double)(w1 - w0) / (1 << 20) / mib : 0.0);
		printf("floor %zu %zu %.6f %.6f %.6f %.6f %.6f %llu\n", d.n,
		       d.bytes.len, hash_s, file_s, cold_s, put_s, commit_s,
		       w1 - w0);
	}
	store_txn_abort(t);
	store_batch_free(b);
	store_close(after);
	store_close(d.before);
	free(d.v);
	buf_free(&d.bytes);
	return rc ? 1 : 0;
}
