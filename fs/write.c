/* write.c - the write side of a hamtfs mount.
 *
 * Every change goes into the staging area through the mount's staging
 * buffer (store/stagebuf.h): a write, a truncate, a create, a rename or an
 * unlink is in the buffer's journal when its request is answered, so a
 * file is staged by the time close() returns and nothing closed is lost if
 * the daemon is killed; fsync() makes it durable on disk as well. The
 * kernel's no-open mode (see ops.c) means hamtfs never learns of an open
 * or a close, so nothing is kept per open file: a file written while a
 * commit runs is committed as far as it was written, and what is written
 * after goes into the next commit. user.hamtfs.commit merges the staging
 * area into a new root (fs_commit). */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fuse_lowlevel.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/fs.h"
#include "fs/ops.h"
#include "hamt/err.h"
#include "hamt/hash.h"
#include "hamt/names.h"

static struct fs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void now_attrs(struct staging_attrs *a, mode_t mode)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	a->mtime_sec = ts.tv_sec;
	a->mtime_nsec = (uint32_t)ts.tv_nsec;
	a->mode = (uint32_t)(mode & 07777);
}

/* Attributes to keep for `key`: the ones set, else defaults for a file
 * that is being written (now, 0644). */
static void attrs_or_default(struct fs *fs, const uint8_t *key, size_t klen,
			     struct staging_attrs *a)
{
	if (fs_attrs(fs, key, klen, a) != 0)
		now_attrs(a, 0644);
}

/* The key for a name a writer gives: a plain name only (shortened names and
 * names hamtfs never shows are refused: a name must stay a bijection). */
static int key_for_new_name(const char *name, struct buf *key)
{
	uint8_t hash[NAME_HASH_BYTES];
	size_t hlen;
	int rc = name_to_key(name, strlen(name), key, hash, &hlen);
	if (rc == 1)
		rc = err_set(-EINVAL,
			     "names containing \"%s\" are reserved for "
			     "shortened long keys",
			     NAME_MARKER);
	if (rc) {
		fs_log("cannot create \"%s\": %s", name, err_msg());
		rc = rc == -ENAMETOOLONG ? rc : FS_EBADNAME;
	}
	return rc;
}

static int stage_put(struct fs *fs, const uint8_t *key, size_t klen,
		     const struct buf *data, const struct staging_attrs *a)
{
	int rc = stagebuf_put(fs->stage, key, klen, data->data, data->len, a);
	if (rc == -EFBIG || rc == -ENOSPC)
		fs_log("staging a record: %s", err_msg());
	return rc;
}

/* ------------------------------------------------------------- create */

static int do_create(struct fs *fs, fuse_ino_t parent, const char *name,
		     mode_t mode, int excl, struct fuse_entry_param *e)
{
	if (parent != FS_ROOT_INO)
		return -ENOTDIR;
	struct buf key = {0}, cur = {0};
	struct fs_view *v = fs_begin(fs);
	int rc = key_for_new_name(name, &key);
	if (!rc) {
		rc = fs_current(fs, v, key.data, key.len, &cur);
		if (rc == 0 && excl) {
			rc = -EEXIST;
		} else if (rc == -ENOENT) {
			struct staging_attrs a;
			now_attrs(&a, mode);
			buf_reset(&cur);
			rc = stage_put(fs, key.data, key.len, &cur, &a);
		}
	}
	if (!rc)
		rc = fs_entry(fs, v, key.data, key.len, e);
	fs_end(fs);
	buf_free(&key);
	buf_free(&cur);
	return rc;
}

void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int rc = do_create(FS(req), parent, name, mode, fi->flags & O_EXCL, &e);
	if (rc) {
		fuse_reply_err(req, fs_errno(rc, name));
		return;
	}
	fi->keep_cache = 1;
	fuse_reply_create(req, &e, fi);
}

/* -------------------------------------------------------- write, setattr */

/* What modify() does to a file's bytes. */
enum edit_kind {
	EDIT_WRITE,    /* put `buf` at `off`, growing the file (zeros) */
	EDIT_TRUNCATE, /* make it `off` bytes long */
	EDIT_ALLOCATE, /* make it at least `off` + `len` bytes long */
	EDIT_ZERO,     /* zeros over [off, off + len), growing it to there */
	EDIT_ZERO_IN,  /* zeros over [off, off + len), inside its size only */
	EDIT_RESERVE,  /* nothing (the range is only checked) */
};

struct edit {
	enum edit_kind kind;
	const char *buf; /* EDIT_WRITE */
	size_t len;	 /* bytes of buf, or of the range */
	off_t off;
};

/* Change the contents of inode `ino` as `e` says and stage the result
 * (with mtime now and the mode kept), unless that leaves its bytes as they
 * were. A result past the record limit is EFBIG (logged once, by the
 * caller's fs_errno()). */
static int modify(struct fs *fs, fuse_ino_t ino, const struct edit *e)
{
	struct buf key = {0}, cur = {0};
	struct fs_view *v = fs_begin(fs);
	int rc = fs_inode_key(&fs->inodes, ino, &key, NULL, NULL);
	if (!rc) {
		rc = fs_current(fs, v, key.data, key.len, &cur);
		if (rc == -ENOENT) /* deleted while open: start again */
			rc = 0;
	}
	/* the byte the edit reaches: an off_t plus a length no bigger than
	 * one, so the sum cannot wrap (a negative offset is refused) */
	uint64_t end = (uint64_t)e->off;
	if (e->kind != EDIT_TRUNCATE)
		end += e->len;
	if (!rc && (e->off < 0 || end > STAGING_MAX_RECORD)) {
		char name[NAME_MAX_BYTES + 1];
		if (name_of_key(hamt_get_params(v->map)->hash_alg, key.data,
				key.len, name) < 0)
			snprintf(name, sizeof(name), "inode %llu",
				 (unsigned long long)ino);
		rc = err_set(-EFBIG,
			     "\"%s\": record would be %llu bytes, over the "
			     "%u-byte limit",
			     name, (unsigned long long)end, STAGING_MAX_RECORD);
	}
	int changed = 0;
	if (!rc) {
		size_t to = (size_t)end; /* the size the file is to have */
		if (e->kind == EDIT_ZERO_IN || e->kind == EDIT_RESERVE)
			to = cur.len;
		else if (e->kind != EDIT_TRUNCATE && to < cur.len)
			to = cur.len;
		if (to > cur.len) {
			rc = buf_reserve(&cur, to - cur.len);
			if (!rc)
				memset(cur.data + cur.len, 0, to - cur.len);
		}
		changed = to != cur.len;
		if (!rc)
			cur.len = to;
	}
	if (!rc) {
		size_t lo = (size_t)e->off;
		size_t hi = (size_t)end < cur.len ? (size_t)end : cur.len;
		if (e->kind == EDIT_WRITE) {
			if (e->len)
				memcpy(cur.data + lo, e->buf, e->len);
			changed = 1; /* a write always moves mtime */
		} else if (e->kind == EDIT_TRUNCATE) {
			/* so does a truncate, to the same size too (O_TRUNC
			 * of an empty file must, and ext4 does) */
			changed = 1;
		} else if ((e->kind == EDIT_ZERO || e->kind == EDIT_ZERO_IN) &&
			   lo < hi) {
			memset(cur.data + lo, 0, hi - lo);
			changed = 1;
		}
	}
	if (!rc && changed) {
		struct staging_attrs a;
		attrs_or_default(fs, key.data, key.len, &a);
		mode_t mode = a.mode;
		now_attrs(&a, mode);
		rc = stage_put(fs, key.data, key.len, &cur, &a);
	}
	fs_end(fs);
	buf_free(&key);
	buf_free(&cur);
	return rc;
}

void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		 off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	struct edit e = {EDIT_WRITE, buf, size, off};
	int rc = modify(FS(req), ino, &e);
	if (rc)
		fuse_reply_err(req, fs_errno(rc, "write"));
	else
		fuse_reply_write(req, size);
}

/* fallocate(2): there are no blocks to reserve, so what is left to do is
 * what the caller can see: the size (mode 0), and the zeros of
 * FALLOC_FL_PUNCH_HOLE and FALLOC_FL_ZERO_RANGE. A range past the record
 * limit is EFBIG, as a later write into it would be; the modes that move
 * data (collapse, insert) or share it are EOPNOTSUPP, as on tmpfs. */
void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		     off_t length, struct fuse_file_info *fi)
{
	(void)fi;
	const int keep = FALLOC_FL_KEEP_SIZE;
	struct edit e = {EDIT_ALLOCATE, NULL, (size_t)length, offset};
	if (offset < 0 || length <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (mode == 0)
		e.kind = EDIT_ALLOCATE;
	else if (mode == keep)
		e.kind = EDIT_RESERVE;
	else if (mode == (FALLOC_FL_PUNCH_HOLE | keep) ||
		 mode == (FALLOC_FL_ZERO_RANGE | keep))
		e.kind = EDIT_ZERO_IN;
	else if (mode == FALLOC_FL_ZERO_RANGE)
		e.kind = EDIT_ZERO;
	else {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	int rc = modify(FS(req), ino, &e);
	fuse_reply_err(req, rc ? fs_errno(rc, "fallocate") : 0);
}

/* copy_file_range(2) between two files of the mount (cp uses it): the
 * source's bytes as they are now, written into the destination as one
 * write; short when the source ends first. */
void fs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			   struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			   off_t off_out, struct fuse_file_info *fi_out,
			   size_t len, int flags)
{
	struct fs *fs = FS(req);
	struct fs_blob *b = NULL;
	(void)fi_in;
	(void)fi_out;
	if (flags || off_in < 0 || off_out < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	struct fs_view *v = fs_begin(fs);
	int rc = fs_ino_content(fs, v, ino_in, &b);
	fs_end(fs); /* b stays valid until fs_blob_put() */
	size_t n = 0;
	if (!rc && (uint64_t)off_in < b->len) {
		n = b->len - (size_t)off_in < len ? b->len - (size_t)off_in
						  : len;
		struct edit e = {EDIT_WRITE, (const char *)b->data + off_in, n,
				 off_out};
		rc = modify(fs, ino_out, &e);
	}
	fs_blob_put(b);
	if (rc)
		fuse_reply_err(req, fs_errno(rc, "copy_file_range"));
	else
		fuse_reply_write(req, n);
}

static int set_attrs(struct fs *fs, fuse_ino_t ino, const struct stat *attr,
		     int to_set, struct stat *st)
{
	struct buf key = {0};
	struct fs_view *v = fs_begin(fs);
	int rc = fs_inode_key(&fs->inodes, ino, &key, NULL, NULL);
	struct staging_attrs a;
	if (!rc) {
		/* the file must exist (staged or committed) */
		struct stat cur;
		rc = fs_getattr(fs, v, ino, &cur);
		if (!rc && fs_attrs(fs, key.data, key.len, &a) != 0) {
			a.mtime_sec = cur.st_mtim.tv_sec;
			a.mtime_nsec = (uint32_t)cur.st_mtim.tv_nsec;
			a.mode = cur.st_mode & 07777;
		}
	}
	if (!rc) {
		if (to_set & FUSE_SET_ATTR_MODE)
			a.mode = attr->st_mode & 07777;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
			now_attrs(&a, a.mode);
		} else if (to_set & FUSE_SET_ATTR_MTIME) {
			a.mtime_sec = attr->st_mtim.tv_sec;
			a.mtime_nsec = (uint32_t)attr->st_mtim.tv_nsec;
		}
		rc = stagebuf_set_attrs(fs->stage, key.data, key.len, &a);
	}
	if (!rc)
		rc = fs_getattr(fs, v, ino, st);
	fs_end(fs);
	buf_free(&key);
	return rc;
}

void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct stat st;
	int rc = 0;
	(void)fi;
	if (ino == FS_ROOT_INO) {
		/* the directory's own attributes are fixed; accept touches */
		struct fs_view *v = fs_begin(fs);
		rc = fs_getattr(fs, v, ino, &st);
		fs_end(fs);
	} else {
		if (to_set & FUSE_SET_ATTR_SIZE) {
			struct edit e = {EDIT_TRUNCATE, NULL, 0, attr->st_size};
			rc = modify(fs, ino, &e);
		}
		/* mode and mtime are kept beside the tree; owner and atime
		 * are accepted and not kept (the mount's owner owns all) */
		if (!rc)
			rc = set_attrs(fs, ino, attr, to_set, &st);
	}
	if (rc)
		fuse_reply_err(req, fs_errno(rc, "setattr"));
	else
		fuse_reply_attr(req, &st, FS_TIMEOUT);
}

/* ------------------------------------------------------- unlink, rename */

/* If the kernel holds an inode of `key` (it is about to be unlinked or
 * replaced), what it holds now: the ghost that inode keeps when it dies,
 * for a reader that resolved the name just before. *g is NULL if none. */
static void capture_ghost(struct fs *fs, struct fs_view *v,
			  const struct buf *key, const uint8_t *hash,
			  size_t hlen, struct fs_blob **g, struct stat *st)
{
	*g = NULL;
	uint64_t ino =
	    fs_inode_live(&fs->inodes, key->data, key->len, hash, hlen);
	if (!ino || fs_content_get(fs, v, ino, key->data, key->len, g) != 0) {
		*g = NULL;
		return;
	}
	struct staging_attrs a;
	int has = fs_attrs(fs, key->data, key->len, &a) == 0;
	fs_fill_attr(fs, v, ino, (*g)->len, has ? &a : NULL, st);
}

static int is_committed(struct fs_view *v, const struct buf *key)
{
	struct buf val = {0};
	int rc = hamt_get(v->map, key->data, key->len, &val);
	buf_free(&val);
	return rc == 0 ? 1 : (rc == -ENOENT ? 0 : rc);
}

static int do_unlink(struct fs *fs, fuse_ino_t parent, const char *name)
{
	if (parent != FS_ROOT_INO)
		return -ENOENT;
	struct buf key = {0}, cur = {0};
	struct fs_view *v = fs_begin_excl(fs);
	int rc = fs_name_lookup(v, name, &key);
	if (!rc)
		rc = fs_current(fs, v, key.data, key.len, &cur);
	int committed = rc ? 0 : is_committed(v, &key);
	if (committed < 0)
		rc = committed;
	uint8_t h[HASH_MAX_BYTES];
	size_t hl;
	struct fs_blob *ghost = NULL;
	struct stat gst;
	if (!rc)
		rc = hash_key(hamt_get_params(v->map)->hash_alg, key.data,
			      key.len, h, &hl);
	if (!rc)
		capture_ghost(fs, v, &key, h, hl, &ghost, &gst);
	if (!rc) {
		rc = stagebuf_delete(fs->stage, key.data, key.len);
		/* a key only staged goes back to not existing at all */
		if (!rc && !committed)
			rc = stagebuf_unstage(fs->stage, key.data, key.len);
	}
	if (!rc)
		fs_inode_retire(&fs->inodes, key.data, key.len, h, hl, ghost,
				&gst);
	fs_blob_put(ghost);
	fs_end(fs);
	buf_free(&key);
	buf_free(&cur);
	return rc;
}

void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int rc = do_unlink(FS(req), parent, name);
	fuse_reply_err(req, rc ? fs_errno(rc, name) : 0);
}

static int do_rename(struct fs *fs, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags)
{
	if (parent != FS_ROOT_INO || newparent != FS_ROOT_INO)
		return -ENOENT;
	struct buf from = {0}, to = {0}, cur = {0}, tmp = {0};
	struct fs_view *v = fs_begin_excl(fs);
	uint64_t alg = hamt_get_params(v->map)->hash_alg;
	int rc = fs_name_lookup(v, name, &from);
	if (!rc)
		rc = fs_current(fs, v, from.data, from.len, &cur);
	if (!rc) {
		/* an existing target may have a shortened name */
		rc = fs_name_lookup(v, newname, &to);
		if (rc == 0 && (flags & RENAME_NOREPLACE) &&
		    fs_current(fs, v, to.data, to.len, &tmp) == 0)
			rc = -EEXIST;
		else if (rc == -ENOENT || rc == -EINVAL)
			rc = key_for_new_name(newname, &to);
	}
	if (!rc && (from.len != to.len || memcmp(from.data, to.data, to.len))) {
		int committed = is_committed(v, &from);
		uint8_t fh[HASH_MAX_BYTES], th[HASH_MAX_BYTES];
		size_t fl, tl;
		struct fs_blob *ghost = NULL;
		struct stat gst;
		rc = committed < 0
			 ? committed
			 : hash_key(alg, from.data, from.len, fh, &fl);
		if (!rc)
			rc = hash_key(alg, to.data, to.len, th, &tl);
		if (!rc)
			capture_ghost(fs, v, &to, th, tl, &ghost, &gst);
		struct staging_attrs a;
		attrs_or_default(fs, from.data, from.len, &a);
		if (!rc)
			rc = stagebuf_rename(fs->stage, from.data, from.len,
					     to.data, to.len, cur.data, cur.len,
					     &a);
		if (!rc && !committed)
			rc = stagebuf_unstage(fs->stage, from.data, from.len);
		/* the kernel's inode for `from` now stands for `to` */
		if (!rc)
			rc = fs_inode_rename(&fs->inodes, from.data, from.len,
					     fh, fl, to.data, to.len, th, tl,
					     ghost, &gst);
		fs_blob_put(ghost);
	}
	fs_end(fs);
	buf_free(&from);
	buf_free(&to);
	buf_free(&cur);
	buf_free(&tmp);
	return rc;
}

void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	/* RENAME_EXCHANGE (and the kernel's RENAME_WHITEOUT) would need both
	 * keys changed in one step of the journal: EINVAL, which rename(2)
	 * gives for a flag a file system does not support (through
	 * fs_errno, EINVAL would be taken for a defect and become EIO) */
	if (flags & ~(unsigned)RENAME_NOREPLACE) {
		fs_log("rename \"%s\" -> \"%s\": flags 0x%x not supported "
		       "(RENAME_EXCHANGE is not)",
		       name, newname, flags);
		fuse_reply_err(req, EINVAL);
		return;
	}
	int rc = do_rename(FS(req), parent, name, newparent, newname, flags);
	fuse_reply_err(req, rc ? fs_errno(rc, newname) : 0);
}

/* ------------------------------------------------------------ refused */

static void refuse(fuse_req_t req, const char *what, const char *name)
{
	fs_log("%s \"%s\" refused: a hamtfs mount is one flat directory of "
	       "regular files",
	       what, name);
	fuse_reply_err(req, EPERM);
}

void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode)
{
	(void)parent;
	(void)mode;
	refuse(req, "mkdir", name);
}

void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)rdev;
	if (S_ISREG(mode)) {
		struct fuse_entry_param e;
		int rc = do_create(FS(req), parent, name, mode, 1, &e);
		if (rc)
			fuse_reply_err(req, fs_errno(rc, name));
		else
			fuse_reply_entry(req, &e);
		return;
	}
	refuse(req, "mknod", name);
}

void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name)
{
	(void)link;
	(void)parent;
	refuse(req, "symlink", name);
}

void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname)
{
	(void)ino;
	(void)newparent;
	refuse(req, "link", newname);
}

/* Every change survives the daemon being killed when its request is
 * answered (the journal); fsync makes it durable on disk too. */
static void do_fsync(fuse_req_t req)
{
	int rc = stagebuf_flush(FS(req)->stage);
	fuse_reply_err(req, rc ? fs_errno(rc, "fsync") : 0);
}

void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	do_fsync(req);
}

void fs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	do_fsync(req);
}

/* ------------------------------------------------------------- commit */

int fs_commit(struct fs *fs)
{
	char txt[CID_MAX_TEXT];
	struct staging_commit_stats st = {0};
	struct cid new_root;
	struct fs_view *nv = NULL;
	pthread_rwlock_wrlock(&fs->view_lock);
	struct fs_view *old = fs->view;
	/* The ref may have moved since this mount read it (hamt build over
	 * it): the staged changes could go on top of its new root, as hamt
	 * commit puts them, but the kernel holds this view's attributes and
	 * pages for a day, and would go on showing them for the files the
	 * move changed. So the commit is refused, saying what to do; a new
	 * mount shows the new root with the staging over it. (A move during
	 * the commit's own transaction fails the same way, in staging.c;
	 * with nothing staged the commit stays a no-op.) */
	const struct cid *base = hamt_root(old->map);
	struct cid cur;
	int rc = 0;
	if (fs->is_ref && stagebuf_count(fs->stage) > 0 &&
	    store_ref_get(fs->store, fs->root_arg, &cur) == 0 &&
	    !cid_equal(&cur, base)) {
		char was[CID_MAX_TEXT];
		rc = err_set(-ESTALE,
			     "ref %s moved to %s outside this mount, which "
			     "shows %s: nothing committed; the staged "
			     "changes stay, and go on top of %s at a commit "
			     "after the mount is mounted again",
			     fs->root_arg, cid_format(&cur, txt),
			     cid_format(base, was), txt);
	}
	if (!rc)
		rc =
		    stagebuf_commit(fs->stage, fs->is_ref ? fs->root_arg : NULL,
				    base, fs->cache, &new_root, &st);
	if (!rc && !cid_equal(&new_root, hamt_root(old->map))) {
		nv = calloc(1, sizeof(*nv));
		rc = nv ? hamt_open(&nv->map, fs->store, &new_root)
			: err_set(-ENOMEM, "out of memory");
		if (rc) {
			err_wrap(rc, "committed %s but cannot open it",
				 cid_format(&new_root, txt));
			free(nv);
		} else {
			hamt_set_cache(nv->map, fs->cache);
			clock_gettime(CLOCK_REALTIME, &nv->mtime);
			nv->gen = ++fs->next_gen;
			nv->refs = 1;
			fs->view = nv;
			fs_view_put(old);
		}
	}
	pthread_mutex_lock(&fs->err_lock);
	if (rc)
		snprintf(fs->last_error, sizeof(fs->last_error), "%s",
			 err_msg());
	else
		fs->last_error[0] = '\0';
	pthread_mutex_unlock(&fs->err_lock);
	pthread_rwlock_unlock(&fs->view_lock);
	if (rc)
		fs_log("commit failed: %s", fs->last_error);
	else
		fs_log("commit: %llu puts, %llu deletes, %llu blocks of "
		       "%.1f MiB (records %.3f s, merge %.3f s, write %.3f s, "
		       "sync %.3f s): %s",
		       (unsigned long long)st.puts,
		       (unsigned long long)st.deletes,
		       (unsigned long long)st.blocks_written,
		       (double)st.bytes_written / (1 << 20), st.collect_s,
		       st.merge_s, st.write_s, st.sync_s,
		       cid_format(&new_root, txt));
	return rc;
}
