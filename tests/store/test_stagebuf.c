/* test_stagebuf.c - the write-behind staging buffer against the staging
 * area it stands for: the same random changes applied through a stagebuf
 * (store A) and straight through staging.h (store B) give the same view
 * (get, attrs, count, iterate) at every step, across flushes, reopens,
 * processes killed with SIGKILL at random points (journal replay), torn and
 * corrupt journal tails (a prefix is kept), the per-area lock and its
 * hand-over from a closing holder or from one whose mount is gone (with
 * the mount table it is read from), read-only opens, and commits. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/mounts.h"
#include "store/stagebuf.h"
#include "store/staging.h"
#include "store/store.h"
#include "test.h"

#define AREA "main"
#define NKEYS 40

static size_t key_of(size_t i, char *out)
{
	return (size_t)snprintf(out, 16, "key-%02zu", i);
}

/* One random change, applied to both sides. */
struct op {
	int kind; /* 0 put, 1 delete, 2 rename, 3 unstage, 4 attrs, 5 append */
	size_t a, b;
	size_t len;
	struct staging_attrs attrs;
	int with_attrs;
	uint64_t seed;
};

static void op_random(struct op *o, uint64_t *rs)
{
	memset(o, 0, sizeof(*o));
	o->kind = (int)(test_rand(rs) % 6);
	o->a = test_rand(rs) % NKEYS;
	o->b = test_rand(rs) % NKEYS;
	uint64_t r = test_rand(rs) % 100;
	o->len = r < 5 ? 0 : r < 90 ? test_rand(rs) % 300 : 5000 + r * 100;
	o->with_attrs = (int)(test_rand(rs) % 2);
	o->attrs.mtime_sec = (int64_t)(test_rand(rs) % 2000000000) - 1000;
	o->attrs.mtime_nsec = (uint32_t)(test_rand(rs) % 1000000000u);
	o->attrs.mode = (uint32_t)(test_rand(rs) % 07777);
	o->seed = test_rand(rs);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((seed >> (i % 7 * 8)) + i / 3);
}

/* The current staged put of key a on side B (for append and rename). */
static int cur_of(struct store *s, size_t a, struct buf *out)
{
	char k[16];
	size_t kl = key_of(a, k);
	enum staging_kind kind;
	buf_reset(out);
	int rc = staging_get(s, AREA, (uint8_t *)k, kl, &kind, out);
	if (rc == 0 && kind != STAGING_PUT)
		rc = -ENOENT;
	return rc;
}

/* Apply o through the stagebuf (b) or through staging.h (s). */
static int op_apply(const struct op *o, struct stagebuf *b, struct store *s,
		    struct store *ref)
{
	char ka[16], kb[16];
	size_t la = key_of(o->a, ka), lb = key_of(o->b, kb);
	const uint8_t *pa = (const uint8_t *)ka, *pb = (const uint8_t *)kb;
	const struct staging_attrs *at = o->with_attrs ? &o->attrs : NULL;
	uint8_t *data = malloc(o->len + 1);
	struct buf cur = {0};
	int rc = 0;
	fill(data, o->len, o->seed);
	switch (o->kind) {
	case 0:
		rc = b ? stagebuf_put(b, pa, la, data, o->len, at)
		       : staging_put(s, AREA, pa, la, data, o->len, at);
		break;
	case 1:
		rc = b ? stagebuf_delete(b, pa, la)
		       : staging_delete(s, AREA, pa, la);
		break;
	case 2: /* rename a -> b with a's current contents (from the ref) */
		if (cur_of(ref, o->a, &cur))
			break;
		rc = b ? stagebuf_rename(b, pa, la, pb, lb, cur.data, cur.len,
					 at)
		       : staging_rename(s, AREA, pa, la, pb, lb, cur.data,
					cur.len, at);
		break;
	case 3:
		rc = b ? stagebuf_unstage(b, pa, la)
		       : staging_unstage(s, AREA, pa, la);
		break;
	case 4:
		rc = b ? stagebuf_set_attrs(b, pa, la, &o->attrs)
		       : staging_set_attrs(s, AREA, pa, la, &o->attrs);
		break;
	case 5: /* append to the current put (a delta in the journal) */
		if (cur_of(ref, o->a, &cur))
			break;
		if (cur.len + o->len > STAGING_MAX_RECORD)
			break;
		rc = buf_append(&cur, data, o->len);
		if (!rc && o->len % 3 == 0 && cur.len > 2)
			cur.data[1] ^= 0x55; /* and change a byte before */
		if (!rc)
			rc =
			    b ? stagebuf_put(b, pa, la, cur.data, cur.len, NULL)
			      : staging_put(s, AREA, pa, la, cur.data, cur.len,
					    NULL);
		break;
	}
	free(data);
	buf_free(&cur);
	return rc;
}

/* --- comparing a stagebuf's view with a store's staging area --- */

struct listing {
	struct buf text;
};

static int list_cb(void *payload, const uint8_t *key, size_t klen,
		   enum staging_kind kind, const uint8_t *data, size_t len)
{
	struct buf *t = payload;
	int rc = buf_append(t, key, klen);
	if (!rc)
		rc = buf_printf(t, " %d %zu:", (int)kind, len);
	if (!rc && data)
		rc = buf_append(t, data, len);
	if (!rc)
		rc = buf_append(t, "\n", 1);
	return rc;
}

static int same_view(struct stagebuf *b, struct store *s)
{
	int same = 1;
	struct buf x = {0}, y = {0};
	if (stagebuf_iterate(b, list_cb, &x) ||
	    staging_iterate(s, AREA, list_cb, &y))
		same = 0;
	if (x.len != y.len || (x.len && memcmp(x.data, y.data, x.len)))
		same = 0;
	uint64_t n = 0;
	staging_count(s, AREA, &n);
	if (stagebuf_count(b) != n) {
		fprintf(stderr, "count %llu vs %llu\n",
			(unsigned long long)stagebuf_count(b),
			(unsigned long long)n);
		same = 0;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		char k[16];
		size_t kl = key_of(i, k);
		struct staging_attrs a1, a2;
		int r1 = stagebuf_get_attrs(b, (uint8_t *)k, kl, &a1);
		int r2 = staging_get_attrs(s, AREA, (uint8_t *)k, kl, &a2);
		if (r1 != r2 || (r1 == 0 && (a1.mtime_sec != a2.mtime_sec ||
					     a1.mtime_nsec != a2.mtime_nsec ||
					     a1.mode != a2.mode)))
			same = 0;
		enum staging_kind k1 = 0, k2 = 0;
		buf_reset(&x);
		buf_reset(&y);
		r1 = stagebuf_get(b, (uint8_t *)k, kl, &k1, &x);
		r2 = staging_get(s, AREA, (uint8_t *)k, kl, &k2, &y);
		if (r1 != r2 || k1 != k2 || x.len != y.len ||
		    (x.len && memcmp(x.data, y.data, x.len)))
			same = 0;
	}
	buf_free(&x);
	buf_free(&y);
	return same;
}

/* The staging areas of two stores hold the same (LMDB only). */
static int same_lmdb(struct store *a, struct store *b)
{
	struct buf x = {0}, y = {0};
	int same = !staging_iterate(a, AREA, list_cb, &x) &&
		   !staging_iterate(b, AREA, list_cb, &y) && x.len == y.len &&
		   (x.len == 0 || !memcmp(x.data, y.data, x.len));
	buf_free(&x);
	buf_free(&y);
	return same;
}

/* Journal files (not lock files) in DIR/journal. */
static int journal_files(const char *dir)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "ls %s/journal 2>/dev/null | grep -vc '\\.lock$'", dir);
	FILE *f = popen(cmd, "r");
	int n = -1;
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static struct store *open_store(const char *dir)
{
	struct store *s = NULL;
	if (store_open(&s, dir, STORE_CREATE))
		fprintf(stderr, "store_open %s: %s\n", dir, err_msg());
	return s;
}

/* --- random changes, flushes and reopens in one process --- */

static void test_random(void)
{
	char da[512], db[512];
	snprintf(da, sizeof(da), "%s", test_tmpdir("sb-random-a"));
	snprintf(db, sizeof(db), "%s", test_tmpdir("sb-random-b"));
	struct store *sa = open_store(da), *sb = open_store(db);
	struct stagebuf *b = NULL;
	CHECK_OK(stagebuf_open(&b, sa, AREA, 0));
	uint64_t rs = 42;
	int ok = 1;
	for (int step = 0; step < 3000 && ok; step++) {
		struct op o;
		op_random(&o, &rs);
		int r1 = op_apply(&o, b, sa, sb);
		int r2 = op_apply(&o, NULL, sb, sb);
		if (r1 != r2) {
			fprintf(stderr, "step %d kind %d: %d vs %d (%s)\n",
				step, o.kind, r1, r2, err_msg());
			ok = 0;
		}
		if (step % 97 == 0)
			CHECK_OK(stagebuf_flush(b));
		if (step % 401 == 400) {
			CHECK_OK(stagebuf_close(b));
			b = NULL;
			CHECK_OK(stagebuf_open(&b, sa, AREA, 0));
		}
		if (step % 50 == 0 && !same_view(b, sb)) {
			fprintf(stderr, "views differ at step %d\n", step);
			ok = 0;
		}
	}
	CHECK(ok);
	CHECK(same_view(b, sb));
	CHECK_OK(stagebuf_close(b));
	/* closed: everything is in LMDB, no journal left */
	CHECK(same_lmdb(sa, sb));
	CHECK(journal_files(da) == 0);
	store_close(sa);
	store_close(sb);
}

/* --- a process killed with SIGKILL: the journal replays every change
 * whose call returned --- */

/* In a child: open a stagebuf on `dir`, apply ops [0, n) of seed `seed`,
 * writing the count of completed ones to `pipefd`, then SIGKILL itself
 * (no close, no flush). */
static void child_run(const char *dir, const char *refdir, uint64_t seed, int n,
		      int pipefd)
{
	struct store *s = NULL, *r = NULL;
	struct stagebuf *b = NULL;
	if (store_open(&s, dir, STORE_CREATE) ||
	    store_open(&r, refdir, STORE_CREATE) ||
	    stagebuf_open(&b, s, AREA, 0))
		_exit(3);
	uint64_t rs = seed;
	for (int i = 0; i < n; i++) {
		struct op o;
		op_random(&o, &rs);
		/* the reference decides rename/append inputs; it is kept in
		 * step by the parent afterwards, so apply to it here too */
		if (op_apply(&o, b, s, r) != op_apply(&o, NULL, r, r))
			_exit(4);
		int done = i + 1;
		if (write(pipefd, &done, sizeof(done)) != sizeof(done))
			_exit(5);
	}
	kill(getpid(), SIGKILL);
	_exit(6);
}

static void test_killed(void)
{
	for (int round = 0; round < 12; round++) {
		char da[512], db[512];
		snprintf(da, sizeof(da), "%s", test_tmpdir("sb-kill-a"));
		snprintf(db, sizeof(db), "%s", test_tmpdir("sb-kill-b"));
		int p[2];
		CHECK(pipe(p) == 0);
		uint64_t seed = 1000 + (uint64_t)round;
		int n = 50 + round * 37;
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			child_run(da, db, seed, n, p[1]);
		}
		close(p[1]);
		int done = 0, d;
		while (read(p[0], &d, sizeof(d)) == sizeof(d))
			done = d;
		close(p[0]);
		int status = 0;
		waitpid(pid, &status, 0);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		CHECK(done == n);
		/* the reference store B saw every op; A must replay them */
		struct store *sa = open_store(da), *sb = open_store(db);
		struct stagebuf *b = NULL;
		CHECK(journal_files(da) >= 1);
		CHECK_OK(stagebuf_open(&b, sa, AREA, 0));
		uint64_t recs = 0, dropped = 0;
		if (b)
			stagebuf_recovered(b, &recs, &dropped);
		CHECK(dropped == 0);
		CHECK(b && same_view(b, sb));
		CHECK(b && same_lmdb(sa, sb)); /* replayed into LMDB */
		CHECK_OK(stagebuf_close(b));
		store_close(sa);
		store_close(sb);
	}
}

/* --- torn and corrupt tails: a prefix of the changes is kept --- */

static void test_torn(void)
{
	char da[512], db[512], path[1100];
	snprintf(da, sizeof(da), "%s", test_tmpdir("sb-torn-a"));
	snprintf(db, sizeof(db), "%s", test_tmpdir("sb-torn-b"));
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		/* puts only: each is one record, so a prefix of records is
		 * a prefix of changes */
		struct store *s = NULL;
		struct stagebuf *b = NULL;
		if (store_open(&s, da, STORE_CREATE) ||
		    stagebuf_open(&b, s, AREA, 0))
			_exit(3);
		for (int i = 0; i < 20; i++) {
			char k[16], v[64];
			size_t kl = key_of((size_t)i, k);
			int vl = snprintf(v, sizeof(v), "value number %d", i);
			if (stagebuf_put(b, (uint8_t *)k, kl, (uint8_t *)v,
					 (size_t)vl, NULL))
				_exit(4);
		}
		kill(getpid(), SIGKILL);
		_exit(6);
	}
	close(p[1]);
	close(p[0]);
	waitpid(pid, NULL, 0);
	/* the journal: cut its last record in half, flip a byte in the one
	 * before: the last two puts are lost, the first 18 kept */
	snprintf(path, sizeof(path),
		 "ls -d %s/journal/*.[0-9]* | sort -t. -k2 -n | tail -n 1", da);
	FILE *f = popen(path, "r");
	char jpath[1024] = "";
	if (f) {
		if (!fgets(jpath, sizeof(jpath), f))
			jpath[0] = 0;
		pclose(f);
	}
	jpath[strcspn(jpath, "\n")] = 0;
	struct stat st;
	CHECK(jpath[0] && stat(jpath, &st) == 0);
	/* each put record: 32 + 6 key + ~15 value bytes */
	size_t last = 32 + 6 + strlen("value number 19");
	size_t prev = 32 + 6 + strlen("value number 18");
	CHECK(truncate(jpath, st.st_size - (off_t)last / 2) == 0);
	int fd = open(jpath, O_RDWR);
	uint8_t byte;
	off_t at = st.st_size - (off_t)last - (off_t)prev + 40;
	CHECK(fd >= 0 && pread(fd, &byte, 1, at) == 1);
	byte ^= 0xff;
	CHECK(pwrite(fd, &byte, 1, at) == 1);
	close(fd);

	struct store *sa = open_store(da), *sb = open_store(db);
	for (int i = 0; i < 18; i++) {
		char k[16], v[64];
		size_t kl = key_of((size_t)i, k);
		int vl = snprintf(v, sizeof(v), "value number %d", i);
		CHECK_OK(staging_put(sb, AREA, (uint8_t *)k, kl, (uint8_t *)v,
				     (size_t)vl, NULL));
	}
	struct stagebuf *b = NULL;
	CHECK_OK(stagebuf_open(&b, sa, AREA, 0));
	uint64_t recs = 0, dropped = 0;
	if (b)
		stagebuf_recovered(b, &recs, &dropped);
	CHECK(recs == 18);
	CHECK(dropped == prev + last - last / 2);
	CHECK(b && same_view(b, sb));
	CHECK_OK(stagebuf_close(b));
	CHECK(journal_files(da) == 0);
	store_close(sa);
	store_close(sb);
}

/* --- the lock, read-only opens, limits --- */

static void test_lock_and_limits(void)
{
	const char *d = test_tmpdir("sb-lock");
	struct store *s = open_store(d);
	struct stagebuf *b = NULL, *b2 = NULL, *ro = NULL;
	CHECK_OK(stagebuf_open(&b, s, AREA, 0));
	CHECK_ERR(stagebuf_open(&b2, s, AREA, 0), -EBUSY);
	CHECK(strstr(err_msg(), "in use") != NULL);
	CHECK_OK(stagebuf_open(&b2, s, "other", 0)); /* another area */
	CHECK_OK(stagebuf_close(b2));
	CHECK_OK(stagebuf_put(b, (const uint8_t *)"k", 1, (const uint8_t *)"v",
			      1, NULL));
	CHECK_OK(stagebuf_flush(b));
	CHECK_OK(stagebuf_open(&ro, s, AREA, STAGEBUF_RDONLY));
	CHECK(ro && stagebuf_count(ro) == 1);
	CHECK_ERR(stagebuf_put(ro, (const uint8_t *)"k", 1,
			       (const uint8_t *)"v", 1, NULL),
		  -EROFS);
	CHECK_OK(stagebuf_close(ro));
	uint8_t *big = calloc(1, STAGING_MAX_RECORD + 1);
	CHECK_ERR(stagebuf_put(b, (const uint8_t *)"k", 1, big,
			       STAGING_MAX_RECORD + 1, NULL),
		  -EFBIG);
	CHECK_OK(stagebuf_put(b, (const uint8_t *)"k", 1, big,
			      STAGING_MAX_RECORD, NULL));
	free(big);
	uint8_t key[4096];
	memset(key, 'a', sizeof(key));
	size_t max = staging_key_max(s, AREA);
	CHECK_ERR(stagebuf_put(b, key, max + 1, (const uint8_t *)"v", 1, NULL),
		  -ENAMETOOLONG);
	CHECK_OK(stagebuf_put(b, key, max, (const uint8_t *)"v", 1, NULL));
	struct staging_attrs bad = {1, 1000000000u, 0644};
	CHECK_ERR(stagebuf_set_attrs(b, key, 3, &bad), -EINVAL);
	CHECK(stagebuf_count(b) == 2);
	CHECK_OK(stagebuf_close(b));
	/* released: another open succeeds */
	CHECK_OK(stagebuf_open(&b, s, AREA, 0));
	CHECK(b && stagebuf_count(b) == 2);
	CHECK_OK(stagebuf_close(b));
	store_close(s);
}

/* A mount that was just unmounted still holds the area while it makes its
 * final flush: another open waits for it (the holder said it is closing,
 * or it lets go within the grace period) and sees that flush. */
static void test_lock_handover(void)
{
	const char *d = test_tmpdir("sb-handover");
	for (int closing = 0; closing <= 1; closing++) {
		int p[2];
		CHECK(pipe(p) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			struct store *cs = open_store(d);
			struct stagebuf *cb = NULL;
			if (stagebuf_open(&cb, cs, AREA, 0))
				_exit(2);
			if (closing)
				stagebuf_closing(cb);
			if (write(p[1], "x", 1) != 1)
				_exit(3);
			usleep(300000); /* a slow final flush */
			char v[2] = {(char)('0' + closing), 0};
			if (stagebuf_put(cb, (const uint8_t *)"late", 4,
					 (const uint8_t *)v, 1, NULL) ||
			    stagebuf_close(cb))
				_exit(4);
			store_close(cs);
			_exit(0);
		}
		close(p[1]);
		char c;
		CHECK(read(p[0], &c, 1) == 1);
		close(p[0]);
		struct store *s = open_store(d);
		struct stagebuf *b = NULL;
		CHECK_OK(stagebuf_open(&b, s, AREA, 0));
		struct buf got = {0};
		enum staging_kind kind;
		CHECK_OK(
		    stagebuf_get(b, (const uint8_t *)"late", 4, &kind, &got));
		CHECK(got.len == 1 && got.data[0] == '0' + closing);
		buf_free(&got);
		CHECK_OK(stagebuf_close(b));
		store_close(s);
		int st = 0;
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0);
	}
}

/* --- the mount table, and a holder that names its mount --- */

static void test_mounts(void)
{
	struct mount_entry e;
	CHECK_OK(mounts_parse_line("36 35 98:7 /mnt1 /mnt\\040two\\134x "
				   "rw,noatime master:1 shared:2 - fuse.hamtfs "
				   "hamtfs rw,user_id=0",
				   &e));
	CHECK(e.dev.major == 98 && e.dev.minor == 7);
	CHECK(strcmp(e.point, "/mnt two\\x") == 0);
	CHECK(strcmp(e.fstype, "fuse.hamtfs") == 0);
	CHECK_OK(mounts_parse_line("1 0 0:5 / /dev rw - devtmpfs udev rw", &e));
	CHECK(strcmp(e.point, "/dev") == 0 && e.dev.minor == 5);
	CHECK_ERR(mounts_parse_line("36 35 98:0 / /mnt rw", &e), -EINVAL);
	CHECK_ERR(
	    mounts_parse_line("36 35 98x0 / /mnt rw - ext4 /dev/x rw", &e),
	    -EINVAL);
	CHECK_ERR(mounts_parse_line("", &e), -EINVAL);
	/* this process's own table: "/" is there, a made-up device not */
	struct mount_dev root, none = {4095, 1048575};
	char where[MOUNTS_PATH_MAX];
	CHECK_OK(mounts_dev_at("/", NULL, &root));
	CHECK(mounts_has_dev(getpid(), root, where, sizeof(where)) == 1);
	CHECK(strcmp(where, "/") == 0);
	CHECK(mounts_has_dev(getpid(), none, NULL, 0) == 0);
	CHECK_ERR(mounts_dev_at("/no/such/mount", NULL, &root), -ENOENT);
	CHECK_ERR(mounts_dev_at("/", "no-such-type", &root), -ENOENT);
	CHECK(mounts_has_dev(INT_MAX, root, NULL, 0) == -ENOENT);
}

/* A holder that names a mounted device is refused at once, without the
 * grace given to a mount that named none: the child says "closing" after
 * a second, so an opener that waited would get the area. One that names
 * a device no longer mounted is waited for, and its final changes seen. */
static void test_lock_mounted(void)
{
	const char *d = test_tmpdir("sb-mounted");
	struct mount_dev root, gone = {4095, 1048575};
	CHECK_OK(mounts_dev_at("/", NULL, &root));
	for (int mounted = 0; mounted <= 1; mounted++) {
		int p[2], q[2];
		CHECK(pipe(p) == 0 && pipe(q) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			close(q[1]);
			struct store *cs = open_store(d);
			struct stagebuf *cb = NULL;
			if (stagebuf_open(&cb, cs, AREA, 0))
				_exit(2);
			stagebuf_mounted(cb, mounted ? root : gone);
			if (write(p[1], "x", 1) != 1)
				_exit(3);
			if (mounted) {
				usleep(1000000);
				stagebuf_closing(cb);
				/* until the parent is done, or (if it waited
				 * for the area) 5 s */
				struct pollfd pf = {.fd = q[0],
						    .events = POLLIN};
				if (poll(&pf, 1, 5000) < 0)
					_exit(5);
			} else {
				usleep(300000); /* a slow final flush */
			}
			if (stagebuf_put(cb, (const uint8_t *)"late", 4,
					 (const uint8_t *)"m", 1, NULL) ||
			    stagebuf_close(cb))
				_exit(4);
			store_close(cs);
			_exit(0);
		}
		close(p[1]);
		close(q[0]);
		char c;
		CHECK(read(p[0], &c, 1) == 1);
		close(p[0]);
		struct store *s = open_store(d);
		struct stagebuf *b = NULL;
		if (mounted) {
			CHECK_ERR(stagebuf_open(&b, s, AREA, 0), -EBUSY);
			CHECK(strstr(err_msg(),
				     "in use by the mount on / (pid") != NULL);
			CHECK(write(q[1], "x", 1) == 1);
		} else {
			CHECK_OK(stagebuf_open(&b, s, AREA, 0));
			struct buf got = {0};
			enum staging_kind kind;
			CHECK_OK(stagebuf_get(b, (const uint8_t *)"late", 4,
					      &kind, &got));
			CHECK(got.len == 1 && got.data[0] == 'm');
			buf_free(&got);
			CHECK_OK(stagebuf_close(b));
		}
		close(q[1]);
		store_close(s);
		int st = 0;
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0);
	}
}

/* --- commit through the buffer == commit of the same staging area --- */

static void test_commit(void)
{
	char da[512], db[512];
	snprintf(da, sizeof(da), "%s", test_tmpdir("sb-commit-a"));
	snprintf(db, sizeof(db), "%s", test_tmpdir("sb-commit-b"));
	struct store *sa = open_store(da), *sb = open_store(db);
	struct stagebuf *b = NULL;
	CHECK_OK(stagebuf_open(&b, sa, AREA, 0));
	uint64_t rs = 7;
	for (int i = 0; i < 400; i++) {
		struct op o;
		op_random(&o, &rs);
		CHECK(op_apply(&o, b, sa, sb) == op_apply(&o, NULL, sb, sb));
	}
	struct cid r1, r2;
	struct staging_commit_stats st;
	CHECK_OK(stagebuf_commit(b, AREA, NULL, NULL, &r1, &st));
	CHECK_OK(staging_commit(sb, AREA, AREA, NULL, NULL, &r2, NULL));
	CHECK(cid_equal(&r1, &r2));
	CHECK(stagebuf_count(b) == 0);
	CHECK(same_view(b, sb));
	/* changes after a commit go into the next one */
	for (int i = 0; i < 200; i++) {
		struct op o;
		op_random(&o, &rs);
		CHECK(op_apply(&o, b, sa, sb) == op_apply(&o, NULL, sb, sb));
	}
	CHECK(same_view(b, sb));
	CHECK_OK(stagebuf_commit(b, AREA, &r1, NULL, &r1, NULL));
	CHECK_OK(staging_commit(sb, AREA, AREA, &r2, NULL, &r2, NULL));
	CHECK(cid_equal(&r1, &r2));
	CHECK_OK(stagebuf_close(b));
	store_close(sa);
	store_close(sb);
}

int main(void)
{
	test_random();
	test_killed();
	test_torn();
	test_lock_and_limits();
	test_lock_handover();
	test_mounts();
	test_lock_mounted();
	test_commit();
	return test_summary();
}
