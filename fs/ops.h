/* ops.h - the FUSE low-level operations table of hamtfs. */
#ifndef FS_OPS_H
#define FS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops fs_ops;

/* From now on fs_log() goes to syslog (after daemonizing). */
void fs_log_to_syslog(void);
/* One line to stderr (or syslog when daemonized), prefixed "hamtfs: ". */
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
