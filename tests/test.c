#include "test.h"

#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

unsigned long test_passed, test_failed;

/* The directories test_tmpdir() made: removed by test_summary() when every
 * check passed (a suite run used to leave ~800 MB behind), kept for a look
 * when one failed. */
#define TMPDIRS_MAX 64
static char *tmpdirs[TMPDIRS_MAX];
static int ntmpdirs;

static void rm_rf(const char *path)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

double test_cached(int fd, uint64_t off, uint64_t len)
{
	size_t pages = (size_t)((len + 4095) / 4096), in = 0;
	unsigned char *vec = malloc(pages ? pages : 1);
	void *m = vec && len ? mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED,
				    fd, (off_t)off)
			     : MAP_FAILED;
	if (m != MAP_FAILED && mincore(m, (size_t)len, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			in += vec[i] & 1;
	if (m != MAP_FAILED)
		munmap(m, (size_t)len);
	free(vec);
	return pages ? (double)in / (double)pages : 0;
}

const char *test_tmpdir(const char *name)
{
	static char path[4096];
	const char *base = getenv("TEST_TMP");
	if (!base || !*base)
		base = "/tmp/hamtfs-test";
	mkdir(base, 0755);
	snprintf(path, sizeof(path), "%s/%s.%d", base, name, (int)getpid());
	rm_rf(path);
	mkdir(path, 0755);
	int known = 0;
	for (int i = 0; i < ntmpdirs && !known; i++)
		known = strcmp(tmpdirs[i], path) == 0;
	if (!known && ntmpdirs < TMPDIRS_MAX)
		tmpdirs[ntmpdirs++] = strdup(path);
	return path;
}

const char *test_fixture(const char *rel)
{
	static char path[4096];
	const char *base = getenv("FIXTURES");
	if (!base || !*base)
		base = "../shared/fixtures";
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return path;
}

uint8_t *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	uint8_t *p = malloc(cap);
	while (p) {
		size_t got = fread(p + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
		uint8_t *q = realloc(p, cap);
		if (!q) {
			free(p);
			p = NULL;
		}
		p = q;
	}
	fclose(f);
	*len = n;
	return p;
}

uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

int test_count_cb(void *payload, const struct cid *c, const uint8_t *data,
		  size_t len)
{
	(void)c;
	(void)data;
	(void)len;
	(*(size_t *)payload)++;
	return 0;
}

size_t test_count_blocks(struct store *s)
{
	size_t n = 0;
	CHECK_OK(store_iterate(s, test_count_cb, &n));
	return n;
}

int test_summary(void)
{
	printf("%lu passed, %lu failed\n", test_passed, test_failed);
	for (int i = 0; i < ntmpdirs; i++) {
		if (!tmpdirs[i])
			continue;
		if (test_failed)
			fprintf(stderr, "kept %s\n", tmpdirs[i]);
		else
			rm_rf(tmpdirs[i]);
		free(tmpdirs[i]);
	}
	ntmpdirs = 0;
	return test_failed ? 1 : 0;
}
