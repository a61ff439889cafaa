/* inodes.c - the inode table: inode number <-> key, with lookup counts. */
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
	if (!t->table)
		return err_set(-ENOMEM, "inode table: out of memory");
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void fs_inodes_destroy(struct fs_inodes *t)
{
	for (size_t i = 0; t->table && i < t->nbuckets; i++) {
		struct fs_inode *n = t->table[i];
		while (n) {
			struct fs_inode *next = n->next;
			free(n->key);
			free(n);
			n = next;
		}
	}
	free(t->table);
	pthread_mutex_destroy(&t->lock);
}

static struct fs_inode *find(struct fs_inodes *t, uint64_t ino)
{
	for (struct fs_inode *n = t->table[ino % t->nbuckets]; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void grow(struct fs_inodes *t)
{
	size_t nb = t->nbuckets * 2;
	struct fs_inode **tab = calloc(nb, sizeof(*tab));
	if (!tab)
		return; /* stay slower rather than fail */
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct fs_inode *n = t->table[i];
		while (n) {
			struct fs_inode *next = n->next;
			n->next = tab[n->ino % nb];
			tab[n->ino % nb] = n;
			n = next;
		}
	}
	free(t->table);
	t->table = tab;
	t->nbuckets = nb;
}

uint64_t fs_ino_of_hash(const uint8_t *hash, size_t hlen)
{
	uint64_t ino = 0;
	for (size_t i = 0; i < 8 && i < hlen; i++)
		ino = (ino << 8) | hash[i];
	ino &= 0x7fffffffffffffffull; /* keep clear of the top bit */
	return ino <= FS_ROOT_INO ? FS_ROOT_INO + 1 : ino;
}

struct fs_inode *fs_inode_lookup(struct fs_inodes *t, const uint8_t *key,
				 size_t klen, const uint8_t *hash, size_t hlen)
{
	uint64_t ino = fs_ino_of_hash(hash, hlen);
	pthread_mutex_lock(&t->lock);
	struct fs_inode *n;
	while ((n = find(t, ino)) != NULL) {
		if (n->klen == klen && !memcmp(n->key, key, klen)) {
			n->nlookup++;
			pthread_mutex_unlock(&t->lock);
			return n;
		}
		ino++; /* a clash of 64-bit hash prefixes: move on */
	}
	n = malloc(sizeof(*n));
	if (n && !(n->key = malloc(klen ? klen : 1))) {
		free(n);
		n = NULL;
	}
	if (n) {
		n->ino = ino;
		n->nlookup = 1;
		n->hlen = hlen < sizeof(n->hash) ? hlen : sizeof(n->hash);
		memcpy(n->hash, hash, n->hlen);
		n->klen = klen;
		memcpy(n->key, key, klen);
		n->next = t->table[ino % t->nbuckets];
		t->table[ino % t->nbuckets] = n;
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
	if (!n) {
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
			t->count--;
			free(n->key);
			free(n);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int fs_inode_rekey(struct fs_inodes *t, uint64_t ino, const uint8_t *key,
		   size_t klen, const uint8_t *hash, size_t hlen)
{
	uint8_t *k = malloc(klen ? klen : 1);
	if (!k)
		return err_set(-ENOMEM, "inode table: out of memory");
	memcpy(k, key, klen);
	pthread_mutex_lock(&t->lock);
	struct fs_inode *n = find(t, ino);
	if (n) {
		free(n->key);
		n->key = k;
		n->klen = klen;
		n->hlen = hlen < sizeof(n->hash) ? hlen : sizeof(n->hash);
		memcpy(n->hash, hash, n->hlen);
		k = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	free(k);
	return 0;
}

int fs_inode_rekey_key(struct fs_inodes *t, const uint8_t *from, size_t flen,
		       const uint8_t *fhash, size_t fhlen, const uint8_t *to,
		       size_t tlen, const uint8_t *thash, size_t thlen)
{
	uint64_t ino = fs_ino_of_hash(fhash, fhlen);
	pthread_mutex_lock(&t->lock);
	struct fs_inode *n;
	while ((n = find(t, ino)) != NULL &&
	       !(n->klen == flen && !memcmp(n->key, from, flen)))
		ino++;
	pthread_mutex_unlock(&t->lock);
	if (!n)
		return 0; /* the kernel holds no inode for it */
	return fs_inode_rekey(t, ino, to, tlen, thash, thlen);
}
