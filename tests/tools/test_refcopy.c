/* test_refcopy.c - pieces of a file gathered in file order (tools/refcopy.h),
 * through pread windows and through mapped windows: every piece lands
 * where it belongs, whatever the window and piece sizes; the mapped copy
 * asks its check before each window and stops at once when it says no,
 * and reads with pread when a window cannot be mapped; given a cost, it
 * tries both ways and then keeps to the cheaper one, and a choice made
 * holds; a piece outside the file copies nothing; sorted once, stretches of
 * the pieces copied by several threads at once land as well, and a
 * stretch's windows reach no further than its last piece. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hamt/err.h"
#include "hamt/sanitizer.h"
#include "test.h"
#include "tools/refcopy.h"

static uint64_t rs = 7;

/* A check that says yes `ok` times, then no. */
struct counter {
	int calls, ok;
};

static int count_check(void *arg)
{
	struct counter *c = arg;
	if (c->calls++ >= c->ok)
		return err_set(-ESTALE, "the test's check said no");
	return 0;
}

struct fixture {
	int fd;
	uint8_t *bytes; /* what the file holds */
	size_t size;
	struct refcopy_item *items, *tmp;
	size_t n;
	uint32_t maxlen;
	uint64_t outlen;
};

/* n pieces at random offsets of lengths up to maxlen, some at the very
 * start and end of the file, laid out one after another in the output. */
static void make_items(struct fixture *f, size_t n, uint32_t maxlen)
{
	f->items = calloc(n, sizeof(*f->items));
	f->tmp = calloc(n, sizeof(*f->tmp));
	f->n = n;
	f->maxlen = maxlen;
	f->outlen = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t len = 1 + (uint32_t)(test_rand(&rs) % maxlen);
		uint64_t off = test_rand(&rs) % (f->size - len + 1);
		if (i == 0)
			off = 0;
		if (i == 1)
			off = f->size - len;
		f->items[i] = (struct refcopy_item){off, f->outlen, len};
		f->outlen += len;
	}
}

/* 1 if every piece of `out` is the file's bytes it names. */
static int out_right(const struct fixture *f, const uint8_t *out)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct refcopy_item *it = &f->items[i];
		if (memcmp(out + it->dst, f->bytes + it->off, it->len) != 0)
			return 0;
	}
	return 1;
}

static void run_case(struct fixture *f, size_t chunk, size_t window,
		     const char *what)
{
	uint8_t *out = malloc(f->outlen);
	uint8_t *win = malloc(chunk);
	memset(out, 0xAA, f->outlen);
	struct counter c = {0, 1 << 30};
	struct refcopy_map map = {window, count_check, &c, NULL};
	CHECK_OK(refcopy_run(f->fd, "in", f->size, f->items, f->tmp, f->n, out,
			     win, chunk, window ? &map : NULL));
	CHECK(out_right(f, out));
	if (window) /* a check per window mapped: the pieces span the file,
		       and a window grows by at most a piece */
		CHECK(c.calls >= (int)(f->size / (window + f->maxlen)) &&
		      c.calls <= (int)f->n);
	else
		CHECK(c.calls == 0);
	printf("%s: %zu pieces right (chunk %zu, window %zu, %d checks)\n",
	       what, f->n, chunk, window, c.calls);
	free(out);
	free(win);
}

/* One thread's stretch of a shared copy. */
struct stretch {
	const struct fixture *f;
	size_t a, b;
	uint8_t *out;
	size_t window;
	uint64_t size; /* the size the copy is told */
	int rc;
};

static void *copy_stretch(void *arg)
{
	struct stretch *st = arg;
	uint8_t win[8192];
	struct counter c = {0, 1 << 30};
	struct refcopy_map map = {st->window, count_check, &c, NULL};
	st->rc = refcopy_copy(st->f->fd, "in", st->size, st->f->items + st->a,
			      st->b - st->a, st->out, win, sizeof(win),
			      st->window ? &map : NULL);
	return NULL;
}

/* Sort the pieces once, then copy them in k stretches on k threads at once
 * into one output. */
static void run_shared(struct fixture *f, unsigned k, size_t window)
{
	uint8_t *out = malloc(f->outlen);
	memset(out, 0xAA, f->outlen);
	CHECK_OK(refcopy_sort("in", f->size, f->items, f->tmp, f->n));
	int sorted = 1;
	for (size_t i = 1; i < f->n; i++)
		sorted &= f->items[i - 1].off <= f->items[i].off;
	CHECK(sorted);
	struct stretch st[8];
	pthread_t th[8];
	for (unsigned i = 0; i < k; i++) {
		st[i] = (struct stretch){f,   f->n * i / k, f->n * (i + 1) / k,
					 out, window,	    f->size,
					 -1};
		CHECK(pthread_create(&th[i], NULL, copy_stretch, &st[i]) == 0);
	}
	int ok = 1;
	for (unsigned i = 0; i < k; i++) {
		pthread_join(th[i], NULL);
		ok &= st[i].rc == 0;
	}
	CHECK(ok);
	CHECK(out_right(f, out));
	printf("%u stretches on %u threads (window %zu): %zu pieces right\n", k,
	       k, window, f->n);
	free(out);
}

int main(void)
{
	const char *dir = test_tmpdir("refcopy");
	char path[4096];
	snprintf(path, sizeof(path), "%s/in", dir);
	struct fixture f = {0};
	f.size = (5u << 20) + 1234; /* not a whole page at the end */
	f.bytes = malloc(f.size);
	for (size_t i = 0; i < f.size; i++)
		f.bytes[i] = (uint8_t)test_rand(&rs);
	FILE *fp = fopen(path, "wb");
	CHECK(fp && fwrite(f.bytes, 1, f.size, fp) == f.size);
	if (fp)
		fclose(fp);
	f.fd = open(path, O_RDONLY);
	CHECK(f.fd >= 0);
	if (f.fd < 0)
		return test_summary();

	/* short pieces, and pieces longer than the chunk (read straight
	 * into the output) or than the window (mapped whole) */
	make_items(&f, 20000, 600);
	run_case(&f, 8192, 0, "pread");
	run_case(&f, 8192, 65536, "mapped");
	run_case(&f, 4096, (size_t)1 << 20, "mapped, big window");
	free(f.items);
	free(f.tmp);
	make_items(&f, 3000, 20000);
	run_case(&f, 8192, 0, "pread, long pieces");
	run_case(&f, 16384, 4096, "mapped, pieces over the window");

	/* the check says no before the third window: the copy stops there */
	{
		uint8_t *out = malloc(f.outlen), *win = malloc(16384);
		struct counter c = {0, 2};
		struct refcopy_map map = {65536, count_check, &c, NULL};
		CHECK_ERR(refcopy_run(f.fd, "in", f.size, f.items, f.tmp, f.n,
				      out, win, 16384, &map),
			  -ESTALE);
		CHECK(strstr(err_msg(), "the test's check said no") != NULL);
		CHECK(c.calls == 3);
		printf("a check that fails stops the mapped copy: %s\n",
		       err_msg());
		free(out);
		free(win);
	}

	/* no address space for a window: the copy reads instead (in a child
	 * whose address space is capped just above what it uses; not under
	 * AddressSanitizer or valgrind, which a cap would break) */
#ifndef HAMT_UNDER_ASAN
	const char *pre = getenv("LD_PRELOAD"); /* valgrind's: no cap */
	if (!pre || !strstr(pre, "vgpreload")) {
		uint8_t *out = malloc(f.outlen), *win = malloc(16384);
		pid_t pid = fork();
		if (pid == 0) {
			long kb = 0;
			char line[256];
			FILE *st = fopen("/proc/self/status", "r");
			while (st && fgets(line, sizeof(line), st))
				if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
					break;
			if (st)
				fclose(st);
			struct rlimit rl = {(rlim_t)(kb + 256) << 10,
					    (rlim_t)(kb + 256) << 10};
			if (kb <= 0 || setrlimit(RLIMIT_AS, &rl) != 0)
				_exit(2);
			struct counter c = {0, 1 << 30};
			struct refcopy_map map = {(size_t)64 << 20, count_check,
						  &c, NULL};
			int rc = refcopy_run(f.fd, "in", f.size, f.items, f.tmp,
					     f.n, out, win, 16384, &map);
			_exit(rc == 0 && out_right(&f, out) && c.calls == 1
				  ? 0
				  : 1);
		}
		int wst = -1;
		CHECK(pid > 0 && waitpid(pid, &wst, 0) == pid &&
		      WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
		printf("no address space for a window: the copy reads "
		       "instead (child's status %d)\n",
		       WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
		free(out);
		free(win);
	}
#endif

	/* the choice between mapping and reading: once both ways have
	 * `after` bytes, the one with less time per byte, for good */
	{
		struct refcopy_cost k = {0};
		k.after = 100;
		CHECK(refcopy_use_map(NULL) == 1);
		CHECK(refcopy_trying(NULL) == 0); /* nothing to time */
		CHECK(refcopy_trying(&k) == 1);
		CHECK(refcopy_use_map(&k) == 1); /* both at 0: map first */
		refcopy_cost_add(&k, 1, 1000, 60);
		CHECK(refcopy_use_map(&k) == 0); /* the fewer bytes: read */
		refcopy_cost_add(&k, 0, 100, 200);
		CHECK(refcopy_use_map(&k) == 1 && atomic_load(&k.choice) == 0);
		refcopy_cost_add(&k, 1, 1000, 60); /* 16.7 ns/B against 0.5 */
		CHECK(atomic_load(&k.choice) == REFCOPY_READ);
		CHECK(refcopy_use_map(&k) == 0);
		CHECK(refcopy_trying(&k) == 0);	     /* decided: not timed */
		refcopy_cost_add(&k, 1, 1, 1 << 20); /* decided: ignored */
		CHECK(atomic_load(&k.choice) == REFCOPY_READ &&
		      atomic_load(&k.bytes[0]) == 120);
		struct refcopy_cost m = {0};
		m.after = 100;
		refcopy_cost_add(&m, 0, 5000, 100);
		refcopy_cost_add(&m, 1, 1000, 400);
		CHECK(atomic_load(&m.choice) == REFCOPY_MAP &&
		      refcopy_use_map(&m) == 1);
		CHECK(refcopy_now() > 0);
		/* a lap: timed from t0 to now while trying, nothing before
		 * the first stretch (t0 0) or from a t0 past now, nothing
		 * once decided */
		struct refcopy_cost l = {0};
		l.after = 1000;
		uint64_t t0 = refcopy_lap(&l, 1, 0, 50);
		CHECK(t0 > 0 && atomic_load(&l.bytes[0]) == 0);
		for (volatile int i = 0; i < 100000; i++)
			;
		uint64_t t1 = refcopy_lap(&l, 1, t0, 50);
		CHECK(t1 > t0 && atomic_load(&l.bytes[0]) == 50 &&
		      atomic_load(&l.ns[0]) == t1 - t0);
		CHECK(refcopy_lap(&l, 0, UINT64_MAX, 70) > 0 &&
		      atomic_load(&l.bytes[1]) == 0);
		CHECK(refcopy_lap(&k, 1, t0, 50) == 0 &&
		      atomic_load(&k.bytes[0]) == 120);
		CHECK(refcopy_lap(NULL, 1, t0, 50) == 0);
	}
	/* chosen already: reading maps nothing (no check), mapping maps */
	free(f.items);
	free(f.tmp);
	for (int way = REFCOPY_MAP; way <= REFCOPY_READ; way++) {
		make_items(&f, 20000, 600);
		uint8_t *out = malloc(f.outlen), *win = malloc(8192);
		struct refcopy_cost cost = {0};
		atomic_store(&cost.choice, way);
		struct counter c = {0, 1 << 30};
		struct refcopy_map map = {65536, count_check, &c, &cost};
		CHECK_OK(refcopy_run(f.fd, "in", f.size, f.items, f.tmp, f.n,
				     out, win, 8192, &map));
		CHECK(out_right(&f, out));
		CHECK(way == REFCOPY_READ ? c.calls == 0 : c.calls > 0);
		free(out);
		free(win);
		free(f.items);
		free(f.tmp);
	}
	/* not chosen yet: both ways are tried, then one is chosen, and the
	 * pieces are right whichever */
	{
		make_items(&f, 20000, 600);
		uint8_t *out = malloc(f.outlen), *win = malloc(8192);
		struct refcopy_cost cost = {0};
		cost.after = (uint64_t)1 << 20;
		struct counter c = {0, 1 << 30};
		struct refcopy_map map = {(size_t)256 << 10, count_check, &c,
					  &cost};
		CHECK_OK(refcopy_run(f.fd, "in", f.size, f.items, f.tmp, f.n,
				     out, win, 8192, &map));
		CHECK(out_right(&f, out));
		CHECK(atomic_load(&cost.bytes[0]) >= cost.after &&
		      atomic_load(&cost.bytes[1]) >= cost.after);
		int way = atomic_load(&cost.choice);
		CHECK(way == REFCOPY_MAP || way == REFCOPY_READ);
		printf("tried both ways: mapping %.2f ns/B, reading %.2f "
		       "ns/B: %s\n",
		       (double)atomic_load(&cost.ns[0]) /
			   (double)atomic_load(&cost.bytes[0]),
		       (double)atomic_load(&cost.ns[1]) /
			   (double)atomic_load(&cost.bytes[1]),
		       way == REFCOPY_MAP ? "maps" : "reads");
		free(out);
		free(win);
		free(f.items);
		free(f.tmp);
		make_items(&f, 1, 1); /* for the frees below */
	}

	/* sorted once, copied in stretches by several threads */
	free(f.items);
	free(f.tmp);
	make_items(&f, 20000, 600);
	run_shared(&f, 5, 0);
	run_shared(&f, 8, 65536);
	/* a copy reads no further than its last piece: told the file is a
	 * MiB longer than it is, it never reads where the file has nothing
	 * (its last window would meet the file's end there: -EIO) */
	for (int mapped = 0; mapped <= 1; mapped++) {
		uint8_t *out = malloc(f.outlen);
		memset(out, 0xAA, f.outlen);
		struct stretch st = {
		    &f, 0, f.n, out, mapped ? 65536 : 0, f.size + (1 << 20),
		    -1};
		copy_stretch(&st);
		CHECK_OK(st.rc);
		CHECK(out_right(&f, out));
		free(out);
	}
	printf("told a longer file, the copy reads no further than its last "
	       "piece\n");

	/* a piece past the end: -EIO, nothing copied, either way */
	for (int mapped = 0; mapped <= 1; mapped++) {
		uint8_t out[64], win[4096];
		memset(out, 0xAA, sizeof(out));
		struct refcopy_item it[2] = {{0, 0, 16}, {f.size - 8, 16, 16}};
		struct refcopy_item tmp[2];
		struct counter c = {0, 1 << 30};
		struct refcopy_map map = {65536, count_check, &c, NULL};
		CHECK_ERR(refcopy_run(f.fd, "in", f.size, it, tmp, 2, out, win,
				      sizeof(win), mapped ? &map : NULL),
			  -EIO);
		CHECK(strstr(err_msg(), "outside the") != NULL);
		CHECK(out[0] == 0xAA && c.calls == 0);
	}
	/* and from refcopy_copy alone (no refcopy_sort before it), also an
	 * offset whose end would wrap around */
	{
		uint8_t out[64], win[4096];
		memset(out, 0xAA, sizeof(out));
		struct refcopy_item it[2] = {{0, 0, 16},
					     {UINT64_MAX - 4, 16, 16}};
		CHECK_ERR(refcopy_copy(f.fd, "in", f.size, it, 2, out, win,
				       sizeof(win), NULL),
			  -EIO);
		CHECK(strstr(err_msg(), "outside the") != NULL);
		CHECK(out[0] == 0xAA);
	}
	printf("a piece outside the file: EIO, nothing copied\n");

	close(f.fd);
	free(f.items);
	free(f.tmp);
	free(f.bytes);
	return test_summary();
}
