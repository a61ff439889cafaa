/* cmd_stage.c - put, rm, status, commit, log: the staging area of a ref
 * from the command line (the same area a mount of the ref uses). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hamt/err.h"
#include "hamt/hash.h"
#include "hamt/names.h"
#include "store/stagebuf.h"
#include "store/staging.h"
#include "tools/cmd.h"

#define OPTS_EXIT(i) ((i) == -1 ? 0 : 2)

/* Open the staging area of `ref` for changes: 0, or 1 after printing why
 * not (a mount of the ref holds it: -EBUSY). Replays a journal a killed
 * mount left behind. */
static int open_area(struct store *s, const char *ref, struct stagebuf **b)
{
	int rc = stagebuf_open(b, s, ref, STAGEBUF_TOOL);
	if (rc == -EBUSY)
		err_wrap(rc, "stage through the mount, or unmount it first");
	return rc ? cmd_fail(ref) : 0;
}

/* Close the area; 0, or 1 after printing why the final flush failed. */
static int close_area(struct stagebuf *b, const char *ref)
{
	return stagebuf_close(b) ? cmd_fail(ref) : 0;
}

/* Open the map of `ref` if the ref exists: 0 with *h (NULL if the ref does
 * not exist yet), or 1 after printing the error. */
static int open_ref(struct store *s, const char *ref, struct cid *root,
		    struct hamt **h)
{
	*h = NULL;
	int rc = store_ref_get(s, ref, root);
	if (rc == -ENOENT)
		return 0;
	if (!rc)
		rc = hamt_open(h, s, root);
	return rc ? cmd_fail(ref) : 0;
}

/* Read FILE or stdin, at most STAGING_MAX_RECORD bytes: -EFBIG beyond. */
static int read_record(const char *path, struct buf *out)
{
	FILE *f = stdin;
	const char *name = path && strcmp(path, "-") ? path : "stdin";
	int rc = 0;
	if (path && strcmp(path, "-") != 0) {
		f = fopen(path, "rb");
		if (!f)
			return err_set(-errno, "%s: %s", path, strerror(errno));
	}
	for (;;) {
		if ((rc = buf_reserve(out, 65536)) != 0)
			break;
		size_t got =
		    fread(out->data + out->len, 1, out->cap - out->len, f);
		out->len += got;
		if (out->len > STAGING_MAX_RECORD) {
			rc = err_set(-EFBIG,
				     "%s: record too large (over %u bytes)",
				     name, STAGING_MAX_RECORD);
			break;
		}
		if (got == 0) {
			if (ferror(f))
				rc = err_set(-EIO, "%s: read error", name);
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

int cmd_put(int argc, char **argv)
{
	const char *dir = NULL, *ref = NULL;
	int i = cmd_parse_opts(argc, argv, &dir, &ref, 1, 2);
	if (i < 0)
		return OPTS_EXIT(i);
	const char *key = argv[i];
	struct buf rec = {0};
	struct store *s = NULL;
	int rc = read_record(i + 1 < argc ? argv[i + 1] : NULL, &rec);
	if (rc) {
		rc = cmd_fail(key);
		goto out;
	}
	if (cmd_open(dir, CMD_CREATE, NULL, &s, NULL)) {
		rc = 1;
		goto out;
	}
	struct cid root;
	rc = store_ref_get(s, ref, &root); /* checks the ref name */
	if (rc && rc != -ENOENT) {
		rc = cmd_fail(ref);
		goto out;
	}
	struct stagebuf *b = NULL;
	if (open_area(s, ref, &b)) {
		rc = 1;
		goto out;
	}
	rc = stagebuf_put(b, (const uint8_t *)key, strlen(key), rec.data,
			  rec.len, NULL);
	if (rc)
		rc = cmd_fail(key);
	if (close_area(b, ref))
		rc = 1;
out:
	store_close(s);
	buf_free(&rec);
	return rc;
}

int cmd_rm(int argc, char **argv)
{
	const char *dir = NULL, *ref = NULL;
	int i = cmd_parse_opts(argc, argv, &dir, &ref, 1, 1);
	if (i < 0)
		return OPTS_EXIT(i);
	const uint8_t *key = (const uint8_t *)argv[i];
	size_t klen = strlen(argv[i]);
	struct store *s = NULL;
	struct hamt *h = NULL;
	struct cid root;
	struct buf val = {0};
	enum staging_kind kind;
	struct stagebuf *b = NULL;
	int rc, committed = 0;
	if (cmd_open(dir, CMD_WRITE, NULL, &s, NULL) ||
	    open_ref(s, ref, &root, &h) || open_area(s, ref, &b)) {
		rc = 1;
		goto out;
	}
	if (h) {
		rc = hamt_get(h, key, klen, &val);
		if (rc && rc != -ENOENT) {
			rc = cmd_fail(argv[i]);
			goto out;
		}
		committed = rc == 0;
	}
	rc = stagebuf_get(b, key, klen, &kind, NULL);
	if (rc && rc != -ENOENT) {
		rc = cmd_fail(argv[i]);
		goto out;
	}
	if ((rc == -ENOENT && !committed) ||
	    (rc == 0 && kind == STAGING_TOMBSTONE)) {
		fprintf(stderr, "hamt rm: %s: not found\n", argv[i]);
		rc = 1;
		goto out;
	}
	/* a staged put of a key not in the tree is simply dropped */
	rc = committed ? stagebuf_delete(b, key, klen)
		       : stagebuf_unstage(b, key, klen);
	if (rc)
		rc = cmd_fail(argv[i]);
out:
	if (b && close_area(b, ref))
		rc = 1;
	buf_free(&val);
	hamt_free(h);
	store_close(s);
	return rc;
}

struct status_ctx {
	uint64_t alg;
	uint64_t puts, deletes;
};

static int status_one(void *payload, const uint8_t *key, size_t klen,
		      enum staging_kind kind, const uint8_t *data, size_t len)
{
	struct status_ctx *c = payload;
	char name[NAME_MAX_BYTES + 1];
	(void)data;
	(void)len;
	int rc = name_of_key(c->alg, key, klen, name);
	if (rc < 0)
		return rc;
	if (kind == STAGING_PUT)
		c->puts++;
	else
		c->deletes++;
	if (printf("%s %s\n", kind == STAGING_PUT ? "put" : "delete", name) < 0)
		return err_set(-EIO, "writing stdout: %s", strerror(errno));
	return 0;
}

int cmd_status(int argc, char **argv)
{
	const char *dir = NULL, *ref = NULL;
	int i = cmd_parse_opts(argc, argv, &dir, &ref, 0, 0);
	if (i < 0)
		return OPTS_EXIT(i);
	struct store *s = NULL;
	struct hamt *h = NULL;
	struct cid root;
	struct status_ctx c = {.alg = MH_SHA2_256};
	struct stagebuf *b = NULL;
	int rc;
	if (cmd_open(dir, CMD_PREFER_WRITE, NULL, &s, NULL) ||
	    open_ref(s, ref, &root, &h)) {
		rc = 1;
		goto out;
	}
	if (h)
		c.alg = hamt_get_params(h)->hash_alg;
	rc = stagebuf_open(&b, s, ref, STAGEBUF_TOOL);
	if (rc == -EBUSY)
		fprintf(stderr,
			"hamt status: a mount holds the staging area of %s: "
			"changes it made in the last %d ms may not show\n",
			ref, STAGEBUF_FLUSH_MS);
	if (rc == -EBUSY || rc == -EACCES || rc == -EROFS || rc == -EPERM)
		rc = stagebuf_open(&b, s, ref, STAGEBUF_RDONLY);
	if (!rc)
		rc = stagebuf_iterate(b, status_one, &c);
	if (rc) {
		rc = cmd_fail(ref);
		goto out;
	}
	printf("%llu staged changes (%llu puts, %llu deletes)\n",
	       (unsigned long long)(c.puts + c.deletes),
	       (unsigned long long)c.puts, (unsigned long long)c.deletes);
	if (fflush(stdout)) {
		fprintf(stderr, "hamt status: writing stdout: %s\n",
			strerror(errno));
		rc = 1;
	}
out:
	if (b && stagebuf_close(b) && !rc)
		rc = cmd_fail(ref);
	hamt_free(h);
	store_close(s);
	return rc;
}

int cmd_commit(int argc, char **argv)
{
	const char *dir = NULL, *ref = NULL;
	int i = cmd_parse_opts(argc, argv, &dir, &ref, 0, 0);
	if (i < 0)
		return OPTS_EXIT(i);
	struct store *s = NULL;
	struct cid root, nr;
	struct staging_commit_stats st = {0};
	char txt[CID_MAX_TEXT];
	struct stagebuf *b = NULL;
	int rc;
	if (cmd_open(dir, CMD_WRITE, NULL, &s, NULL))
		return 1;
	if (open_area(s, ref, &b)) {
		store_close(s);
		return 1;
	}
	rc = store_ref_get(s, ref, &root);
	int exists = rc == 0;
	if (rc == -ENOENT)
		rc = 0;
	if (!rc && !exists && stagebuf_count(b) == 0)
		rc = err_set(-ENOENT, "unknown ref and nothing staged");
	if (!rc)
		rc = stagebuf_commit(b, ref, exists ? &root : NULL, NULL, &nr,
				     &st);
	if (rc) {
		rc = cmd_fail(ref);
	} else {
		fprintf(stderr,
			"puts %llu, deletes %llu, blocks written %llu (%llu "
			"bytes)\n",
			(unsigned long long)st.puts,
			(unsigned long long)st.deletes,
			(unsigned long long)st.blocks_written,
			(unsigned long long)st.bytes_written);
		printf("%s\n", cid_format(&nr, txt));
	}
	if (close_area(b, ref))
		rc = 1;
	store_close(s);
	return rc;
}

static int log_one(void *payload, uint64_t t, const struct cid *old,
		   const struct cid *new_root)
{
	char a[CID_MAX_TEXT], b[CID_MAX_TEXT], when[32];
	time_t tt = (time_t)t;
	struct tm tm;
	(*(unsigned long *)payload)++;
	if (!gmtime_r(&tt, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof(when), "%llu", (unsigned long long)t);
	printf("%s %s -> %s\n", when, old ? cid_format(old, a) : "-",
	       cid_format(new_root, b));
	return 0;
}

int cmd_log(int argc, char **argv)
{
	const char *dir = NULL;
	int i = cmd_parse_opts(argc, argv, &dir, NULL, 1, 1);
	if (i < 0)
		return OPTS_EXIT(i);
	struct store *s = NULL;
	unsigned long n = 0;
	struct cid root;
	if (cmd_open(dir, CMD_READ, NULL, &s, NULL))
		return 1;
	int rc = store_ref_log(s, argv[i], log_one, &n);
	if (!rc && n == 0 && store_ref_get(s, argv[i], &root) == -ENOENT)
		rc = err_set(-ENOENT, "unknown ref and no log");
	if (!rc && fflush(stdout))
		rc = err_set(-EIO, "writing stdout: %s", strerror(errno));
	if (rc)
		rc = cmd_fail(argv[i]);
	store_close(s);
	return rc;
}
