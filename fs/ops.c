/* ops.c - the FUSE low-level handlers of a hamtfs mount (read side).
 *
 * Each handler is a thin wrapper: it calls a do_x() that returns 0 or a
 * negative errno, then sends exactly one reply. */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/ops.h"
#include "hamt/err.h"
#include "hamt/hash.h"
#include "hamt/names.h"

#define XA_ROOT "user.hamtfs.root"
#define XA_PARAMS "user.hamtfs.params"
#define XA_CID "user.hamtfs.cid"
#define XA_KEY "user.hamtfs.key"
#define XA_STAGED "user.hamtfs.staged"
#define XA_ERROR "user.hamtfs.error"
#define XA_COMMIT "user.hamtfs.commit"

static struct fs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int log_syslog;

void fs_log_to_syslog(void)
{
	openlog("hamtfs", LOG_PID, LOG_DAEMON);
	log_syslog = 1;
}

void fs_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(LOG_ERR, fmt, ap);
	} else {
		fputs("hamtfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

/* Map an internal error to what the kernel gets: corrupt or unverifiable
 * data is EIO (and logged); others pass through. */
int fs_errno(int rc, const char *what)
{
	if (rc == FS_EBADNAME)
		return EINVAL;
	if (rc == -ENOENT || rc == -ENAMETOOLONG || rc == -ENODATA ||
	    rc == -ERANGE || rc == -EEXIST || rc == -ENOTDIR)
		return -rc;
	fs_log("%s: %s", what, err_msg());
	if (rc == -EINVAL || rc == -ENOTSUP)
		return EIO;
	return -rc;
}

struct fs_view *fs_begin(struct fs *fs)
{
	pthread_rwlock_rdlock(&fs->view_lock);
	return fs->view;
}

struct fs_view *fs_begin_excl(struct fs *fs)
{
	pthread_rwlock_wrlock(&fs->view_lock);
	return fs->view;
}

void fs_end(struct fs *fs)
{
	pthread_rwlock_unlock(&fs->view_lock);
}

struct fs_view *fs_view_ref(struct fs_view *v)
{
	__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
	return v;
}

void fs_view_put(struct fs_view *v)
{
	if (v && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		hamt_free(v->map);
		free(v);
	}
}

void fs_fill_attr(struct fs *fs, const struct fs_view *v, uint64_t ino,
		  size_t size, const struct staging_attrs *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_mtim = st->st_ctim = st->st_atim = v->mtime;
	st->st_blksize = 4096;
	if (ino == FS_ROOT_INO) {
		st->st_mode = S_IFDIR | (fs->readonly ? 0555 : 0755);
		st->st_nlink = 2;
		return;
	}
	st->st_mode =
	    S_IFREG | (a ? (a->mode & 07777) : (fs->readonly ? 0444 : 0644));
	st->st_nlink = 1;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	if (a) {
		st->st_mtim.tv_sec = (time_t)a->mtime_sec;
		st->st_mtim.tv_nsec = (long)a->mtime_nsec;
		st->st_ctim = st->st_atim = st->st_mtim;
	}
}

int fs_stat_key(struct fs *fs, struct fs_view *v, uint64_t ino,
		const uint8_t *key, size_t klen, struct stat *st)
{
	struct fs_blob *b = NULL;
	struct staging_attrs a;
	int rc = fs_content_get(fs, v, ino, key, klen, &b);
	if (rc)
		return rc;
	int has = fs_attrs(fs, key, klen, &a) == 0;
	fs_fill_attr(fs, v, ino, b->len, has ? &a : NULL, st);
	fs_blob_put(b);
	return 0;
}

struct short_match {
	const char *name;
	size_t nlen;
	uint64_t alg;
};

static int match_short(void *payload, const uint8_t *key, size_t klen)
{
	struct short_match *m = payload;
	char name[NAME_MAX_BYTES + 1];
	int n = name_of_key(m->alg, key, klen, name);
	return n >= 0 && (size_t)n == m->nlen &&
	       !memcmp(name, m->name, m->nlen);
}

/* Resolve a name in the root directory to its key. */
int fs_name_lookup(struct fs_view *v, const char *name, struct buf *key)
{
	uint8_t hash[NAME_HASH_BYTES];
	size_t hlen = 0;
	size_t nlen = strlen(name);
	int rc = name_to_key(name, nlen, key, hash, &hlen);
	if (rc < 0)
		return rc == -ENAMETOOLONG ? rc : -ENOENT;
	if (rc == 0)
		return 0;
	/* a shortened name: walk its hash prefix to the key */
	struct short_match m = {name, nlen, hamt_get_params(v->map)->hash_alg};
	struct buf val = {0};
	buf_reset(key);
	rc = hamt_get_by_hash(v->map, hash, hlen, match_short, &m, key, &val);
	buf_free(&val);
	return rc;
}

int fs_entry(struct fs *fs, struct fs_view *v, const uint8_t *key, size_t klen,
	     struct fuse_entry_param *e)
{
	uint8_t hash[HASH_MAX_BYTES];
	size_t hlen;
	int rc =
	    hash_key(hamt_get_params(v->map)->hash_alg, key, klen, hash, &hlen);
	if (rc)
		return rc;
	struct fs_inode *ino =
	    fs_inode_lookup(&fs->inodes, key, klen, hash, hlen);
	if (!ino)
		return err_set(-ENOMEM, "inode table: out of memory");
	memset(e, 0, sizeof(*e));
	rc = fs_stat_key(fs, v, ino->ino, key, klen, &e->attr);
	if (rc) {
		fs_inode_forget(&fs->inodes, ino->ino, 1);
		return rc;
	}
	e->ino = ino->ino;
	e->generation = 1;
	e->attr_timeout = FS_TIMEOUT;
	e->entry_timeout = FS_TIMEOUT;
	return 0;
}

static int do_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	if (parent != FS_ROOT_INO)
		return -ENOTDIR;
	struct fs_view *v = fs_begin(fs);
	struct buf key = {0};
	int rc = fs_name_lookup(v, name, &key);
	if (!rc)
		rc = fs_entry(fs, v, key.data, key.len, e);
	buf_free(&key);
	fs_end(fs);
	return rc;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rc = do_lookup(FS(req), parent, name, &e);
	if (rc)
		fuse_reply_err(req, fs_errno(rc, name));
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_inode_forget(&FS(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		fs_inode_forget(&FS(req)->inodes, forgets[i].ino,
				forgets[i].nlookup);
	fuse_reply_none(req);
}

/* The current contents of inode `ino`. */
int fs_ino_content(struct fs *fs, struct fs_view *v, fuse_ino_t ino,
		   struct fs_blob **b)
{
	struct buf key = {0};
	int rc = fs_inode_key(&fs->inodes, ino, &key, NULL, NULL);
	if (rc == -ENOENT) /* unlinked or replaced since it was looked up */
		rc = fs_inode_ghost(&fs->inodes, ino, b, NULL);
	else if (!rc)
		rc = fs_content_get(fs, v, ino, key.data, key.len, b);
	buf_free(&key);
	return rc;
}

int fs_getattr(struct fs *fs, struct fs_view *v, fuse_ino_t ino,
	       struct stat *st)
{
	if (ino == FS_ROOT_INO) {
		fs_fill_attr(fs, v, ino, 0, NULL, st);
		return 0;
	}
	struct buf key = {0};
	int rc = fs_inode_key(&fs->inodes, ino, &key, NULL, NULL);
	if (!rc)
		rc = fs_stat_key(fs, v, ino, key.data, key.len, st);
	buf_free(&key);
	return rc;
}

static int do_getattr(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct fs_view *v = fs_begin(fs);
	int rc = fs_getattr(fs, v, ino, st);
	if (rc == -ENOENT) /* unlinked or replaced since it was looked up */
		rc = fs_inode_ghost(&fs->inodes, ino, NULL, st);
	fs_end(fs);
	return rc;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	int rc = do_getattr(FS(req), ino, &st);
	if (rc)
		fuse_reply_err(req, fs_errno(rc, "getattr"));
	else
		fuse_reply_attr(req, &st, FS_TIMEOUT);
}

/* SEEK_DATA and SEEK_HOLE (the kernel does the other whences): a record
 * has no holes, so its data is [0, size) and the hole is its end. */
static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	int rc = do_getattr(FS(req), ino, &st);
	if (rc)
		fuse_reply_err(req, fs_errno(rc, "lseek"));
	else if (whence != SEEK_DATA && whence != SEEK_HOLE)
		fuse_reply_err(req, EINVAL);
	else if (off < 0 || off >= st.st_size)
		fuse_reply_err(req, ENXIO);
	else
		fuse_reply_lseek(req, whence == SEEK_DATA ? off : st.st_size);
}

/* No ioctl is a hamtfs one (file flags, FIEMAP, ...): ENOTTY, what ioctl(2)
 * gives for a request the file does not know. */
static void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd,
		     void *arg, struct fuse_file_info *fi, unsigned flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	(void)ino;
	(void)cmd;
	(void)arg;
	(void)fi;
	(void)flags;
	(void)in_buf;
	(void)in_bufsz;
	(void)out_bufsz;
	fuse_reply_err(req, ENOTTY);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if ((fi->flags & O_ACCMODE) != O_RDONLY && FS(req)->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		/* writes go straight to the staging area (see write.c) */
		fi->keep_cache = 1;
		fuse_reply_open(req, fi);
		return;
	}
	/* Kernels with no-open support skip open and release for every file
	 * once open answers ENOSYS: reads then cost no extra requests. Every
	 * handler works with or without an open (nothing is kept per open
	 * file), and keep_cache is implied. */
	if (FS(req)->no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_view *v = fs_begin(fs);
	struct fs_blob *b = NULL;
	(void)fi;
	int rc = fs_ino_content(fs, v, ino, &b);
	fs_end(fs);
	if (rc) {
		fuse_reply_err(req, fs_errno(rc, "read"));
	} else {
		size_t start = (size_t)off < b->len ? (size_t)off : b->len;
		size_t n = b->len - start < size ? b->len - start : size;
		fuse_reply_buf(req, (const char *)b->data + start, n);
	}
	fs_blob_put(b);
}

/* ------------------------------------------------------------ listing */

/* A listing is a fixed sequence for the life of its handle: the committed
 * entries of the view it opened on (minus keys the staging area changes),
 * then the staged puts, both as they were at opendir. Entry k of that
 * sequence has offset k + 3 (1 is ".", 2 is ".."), so any offset the kernel
 * hands back names the same place. */
struct dir_extra {
	char name[NAME_MAX_BYTES + 1];
	uint64_t ino;
};

struct dir_win_ent {
	uint64_t off, ino;
	size_t name_at; /* its name, NUL-terminated, in names */
};

struct dir_win {
	struct dir_win_ent *ents;
	size_t n, cap;
	char *names;
	size_t nlen, capnames;
};

struct dir_handle {
	struct fs_view *view;
	uint64_t alg;
	struct hamt_cursor *cur;
	int cur_done;
	uint64_t cur_total; /* offset after the last committed entry */
	/* staged keys, by hash: committed entries with these are skipped */
	uint8_t (*staged)[32];
	size_t nstaged_slots;
	struct dir_extra *extra; /* staged puts, listed after the tree */
	size_t nextra, capextra;
	uint64_t next_off; /* offset of the next entry in the sequence */
	/* the entry read from the sequence that did not fit in a reply */
	int pending;
	char pname[NAME_MAX_BYTES + 1];
	uint64_t pino;
	/* The entries of the last reply, which end where the sequence stands.
	 * The kernel asks a page of entries for each getdents call and keeps
	 * only what fits the caller's buffer; the next call asks again from
	 * the first entry it did not keep, inside that page. Serving such
	 * requests from here keeps a listing read with tiny buffers linear
	 * (a restart from the beginning each time made it quadratic). */
	struct dir_win win, win2;
	pthread_mutex_t lock; /* guards all of the above */
};

static void win_free(struct dir_win *w)
{
	free(w->ents);
	free(w->names);
}

static int win_push(struct dir_win *w, uint64_t off, uint64_t ino,
		    const char *name)
{
	size_t len = strlen(name) + 1;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		void *e = realloc(w->ents, cap * sizeof(*w->ents));
		if (!e)
			return err_set(-ENOMEM, "readdir: out of memory");
		w->ents = e;
		w->cap = cap;
	}
	if (w->nlen + len > w->capnames) {
		size_t cap = w->capnames ? w->capnames * 2 : 4096;
		while (cap < w->nlen + len)
			cap *= 2;
		char *nm = realloc(w->names, cap);
		if (!nm)
			return err_set(-ENOMEM, "readdir: out of memory");
		w->names = nm;
		w->capnames = cap;
	}
	memcpy(w->names + w->nlen, name, len);
	w->ents[w->n] = (struct dir_win_ent){off, ino, w->nlen};
	w->nlen += len;
	w->n++;
	return 0;
}

static size_t staged_slot(const struct dir_handle *d, const uint8_t *hash)
{
	uint64_t h;
	memcpy(&h, hash, sizeof(h));
	return (size_t)(h % d->nstaged_slots);
}

static int staged_has(const struct dir_handle *d, const uint8_t *hash)
{
	static const uint8_t zero[32];
	if (!d->nstaged_slots)
		return 0;
	for (size_t i = staged_slot(d, hash);; i = (i + 1) % d->nstaged_slots) {
		if (!memcmp(d->staged[i], hash, 32))
			return 1;
		if (!memcmp(d->staged[i], zero, 32))
			return 0;
	}
}

struct snap_ctx {
	struct dir_handle *d;
	size_t n;
};

static int snap_count(void *payload, const uint8_t *key, size_t klen,
		      enum staging_kind kind, const uint8_t *data, size_t len)
{
	(void)key, (void)klen, (void)kind, (void)data, (void)len;
	((struct snap_ctx *)payload)->n++;
	return 0;
}

static int snap_add(void *payload, const uint8_t *key, size_t klen,
		    enum staging_kind kind, const uint8_t *data, size_t len)
{
	struct dir_handle *d = ((struct snap_ctx *)payload)->d;
	uint8_t hash[HASH_MAX_BYTES] = {0};
	size_t hl;
	(void)data, (void)len;
	int rc = hash_key(d->alg, key, klen, hash, &hl);
	if (rc)
		return rc;
	size_t i = staged_slot(d, hash);
	static const uint8_t zero[32];
	while (memcmp(d->staged[i], zero, 32))
		i = (i + 1) % d->nstaged_slots;
	memcpy(d->staged[i], hash, 32);
	if (kind != STAGING_PUT)
		return 0;
	if (d->nextra == d->capextra) {
		size_t cap = d->capextra ? d->capextra * 2 : 16;
		struct dir_extra *x = realloc(d->extra, cap * sizeof(*x));
		if (!x)
			return err_set(-ENOMEM, "listing: out of memory");
		d->extra = x;
		d->capextra = cap;
	}
	struct dir_extra *x = &d->extra[d->nextra++];
	name_from_key(key, klen, hash, hl, x->name);
	x->ino = fs_ino_of_hash(hash, hl);
	return 0;
}

/* Take the snapshot of the staging area for a new listing. */
static int dir_snapshot(struct fs *fs, struct dir_handle *d)
{
	struct snap_ctx c = {d, 0};
	if (stagebuf_count(fs->stage) == 0)
		return 0;
	int rc = stagebuf_iterate(fs->stage, snap_count, &c);
	if (rc || c.n == 0)
		return rc;
	d->nstaged_slots = c.n * 2 + 1;
	d->staged = calloc(d->nstaged_slots, 32);
	if (!d->staged)
		return err_set(-ENOMEM, "listing: out of memory");
	return stagebuf_iterate(fs->stage, snap_add, &c);
}

static void dir_free(struct dir_handle *d)
{
	hamt_cursor_free(d->cur);
	fs_view_put(d->view);
	free(d->staged);
	free(d->extra);
	win_free(&d->win);
	win_free(&d->win2);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	if (ino != FS_ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	struct dir_handle *d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	struct fs_view *v = fs_begin(fs);
	d->view = fs_view_ref(v);
	d->alg = hamt_get_params(v->map)->hash_alg;
	d->next_off = 3;
	int rc = dir_snapshot(fs, d);
	fs_end(fs);
	if (rc) {
		dir_free(d);
		fuse_reply_err(req, fs_errno(rc, "opendir"));
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	/* the kernel may cache the listing: any create, unlink or rename in
	 * the directory drops that cache */
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	dir_free((struct dir_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* The next entry of the sequence into d->pname/d->pino: 1, or 0 at the
 * end. `*skip` is set for committed entries the staging area hides. */
static int dir_next(struct dir_handle *d, int *skip)
{
	*skip = 0;
	if (!d->cur_done) {
		if (!d->cur) {
			int rc = hamt_cursor_new(d->view->map, &d->cur);
			if (rc)
				return rc;
		}
		const uint8_t *k, *val;
		size_t kl, vl;
		int rc = hamt_cursor_next(d->cur, &k, &kl, &val, &vl);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			/* the cursor hashed the key already (to check where
			 * it sits) */
			uint8_t hash[HASH_MAX_BYTES] = {0};
			size_t hl;
			const uint8_t *ch = hamt_cursor_hash(d->cur, &hl);
			if (hl > sizeof(hash))
				hl = sizeof(hash);
			memcpy(hash, ch, hl);
			d->next_off++;
			if (staged_has(d, hash)) {
				*skip = 1;
				return 1;
			}
			name_from_key(k, kl, hash, hl, d->pname);
			d->pino = fs_ino_of_hash(hash, hl);
			return 1;
		}
		d->cur_done = 1;
		d->cur_total = d->next_off;
	}
	size_t i = (size_t)(d->next_off - d->cur_total);
	if (i >= d->nextra)
		return 0;
	memcpy(d->pname, d->extra[i].name, sizeof(d->pname));
	d->pino = d->extra[i].ino;
	d->next_off++;
	return 1;
}

/* Position the sequence so that the next entry has offset `off`; going
 * back restarts from the beginning. */
static int dir_seek(struct dir_handle *d, uint64_t off)
{
	if (off < 3)
		off = 3;
	if (d->pending && off == d->next_off - 1)
		return 0; /* the held entry is the one asked for */
	d->pending = 0;
	if (off < d->next_off) {
		hamt_cursor_free(d->cur);
		d->cur = NULL;
		d->cur_done = 0;
		d->next_off = 3;
	}
	while (d->next_off < off) {
		int skip;
		int rc = dir_next(d, &skip);
		if (rc <= 0)
			return rc;
	}
	return 0;
}

static int do_readdir(struct dir_handle *d, size_t size, off_t off,
		      struct buf *out)
{
	int rc = buf_reserve(out, size);
	if (rc)
		return rc;
	char *p = (char *)out->data;
	size_t used = 0;
	struct stat st = {0};
	st.st_ino = FS_ROOT_INO;
	st.st_mode = S_IFDIR;
	while (off < 2) {
		size_t n =
		    fuse_add_direntry(NULL, p + used, size - used,
				      off == 0 ? "." : "..", &st, off + 1);
		if (n > size - used)
			goto done;
		used += n;
		off++;
	}
	uint64_t want = (uint64_t)off + 1;
	struct dir_win *old = &d->win, *w = &d->win2;
	w->n = w->nlen = 0;
	st.st_mode = S_IFREG;
	if (old->n && want >= old->ents[0].off &&
	    want <= old->ents[old->n - 1].off) {
		/* inside the last reply: the new window is its entries from
		 * here on (the sequence still stands after the last of them),
		 * plus what the sequence gives after them */
		size_t i = 0;
		while (old->ents[i].off < want)
			i++;
		int full = 0;
		for (; i < old->n; i++) {
			const struct dir_win_ent *e = &old->ents[i];
			const char *name = old->names + e->name_at;
			if ((rc = win_push(w, e->off, e->ino, name)))
				return rc;
			if (full)
				continue;
			st.st_ino = e->ino;
			size_t n =
			    fuse_add_direntry(NULL, p + used, size - used, name,
					      &st, (off_t)e->off);
			if (n > size - used)
				full = 1;
			else
				used += n;
		}
		if (full)
			goto swap;
	} else {
		rc = dir_seek(d, want);
		if (rc)
			return rc;
	}
	for (;;) {
		if (!d->pending) {
			int skip;
			rc = dir_next(d, &skip);
			if (rc <= 0)
				break;
			if (skip)
				continue;
			d->pending = 1;
		}
		st.st_ino = d->pino;
		size_t n =
		    fuse_add_direntry(NULL, p + used, size - used, d->pname,
				      &st, (off_t)d->next_off - 1);
		if (n > size - used)
			break; /* stays pending for the next call */
		int prc = win_push(w, d->next_off - 1, d->pino, d->pname);
		if (prc) {
			old->n = 0; /* no longer where the sequence stands */
			return prc;
		}
		used += n;
		d->pending = 0;
	}
swap:;
	struct dir_win t = *old;
	*old = *w;
	*w = t;
done:
	out->len = used;
	return rc < 0 ? rc : 0;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	struct buf out = {0};
	(void)ino;
	pthread_mutex_lock(&d->lock);
	int rc = do_readdir(d, size, off, &out);
	pthread_mutex_unlock(&d->lock);
	if (rc)
		fuse_reply_err(req, fs_errno(rc, "readdir"));
	else
		fuse_reply_buf(req, (const char *)out.data, out.len);
	buf_free(&out);
}

/* ------------------------------------------------------------- xattrs */

static int xattr_value(struct fs *fs, fuse_ino_t ino, const char *name,
		       struct buf *out)
{
	struct fs_view *v = fs_begin(fs);
	int rc = -ENODATA;
	char txt[CID_MAX_TEXT];
	if (ino == FS_ROOT_INO) {
		const struct hamt_params *p = hamt_get_params(v->map);
		if (!strcmp(name, XA_ROOT)) {
			rc = buf_puts(out, cid_format(hamt_root(v->map), txt));
		} else if (!strcmp(name, XA_PARAMS)) {
			rc = buf_printf(
			    out, "hashAlg=%s bitWidth=%u bucketSize=%u",
			    p->hash_alg == MH_SHA2_256 ? "sha2-256"
						       : "murmur3-x64-64",
			    p->bit_width, p->bucket_size);
		} else if (!strcmp(name, XA_STAGED)) {
			rc = buf_printf(
			    out, "%llu",
			    (unsigned long long)stagebuf_count(fs->stage));
		} else if (!strcmp(name, XA_ERROR)) {
			pthread_mutex_lock(&fs->err_lock);
			if (fs->last_error[0])
				rc = buf_puts(out, fs->last_error);
			pthread_mutex_unlock(&fs->err_lock);
		}
	} else if (!strcmp(name, XA_KEY)) {
		rc = fs_inode_key(&fs->inodes, ino, out, NULL, NULL);
	} else if (!strcmp(name, XA_CID)) {
		struct fs_blob *b = NULL;
		rc = fs_ino_content(fs, v, ino, &b);
		if (!rc)
			rc = b->has_cid
				 ? buf_puts(out, cid_format(&b->cid, txt))
				 : -ENODATA;
		fs_blob_put(b);
	}
	fs_end(fs);
	return rc;
}

static void reply_xattr(fuse_req_t req, size_t size, const struct buf *b)
{
	if (size == 0)
		fuse_reply_xattr(req, b->len);
	else if (b->len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)b->data, b->len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct buf b = {0};
	int rc = xattr_value(FS(req), ino, name, &b);
	if (rc)
		fuse_reply_err(req, fs_errno(rc, name));
	else
		reply_xattr(req, size, &b);
	buf_free(&b);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = FS(req);
	struct buf b = {0};
	int rc = 0;
	if (ino == FS_ROOT_INO) {
		static const char names[] =
		    XA_ROOT "\0" XA_PARAMS "\0" XA_STAGED "\0";
		rc = buf_append(&b, names, sizeof(names) - 1);
		pthread_mutex_lock(&fs->err_lock);
		if (!rc && fs->last_error[0])
			rc = buf_append(&b, XA_ERROR, sizeof(XA_ERROR));
		pthread_mutex_unlock(&fs->err_lock);
	} else {
		struct fs_view *v = fs_begin(fs);
		struct fs_blob *blob = NULL;
		rc = fs_ino_content(fs, v, ino, &blob);
		fs_end(fs);
		if (!rc)
			rc = buf_append(&b, XA_KEY, sizeof(XA_KEY));
		if (!rc && blob->has_cid)
			rc = buf_append(&b, XA_CID, sizeof(XA_CID));
		fs_blob_put(blob);
	}
	if (rc)
		fuse_reply_err(req, fs_errno(rc, "listxattr"));
	else
		reply_xattr(req, size, &b);
	buf_free(&b);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)flags;
	if (FS(req)->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (ino != FS_ROOT_INO || strcmp(name, XA_COMMIT) != 0) {
		/* records carry no extended attributes of their own */
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	if (ctx->uid != 0 && ctx->uid != FS(req)->uid) {
		fs_log("commit refused: uid %u is not the mount's owner",
		       (unsigned)ctx->uid);
		fuse_reply_err(req, EPERM);
		return;
	}
	/* "1" (or "1\n", as echo writes it): a 0 or anything else must not
	 * commit by surprise */
	if (!((size == 1 || (size == 2 && value[1] == '\n')) &&
	      value[0] == '1')) {
		fs_log("commit refused: %s takes the value 1 (setfattr -n %s "
		       "-v 1 MOUNTPOINT), not %zu other byte%s",
		       XA_COMMIT, XA_COMMIT, size, size == 1 ? "" : "s");
		fuse_reply_err(req, EINVAL);
		return;
	}
	int rc = fs_commit(FS(req));
	fuse_reply_err(req, rc ? fs_errno(rc, "commit") : 0);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, ENOTSUP);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	/* space is that of the filesystem holding the store */
	struct statvfs sv = {0};
	(void)ino;
	if (statvfs(FS(req)->store_dir, &sv) != 0) {
		sv.f_bsize = 4096;
		sv.f_frsize = 4096;
	}
	sv.f_namemax = NAME_MAX_BYTES;
	fuse_reply_statfs(req, &sv);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;
	/* listings are cheap to stream but attributes are not: plain readdir */
	conn->want &=
	    ~(unsigned)(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	/* with no-open the OPEN that would carry O_TRUNC is never sent: let
	 * the kernel truncate with a SETATTR instead */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	conn->max_readahead = 128 * 1024;
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .open = op_open,
    .read = op_read,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .setxattr = op_setxattr,
    .removexattr = op_removexattr,
    .statfs = op_statfs,
    .lseek = op_lseek,
    .ioctl = op_ioctl,
    /* write side: write.c */
    .create = fs_op_create,
    .write = fs_op_write,
    .setattr = fs_op_setattr,
    .unlink = fs_op_unlink,
    .rename = fs_op_rename,
    .mkdir = fs_op_mkdir,
    .mknod = fs_op_mknod,
    .symlink = fs_op_symlink,
    .link = fs_op_link,
    .fallocate = fs_op_fallocate,
    .copy_file_range = fs_op_copy_file_range,
    .fsync = fs_op_fsync,
    .fsyncdir = fs_op_fsyncdir,
    /* no flush: every write is staged when it is made, so a close has
     * nothing left to do, and without a flush handler the kernel stops
     * sending one request per close(). */
};
