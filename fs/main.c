/* main.c - hamtfs: mount a HAMT root of a store as a directory.
 *
 *   hamtfs [-f] [-d] [-o store=DIR,cache_mb=N,...] ROOT MOUNTPOINT
 *
 * Set-up unwinds in reverse through labelled exits. */
#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/daemon.h"
#include "fs/fs.h"
#include "fs/ops.h"
#include "hamt/err.h"

#define HAMTFS_VERSION "0.1.0"
#define DEFAULT_CACHE_MB 64

struct config {
	int ro;
	char *store;
	unsigned long cache_mb;
	char *root;
	int nonopts;
	int show_help;
};

#define CONF_OPT(t, p, v)                                                      \
	{                                                                      \
		t, offsetof(struct config, p), v                               \
	}
enum { KEY_RO = 1 };
static const struct fuse_opt conf_opts[] = {
    CONF_OPT("store=%s", store, 0), CONF_OPT("cache_mb=%lu", cache_mb, 0),
    FUSE_OPT_KEY("ro", KEY_RO), FUSE_OPT_END};

static int conf_proc(void *data, const char *arg, int key,
		     struct fuse_args *outargs)
{
	struct config *c = data;
	(void)outargs;
	if (key == KEY_RO) {
		c->ro = 1;
		return 1; /* and the kernel enforces it too */
	}
	if (key == FUSE_OPT_KEY_NONOPT) {
		if (c->nonopts++ == 0) {
			c->root = strdup(arg);
			return 0; /* ROOT is ours */
		}
		return 1; /* MOUNTPOINT goes on to fuse_parse_cmdline */
	}
	return 1;
}

/* Pages of the store file that reads may keep mapped in the daemon, per
 * byte of -o cache_mb: past that they are dropped from it (store.h,
 * store_set_map_budget), and a read faults them in again, at 5-25 us a
 * fault on these VMs. 10,000 stats of random keys of a 1M-key store (153
 * MB) while the budget was the cache's 64 MiB: 5,600-6,600/s; with no
 * budget 9,600-10,200/s (and 4,500-5,000/s when the pages were dropped
 * every 256 reads). */
#define MAP_PER_CACHE 4

static void usage(const char *prog)
{
	printf(
	    "usage: %s [-f] [-d] [-o store=DIR,cache_mb=N,...] ROOT "
	    "MOUNTPOINT\n\n"
	    "Mount the IPLD HashMap ROOT (a CID, or a ref name of the store)\n"
	    "as a directory: every key is a file holding its record.\n"
	    "Unmount with: fusermount3 -u MOUNTPOINT\n\n"
	    "hamtfs options:\n"
	    "    -o store=DIR           the hamtfs store (required)\n"
	    "    -o cache_mb=N          caches of decoded nodes and "
	    "rendered files in MiB\n"
	    "                           (default %d), and four times that "
	    "of the store\n"
	    "                           file's pages mapped\n\n"
	    "FUSE options:\n",
	    prog, DEFAULT_CACHE_MB);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

static int check_mountpoint(const char *mp)
{
	struct stat st;
	if (stat(mp, &st) != 0) {
		fprintf(stderr, "hamtfs: mountpoint %s: %s\n", mp,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "hamtfs: mountpoint %s is not a directory\n",
			mp);
		return -1;
	}
	DIR *d = opendir(mp);
	if (!d) {
		fprintf(stderr, "hamtfs: mountpoint %s: %s\n", mp,
			strerror(errno));
		return -1;
	}
	struct dirent *e;
	int empty = 1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	if (!empty) {
		fprintf(stderr,
			"hamtfs: mountpoint %s is not an empty directory\n",
			mp);
		return -1;
	}
	return 0;
}

/* The time of the ref's last move, for st_mtime. */
struct last_time {
	uint64_t t;
};

static int take_first(void *payload, uint64_t time, const struct cid *old,
		      const struct cid *new_root)
{
	struct last_time *lt = payload;
	(void)old;
	(void)new_root;
	lt->t = time;
	return 1; /* newest first: one is enough */
}

static int open_view(struct fs *fs)
{
	struct cid root;
	struct fs_view *v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(-ENOMEM, "out of memory");
	int rc = store_resolve(fs->store, fs->root_arg, &root);
	if (!rc)
		rc = hamt_open(&v->map, fs->store, &root);
	if (rc) {
		free(v);
		return rc;
	}
	hamt_set_cache(v->map, fs->cache);
	struct cid tmp;
	fs->is_ref = store_ref_get(fs->store, fs->root_arg, &tmp) == 0;
	clock_gettime(CLOCK_REALTIME, &v->mtime);
	if (fs->is_ref) {
		struct last_time lt = {0};
		store_ref_log(fs->store, fs->root_arg, take_first, &lt);
		if (lt.t) {
			v->mtime.tv_sec = (time_t)lt.t;
			v->mtime.tv_nsec = 0;
		}
	}
	v->gen = 1;
	v->refs = 1;
	fs->view = v;
	fs->next_gen = 1;
	/* the staging area: the ref's own, or one for this CID */
	char txt[CID_MAX_TEXT];
	if (fs->is_ref)
		snprintf(fs->area, sizeof(fs->area), "%s", fs->root_arg);
	else
		snprintf(fs->area, sizeof(fs->area), "@%s",
			 cid_format(&root, txt));
	rc = stagebuf_open(&fs->stage, fs->store, fs->area,
			   fs->readonly ? STAGEBUF_RDONLY : 0);
	if (rc) {
		fs->view = NULL;
		fs_view_put(v);
		return rc;
	}
	uint64_t recs, dropped;
	stagebuf_recovered(fs->stage, &recs, &dropped);
	if (recs || dropped)
		fs_log("staging area %s: replayed %llu journal records left "
		       "by an earlier run; dropped %llu bytes of torn "
		       "journal tail",
		       fs->area, (unsigned long long)recs,
		       (unsigned long long)dropped);
	return 0;
}

/* Flush the staging journal and release the area. */
static void close_stage(struct fs *fs)
{
	if (fs->stage && stagebuf_close(fs->stage))
		fs_log("staging area %s: final flush failed (%s); its journal "
		       "is kept and replayed at the next mount",
		       fs->area, err_msg());
	fs->stage = NULL;
}

/* Name this mount in the staging area's lock, so that a second mount or a
 * tool is told at once that the area is in use, and waits instead once
 * the mount is gone (stagebuf.h). `mp` is absolute (fuse_parse_cmdline);
 * nothing here may look it up through the file system: this process
 * answers for it and is not serving yet. Best effort: without it, others
 * give the mount a few seconds' grace before they call the area busy. */
static void announce_mount(struct fs *fs, const char *mp)
{
	struct mount_dev dev;
	if (!fs->stage || fs->readonly)
		return;
	int rc = mounts_dev_at(mp, "fuse", &dev);
	if (rc == 0)
		stagebuf_mounted(fs->stage, dev);
	else if (rc != -ENOENT && rc != -EEXIST)
		fs_log("staging area %s: %s", fs->area, err_msg());
}

/* Open the store and the view of ROOT; prints (or logs) why not. */
static int open_store_and_view(struct fs *fs)
{
	int rc = store_open(&fs->store, fs->store_dir,
			    fs->readonly ? STORE_RDONLY : 0);
	if (rc == -EROFS || rc == -EACCES) {
		fs_log("%s; a store that cannot be written can be mounted "
		       "with -o ro",
		       err_msg());
		return -1;
	}
	if (rc) {
		fs_log("%s", err_msg());
		return -1;
	}
	store_set_map_budget(fs->store, fs->map_budget);
	if (open_view(fs)) {
		fs_log("%s: %s", fs->root_arg, err_msg());
		store_close(fs->store);
		fs->store = NULL;
		return -1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {0};
	struct config conf = {.cache_mb = DEFAULT_CACHE_MB};
	struct fs fs = {0};
	struct fuse_session *se = NULL;
	int ret = 1;

	if (fuse_opt_parse(&args, &conf, conf_opts, conf_proc) != 0)
		goto out_args;
	/* the kernel checks file modes and owners (writes, and reads when
	 * others are let in with -o allow_other): records are the mount
	 * owner's, 0644 (0444 with -o ro) unless chmod'ed */
	if (fuse_opt_add_arg(&args, "-odefault_permissions") != 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	if (opts.show_help) {
		usage(argv[0]);
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version) {
		printf("hamtfs %s (libfuse %s)\n", HAMTFS_VERSION,
		       fuse_pkgversion());
		fuse_lowlevel_version();
		ret = 0;
		goto out_opts;
	}
	if (!conf.root || !opts.mountpoint) {
		fprintf(stderr,
			"usage: %s [-f] [-d] [-o store=DIR,...] ROOT "
			"MOUNTPOINT (see --help)\n",
			argv[0]);
		ret = 2;
		goto out_opts;
	}
	if (!conf.store) {
		fprintf(stderr, "hamtfs: -o store=DIR is required\n");
		ret = 2;
		goto out_opts;
	}
	/* the caches live in memory: at most all of it (a bigger number,
	 * or a negative one read as unsigned, would overflow the sizes) */
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	unsigned long ram_mb =
	    pages > 0 && psize > 0
		? (unsigned long)((unsigned long long)pages *
				      (unsigned long long)psize >>
				  20)
		: 1ul << 20;
	if (conf.cache_mb > ram_mb) {
		fprintf(stderr,
			"hamtfs: -o cache_mb=%lu: want a number of MiB from 0 "
			"to %lu (this machine's memory)\n",
			conf.cache_mb, ram_mb);
		ret = 2;
		goto out_opts;
	}
	if (check_mountpoint(opts.mountpoint))
		goto out_opts;
	/* the daemon runs in / (daemon_fork changes to it): a relative
	 * store path must be made absolute first (when it does not resolve,
	 * opening it below says why) */
	char *abs_store = realpath(conf.store, NULL);
	if (abs_store) {
		free(conf.store);
		conf.store = abs_store;
	}
	fs.readonly = conf.ro;
	fs.root_arg = conf.root;
	fs.store_dir = conf.store;
	fs.uid = getuid();
	fs.gid = getgid();
	size_t cache_bytes = (size_t)conf.cache_mb << 20;
	fs.map_budget = (uint64_t)cache_bytes * MAP_PER_CACHE;
	pthread_rwlockattr_t rwa;
	pthread_rwlockattr_init(&rwa);
	pthread_rwlockattr_setkind_np(
	    &rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fs.view_lock, &rwa);
	pthread_rwlockattr_destroy(&rwa);
	pthread_mutex_init(&fs.err_lock, NULL);
	if (hamt_cache_new(&fs.cache, cache_bytes - cache_bytes / 4) ||
	    fs_inodes_init(&fs.inodes) ||
	    fs_content_init(&fs.content, cache_bytes / 4)) {
		fprintf(stderr, "hamtfs: %s\n", err_msg());
		goto out_caches;
	}
	/* Check the store and root now, so errors reach the terminal. LMDB
	 * must not be used across fork(), and daemon_fork() forks: the
	 * store is opened again in the process that serves the mount. */
	if (open_store_and_view(&fs))
		goto out_caches;
	if (!opts.foreground) {
		close_stage(&fs);
		fs_view_put(fs.view);
		fs.view = NULL;
		store_close(fs.store);
		fs.store = NULL;
	}
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (!se)
		goto out_view;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	/* in the background, the command waits for the daemon to have
	 * opened the store, and exits 1 if it could not */
	if (!opts.foreground && daemon_fork() != 0) {
		fprintf(stderr, "hamtfs: %s\n", err_msg());
		goto out_unmount;
	}
	if (!fs.store && open_store_and_view(&fs))
		goto out_unmount;
	announce_mount(&fs, opts.mountpoint);
	if (!opts.foreground) {
		daemon_ready(0);
		fs_log_to_syslog();
	}
	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(lc, opts.clone_fd);
		if (opts.max_threads > 0 && opts.max_threads <= 100000)
			fuse_loop_cfg_set_max_threads(lc, opts.max_threads);
		if (opts.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(lc,
						       opts.max_idle_threads);
		ret = fuse_session_loop_mt(se, lc);
		fuse_loop_cfg_destroy(lc);
	}
	ret = ret ? 1 : 0;
	/* unmounted: a new mount of the area waits for the final flush
	 * instead of finding it busy */
	stagebuf_closing(fs.stage);
out_unmount:
	fuse_session_unmount(se);
	daemon_ready(ret); /* if start-up failed: unmounted, then reported */
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_view:
	close_stage(&fs);
	fs_view_put(fs.view);
out_caches:
	pthread_rwlock_destroy(&fs.view_lock);
	pthread_mutex_destroy(&fs.err_lock);
	fs_content_destroy(&fs.content);
	fs_inodes_destroy(&fs.inodes);
	hamt_cache_free(fs.cache);
	store_close(fs.store);
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	free(conf.root);
	free(conf.store);
	return ret;
}
