/* ops.h - the FUSE low-level operations table of hamtfs. */
#ifndef FS_OPS_H
#define FS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <sys/stat.h>

#include "fs/fs.h"

extern const struct fuse_lowlevel_ops fs_ops;

/* internal code for "not a name hamtfs can store" (EINVAL to the kernel;
 * a plain -EINVAL from below means corrupt data: EIO) */
#define FS_EBADNAME (-4096)

/* read side (ops.c), shared with the write side */
int fs_errno(int rc, const char *what); /* internal error -> errno, logged */
void fs_fill_attr(struct fs *fs, const struct fs_view *v, uint64_t ino,
		  size_t size, const struct staging_attrs *a, struct stat *st);
int fs_stat_key(struct fs *fs, struct fs_view *v, uint64_t ino,
		const uint8_t *key, size_t klen, struct stat *st);
int fs_getattr(struct fs *fs, struct fs_view *v, fuse_ino_t ino,
	       struct stat *st);
/* name in the root directory -> key (shortened names resolved) */
int fs_name_lookup(struct fs_view *v, const char *name, struct buf *key);
/* count a lookup of `key` and fill the entry reply */
int fs_entry(struct fs *fs, struct fs_view *v, const uint8_t *key, size_t klen,
	     struct fuse_entry_param *e);
int fs_ino_content(struct fs *fs, struct fs_view *v, fuse_ino_t ino,
		   struct fs_blob **b);

/* write side (write.c) */
void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi);
void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		 off_t off, struct fuse_file_info *fi);
void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int to_set, struct fuse_file_info *fi);
void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname,
		  unsigned int flags);
void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode);
void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev);
void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name);
void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname);
void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		     off_t length, struct fuse_file_info *fi);
void fs_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			   struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			   off_t off_out, struct fuse_file_info *fi_out,
			   size_t len, int flags);
void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi);
void fs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi);
/* Merge the staging area into a new root and switch the mount to it. */
int fs_commit(struct fs *fs);

/* From now on fs_log() goes to syslog (after daemonizing). */
void fs_log_to_syslog(void);
/* One line to stderr (or syslog when daemonized), prefixed "hamtfs: ". */
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
