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

#include "fs/fs.h"
#include "fs/ops.h"
#include "hamt/err.h"
#include "hamt/hash.h"
#include "hamt/names.h"

#define XA_ROOT "user.hamtfs.root"
#define XA_PARAMS "user.hamtfs.params"
#define XA_CID "user.hamtfs.cid"
#define XA_KEY "user.hamtfs.key"

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
static int to_errno(int rc, const char *what)
{
	if (rc == -ENOENT || rc == -ENAMETOOLONG || rc == -ENODATA ||
	    rc == -ERANGE)
		return -rc;
	fs_log("%s: %s", what, err_msg());
	if (rc == -EINVAL || rc == -ENOTSUP)
		return EIO;
	return -rc;
}

struct fs_view *fs_view_get(struct fs *fs)
{
	pthread_rwlock_rdlock(&fs->view_lock);
	struct fs_view *v = fs->view;
	__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&fs->view_lock);
	return v;
}

void fs_view_put(struct fs_view *v)
{
	if (v && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		hamt_free(v->map);
		free(v);
	}
}

static void fill_attr(struct fs *fs, const struct fs_view *v, uint64_t ino,
		      size_t size, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_mtim = st->st_ctim = st->st_atim = v->mtime;
	if (ino == FS_ROOT_INO) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		st->st_size = 0;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)size;
		st->st_blocks = (blkcnt_t)((size + 511) / 512);
	}
	st->st_blksize = 4096;
}

struct short_match {
	const char *name;
	size_t nlen;
	uint64_t alg;
};

static int match_short(void *payload, const uint8_t *key, size_t klen)
{
	struct short_match *m = payload;
	uint8_t hash[HASH_MAX_BYTES];
	size_t hl;
	char name[NAME_MAX_BYTES + 1];
	if (hash_key(m->alg, key, klen, hash, &hl))
		return 0;
	size_t n = name_from_key(key, klen, hash, hl, name);
	return n == m->nlen && !memcmp(name, m->name, n);
}

/* Resolve a name in the root directory to its key. */
static int name_lookup(struct fs_view *v, const char *name, struct buf *key)
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

static int do_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
		     struct fuse_entry_param *e)
{
	if (parent != FS_ROOT_INO)
		return -ENOENT;
	struct fs_view *v = fs_view_get(fs);
	struct buf key = {0};
	struct fs_blob *b = NULL;
	uint8_t hash[HASH_MAX_BYTES];
	size_t hlen;
	int rc = name_lookup(v, name, &key);
	if (!rc)
		rc = hash_key(hamt_get_params(v->map)->hash_alg, key.data,
			      key.len, hash, &hlen);
	struct fs_inode *ino = NULL;
	if (!rc) {
		ino =
		    fs_inode_lookup(&fs->inodes, key.data, key.len, hash, hlen);
		if (!ino)
			rc = err_set(-ENOMEM, "inode table: out of memory");
	}
	if (!rc) {
		rc = fs_content_get(fs, v, ino->ino, key.data, key.len, &b);
		if (rc)
			fs_inode_forget(&fs->inodes, ino->ino, 1);
	}
	if (!rc) {
		memset(e, 0, sizeof(*e));
		e->ino = ino->ino;
		e->generation = 1;
		e->attr_timeout = FS_TIMEOUT;
		e->entry_timeout = FS_TIMEOUT;
		fill_attr(fs, v, ino->ino, b->len, &e->attr);
	}
	fs_blob_put(b);
	buf_free(&key);
	fs_view_put(v);
	return rc;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int rc = do_lookup(FS(req), parent, name, &e);
	if (rc)
		fuse_reply_err(req, to_errno(rc, name));
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

/* The rendered contents of inode `ino`. */
static int ino_content(struct fs *fs, struct fs_view *v, fuse_ino_t ino,
		       struct fs_blob **b)
{
	struct buf key = {0};
	int rc = fs_inode_key(&fs->inodes, ino, &key, NULL, NULL);
	if (!rc)
		rc = fs_content_get(fs, v, ino, key.data, key.len, b);
	buf_free(&key);
	return rc;
}

static int do_getattr(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct fs_view *v = fs_view_get(fs);
	int rc = 0;
	if (ino == FS_ROOT_INO) {
		fill_attr(fs, v, ino, 0, st);
	} else {
		struct fs_blob *b = NULL;
		rc = ino_content(fs, v, ino, &b);
		if (!rc)
			fill_attr(fs, v, ino, b->len, st);
		fs_blob_put(b);
	}
	fs_view_put(v);
	return rc;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	int rc = do_getattr(FS(req), ino, &st);
	if (rc)
		fuse_reply_err(req, to_errno(rc, "getattr"));
	else
		fuse_reply_attr(req, &st, FS_TIMEOUT);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* Committed content never changes: keep the page cache. Kernels with
	 * no-open support skip open/release entirely once this says ENOSYS. */
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
	struct fs_view *v = fs_view_get(fs);
	struct fs_blob *b = NULL;
	(void)fi;
	int rc = ino_content(fs, v, ino, &b);
	if (rc) {
		fuse_reply_err(req, to_errno(rc, "read"));
	} else {
		size_t start = (size_t)off < b->len ? (size_t)off : b->len;
		size_t n = b->len - start < size ? b->len - start : size;
		fuse_reply_buf(req, (const char *)b->data + start, n);
	}
	fs_blob_put(b);
	fs_view_put(v);
}

/* ------------------------------------------------------------ listing */

struct dir_handle {
	struct fs_view *view;
	struct hamt_cursor *cur;
	uint64_t next_off; /* offset of the next entry the cursor gives */
	/* an entry read from the cursor that did not fit in the last reply */
	int pending;
	char pname[NAME_MAX_BYTES + 1];
	uint64_t pino;
	pthread_mutex_t lock;
};

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	if (ino != FS_ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	struct dir_handle *d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	d->view = fs_view_get(FS(req));
	d->next_off = 3; /* 1 ".", 2 "..", then the keys */
	pthread_mutex_init(&d->lock, NULL);
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	(void)ino;
	hamt_cursor_free(d->cur);
	fs_view_put(d->view);
	pthread_mutex_destroy(&d->lock);
	free(d);
	fuse_reply_err(req, 0);
}

/* Position the cursor so that the next entry it yields has offset `off`
 * (entries are numbered from 3). Offsets are ordinals in the immutable tree
 * of this handle, so any offset the kernel hands back is stable; going back
 * restarts the walk. */
static int dir_seek(struct dir_handle *d, uint64_t off)
{
	if (off < 3)
		off = 3;
	if (d->cur && d->pending && off == d->next_off - 1)
		return 0; /* the held entry is the one asked for */
	if (!d->cur || off < d->next_off) {
		hamt_cursor_free(d->cur);
		d->cur = NULL;
		int rc = hamt_cursor_new(d->view->map, &d->cur);
		if (rc)
			return rc;
		d->next_off = 3;
	}
	d->pending = 0;
	while (d->next_off < off) {
		const uint8_t *k, *val;
		size_t kl, vl;
		int rc = hamt_cursor_next(d->cur, &k, &kl, &val, &vl);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		d->next_off++;
	}
	return 0;
}

static int do_readdir(struct fs *fs, struct dir_handle *d, size_t size,
		      off_t off, struct buf *out)
{
	int rc = buf_reserve(out, size);
	if (rc)
		return rc;
	char *p = (char *)out->data;
	size_t used = 0;
	struct stat st = {0};
	uint64_t alg = hamt_get_params(d->view->map)->hash_alg;
	if (off < 1) {
		st.st_ino = FS_ROOT_INO;
		st.st_mode = S_IFDIR;
		size_t n = fuse_add_direntry(NULL, p, size, ".", &st, 1);
		if (n > size)
			return 0;
		used += n;
		off = 1;
	}
	if (off < 2) {
		st.st_ino = FS_ROOT_INO;
		st.st_mode = S_IFDIR;
		size_t n = fuse_add_direntry(NULL, p + used, size - used, "..",
					     &st, 2);
		if (n > size - used)
			goto done;
		used += n;
		off = 2;
	}
	rc = dir_seek(d, (uint64_t)off + 1);
	if (rc)
		return rc;
	st.st_mode = S_IFREG;
	for (;;) {
		if (!d->pending) {
			const uint8_t *k, *val;
			size_t kl, vl;
			uint8_t hash[HASH_MAX_BYTES];
			size_t hl;
			rc = hamt_cursor_next(d->cur, &k, &kl, &val, &vl);
			if (rc <= 0)
				break;
			rc = hash_key(alg, k, kl, hash, &hl);
			if (rc)
				break;
			name_from_key(k, kl, hash, hl, d->pname);
			d->pino = fs_ino_of_hash(hash, hl);
			d->pending = 1;
			d->next_off++;
		}
		st.st_ino = d->pino;
		size_t n =
		    fuse_add_direntry(NULL, p + used, size - used, d->pname,
				      &st, (off_t)d->next_off - 1);
		if (n > size - used)
			break; /* stays pending for the next call */
		used += n;
		d->pending = 0;
	}
	(void)fs;
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
	int rc = do_readdir(FS(req), d, size, off, &out);
	pthread_mutex_unlock(&d->lock);
	if (rc)
		fuse_reply_err(req, to_errno(rc, "readdir"));
	else
		fuse_reply_buf(req, (const char *)out.data, out.len);
	buf_free(&out);
}

/* ------------------------------------------------------------- xattrs */

static int xattr_value(struct fs *fs, fuse_ino_t ino, const char *name,
		       struct buf *out)
{
	struct fs_view *v = fs_view_get(fs);
	int rc = -ENODATA;
	char txt[CID_MAX_TEXT];
	if (ino == FS_ROOT_INO) {
		const struct hamt_params *p = hamt_get_params(v->map);
		if (!strcmp(name, XA_ROOT))
			rc = buf_puts(out, cid_format(hamt_root(v->map), txt));
		else if (!strcmp(name, XA_PARAMS))
			rc = buf_printf(
			    out, "hashAlg=%s bitWidth=%u bucketSize=%u",
			    p->hash_alg == MH_SHA2_256 ? "sha2-256"
						       : "murmur3-x64-64",
			    p->bit_width, p->bucket_size);
	} else if (!strcmp(name, XA_KEY)) {
		rc = fs_inode_key(&fs->inodes, ino, out, NULL, NULL);
	} else if (!strcmp(name, XA_CID)) {
		struct fs_blob *b = NULL;
		rc = ino_content(fs, v, ino, &b);
		if (!rc)
			rc = b->has_cid
				 ? buf_puts(out, cid_format(&b->cid, txt))
				 : -ENODATA;
		fs_blob_put(b);
	}
	fs_view_put(v);
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
		fuse_reply_err(req, to_errno(rc, name));
	else
		reply_xattr(req, size, &b);
	buf_free(&b);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct buf b = {0};
	int rc = 0;
	if (ino == FS_ROOT_INO) {
		rc = buf_append(&b, XA_ROOT, sizeof(XA_ROOT));
		if (!rc)
			rc = buf_append(&b, XA_PARAMS, sizeof(XA_PARAMS));
	} else {
		struct fs_view *v = fs_view_get(FS(req));
		struct fs_blob *blob = NULL;
		rc = ino_content(FS(req), v, ino, &blob);
		if (!rc)
			rc = buf_append(&b, XA_KEY, sizeof(XA_KEY));
		if (!rc && blob->has_cid)
			rc = buf_append(&b, XA_CID, sizeof(XA_CID));
		fs_blob_put(blob);
		fs_view_put(v);
	}
	if (rc)
		fuse_reply_err(req, to_errno(rc, "listxattr"));
	else
		reply_xattr(req, size, &b);
	buf_free(&b);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv = {0};
	(void)ino;
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
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
};
