/* loadread - readers for the load test: THREADS threads stat and read
 * random files "k-<i>" (i < KEYS) of a mount for SECONDS seconds. A file
 * must hold "v<r>-<i>" (its own index, some version r), its stat size must
 * match what was read, and the version a thread sees of a key must never go
 * back (every read gives the old or the new contents, never a mix and
 * never an older one after a newer). Prints
 *   ops N errors E ops_per_s R
 * and exits non-zero on any error.
 *
 *   loadread MOUNTPOINT KEYS THREADS SECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *mnt;
static unsigned long keys;
static double until;
static unsigned long total_ops, total_errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *reader(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	long *seen = malloc(keys * sizeof(*seen));
	unsigned long ops = 0, errors = 0;
	if (!seen)
		return NULL;
	for (unsigned long i = 0; i < keys; i++)
		seen[i] = -1;
	while (now() < until) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned long i = (unsigned long)(x % keys);
		char path[4096], buf[256], want[64];
		snprintf(path, sizeof(path), "%s/k-%lu", mnt, i);
		struct stat st;
		int ok = stat(path, &st) == 0;
		int fd = ok ? open(path, O_RDONLY) : -1;
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		long r = -1;
		if (n > 0) {
			buf[n] = 0;
			char *end;
			r = buf[0] == 'v' ? strtol(buf + 1, &end, 10) : -1;
			snprintf(want, sizeof(want), "v%ld-%lu", r, i);
			ok = r >= 0 && strcmp(buf, want) == 0;
		} else {
			ok = 0;
		}
		/* the size may be of a newer version than the bytes read, not
		 * of an older one: only compare when nothing moved on */
		if (ok && r < seen[i]) {
			ok = 0;
			fprintf(stderr, "k-%lu: version %ld after %ld\n", i, r,
				seen[i]);
		}
		if (ok)
			seen[i] = r;
		else if (errors < 10)
			fprintf(stderr, "k-%lu: read %zd bytes: %.60s (%s)\n",
				i, n, n > 0 ? buf : "", strerror(errno));
		ops += 2; /* a stat and a read */
		errors += !ok;
	}
	free(seen);
	pthread_mutex_lock(&lock);
	total_ops += ops;
	total_errors += errors;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr,
			"usage: loadread MOUNTPOINT KEYS THREADS SECONDS\n");
		return 2;
	}
	mnt = argv[1];
	keys = strtoul(argv[2], NULL, 10);
	int threads = atoi(argv[3]);
	double secs = atof(argv[4]);
	if (!keys || threads < 1 || threads > 256 || secs <= 0) {
		fprintf(stderr, "loadread: bad arguments\n");
		return 2;
	}
	double t0 = now();
	until = t0 + secs;
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	for (int i = 0; t && i < threads; i++)
		pthread_create(&t[i], NULL, reader, (void *)(uintptr_t)i);
	for (int i = 0; t && i < threads; i++)
		pthread_join(t[i], NULL);
	free(t);
	double el = now() - t0;
	printf("ops %lu errors %lu ops_per_s %.0f\n", total_ops, total_errors,
	       (double)total_ops / el);
	return total_errors ? 1 : 0;
}
