/* fs.h - state of one hamtfs mount, shared by the FUSE handlers.
 *
 * Lock order: view_lock before inodes.lock before content.lock; none of
 * them is held across store or FUSE calls except where noted.
 */
#ifndef FS_FS_H
#define FS_FS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "hamt/cache.h"
#include "hamt/hamt.h"
#include "store/store.h"

#define FS_ROOT_INO 1
#define FS_TIMEOUT 86400.0 /* committed content never changes */

/* One committed tree, shared by readers; freed when the last one lets go. */
struct fs_view {
	struct hamt *map;
	struct timespec mtime; /* time of the commit, or of the mount */
	uint64_t gen;	       /* a new number for every view */
	int refs;
};

struct fs_inode {
	uint64_t ino;
	uint64_t nlookup;
	uint8_t hash[32]; /* the key's HAMT hash */
	size_t hlen;
	size_t klen;
	struct fs_inode *next; /* hash chain */
	uint8_t key[];
};

struct fs_inodes {
	pthread_mutex_t lock; /* guards table and every nlookup */
	struct fs_inode **table;
	size_t nbuckets, count;
};

/* A rendered file content, reference counted (readers hold it while they
 * copy from it). */
struct fs_blob {
	uint64_t ino;
	uint64_t gen; /* the view it was rendered from */
	int refs;
	int has_cid;
	struct cid cid; /* the record's CID when the value is a link */
	size_t len;
	uint8_t data[];
};

struct fs_content {
	pthread_mutex_t lock; /* guards slots and bytes */
	struct fs_blob **slots;
	size_t nslots, bytes, max_bytes;
};

struct fs {
	struct store *store;
	char *store_dir;
	char *root_arg; /* ROOT as given: a ref name or a CID */
	int is_ref;
	struct hamt_cache *cache;
	pthread_rwlock_t view_lock; /* guards view (the pointer) */
	struct fs_view *view;
	struct fs_inodes inodes;
	struct fs_content content;
	uid_t uid;
	gid_t gid;
	int no_open; /* the kernel can skip open/release for files */
};

/* views */
struct fs_view *fs_view_get(struct fs *fs);
void fs_view_put(struct fs_view *v);

/* inodes (fs/inodes.c) */
int fs_inodes_init(struct fs_inodes *t);
void fs_inodes_destroy(struct fs_inodes *t);
/* The usual inode number of a key with this hash: its first 8 bytes. */
uint64_t fs_ino_of_hash(const uint8_t *hash, size_t hlen);
/* Find or add the inode of `key` and count one lookup. The inode number is
 * the first 8 bytes of the key hash (stable across mounts), moved on only in
 * the rare case of a clash with another key. */
struct fs_inode *fs_inode_lookup(struct fs_inodes *t, const uint8_t *key,
				 size_t klen, const uint8_t *hash, size_t hlen);
/* Copy of the key of `ino` into `key` (cleared first). -ENOENT if unknown. */
int fs_inode_key(struct fs_inodes *t, uint64_t ino, struct buf *key,
		 uint8_t *hash, size_t *hlen);
void fs_inode_forget(struct fs_inodes *t, uint64_t ino, uint64_t n);

/* rendered contents (fs/content.c) */
int fs_content_init(struct fs_content *c, size_t max_bytes);
void fs_content_destroy(struct fs_content *c);
/* The rendered contents of `key` in view `v` (inode `ino`), from the cache
 * or rendered now; release with fs_blob_put(). -ENOENT if absent. */
int fs_content_get(struct fs *fs, struct fs_view *v, uint64_t ino,
		   const uint8_t *key, size_t klen, struct fs_blob **out);
void fs_blob_put(struct fs_blob *b);
/* Drop every cached content (after a commit). */
void fs_content_clear(struct fs_content *c);

#endif
