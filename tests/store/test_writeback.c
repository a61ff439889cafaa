/* test_writeback.c - the writeback thread (store/writeback.h) on a real
 * file: asked to, it puts what was written on disk and lets go of the page
 * cache of what lies more than `behind` below the end (mincore), never of
 * what lies below where it started (the file's own pages), and keeps the
 * window above; it flushes every so many bytes put on disk, and only when
 * asked to; the file reads back whole; requests merge; stop is clean. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/writeback.h"
#include "test.h"

#define MIB ((uint64_t)1 << 20)

static void fill(uint8_t *buf, uint64_t at)
{
	for (size_t i = 0; i < MIB; i++)
		buf[i] = (uint8_t)((at + i) * 2654435761u >> 11);
}

/* Write [from, to) of the pattern; 0 or -1. */
static int write_part(int fd, uint64_t from, uint64_t to)
{
	uint8_t *buf = malloc(MIB);
	int rc = buf ? 0 : -1;
	for (uint64_t o = from; o < to && !rc; o += MIB) {
		fill(buf, o);
		if (pwrite(fd, buf, MIB, (off_t)o) != (ssize_t)MIB)
			rc = -1;
	}
	free(buf);
	return rc;
}

/* The number of MiB of the file that read back as written. */
static uint64_t good_mib(int fd, uint64_t len)
{
	uint8_t *buf = malloc(MIB), *want = malloc(MIB);
	uint64_t good = 0;
	for (uint64_t o = 0; o < len && buf && want; o += MIB) {
		fill(want, o);
		if (pread(fd, buf, MIB, (off_t)o) == (ssize_t)MIB &&
		    memcmp(buf, want, MIB) == 0)
			good++;
	}
	free(buf);
	free(want);
	return good;
}

int main(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/file", test_tmpdir("writeback"));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	/* the file's own 8 MiB, on disk and cached, then 24 MiB "loaded" */
	CHECK(write_part(fd, 0, 8 * MIB) == 0 && fsync(fd) == 0);
	CHECK(test_cached(fd, 0, 8 * MIB) == 1.0);
	struct writeback *w;
	CHECK_OK(writeback_start(&w, fd, 8 * MIB, 0));
	CHECK(writeback_dropped(w) == 8 * MIB); /* nothing asked yet */
	CHECK(write_part(fd, 8 * MIB, 32 * MIB) == 0);
	CHECK(test_cached(fd, 8 * MIB, 24 * MIB) == 1.0);

	/* end = the file's size (32 MiB), 8 MiB behind it kept */
	writeback_kick(w, 0, 8 * MIB);
	CHECK(writeback_dropped(w) == 24 * MIB);
	CHECK(test_cached(fd, 8 * MIB, 16 * MIB) < 0.05);
	CHECK(test_cached(fd, 0, 8 * MIB) == 1.0);	  /* not the load's */
	CHECK(test_cached(fd, 24 * MIB, 8 * MIB) == 1.0); /* the window */

	/* requests in a row: the last one counts; an end given */
	writeback_kick(w, 0, 30 * MIB);
	writeback_kick(w, 30 * MIB, 4 * MIB);
	CHECK(writeback_dropped(w) == 26 * MIB);
	CHECK(test_cached(fd, 24 * MIB, 2 * MIB) < 0.05);
	CHECK(test_cached(fd, 26 * MIB, 6 * MIB) == 1.0);
	/* a window larger than the file, and an end below what is dropped:
	 * nothing more */
	writeback_kick(w, 0, 64 * MIB);
	writeback_kick(w, 20 * MIB, 0);
	CHECK(writeback_dropped(w) == 26 * MIB);
	CHECK(writeback_error(w) == 0);
	CHECK(writeback_flushes(w) == 0); /* asked for none */

	/* stop with a request waiting */
	writeback_kick(w, 0, 0);
	CHECK(writeback_stop(w) == 0);
	CHECK(writeback_stop(NULL) == 0);

	/* flushes: every 8 MiB put on disk, counted from `from` */
	CHECK_OK(writeback_start(&w, fd, 32 * MIB, 8 * MIB));
	CHECK(write_part(fd, 32 * MIB, 64 * MIB) == 0);
	writeback_kick(w, 0, 26 * MIB); /* to 38 MiB: 6 MiB, none */
	CHECK(writeback_dropped(w) == 38 * MIB);
	CHECK(writeback_flushes(w) == 0);
	writeback_kick(w, 0, 20 * MIB); /* to 44 MiB: 12 MiB, one */
	CHECK(writeback_dropped(w) == 44 * MIB);
	CHECK(writeback_flushes(w) == 1);
	writeback_kick(w, 0, 14 * MIB); /* 6 MiB since: none */
	CHECK(writeback_dropped(w) == 50 * MIB);
	CHECK(writeback_flushes(w) == 1);
	writeback_kick(w, 0, 0); /* 20 MiB since: one */
	CHECK(writeback_dropped(w) == 64 * MIB);
	CHECK(writeback_flushes(w) == 2);
	CHECK(writeback_error(w) == 0);
	CHECK(writeback_stop(w) == 0);

	CHECK(good_mib(fd, 64 * MIB) == 64);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == 64 * MIB);
	close(fd);
	return test_summary();
}
