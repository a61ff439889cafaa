/* bench_fsread - stat or open+read+close rates over a list of files.
 * usage: bench_fsread DIR NAMES_FILE stat|cat PASSES
 * Each pass visits every name once in the file's order; prints the rate
 * of the first (cold) and of the last (hot) pass. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr,
			"usage: bench_fsread DIR NAMES_FILE stat|cat PASSES\n");
		return 2;
	}
	int cat = !strcmp(argv[3], "cat");
	int passes = atoi(argv[4]);
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	size_t n = 0, cap = 1024;
	char **paths = malloc(cap * sizeof(*paths));
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (n == cap) {
			char **np = realloc(paths, (cap *= 2) * sizeof(*paths));
			if (!np) {
				fprintf(stderr,
					"bench_fsread: out of memory\n");
				return 1;
			}
			paths = np;
		}
		size_t len = strlen(argv[1]) + strlen(line) + 2;
		paths[n] = malloc(len);
		if (!paths[n]) {
			fprintf(stderr, "bench_fsread: out of memory\n");
			return 1;
		}
		snprintf(paths[n], len, "%s/%s", argv[1], line);
		n++;
	}
	fclose(f);
	static char buf[1 << 16];
	double first = 0, last = 0;
	unsigned long errors = 0, bytes = 0;
	for (int p = 0; p < passes; p++) {
		double t0 = now_s();
		for (size_t i = 0; i < n; i++) {
			if (!cat) {
				struct stat st;
				if (stat(paths[i], &st))
					errors++;
				continue;
			}
			int fd = open(paths[i], O_RDONLY);
			if (fd < 0) {
				errors++;
				continue;
			}
			ssize_t r;
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				bytes += (unsigned long)r;
			close(fd);
		}
		double rate = (double)n / (now_s() - t0);
		if (p == 0)
			first = rate;
		last = rate;
	}
	printf("%s files=%zu cold_per_s=%.0f hot_per_s=%.0f errors=%lu\n",
	       argv[3], n, first, last, errors);
	return errors ? 1 : 0;
}
