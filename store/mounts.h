/* mounts.h - the mount table of a process, as /proc/PID/mountinfo shows
 * it: the device of the file system mounted on a path, and whether a
 * device is still mounted.
 *
 * The staging lock (stagebuf.h) uses it so that a process that finds an
 * area held by a mount can tell at once whether that mount still exists
 * (then the area is in use) or was unmounted and its daemon is finishing
 * (then the area is free soon).
 *
 * Lines are parsed as proc(5) describes them: mount ID, parent ID,
 * MAJOR:MINOR, root, mount point, options, optional fields ending in "-",
 * file system type, source, super options; the octal escapes of spaces,
 * tabs, newlines and backslashes in paths (\040 ...) are undone.
 */
#ifndef STORE_MOUNTS_H
#define STORE_MOUNTS_H

#include <stddef.h>
#include <sys/types.h>

#define MOUNTS_PATH_MAX 4096

struct mount_dev {
	unsigned major, minor;
};

struct mount_entry {
	struct mount_dev dev;
	char point[MOUNTS_PATH_MAX]; /* unescaped */
	char fstype[64];
};

/* Parse one line of a mountinfo table (without its newline): 0, or -EINVAL
 * (with a message) if it is not one. */
int mounts_parse_line(const char *line, struct mount_entry *e);

/* The device of the file system mounted on `path` (absolute, no trailing
 * slash, as the table shows it) in this process's mount namespace, among
 * the mounts whose type starts with `fstype_prefix` (NULL: any): 0 and
 * *dev; -ENOENT if there is none; -EEXIST if there are several (mounts
 * stacked on one path: which one is meant cannot be told); another
 * negative errno with a message if the table cannot be read. */
int mounts_dev_at(const char *path, const char *fstype_prefix,
		  struct mount_dev *dev);

/* Whether `dev` is mounted in the mount namespace of process `pid`: 1 (and
 * its mount point in where[0..n), if `where` is not NULL), 0 if not, or a
 * negative errno with a message if that process's table cannot be read
 * (no such process, or no /proc). */
int mounts_has_dev(pid_t pid, struct mount_dev dev, char *where, size_t n);

#endif
