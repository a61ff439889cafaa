/* cmd_read.c - get, ls, import, export, verify. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"
#include "hamt/hash.h"
#include "hamt/names.h"
#include "store/car.h"
#include "tools/cmd.h"

int cmd_parse_opts(int argc, char **argv, const char **dir, const char **ref,
		   int npos_min, int npos_max)
{
	static const struct option opts[] = {
	    {"store", required_argument, NULL, 's'},
	    {"ref", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			*dir = optarg;
			break;
		case 'r':
			if (!ref) {
				cmd_bad_usage("%s", "--ref is not an option "
						    "of this command");
				return -2;
			}
			*ref = optarg;
			break;
		case 'h':
			cmd_help();
			return -1;
		default:
			cmd_bad_usage("unknown or incomplete option '%s'",
				      argv[optind - 1]);
			return -2;
		}
	}
	if (!*dir) {
		cmd_bad_usage("%s", "--store DIR is required");
		return -2;
	}
	if (ref && !*ref) {
		cmd_bad_usage("%s", "--ref NAME is required");
		return -2;
	}
	if (argc - optind < npos_min || argc - optind > npos_max) {
		cmd_usage(stderr);
		return -2;
	}
	return optind;
}

int cmd_open(const char *dir, int mode, const char *root_text, struct store **s,
	     struct hamt **h)
{
	*s = NULL;
	if (h)
		*h = NULL;
	int rc = store_open(s, dir,
			    mode == CMD_CREATE ? STORE_CREATE
			    : mode == CMD_READ ? STORE_RDONLY
					       : 0);
	if ((rc == -EROFS || rc == -EACCES) && mode == CMD_PREFER_WRITE)
		rc = store_open(s, dir, STORE_RDONLY);
	if ((rc == -EROFS || rc == -EACCES) && mode == CMD_WRITE)
		err_wrap(rc, "the store cannot be written");
	if (rc)
		return cmd_fail("cannot open store");
	if (!root_text)
		return 0;
	struct cid root;
	rc = store_resolve(*s, root_text, &root);
	/* store_resolve's message names ROOT; when ROOT is the root's CID,
	 * a message naming that block does too (a ref name is kept: it is
	 * not in the message, and a short one could match by chance) */
	const char *what = rc ? NULL : root_text;
	if (!rc)
		rc = hamt_open(h, *s, &root);
	if (rc) {
		char txt[CID_MAX_TEXT];
		if (what && !strcmp(cid_format(&root, txt), root_text) &&
		    strstr(err_msg(), root_text))
			what = NULL;
		store_close(*s);
		*s = NULL;
		return cmd_fail(what);
	}
	return 0;
}

/* exactly `want` positional arguments after --store DIR */
static int positional(int argc, char **argv, const char **store, int want,
		      int *first)
{
	int i = cmd_parse_opts(argc, argv, store, NULL, want, want);
	if (i < 0)
		return i == -1 ? 0 : 2;
	*first = i;
	return -1;
}

int cmd_get(int argc, char **argv)
{
	const char *dir = NULL;
	int i, rc = positional(argc, argv, &dir, 2, &i);
	if (rc >= 0)
		return rc;
	struct store *s;
	struct hamt *h;
	if (cmd_open(dir, CMD_READ, argv[i], &s, &h))
		return 1;
	struct buf val = {0}, out = {0};
	const char *key = argv[i + 1];
	rc = hamt_get(h, (const uint8_t *)key, strlen(key), &val);
	if (rc == -ENOENT) {
		fprintf(stderr, "hamt get: %s: not found\n", key);
		rc = 1;
	} else if (rc || (rc = hamt_value_render(s, val.data, val.len, &out))) {
		rc = cmd_fail(key);
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
		   fflush(stdout)) {
		fprintf(stderr, "hamt get: writing stdout: %s\n",
			strerror(errno));
		rc = 1;
	}
	buf_free(&val);
	buf_free(&out);
	hamt_free(h);
	store_close(s);
	return rc;
}

int cmd_ls(int argc, char **argv)
{
	const char *dir = NULL;
	int i, rc = positional(argc, argv, &dir, 1, &i);
	if (rc >= 0)
		return rc;
	struct store *s;
	struct hamt *h;
	if (cmd_open(dir, CMD_READ, argv[i], &s, &h))
		return 1;
	struct hamt_cursor *cur = NULL;
	const uint8_t *key, *val;
	size_t klen, vlen;
	rc = hamt_cursor_new(h, &cur);
	/* the cursor hashes every key (to check where it sits): name it with
	 * that hash instead of hashing it again */
	while (!rc &&
	       (rc = hamt_cursor_next(cur, &key, &klen, &val, &vlen)) == 1) {
		char name[NAME_MAX_BYTES + 1];
		size_t hl;
		const uint8_t *hash = hamt_cursor_hash(cur, &hl);
		size_t n = name_from_key(key, klen, hash, hl, name);
		name[n] = '\n';
		rc = fwrite(name, 1, n + 1, stdout) == n + 1
			 ? 0
			 : err_set(-EIO, "writing stdout: %s", strerror(errno));
	}
	hamt_cursor_free(cur);
	if (!rc && fflush(stdout))
		rc = err_set(-EIO, "writing stdout: %s", strerror(errno));
	if (rc)
		rc = cmd_fail(argv[i]);
	hamt_free(h);
	store_close(s);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	const char *dir = NULL;
	int i, rc = positional(argc, argv, &dir, 1, &i);
	if (rc >= 0)
		return rc;
	struct store *s;
	if (cmd_open(dir, CMD_CREATE, NULL, &s, NULL))
		return 1;
	struct cid *roots = NULL;
	size_t n = 0;
	rc = car_import(s, argv[i], &roots, &n);
	if (rc) {
		rc = cmd_fail(argv[i]);
	} else {
		char txt[CID_MAX_TEXT];
		for (size_t k = 0; k < n; k++)
			printf("%s\n", cid_format(&roots[k], txt));
	}
	free(roots);
	store_close(s);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	const char *dir = NULL;
	int i, rc = positional(argc, argv, &dir, 2, &i);
	if (rc >= 0)
		return rc;
	struct store *s;
	if (cmd_open(dir, CMD_READ, NULL, &s, NULL))
		return 1;
	struct cid root;
	uint64_t blocks = 0, bytes = 0;
	const char *to = argv[i + 1];
	const char *shown = strcmp(to, "-") ? to : "standard output";
	rc = store_resolve(s, argv[i], &root);
	if (rc)
		rc = cmd_fail(NULL); /* the message names the root */
	else if ((rc = car_export(s, &root, to, &blocks, &bytes)) != 0)
		rc = cmd_fail(shown);
	else
		fprintf(stderr, "exported %llu blocks, %llu bytes to %s\n",
			(unsigned long long)blocks, (unsigned long long)bytes,
			shown);
	store_close(s);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	const char *dir = NULL;
	int i, rc = positional(argc, argv, &dir, 1, &i);
	if (rc >= 0)
		return rc;
	struct store *s;
	struct hamt *h;
	if (cmd_open(dir, CMD_READ, argv[i], &s, &h))
		return 1;
	struct hamt_stats st;
	rc = hamt_verify(h, &st);
	if (rc) {
		rc = cmd_fail("defect");
	} else {
		char txt[CID_MAX_TEXT];
		const struct hamt_params *p = hamt_get_params(h);
		printf("ok %s\nkeys %llu\nblocks %llu\ndepth %u\nbytes %llu\n"
		       "value_blocks %llu\nvalue_bytes %llu\n"
		       "hash_alg 0x%llx\nbit_width %u\nbucket_size %u\n",
		       cid_format(hamt_root(h), txt),
		       (unsigned long long)st.keys,
		       (unsigned long long)st.blocks, st.depth,
		       (unsigned long long)st.bytes,
		       (unsigned long long)st.value_blocks,
		       (unsigned long long)st.value_bytes,
		       (unsigned long long)p->hash_alg, p->bit_width,
		       p->bucket_size);
	}
	hamt_free(h);
	store_close(s);
	return rc;
}
