/* fuzz_car.c - the CAR reader (CARv1 and CARv2) and the CAR backend.
 *
 * The input is put in a memory file (memfd) and opened by path
 * (/proc/self/fd/N) with car_reader_open, then read to the end. Invariants:
 *  - every block returned lies inside the file at the offset the reader
 *    reports, right after its CID's bytes, hashes to its CID and is at
 *    most STORE_MAX_BLOCK bytes; an error is sticky;
 *  - store_car_open (the read-only CAR backend) accepts the file exactly
 *    when the reader reads it to a clean end, and then serves every block
 *    (has/get/iterate) with the same bytes;
 *  - a file read to a clean end, written again with car_writer, reads back
 *    with the same roots and the same blocks in the same order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "store/backend.h"
#include "store/car.h"
#include "store/store.h"

struct blk {
	struct cid c;
	uint64_t off;
	size_t len;
};

static char dir[64];

static void remove_dir(void)
{
	rmdir(dir);
}

/* A directory for the round trip's file, removed at exit. */
static const char *scratch_dir(void)
{
	if (!dir[0]) {
		const char *base =
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, sizeof(dir), "%s/fuzz_car.XXXXXX", base);
		FUZZ_CHECK(mkdtemp(dir) != NULL);
		atexit(remove_dir);
	}
	return dir;
}

/* Read `path` to the end; the blocks (offsets into it) into *out. 0 at a
 * clean end, else the error. */
static int read_all(const char *path, const uint8_t *file, size_t size,
		    struct cid **roots, size_t *nroots, struct blk **out,
		    size_t *nout)
{
	struct car_reader *r = NULL;
	struct blk *v = NULL;
	size_t n = 0, cap = 0;
	*out = NULL;
	*nout = 0;
	*roots = NULL;
	*nroots = 0;
	int rc = car_reader_open(&r, path);
	if (rc) {
		FUZZ_CHECK(rc < 0 && r == NULL);
		return rc;
	}
	const struct cid *rr = car_reader_roots(r, nroots);
	FUZZ_CHECK(*nroots >= 1);
	*roots = malloc(*nroots * sizeof(**roots));
	FUZZ_CHECK(*roots != NULL);
	memcpy(*roots, rr, *nroots * sizeof(**roots));
	struct cid c;
	const uint8_t *data;
	size_t len;
	while ((rc = car_reader_next(r, &c, &data, &len)) == 1) {
		uint64_t off = car_reader_block_offset(r);
		uint8_t cb[CID_MAX_BYTES];
		size_t cl = cid_to_bytes(&c, cb);
		FUZZ_CHECK(len <= STORE_MAX_BLOCK);
		FUZZ_CHECK(off >= cl && off <= size && len <= size - off);
		FUZZ_CHECK(memcmp(file + off, data, len) == 0);
		FUZZ_CHECK(memcmp(file + off - cl, cb, cl) == 0);
		FUZZ_CHECK(cid_verify_block(&c, data, len) == 0);
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct blk *nv = realloc(v, cap * sizeof(*v));
			FUZZ_CHECK(nv != NULL);
			v = nv;
		}
		v[n++] = (struct blk){c, off, len};
	}
	if (rc < 0) {
		/* sticky: once bad, always bad */
		FUZZ_CHECK(car_reader_next(r, &c, &data, &len) < 0);
	} else {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(car_reader_next(r, &c, &data, &len) == 0);
	}
	car_reader_close(r);
	*out = v;
	*nout = n;
	return rc;
}

static int count_cb(void *payload, const struct cid *c, const uint8_t *data,
		    size_t len)
{
	FUZZ_CHECK(cid_verify_block(c, data, len) == 0);
	(*(size_t *)payload)++;
	return 0;
}

static void check_backend(const char *path, int ok, const uint8_t *file,
			  const struct blk *b, size_t n)
{
	struct store_backend *be = NULL;
	int rc = store_car_open(&be, path);
	if (rc == -ENOMEM)
		return;
	FUZZ_CHECK((rc == 0) == ok);
	if (rc)
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t *data = NULL;
		size_t len = 0;
		FUZZ_CHECK(be->has(be, &b[i].c) == 1);
		FUZZ_CHECK(be->get(be, &b[i].c, &data, &len) == 0);
		FUZZ_CHECK(len == b[i].len &&
			   memcmp(data, file + b[i].off, len) == 0);
		free(data);
	}
	size_t count = 0;
	FUZZ_CHECK(be->iterate(be, count_cb, &count) == 0);
	FUZZ_CHECK(count <= n && (n == 0 || count >= 1));
	be->free(be);
}

static void round_trip(const uint8_t *file, const struct cid *roots,
		       size_t nroots, const struct blk *b, size_t n)
{
	char path[128];
	struct car_writer *w = NULL;
	snprintf(path, sizeof(path), "%s/rt.car", scratch_dir());
	FUZZ_CHECK(car_writer_open(&w, path, roots, nroots) == 0);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(
		    car_writer_put(w, &b[i].c, file + b[i].off, b[i].len) == 0);
	FUZZ_CHECK(car_writer_finish(w) == 0);
	size_t size = 0;
	FILE *f = fopen(path, "rb");
	FUZZ_CHECK(f != NULL);
	fseek(f, 0, SEEK_END);
	size = (size_t)ftell(f);
	rewind(f);
	uint8_t *copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy && fread(copy, 1, size, f) == size);
	fclose(f);
	struct cid *r2;
	size_t nr2, n2;
	struct blk *b2;
	FUZZ_CHECK(read_all(path, copy, size, &r2, &nr2, &b2, &n2) == 0);
	FUZZ_CHECK(nr2 == nroots && n2 == n);
	for (size_t i = 0; i < nroots; i++)
		FUZZ_CHECK(cid_equal(&r2[i], &roots[i]));
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(cid_equal(&b2[i].c, &b[i].c));
		FUZZ_CHECK(
		    b2[i].len == b[i].len &&
		    memcmp(copy + b2[i].off, file + b[i].off, b[i].len) == 0);
	}
	unlink(path);
	free(copy);
	free(r2);
	free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_car", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	size_t done = 0;
	while (done < size) {
		ssize_t k = write(fd, data + done, size - done);
		FUZZ_CHECK(k > 0);
		done += (size_t)k;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct cid *roots;
	size_t nroots, n;
	struct blk *b;
	int rc = read_all(path, data, size, &roots, &nroots, &b, &n);
	check_backend(path, rc == 0, data, b, n);
	if (rc == 0)
		round_trip(data, roots, nroots, b, n);
	free(roots);
	free(b);
	close(fd);
	return 0;
}
