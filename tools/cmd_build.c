/* cmd_build.c - hamt build: records -> a new map (tools/pipeline.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hamt/err.h"
#include "store/staging.h"
#include "store/store.h"
#include "tools/cmd.h"
#include "tools/pipeline.h"

#define MAX_THREADS 256

/* Read by every worker of the build (pipeline_opts.stop); set by the
 * signal handler, which only a lock-free atomic allows. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int is not lock-free");
static atomic_int interrupted;

static void on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	atomic_store_explicit(&interrupted, 1, memory_order_relaxed);
	errno = saved;
}

/* "123", "64K", "512M", "8G", "1T" (powers of 1024). 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -1;
	}
	if (*end && end[1] != '\0' &&
	    !((end[1] == 'B' || end[1] == 'b') && end[2] == '\0'))
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static unsigned cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* The default memory budget: a quarter of RAM, at least 256 MiB. */
static uint64_t default_mem(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t ram = pages > 0 && psize > 0
			   ? (uint64_t)pages * (uint64_t)psize
			   : (uint64_t)4 << 30;
	uint64_t m = ram / 4;
	return m < ((uint64_t)256 << 20) ? (uint64_t)256 << 20 : m;
}

/* Where spill files go by default: the store directory, or the nearest
 * directory above it that exists; the CAR file's directory. */
static char *default_spill_dir(const char *target, int is_dir)
{
	char *d = strdup(target);
	if (!d)
		return NULL;
	for (;;) {
		if (is_dir && access(d, W_OK) == 0)
			return d;
		is_dir = 1;
		char *slash = strrchr(d, '/');
		if (!slash) {
			free(d);
			return strdup(".");
		}
		if (slash == d) {
			d[1] = '\0';
			return d;
		}
		*slash = '\0';
	}
}

struct build_cmd {
	struct pipeline_opts p;
	int codec_set, quiet;
	const char *key;
	const char *tmp;
};

static int parse_opts(int argc, char **argv, struct build_cmd *b)
{
	static const struct option opts[] = {
	    {"store", required_argument, NULL, 's'},
	    {"ref", required_argument, NULL, 'r'},
	    {"car", required_argument, NULL, 'c'},
	    {"bit-width", required_argument, NULL, 'w'},
	    {"bucket-size", required_argument, NULL, 'b'},
	    {"format", required_argument, NULL, 'f'},
	    {"values", required_argument, NULL, 'v'},
	    {"key", required_argument, NULL, 'k'},
	    {"codec", required_argument, NULL, 'C'},
	    {"threads", required_argument, NULL, 't'},
	    {"mem", required_argument, NULL, 'm'},
	    {"tmp", required_argument, NULL, 'T'},
	    {"skip-bad", no_argument, NULL, 'S'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct pipeline_opts *o = &b->p;
	int c;
	char *end;
	hamt_params_default(&o->params);
	o->in.format = INPUT_TSV;
	o->link = 1;
	o->threads = cpus();
	o->mem = default_mem();
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:r:c:w:b:f:v:k:C:t:m:T:Sqh",
				opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->store_dir = optarg;
			break;
		case 'r':
			o->ref = optarg;
			break;
		case 'c':
			o->car = optarg;
			break;
		case 'w':
		case 'b':
		case 't': {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v > 65536)
				return cmd_bad_usage("bad number '%s'", optarg);
			if (c == 'w')
				o->params.bit_width = (unsigned)v;
			else if (c == 'b')
				o->params.bucket_size = (unsigned)v;
			else if (v < 1 || v > MAX_THREADS)
				return cmd_bad_usage("--threads '%s': want 1 "
						     "to 256",
						     optarg);
			else
				o->threads = (unsigned)v;
			break;
		}
		case 'f':
			if (!strcmp(optarg, "tsv"))
				o->in.format = INPUT_TSV;
			else if (!strcmp(optarg, "jsonl"))
				o->in.format = INPUT_JSONL;
			else if (!strcmp(optarg, "ol"))
				o->in.format = INPUT_OL;
			else
				return cmd_bad_usage("unknown format '%s' "
						     "(tsv, jsonl or ol)",
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
		case 'k':
			if (!*optarg)
				return cmd_bad_usage("%s", "--key: empty field "
							   "name");
			b->key = optarg;
			break;
		case 'C':
			if (!strcmp(optarg, "raw"))
				o->in.codec = CODEC_RAW;
			else if (!strcmp(optarg, "dag-cbor"))
				o->in.codec = CODEC_DAG_CBOR;
			else
				return cmd_bad_usage("unknown codec '%s' (raw "
						     "or dag-cbor)",
						     optarg);
			b->codec_set = 1;
			break;
		case 'm':
			if (parse_size(optarg, &o->mem) || o->mem == 0)
				return cmd_bad_usage("bad size '%s' (e.g. "
						     "512M, 8G)",
						     optarg);
			break;
		case 'T':
			b->tmp = optarg;
			break;
		case 'S':
			o->skip_bad = 1;
			break;
		case 'q':
			b->quiet = 1;
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
	if (!o->store_dir && !o->car)
		return cmd_bad_usage("%s", "--store DIR or --car FILE is "
					   "required");
	if (o->store_dir && o->car)
		return cmd_bad_usage("%s", "give --store DIR or --car FILE, "
					   "not both");
	if (o->ref && !o->store_dir)
		return cmd_bad_usage("%s", "--ref needs --store");
	if (o->car && !strcmp(o->car, "-"))
		return cmd_bad_usage(
		    "%s", "--car -: a build cannot write its CAR to standard "
			  "output (the header, which names the root, is "
			  "written last); give a file, or build into a store "
			  "and 'hamt export --store DIR ROOT -'");
	if (argc - optind > 1)
		return cmd_bad_usage("unexpected argument '%s'",
				     argv[optind + 1]);
	o->input = optind < argc ? argv[optind] : NULL;
	if (b->key && o->in.format == INPUT_TSV)
		return cmd_bad_usage("%s", "--key needs --format jsonl or ol "
					   "(a field of a JSON record)");
	o->in.key_field = b->key;
	o->in.key_field_len = b->key ? strlen(b->key) : 0;
	if (o->in.format == INPUT_JSONL && !b->key) {
		/* the {"key", "value"} form: values are DAG-CBOR */
		if (b->codec_set && o->in.codec != CODEC_DAG_CBOR)
			return cmd_bad_usage("%s",
					     "--codec raw needs --key FIELD "
					     "with jsonl (the whole line is "
					     "then the record)");
		o->in.codec = CODEC_DAG_CBOR;
	} else if (!b->codec_set) {
		o->in.codec = CODEC_RAW;
	}
	if (hamt_params_check(&o->params)) {
		fprintf(stderr, "hamt build: %s\n", err_msg());
		return 2;
	}
	return 0;
}

static void summary(const struct pipeline_stats *st, const struct cid *root,
		    int link)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	char txt[CID_MAX_TEXT];
	uint64_t recblocks =
	    st->blocks >= st->node_blocks ? st->blocks - st->node_blocks : 0;
	fprintf(stderr,
		"records %llu, keys %llu, blocks %llu (%llu records, %llu "
		"nodes; %llu already stored), bytes %llu, depth %u\n",
		(unsigned long long)st->records, (unsigned long long)st->keys,
		(unsigned long long)st->blocks,
		(unsigned long long)(link ? recblocks : 0),
		(unsigned long long)st->node_blocks,
		(unsigned long long)st->present, (unsigned long long)st->bytes,
		st->depth);
	if (st->bad_lines || st->no_key || st->ignored ||
	    st->entries != st->keys)
		fprintf(stderr,
			"lines %llu: %llu malformed (skipped), %llu without "
			"a key (skipped), %llu key values not a string or "
			"integer; %llu keys given, %llu replaced by a later "
			"line\n",
			(unsigned long long)st->lines,
			(unsigned long long)st->bad_lines,
			(unsigned long long)st->no_key,
			(unsigned long long)st->ignored,
			(unsigned long long)st->entries,
			(unsigned long long)(st->entries - st->keys));
	double rate = st->t_total > 0 ? (double)st->records / st->t_total : 0;
	char groups[64];
	if (st->blocks == st->node_blocks)
		snprintf(groups, sizeof(groups), "no record blocks");
	else if (st->groups)
		snprintf(groups, sizeof(groups),
			 "%u write group%s in %u pass%s", st->groups,
			 st->groups == 1 ? "" : "s", st->passes,
			 st->passes == 1 ? "" : "es");
	else
		snprintf(groups, sizeof(groups), "records copied as read");
	char gz[64] = "";
	if (st->gzip_bytes)
		snprintf(gz, sizeof(gz), " (%.1f MiB of gzip)",
			 (double)st->gzip_bytes / (1 << 20));
	fprintf(stderr,
		"time: read %.2fs, build %.2fs, write %.2fs, commit %.2fs, "
		"total %.2fs (%.0f records/s); %.1f MiB input%s; sort memory "
		"peak %.0f MiB, %u spill runs, %s; peak RSS %ld MiB\n",
		st->t_read, st->t_build, st->t_write, st->t_commit, st->t_total,
		rate, (double)st->input_bytes / (1 << 20), gz,
		(double)st->mem_peak / (1 << 20), st->spills, groups,
		ru.ru_maxrss / 1024);
	(void)root;
	(void)txt;
}

/* A ref built over may have changes staged on it (by a mount of it, or
 * hamt put): say so, and where they go. Only a note: a store that cannot
 * be opened again here just gets none. */
static void note_staged(const struct pipeline_opts *o)
{
	struct store *s = NULL;
	uint64_t n = 0;
	if (!o->store_dir || !o->ref ||
	    store_open(&s, o->store_dir, STORE_RDONLY) != 0)
		return;
	if (staging_count(s, o->ref, &n) == 0 && n > 0)
		fprintf(stderr,
			"hamt build: ref %s has %llu staged change%s (made "
			"through a mount of it or hamt put): they stay staged "
			"and go on top of the new root at the next commit "
			"(hamt commit; a mount of %s refuses to commit until "
			"it is mounted again)\n",
			o->ref, (unsigned long long)n, n == 1 ? "" : "s",
			o->ref);
	store_close(s);
}

int cmd_build(int argc, char **argv)
{
	struct build_cmd b = {0};
	char *spill = NULL;
	int rc = parse_opts(argc, argv, &b);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct pipeline_opts *o = &b.p;
	if (b.tmp) {
		struct stat sb;
		if (stat(b.tmp, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
		    access(b.tmp, W_OK) != 0) {
			fprintf(stderr,
				"hamt build: --tmp %s: not a writable "
				"directory\n",
				b.tmp);
			return 2;
		}
		o->spill_dir = b.tmp;
	} else {
		spill = default_spill_dir(o->store_dir ? o->store_dir : o->car,
					  o->store_dir != NULL);
		if (!spill) {
			fprintf(stderr, "hamt build: out of memory\n");
			return 1;
		}
		o->spill_dir = spill;
	}
	/* the writer's LMDB pages (up to 512 MiB) are malloc()ed one at a
	 * time: grow the heap in large steps, not a system call per page
	 * (and far enough ahead of the writer for the pipeline's monitor
	 * to fault the pages in first, pipeline.c); never shrink it (giving
	 * back half a GiB page by page when the store closes took seconds; the
	 * process ends right after) */
	mallopt(M_TOP_PAD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	o->progress = !b.quiet && isatty(STDERR_FILENO);
	o->stop = &interrupted;
	struct sigaction sa, old_int, old_term;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	struct pipeline_stats st;
	struct cid root;
	rc = pipeline_run(o, &root, &st);
	if (st.swept)
		fprintf(stderr,
			"hamt build: removed %u unfinished new store%s of %s "
			"that killed builds left beside it (%.1f MiB)\n",
			st.swept, st.swept == 1 ? "" : "s", o->store_dir,
			(double)st.swept_bytes / (1 << 20));
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	free(spill);
	if (rc == -EINTR ||
	    (rc && atomic_load_explicit(&interrupted, memory_order_relaxed))) {
		fprintf(stderr, "hamt build: interrupted; nothing was written "
				"(the store and its refs are unchanged)\n");
		return 130;
	}
	if (rc)
		return cmd_fail(NULL);
	char txt[CID_MAX_TEXT];
	summary(&st, &root, o->link);
	note_staged(o);
	printf("%s\n", cid_format(&root, txt));
	return 0;
}
