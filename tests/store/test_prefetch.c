/* test_prefetch.c - the prefetch thread (store/prefetch.h) on a real file
 * whose page cache is dropped first: what is asked for ends up in the
 * page cache (mincore), in one ask larger than any read-ahead window,
 * after a jump and across asks that extend each other; what is not asked
 * for mostly does not; a range past the end of the file ends there; in
 * touch mode the pages are read when the wait returns; the file is
 * unchanged; stop returns with work still asked for. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/prefetch.h"
#include "test.h"

#define MIB ((uint64_t)1 << 20)
#define FILE_LEN (48 * MIB)

/* The share of the pages of [off, off + len) of `path` in the page cache. */
static double cached(const char *path, uint64_t off, uint64_t len)
{
	int fd = open(path, O_RDONLY);
	double c = fd >= 0 ? test_cached(fd, off, len) : 0;
	if (fd >= 0)
		close(fd);
	return c;
}

/* The same once the reads started for it are done (at most 10 s): the
 * thread only starts them, and a page under a read is not counted. */
static double cached_soon(const char *path, uint64_t off, uint64_t len)
{
	double c = 0;
	for (int i = 0; i < 1000 && (c = cached(path, off, len)) < 1.0; i++)
		usleep(10000);
	return c;
}

static uint64_t file_sum(int fd)
{
	uint8_t buf[65536];
	uint64_t h = 1469598103934665603ULL;
	ssize_t r;
	off_t at = 0;
	while ((r = pread(fd, buf, sizeof(buf), at)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
		at += r;
	}
	return h;
}

/* Write the file, put it on disk and drop its page cache. */
static int make_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	uint8_t *buf = malloc(MIB);
	for (uint64_t o = 0; o < FILE_LEN && buf; o += MIB) {
		for (size_t i = 0; i < MIB; i++)
			buf[i] = (uint8_t)((o + i) * 2654435761u >> 13);
		if (pwrite(fd, buf, MIB, (off_t)o) != (ssize_t)MIB) {
			free(buf);
			close(fd);
			return -1;
		}
	}
	free(buf);
	if (fsync(fd) != 0 ||
	    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/file", test_tmpdir("prefetch"));
	int fd = make_file(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return test_summary();
	uint64_t sum = file_sum(fd);
	CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	/* the measurement sees a dropped cache (else nothing here shows) */
	double before = cached(path, 0, FILE_LEN);
	CHECK(before < 0.05);
	if (before >= 0.05)
		fprintf(stderr, "prefetch: %.0f%% cached after a drop\n",
			before * 100);

	struct prefetch *p;
	CHECK_OK(prefetch_start(&p, fd));
	/* one ask of 16 MiB: more than one readahead hint reads (8 MiB
	 * here) */
	prefetch_ask(p, 0, 16 * MIB);
	prefetch_wait(p);
	CHECK(cached_soon(path, 0, 16 * MIB) == 1.0);
	CHECK(prefetch_read_bytes(p) == 16 * MIB);
	/* not asked for */
	CHECK(cached(path, 28 * MIB, 20 * MIB) < 0.5);

	/* a jump, then asks that extend it */
	prefetch_ask(p, 32 * MIB, 2 * MIB);
	prefetch_ask(p, 34 * MIB, 2 * MIB);
	prefetch_ask(p, 36 * MIB, 4 * MIB);
	prefetch_wait(p);
	CHECK(cached_soon(path, 32 * MIB, 8 * MIB) == 1.0);
	CHECK(prefetch_read_bytes(p) == 24 * MIB);

	/* past the end of the file: read up to it, then done */
	prefetch_ask(p, 44 * MIB, 64 * MIB);
	prefetch_wait(p);
	CHECK(cached_soon(path, 44 * MIB, 4 * MIB) == 1.0);
	CHECK(prefetch_read_bytes(p) == 28 * MIB);

	/* touch mode: the pages are read by the time the wait returns */
	CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	CHECK(cached(path, 0, 12 * MIB) < 0.05);
	prefetch_set_touch(p, 1);
	prefetch_ask(p, 0, 12 * MIB);
	prefetch_wait(p);
	CHECK(cached(path, 0, 12 * MIB) == 1.0);
	CHECK(prefetch_read_bytes(p) == 40 * MIB);
	/* ... also past the end of the file, up to it */
	prefetch_ask(p, 46 * MIB, 8 * MIB);
	prefetch_wait(p);
	CHECK(prefetch_read_bytes(p) == 42 * MIB);
	prefetch_set_touch(p, 0);

	/* stop with much asked for and not read */
	CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	prefetch_ask(p, 0, (uint64_t)1 << 40);
	prefetch_stop(p);
	prefetch_stop(NULL);

	CHECK(file_sum(fd) == sum);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == FILE_LEN);
	close(fd);
	return test_summary();
}
