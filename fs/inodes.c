/* inodes.c - the inode table: inode number <-> key, with lookup counts.
 *
 * Every inode is in two hash chains: by number (for requests) and by key
 * (for lookups, renames and unlinks). At most one inode per key is live;
 * an inode whose file was unlinked or replaced by a rename is dead: it
 * keeps its number until the kernel forgets it, but no lookup returns it
 * again and requests on it get ENOENT. So the kernel never sees one inode
 * number stand for two different files, and never serves one file's
 * cached pages for another. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "hamt/err.h"

int fs_inodes_init(struct fs_inodes *t)
{
	t->nbuckets = 1 << 16;
	t->count = 0;
	t->table = calloc(t->nbuckets, sizeof(*t->table));
	t->bykey = calloc(t->nbuckets, sizeof(*t->bykey));
	if (!t->table || !t->bykey) {
		free(t->table);
		free(t->bykey);
		t->table = t->bykey = NULL;
		return err_set(-ENOMEM, "inode table: out of memory");
	}
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void fs_inodes_destroy(struct fs_inodes *t)
{
	for (size_t i = 0; t->table && i < t->nbuckets; i++) {
		struct fs_inode *n = t->table[i];
		while (n) {
			struct fs_inode *next = n->next;
			fs_blob_put(n->ghost);
			free(n->key);
			free(n);
			n = next;
		}
	}
	free(t->table);
	free(t->bykey);
	pthread_mutex_destroy(&t->lock);
}

static uint64_t hash64(const uint8_t *hash, size_t hlen)
{
	uint64_t h = 0;
	for (size_t i = 0; i < 8 && i < hlen; i++)
		h = (h << 8) | hash[i];
	return h;
}

static size_t key_bucket(const struct fs_inodes *t, const uint8_t *hash,
			 size_t hlen)
{
	return (size_t)(hash64(hash, hlen) % t->nbuckets);
}

static struct fs_inode *find(struct fs_inodes *t, uint64_t ino)
{
	for (struct fs_inode *n = t->table[ino % t->nbuckets]; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static int same_key(const struct fs_inode *n, const uint8_t *key, size_t klen)
{
	return n->klen == klen && (klen == 0 || !memcmp(n->key, key, klen));
}

/* The live inode of `key`, or NULL. */
static struct fs_inode *find_live(struct fs_inodes *t, const uint8_t *key,
				  size_t klen, const uint8_t *hash, size_t hlen)
{
	for (struct fs_inode *n = t->bykey[key_bucket(t, hash, hlen)]; n;
	     n = n->knext)
		if (!n->dead && same_key(n, key, klen))
			return n;
	return NULL;
}

static void key_unlink(struct fs_inodes *t, struct fs_inode *n)
{
	struct fs_inode **pp = &t->bykey[key_bucket(t, n->hash, n->hlen)];
	while (*pp && *pp != n)
		pp = &(*pp)->knext;
	if (*pp)
		*pp = n->knext;
	n->knext = NULL;
}

static void key_link(struct fs_inodes *t, struct fs_inode *n)
{
	size_t b = key_bucket(t, n->hash, n->hlen);
	n->knext = t->bykey[b];
	t->bykey[b] = n;
}

static void grow(struct fs_inodes *t)
{
	size_t nb = t->nbuckets * 2;
	struct fs_inode **tab = calloc(nb, sizeof(*tab));
	struct fs_inode **keys = calloc(nb, sizeof(*keys));
	if (!tab || !keys) {
		free(tab);
		free(keys);
		return; /* stay slower rather than fail */
	}
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct fs_inode *n = t->table[i];
		while (n) {
			struct fs_inode *next = n->next;
			n->next = tab[n->ino % nb];
			tab[n->ino % nb] = n;
			size_t b = (size_t)(hash64(n->hash, n->hlen) % nb);
			n->knext = keys[b];
			keys[b] = n;
			n = next;
		}
	}
	free(t->table);
	free(t->bykey);
	t->table = tab;
	t->bykey = keys;
	t->nbuckets = nb;
}

uint64_t fs_ino_of_hash(const uint8_t *hash, size_t hlen)
{
	uint64_t ino = hash64(hash, hlen);
	ino &= 0x7fffffffffffffffull; /* keep clear of the top bit */
	return ino <= FS_ROOT_INO ? FS_ROOT_INO + 1 : ino;
}

static void set_key_hash(struct fs_inode *n, const uint8_t *hash, size_t hlen)
{
	n->hlen = hlen < sizeof(n->hash) ? hlen : sizeof(n->hash);
	memcpy(n->hash, hash, n->hlen);
}

struct fs_inode *fs_inode_lookup(struct fs_inodes *t, const uint8_t *key,
				 size_t klen, const uint8_t *hash, size_t hlen)
{
	pthread_mutex_lock(&t->lock);
	struct fs_inode *n = find_live(t, key, klen, hash, hlen);
	if (n) {
		n->nlookup++;
		pthread_mutex_unlock(&t->lock);
		return n;
	}
	/* a new inode: the usual number, moved on past numbers in use (a
	 * clash of 64-bit hash prefixes, or a dead inode of the same key) */
	uint64_t ino = fs_ino_of_hash(hash, hlen);
	while (find(t, ino) != NULL)
		ino =
		    ino + 1 > 0x7fffffffffffffffull ? FS_ROOT_INO + 1 : ino + 1;
	n = calloc(1, sizeof(*n));
	if (n && !(n->key = malloc(klen ? klen : 1))) {
		free(n);
		n = NULL;
	}
	if (n) {
		n->ino = ino;
		n->nlookup = 1;
		set_key_hash(n, hash, hlen);
		n->klen = klen;
		if (klen)
			memcpy(n->key, key, klen);
		n->next = t->table[ino % t->nbuckets];
		t->table[ino % t->nbuckets] = n;
		key_link(t, n);
		if (++t->count > t->nbuckets)
			grow(t);
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

int fs_inode_key(struct fs_inodes *t, uint64_t ino, struct buf *key,
		 uint8_t *hash, size_t *hlen)
{
	int rc = 0;
	buf_reset(key);
	pthread_mutex_lock(&t->lock);
	struct fs_inode *n = find(t, ino);
	if (!n || n->dead) {
		rc = -ENOENT;
	} else {
		rc = buf_append(key, n->key, n->klen);
		if (hash) {
			memcpy(hash, n->hash, n->hlen);
			*hlen = n->hlen;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void fs_inode_forget(struct fs_inodes *t, uint64_t ino, uint64_t nlookup)
{
	pthread_mutex_lock(&t->lock);
	struct fs_inode **pp = &t->table[ino % t->nbuckets];
	while (*pp && (*pp)->ino != ino)
		pp = &(*pp)->next;
	struct fs_inode *n = *pp;
	if (n) {
		n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
		if (n->nlookup == 0) {
			*pp = n->next;
			key_unlink(t, n);
			t->count--;
			fs_blob_put(n->ghost);
			free(n->key);
			free(n);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

uint64_t fs_inode_live(struct fs_inodes *t, const uint8_t *key, size_t klen,
		       const uint8_t *hash, size_t hlen)
{
	pthread_mutex_lock(&t->lock);
	struct fs_inode *n = find_live(t, key, klen, hash, hlen);
	uint64_t ino = n ? n->ino : 0;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

/* Mark every live inode of `key` but `keep` dead. Lock held. */
static void retire(struct fs_inodes *t, const uint8_t *key, size_t klen,
		   const uint8_t *hash, size_t hlen,
		   const struct fs_inode *keep, struct fs_blob *ghost,
		   const struct stat *st)
{
	for (struct fs_inode *n = t->bykey[key_bucket(t, hash, hlen)]; n;
	     n = n->knext) {
		if (n == keep || n->dead || !same_key(n, key, klen))
			continue;
		n->dead = 1;
		if (ghost && st) {
			__atomic_add_fetch(&ghost->refs, 1, __ATOMIC_RELAXED);
			n->ghost = ghost;
			n->ghost_st = *st;
			n->ghost_st.st_ino = n->ino;
		}
	}
}

void fs_inode_retire(struct fs_inodes *t, const uint8_t *key, size_t klen,
		     const uint8_t *hash, size_t hlen, struct fs_blob *ghost,
		     const struct stat *st)
{
	pthread_mutex_lock(&t->lock);
	retire(t, key, klen, hash, hlen, NULL, ghost, st);
	pthread_mutex_unlock(&t->lock);
}

int fs_inode_ghost(struct fs_inodes *t, uint64_t ino, struct fs_blob **b,
		   struct stat *st)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&t->lock);
	struct fs_inode *n = find(t, ino);
	if (n && n->dead && n->ghost) {
		if (b) {
			__atomic_add_fetch(&n->ghost->refs, 1,
					   __ATOMIC_RELAXED);
			*b = n->ghost;
		}
		if (st)
			*st = n->ghost_st;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int fs_inode_rename(struct fs_inodes *t, const uint8_t *from, size_t flen,
		    const uint8_t *fhash, size_t fhlen, const uint8_t *to,
		    size_t tlen, const uint8_t *thash, size_t thlen,
		    struct fs_blob *ghost, const struct stat *st)
{
	uint8_t *k = malloc(tlen ? tlen : 1);
	if (!k)
		return err_set(-ENOMEM, "inode table: out of memory");
	if (tlen)
		memcpy(k, to, tlen);
	pthread_mutex_lock(&t->lock);
	struct fs_inode *n = find_live(t, from, flen, fhash, fhlen);
	retire(t, to, tlen, thash, thlen, n, ghost, st);
	if (n) {
		key_unlink(t, n);
		free(n->key);
		n->key = k;
		n->klen = tlen;
		set_key_hash(n, thash, thlen);
		key_link(t, n);
		k = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	free(k);
	return 0;
}
