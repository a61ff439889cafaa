/* benchutil.h - what the bench programs share: a monotonic clock and the
 * bytes this process has handed the kernel to write. Header-only: each
 * bench is one C file. */
#ifndef BENCH_BENCHUTIL_H
#define BENCH_BENCHUTIL_H

#include <stdio.h>
#include <time.h>

/* seconds on the monotonic clock */
static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes this process has written with write(2) and its kind so far
 * (/proc/self/io wchar): what LMDB hands the kernel for a commit. 0 if
 * that file cannot be read. */
static inline unsigned long long bench_wchar(void)
{
	unsigned long long v = 0;
	char line[128];
	FILE *f = fopen("/proc/self/io", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "wchar: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

#endif
