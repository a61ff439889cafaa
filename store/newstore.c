/* newstore.c - a new store made beside its place and moved in when done. */
#include "store/newstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hamt/err.h"
#include "store/store.h"

/* The files a store has (store.c: LMDB's, without MDB_NOSUBDIR). */
static const char *const store_files[] = {"data.mdb", "lock.mdb"};
#define NSTORE_FILES (sizeof(store_files) / sizeof(store_files[0]))

#define NEW_SUFFIX ".new-XXXXXX"

struct store_new {
	char *dir;    /* the store's place */
	char *parent; /* its directory */
	char *path;   /* the private directory */
	int fd;	      /* the private directory, flock()ed */
	int made, published;
};

/* Split `dir` into its parent and last component (trailing slashes
 * dropped). 1 with both malloc()ed, 0 if there is no usable last component
 * (".", "..", "/", or too long for a private name beside it), or -ENOMEM. */
static int split(const char *dir, char **parent, char **base)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && dir[b - 1] != '/')
		b--;
	size_t blen = n - b;
	if (blen == 0 || (blen == 1 && dir[b] == '.') ||
	    (blen == 2 && dir[b] == '.' && dir[b + 1] == '.') ||
	    1 + blen + strlen(NEW_SUFFIX) > NAME_MAX)
		return 0;
	*base = strndup(dir + b, blen);
	if (b == 0)
		*parent = strdup(".");
	else if (b == 1)
		*parent = strdup("/");
	else
		*parent = strndup(dir, b - 1);
	if (!*base || !*parent) {
		free(*base);
		free(*parent);
		return err_set(-ENOMEM, "out of memory");
	}
	return 1;
}

/* Is `name` a private directory name of a build of `base`? */
static int is_private_name(const char *name, const char *base)
{
	size_t bl = strlen(base), sl = strlen(NEW_SUFFIX);
	return name[0] == '.' && strncmp(name + 1, base, bl) == 0 &&
	       strlen(name) == 1 + bl + sl &&
	       strncmp(name + 1 + bl, NEW_SUFFIX, sl - 6) == 0;
}

/* Remove the private directory `name` in `pfd` if a killed build left it:
 * 1 and its bytes added to `*bytes`, 0 if it is left (in use, too young,
 * or holding anything but a store's files), or a negative errno. */
static int sweep_one(int pfd, const char *parent, const char *name,
		     uint64_t *bytes)
{
	int fd =
	    openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone, or not a directory: not ours */
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0 ||
	    time(NULL) - st.st_mtime < STORE_NEW_STALE_S ||
	    flock(fd, LOCK_EX | LOCK_NB) != 0)
		goto out; /* a live build's (or one that just began) */
	DIR *d = fdopendir(dup(fd));
	if (!d)
		goto out;
	struct dirent *e;
	int foreign = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int known = 0;
		for (size_t i = 0; i < NSTORE_FILES; i++)
			known |= strcmp(e->d_name, store_files[i]) == 0;
		foreign |= !known;
	}
	closedir(d);
	if (foreign)
		goto out; /* someone put other things there: leave it */
	uint64_t sum = 0;
	for (size_t i = 0; i < NSTORE_FILES; i++) {
		if (fstatat(fd, store_files[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			sum += (uint64_t)st.st_blocks * 512;
		if (unlinkat(fd, store_files[i], 0) != 0 && errno != ENOENT) {
			rc = err_set(-errno, "removing %s/%s/%s: %s", parent,
				     name, store_files[i], strerror(errno));
			goto out;
		}
	}
	if (unlinkat(pfd, name, AT_REMOVEDIR) != 0) {
		rc = err_set(-errno, "removing %s/%s: %s", parent, name,
			     strerror(errno));
		goto out;
	}
	*bytes += sum;
	rc = 1;
out:
	close(fd);
	return rc;
}

/* Remove the private directories of killed builds of `base` in `parent`:
 * the number removed (their bytes on disk added to `*bytes`), or a
 * negative errno. */
static int sweep_in(const char *parent, const char *base, uint64_t *bytes)
{
	DIR *d = opendir(parent);
	if (!d)
		return errno == ENOENT ? 0
				       : err_set(-errno, "reading %s: %s",
						 parent, strerror(errno));
	int n = 0, rc = 0;
	struct dirent *e;
	while (rc >= 0 && (e = readdir(d)) != NULL) {
		if (!is_private_name(e->d_name, base))
			continue;
		rc = sweep_one(dirfd(d), parent, e->d_name, bytes);
		n += rc > 0;
	}
	closedir(d);
	return rc < 0 ? rc : n;
}

/* The process's umask, read without changing it (umask(2) can only be read
 * by setting it, which would race with other threads making files). */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned m;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Umask: %o", &m) == 1) {
			fclose(f);
			return (mode_t)m;
		}
	}
	if (f)
		fclose(f);
	mode_t um = umask(0); /* no /proc (or before Linux 4.7) */
	umask(um);
	return um;
}

int store_new_begin(const char *dir, struct store_new **out, unsigned *swept,
		    uint64_t *swept_bytes)
{
	struct stat st;
	char *parent = NULL, *base = NULL;
	uint64_t b = 0;
	*out = NULL;
	if (swept)
		*swept = 0;
	if (swept_bytes)
		*swept_bytes = 0;
	if (lstat(dir, &st) == 0 || errno != ENOENT)
		return 0; /* there is something: the caller opens it */
	int rc = split(dir, &parent, &base);
	if (rc <= 0)
		return rc;
	struct store_new *n = calloc(1, sizeof(*n));
	size_t pl = strlen(parent), bl = strlen(base);
	char *path = malloc(pl + 2 + bl + sizeof(NEW_SUFFIX));
	if (!n || !path || !(n->dir = strdup(dir))) {
		rc = err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	n->fd = -1;
	n->parent = parent;
	parent = NULL;
	sprintf(path, "%s/.%s%s", n->parent, base, NEW_SUFFIX);
	n->path = path;
	path = NULL;
	if ((rc = store_mkdir_p(n->parent)) < 0)
		goto fail;
	if ((rc = sweep_in(n->parent, base, &b)) < 0)
		goto fail;
	if (swept)
		*swept = (unsigned)rc;
	if (swept_bytes)
		*swept_bytes = b;
	if (!mkdtemp(n->path)) {
		rc = err_set(-errno, "store %s: cannot create %s: %s", dir,
			     n->path, strerror(errno));
		goto fail;
	}
	n->made = 1;
	n->fd = open(n->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n->fd < 0) {
		rc = err_set(-errno, "store %s: cannot open %s: %s", dir,
			     n->path, strerror(errno));
		goto fail;
	}
	if (flock(n->fd, LOCK_EX | LOCK_NB) != 0) {
		/* a file system without locks (NFS without lockd): a sweep
		 * could not tell this build from a killed one, so the store
		 * is made in place, as for an existing DIR */
		rc = 0;
		goto fail;
	}
	/* mkdtemp makes it 0700; a store directory is made 0755 (umask
	 * applied), as store_open's mkdir would */
	if (fchmod(n->fd, 0755 & ~current_umask()) != 0) {
		rc = err_set(-errno, "store %s: chmod %s: %s", dir, n->path,
			     strerror(errno));
		goto fail;
	}
	free(base);
	*out = n;
	return 0;
fail:
	free(parent);
	free(base);
	free(path);
	store_new_free(n);
	return rc;
}

const char *store_new_path(const struct store_new *n)
{
	return n->path;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return err_set(-e, "syncing directory %s: %s", dir,
			       strerror(e));
	}
	close(fd);
	return 0;
}

int store_new_publish(struct store_new *n)
{
	if (fsync(n->fd) != 0)
		return err_set(-errno, "syncing directory %s: %s", n->path,
			       strerror(errno));
	int rc =
	    renameat2(AT_FDCWD, n->path, AT_FDCWD, n->dir, RENAME_NOREPLACE);
	if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* a file system without RENAME_NOREPLACE: rename() may
		 * still only replace an empty directory */
		struct stat st;
		if (lstat(n->dir, &st) == 0)
			errno = EEXIST;
		else
			rc = rename(n->path, n->dir);
	}
	if (rc != 0) {
		int e = errno;
		if (e == EEXIST || e == ENOTEMPTY)
			return err_set(-EEXIST,
				       "store %s was made by someone else "
				       "while this build ran; the build is "
				       "thrown away",
				       n->dir);
		return err_set(-e, "store %s: moving the new store from %s: %s",
			       n->dir, n->path, strerror(e));
	}
	n->published = 1;
	return sync_dir(n->parent);
}

void store_new_free(struct store_new *n)
{
	if (!n)
		return;
	if (n->made && !n->published) {
		for (size_t i = 0; i < NSTORE_FILES && n->fd >= 0; i++)
			(void)unlinkat(n->fd, store_files[i], 0);
		(void)rmdir(n->path);
	}
	if (n->fd >= 0)
		close(n->fd);
	free(n->dir);
	free(n->parent);
	free(n->path);
	free(n);
}
