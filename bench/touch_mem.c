/* touch_mem - what fresh memory costs this machine right now.
 *
 *   touch_mem MIB     maps MIB MiB of anonymous memory in huge pages (as
 *                     hamt build's big buffers are: tools/bigbuf.h),
 *                     writes one byte per 4 KiB page, then does it again;
 *                     prints both times and the first one's GB/s.
 *
 * On bare metal the first touch runs at several GB/s (the kernel zeroes
 * the pages). On the VMs this project is measured on it varied from 0.4
 * to 2.4 GB/s within an hour (the host backs guest memory only once it is
 * touched, and takes back what the guest frees), against 15 GB/s for the
 * second touch: a build touches about 2 GiB of fresh memory at 10M
 * records, so bench/run_bulk.sh prints this beside its figures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double touch(volatile unsigned char *p, size_t len, unsigned char v)
{
	double t0 = now();
	for (size_t i = 0; i < len; i += 4096)
		p[i] = v;
	return now() - t0;
}

int main(int argc, char **argv)
{
	char *end = NULL;
	unsigned long mib = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	if (argc != 2 || *end || mib == 0 || mib > (1UL << 20)) {
		fprintf(stderr, "usage: touch_mem MIB (1 to 1048576)\n");
		return 2;
	}
	size_t len = (size_t)mib << 20;
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "touch_mem: mmap of %lu MiB: %s\n", mib,
			strerror(errno));
		return 1;
	}
	(void)madvise(m, len, MADV_HUGEPAGE); /* best effort, as bigbuf's */
	double first = touch(m, len, 1), again = touch(m, len, 2);
	printf("first touch of %lu MiB: %.3f s (%.2f GB/s); again: %.3f s\n",
	       mib, first, first > 0 ? (double)len / first / 1e9 : 0.0, again);
	munmap(m, len);
	return 0;
}
