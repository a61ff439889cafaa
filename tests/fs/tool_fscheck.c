/* fscheck - compare a mounted hamtfs directory with the map read through
 * the library, entry by entry.
 *
 *   fscheck STORE ROOT MOUNTPOINT [--bufsize N] [--threads N] [--jobs N]
 *           [--mmap]
 *
 * 1. lists MOUNTPOINT with raw getdents64 calls of N bytes and checks that
 *    every key's name appears exactly once and nothing else does;
 * 2. for every key: stat (size), read the whole file, compare with the
 *    rendered value, and compare user.hamtfs.key with the key (with
 *    --jobs N, N threads share the keys: a busy machine then serves the
 *    requests of one thread while another waits);
 * 3. with --threads N, N threads read random keys concurrently for the same
 *    checks; with --mmap, files are read through mmap too.
 * Prints "N passed, M failed" and exits non-zero on any mismatch. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "hamt/err.h"
#include "hamt/hamt.h"
#include "hamt/hash.h"
#include "hamt/names.h"
#include "store/store.h"

struct entry {
	char *name;
	uint8_t *key;
	size_t klen;
	uint8_t *content;
	size_t clen;
	int seen;
};

static struct entry *ents;
static size_t nents, capents;
static struct store *st;
static struct hamt *map;
static const char *mnt;
static int use_mmap;
static unsigned long passed, failed;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void result(int ok, const char *what, const char *name)
{
	pthread_mutex_lock(&count_lock);
	if (ok) {
		passed++;
	} else {
		failed++;
		if (failed < 20)
			fprintf(stderr, "FAIL %s: %s\n", what, name);
	}
	pthread_mutex_unlock(&count_lock);
}

static int collect(void *payload, const uint8_t *key, size_t klen,
		   const uint8_t *val, size_t vlen)
{
	(void)payload;
	if (nents == capents) {
		size_t cap = capents ? capents * 2 : 1024;
		struct entry *ne = realloc(ents, cap * sizeof(*ents));
		if (!ne)
			return -ENOMEM;
		ents = ne;
		capents = cap;
	}
	struct entry *e = &ents[nents++];
	memset(e, 0, sizeof(*e));
	char name[NAME_MAX_BYTES + 1];
	if (name_of_key(hamt_get_params(map)->hash_alg, key, klen, name) < 0)
		return -EINVAL;
	e->name = strdup(name);
	e->key = malloc(klen ? klen : 1);
	memcpy(e->key, key, klen);
	e->klen = klen;
	struct buf out = {0};
	int rc = hamt_value_render(st, val, vlen, &out);
	e->content = out.data;
	e->clen = out.len;
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

static struct entry *find(const char *name)
{
	struct entry k = {.name = (char *)name};
	return bsearch(&k, ents, nents, sizeof(*ents), name_cmp);
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void check_listing(size_t bufsize)
{
	int fd = open(mnt, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		result(0, "open directory", strerror(errno));
		return;
	}
	char *buf = malloc(bufsize);
	unsigned long extra = 0, calls = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, bufsize);
		if (n < 0) {
			result(0, "getdents64", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		calls++;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d =
			    (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			struct entry *e = find(d->d_name);
			if (!e) {
				extra++;
				result(0, "listed name that is no key",
				       d->d_name);
			} else {
				e->seen++;
			}
		}
	}
	free(buf);
	close(fd);
	size_t once = 0;
	for (size_t i = 0; i < nents; i++) {
		if (ents[i].seen == 1)
			once++;
		else
			result(0, ents[i].seen ? "listed twice" : "not listed",
			       ents[i].name);
		ents[i].seen = 0;
	}
	result(once == nents && extra == 0, "listing", "every key once");
	printf("listing with %zu-byte buffers: %zu keys in %lu getdents "
	       "calls\n",
	       bufsize, once, calls);
}

static void check_entry(const struct entry *e)
{
	char path[4096 + NAME_MAX_BYTES];
	snprintf(path, sizeof(path), "%s/%s", mnt, e->name);
	struct stat sb;
	if (stat(path, &sb) != 0) {
		result(0, "stat", e->name);
		return;
	}
	result((size_t)sb.st_size == e->clen && S_ISREG(sb.st_mode) &&
		   ((sb.st_mode & 0777) == 0444 || (sb.st_mode & 0777) == 0644),
	       "stat size/mode", e->name);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		result(0, "open", e->name);
		return;
	}
	uint8_t *got = malloc(e->clen + 16);
	size_t n = 0;
	ssize_t r;
	/* odd-sized reads exercise offsets */
	while ((r = read(fd, got + n,
			 e->clen + 16 - n < 1000 ? e->clen + 16 - n : 1000)) >
	       0)
		n += (size_t)r;
	result(r == 0 && n == e->clen && !memcmp(got, e->content, n),
	       "contents", e->name);
	if (use_mmap && e->clen > 0) {
		void *m = mmap(NULL, e->clen, PROT_READ, MAP_PRIVATE, fd, 0);
		result(m != MAP_FAILED && !memcmp(m, e->content, e->clen),
		       "mmap contents", e->name);
		if (m != MAP_FAILED)
			munmap(m, e->clen);
	}
	close(fd);
	char kb[4096];
	ssize_t kl = getxattr(path, "user.hamtfs.key", kb, sizeof(kb));
	result(kl == (ssize_t)e->klen && !memcmp(kb, e->key, e->klen),
	       "user.hamtfs.key", e->name);
	free(got);
}

static int jobs = 1;

static void *full_pass(void *arg)
{
	for (size_t i = (size_t)(uintptr_t)arg; i < nents; i += (size_t)jobs)
		check_entry(&ents[i]);
	return NULL;
}

static void *reader(void *arg)
{
	uint64_t x = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < nents && i < 5000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_entry(&ents[x % nents]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: fscheck STORE ROOT MOUNTPOINT "
				"[--bufsize N] [--threads N] [--mmap]\n");
		return 2;
	}
	size_t bufsize = 32768;
	int threads = 0;
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--bufsize") && i + 1 < argc)
			bufsize = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
			jobs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mmap"))
			use_mmap = 1;
	}
	mnt = argv[3];
	struct cid root;
	if (store_open(&st, argv[1], 0) || store_resolve(st, argv[2], &root) ||
	    hamt_open(&map, st, &root) || hamt_iterate(map, collect, NULL)) {
		fprintf(stderr, "fscheck: %s\n", err_msg());
		return 2;
	}
	qsort(ents, nents, sizeof(*ents), name_cmp);
	check_listing(bufsize);
	if (threads > 0) {
		pthread_t t[64];
		if (threads > 64)
			threads = 64;
		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, reader,
				       (void *)(uintptr_t)(i + 1));
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
	} else {
		pthread_t t[64];
		if (jobs < 1 || jobs > 64)
			jobs = jobs < 1 ? 1 : 64;
		for (int i = 0; i < jobs; i++)
			pthread_create(&t[i], NULL, full_pass,
				       (void *)(uintptr_t)i);
		for (int i = 0; i < jobs; i++)
			pthread_join(t[i], NULL);
	}
	printf("%lu passed, %lu failed\n", passed, failed);
	for (size_t i = 0; i < nents; i++) {
		free(ents[i].name);
		free(ents[i].key);
		free(ents[i].content);
	}
	free(ents);
	hamt_free(map);
	store_close(st);
	return failed ? 1 : 0;
}
