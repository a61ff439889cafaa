/* fs.h - state of one hamtfs mount, shared by the FUSE handlers.
 *
 * Lock order: view_lock before inodes.lock before content.lock; none of
 * them is held across store or FUSE calls except where noted.
 */
#ifndef FS_FS_H
#define FS_FS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "hamt/cache.h"
#include "hamt/hamt.h"
#include "store/stagebuf.h"
#include "store/staging.h"
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
	int dead;		/* unlinked or replaced: never looked up */
	struct fs_blob *ghost;	/* dead: the contents it had, if captured */
	struct stat ghost_st;	/* dead: its attributes then */
	struct fs_inode *next;	/* chain by number */
	struct fs_inode *knext; /* chain by key */
	uint8_t *key;		/* malloc()ed with the inode */
};

struct fs_inodes {
	pthread_mutex_t lock; /* guards both tables and every inode */
	struct fs_inode **table, **bykey;
	size_t nbuckets, count;
};

/* A rendered file content, reference counted (readers hold it while they
 * copy from it). Staged contents are never cached (gen 0). */
struct fs_blob {
	uint64_t ino;
	uint64_t gen; /* the view it was rendered from; 0: not cached */
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
	char area[STAGING_AREA_MAX + 1]; /* staging area: the ref, or "@CID" */
	struct hamt_cache *cache;
	/* pages of the store file it keeps mapped (store_set_map_budget):
	 * MAP_PER_CACHE times -o cache_mb */
	uint64_t map_budget;
	/* Held for reading by every request for its whole duration (so it sees
	 * one committed tree and the staging laid over it), for writing by a
	 * commit while it merges the staging and swaps the view, and by a
	 * rename or an unlink. Writers are preferred (a stream of readers
	 * cannot starve a commit), so no thread may take it twice. */
	pthread_rwlock_t view_lock; /* guards view (the pointer) */
	struct fs_view *view;
	uint64_t next_gen;	  /* under view_lock (write) */
	pthread_mutex_t err_lock; /* guards last_error */
	char last_error[512];	  /* why the last commit failed ("" if not) */
	struct fs_inodes inodes;
	struct fs_content content;
	uid_t uid;
	gid_t gid;
	int no_open;		/* the kernel can skip open/release for files */
	int readonly;		/* -o ro: records shown 0444, nothing staged */
	struct stagebuf *stage; /* the staging area, through its journal */
};

/* views: fs_begin() takes view_lock for reading and returns the current
 * view, valid until fs_end(). fs_view_ref() takes a reference that outlives
 * the lock (a directory handle's snapshot); fs_view_put() drops it. */
struct fs_view *fs_begin(struct fs *fs);
/* The same, alone: for changes to names (rename, unlink), so that no
 * request sees a name's inode and its contents half moved. */
struct fs_view *fs_begin_excl(struct fs *fs);
void fs_end(struct fs *fs);
struct fs_view *fs_view_ref(struct fs_view *v);
void fs_view_put(struct fs_view *v);

/* The current file contents of `key`: the staged bytes if a put is staged,
 * -ENOENT if a delete is, else the committed record rendered. */
int fs_current(struct fs *fs, struct fs_view *v, const uint8_t *key,
	       size_t klen, struct buf *out);
/* The attributes a writer set for `key` (0), or -ENOENT. */
int fs_attrs(struct fs *fs, const uint8_t *key, size_t klen,
	     struct staging_attrs *a);

/* inodes (fs/inodes.c) */
int fs_inodes_init(struct fs_inodes *t);
void fs_inodes_destroy(struct fs_inodes *t);
/* The usual inode number of a key with this hash: its first 8 bytes. */
uint64_t fs_ino_of_hash(const uint8_t *hash, size_t hlen);
/* Find the live inode of `key` or add one, and count one lookup. A new
 * inode's number is the first 8 bytes of the key hash (stable across
 * mounts), moved on only past numbers in use (a clash of hash prefixes, or
 * a dead inode of the same key). */
struct fs_inode *fs_inode_lookup(struct fs_inodes *t, const uint8_t *key,
				 size_t klen, const uint8_t *hash, size_t hlen);
/* Copy of the key of `ino` into `key` (cleared first). -ENOENT if unknown
 * or dead. */
int fs_inode_key(struct fs_inodes *t, uint64_t ino, struct buf *key,
		 uint8_t *hash, size_t *hlen);
void fs_inode_forget(struct fs_inodes *t, uint64_t ino, uint64_t n);
/* The number of the live inode of `key`, or 0 if the kernel holds none. */
uint64_t fs_inode_live(struct fs_inodes *t, const uint8_t *key, size_t klen,
		       const uint8_t *hash, size_t hlen);
/* After an unlink of `key`: its inode is dead. A process that resolved the
 * name just before may still stat and read it: `ghost` (may be NULL; a
 * reference is taken) and `st` are what it then gets, the file as it was,
 * as on any file system. */
void fs_inode_retire(struct fs_inodes *t, const uint8_t *key, size_t klen,
		     const uint8_t *hash, size_t hlen, struct fs_blob *ghost,
		     const struct stat *st);
/* After a rename: the live inode of `from` now stands for `to`, and the
 * inode `to` had (replaced) is dead, with `ghost` and `st` as for
 * fs_inode_retire. */
int fs_inode_rename(struct fs_inodes *t, const uint8_t *from, size_t flen,
		    const uint8_t *fhash, size_t fhlen, const uint8_t *to,
		    size_t tlen, const uint8_t *thash, size_t thlen,
		    struct fs_blob *ghost, const struct stat *st);
/* For a dead inode with a ghost: 0 with a reference to it in *b (may be
 * NULL) and its attributes in *st (may be NULL); -ENOENT otherwise. */
int fs_inode_ghost(struct fs_inodes *t, uint64_t ino, struct fs_blob **b,
		   struct stat *st);

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
