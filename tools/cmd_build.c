/* cmd_build.c - hamt build: records -> a new map, in one store transaction. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "hamt/err.h"
#include "tools/cmd.h"
#include "tools/input.h"

struct build_opts {
	const char *store;
	const char *ref;
	const char *file;
	struct hamt_params params;
	enum input_format format;
	int link;
};

/* A parsed record: offsets into the key and value arenas. */
struct rec {
	size_t koff, klen, voff, vlen;
	size_t boff, blen; /* the linked value block, in the block arena */
	struct cid block;
};

struct recs {
	struct rec *v;
	size_t n, cap;
	struct buf keys, vals, blocks;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_all(const char *path, struct buf *out)
{
	FILE *f = stdin;
	if (path && strcmp(path, "-") != 0) {
		f = fopen(path, "rb");
		if (!f)
			return err_set(-errno, "%s: %s", path, strerror(errno));
	}
	int rc = 0;
	for (;;) {
		rc = buf_reserve(out, 1 << 20);
		if (rc)
			break;
		size_t got =
		    fread(out->data + out->len, 1, out->cap - out->len, f);
		out->len += got;
		if (got == 0) {
			if (ferror(f))
				rc = err_set(-EIO, "%s: read error",
					     path ? path : "stdin");
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

static int parse_opts(int argc, char **argv, struct build_opts *o)
{
	static const struct option opts[] = {
	    {"store", required_argument, NULL, 's'},
	    {"ref", required_argument, NULL, 'r'},
	    {"bit-width", required_argument, NULL, 'w'},
	    {"bucket-size", required_argument, NULL, 'b'},
	    {"format", required_argument, NULL, 'f'},
	    {"values", required_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int c;
	char *end;
	hamt_params_default(&o->params);
	o->format = INPUT_TSV;
	o->link = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:r:w:b:f:v:h", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			o->store = optarg;
			break;
		case 'r':
			o->ref = optarg;
			break;
		case 'w':
		case 'b': {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v > 65536)
				return cmd_bad_usage("bad number '%s'", optarg);
			if (c == 'w')
				o->params.bit_width = (unsigned)v;
			else
				o->params.bucket_size = (unsigned)v;
			break;
		}
		case 'f':
			if (!strcmp(optarg, "tsv"))
				o->format = INPUT_TSV;
			else if (!strcmp(optarg, "jsonl"))
				o->format = INPUT_JSONL;
			else
				return cmd_bad_usage("unknown format '%s' "
						     "(tsv or jsonl)",
						     optarg);
			break;
		case 'v':
			if (!strcmp(optarg, "link"))
				o->link = 1;
			else if (!strcmp(optarg, "inline"))
				o->link = 0;
			else
				return cmd_bad_usage("unknown values mode '%s' "
						     "(link or inline)",
						     optarg);
			break;
		case 'h':
			cmd_help();
			return -1;
		default:
			return cmd_bad_usage("unknown or incomplete option "
					     "'%s'",
					     argv[optind - 1]);
		}
	}
	if (!o->store)
		return cmd_bad_usage("%s", "--store DIR is required");
	if (argc - optind > 1)
		return cmd_bad_usage("unexpected argument '%s'",
				     argv[optind + 1]);
	o->file = optind < argc ? argv[optind] : NULL;
	if (hamt_params_check(&o->params)) {
		fprintf(stderr, "hamt build: %s\n", err_msg());
		return 2;
	}
	return 0;
}

static int add_rec(struct recs *r, const struct build_opts *o, const char *key,
		   size_t klen, const uint8_t *val, size_t vlen, uint64_t codec)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct rec *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return err_set(-ENOMEM, "out of memory");
		r->v = v;
		r->cap = cap;
	}
	struct rec *x = &r->v[r->n];
	memset(x, 0, sizeof(*x));
	x->koff = r->keys.len;
	x->klen = klen;
	int rc = buf_append(&r->keys, key, klen);
	if (rc)
		return rc;
	x->voff = r->vals.len;
	if (o->link) {
		if (vlen > STORE_MAX_WRITE)
			return err_set(-EFBIG,
				       "value is %zu bytes, over the %u-byte "
				       "block limit",
				       vlen, STORE_MAX_WRITE);
		cid_of_block(&x->block, codec, val, vlen);
		x->boff = r->blocks.len;
		x->blen = vlen;
		rc = buf_append(&r->blocks, val, vlen);
		if (!rc)
			rc = hamt_value_encode_link(&x->block, &r->vals);
	} else if (codec == CODEC_RAW) {
		rc = hamt_value_encode_bytes(val, vlen, &r->vals);
	} else {
		rc = buf_append(&r->vals, val, vlen);
	}
	if (rc)
		return rc;
	x->vlen = r->vals.len - x->voff;
	r->n++;
	return 0;
}

static int parse_input(const struct build_opts *o, const struct buf *in,
		       struct recs *r)
{
	struct buf key = {0}, val = {0};
	const char *p = (const char *)in->data;
	const char *end = p + in->len;
	unsigned long line = 0;
	int rc = 0;
	while (p < end && !rc) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;
		line++;
		if (len && p[len - 1] == '\r')
			len--;
		if (len == 0) {
			p = next;
			continue;
		}
		if (o->format == INPUT_TSV) {
			const char *k, *v;
			size_t kl, vl;
			rc = input_tsv_line(p, len, &k, &kl, &v, &vl);
			if (!rc)
				rc = add_rec(r, o, k, kl, (const uint8_t *)v,
					     vl, CODEC_RAW);
		} else {
			buf_reset(&key);
			buf_reset(&val);
			rc = input_jsonl_line(p, len, &key, &val);
			if (!rc)
				rc = add_rec(r, o, (const char *)key.data,
					     key.len, val.data, val.len,
					     CODEC_DAG_CBOR);
		}
		if (rc)
			err_wrap(rc, "%s:%lu",
				 o->file && strcmp(o->file, "-") ? o->file
								 : "stdin",
				 line);
		p = next;
	}
	buf_free(&key);
	buf_free(&val);
	return rc;
}

static int txn_sink_put(void *payload, const struct cid *c, const uint8_t *data,
			size_t len)
{
	return store_txn_put(payload, c, data, len);
}

int cmd_build(int argc, char **argv)
{
	struct build_opts o = {0};
	int rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	double t0 = now_s();
	struct buf in = {0};
	struct recs r = {0};
	struct hamt_entry *entries = NULL;
	struct store *s = NULL;
	struct store_txn *txn = NULL;
	struct hamt_stats st = {0};
	struct cid root;
	rc = read_all(o.file, &in);
	if (!rc)
		rc = parse_input(&o, &in, &r);
	if (rc) {
		rc = cmd_fail(NULL);
		goto out;
	}
	double t1 = now_s();
	entries = calloc(r.n ? r.n : 1, sizeof(*entries));
	if (!entries) {
		rc = cmd_fail("out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.n; i++)
		entries[i] =
		    (struct hamt_entry){r.keys.data + r.v[i].koff, r.v[i].klen,
					r.vals.data + r.v[i].voff, r.v[i].vlen};
	if (cmd_open(o.store, CMD_CREATE, NULL, &s, NULL)) {
		rc = 1;
		goto out;
	}
	rc = store_txn_begin(s, &txn);
	for (size_t i = 0; !rc && o.link && i < r.n; i++)
		rc = store_txn_put(txn, &r.v[i].block,
				   r.blocks.data + r.v[i].boff, r.v[i].blen);
	struct hamt_sink sink = {txn_sink_put, txn};
	if (!rc)
		rc = hamt_build(&o.params, entries, r.n, &sink, &root, &st);
	if (!rc && o.ref)
		rc = store_txn_set_ref(txn, o.ref, &root);
	if (!rc) {
		rc = store_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		rc = cmd_fail(NULL);
		goto out;
	}
	double t2 = now_s();
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	char txt[CID_MAX_TEXT];
	fprintf(stderr,
		"records %zu, keys %llu, node blocks %llu (%llu bytes), value "
		"blocks %zu (%zu bytes), depth %u; parse %.2fs, build+write "
		"%.2fs, peak RSS %ld MiB\n",
		r.n, (unsigned long long)st.keys, (unsigned long long)st.blocks,
		(unsigned long long)st.bytes, o.link ? r.n : 0,
		o.link ? r.blocks.len : 0, st.depth, t1 - t0, t2 - t1,
		ru.ru_maxrss / 1024);
	printf("%s\n", cid_format(&root, txt));
	rc = 0;
out:
	store_txn_abort(txn);
	store_close(s);
	free(entries);
	free(r.v);
	buf_free(&r.keys);
	buf_free(&r.vals);
	buf_free(&r.blocks);
	buf_free(&in);
	return rc;
}
