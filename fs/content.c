/* content.c - rendered file contents, cached by inode and view.
 *
 * A direct-mapped table of reference-counted blobs bounded in bytes: the
 * kernel's page cache (keep_cache) holds hot file data; this cache only
 * saves rendering a value twice between a lookup (which needs the size) and
 * the reads that follow it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"
#include "hamt/err.h"

int fs_content_init(struct fs_content *c, size_t max_bytes)
{
	c->nslots = 4096;
	c->bytes = 0;
	c->max_bytes = max_bytes;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->slots)
		return err_set(-ENOMEM, "content cache: out of memory");
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

void fs_blob_put(struct fs_blob *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

void fs_content_clear(struct fs_content *c)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nslots; i++) {
		fs_blob_put(c->slots[i]);
		c->slots[i] = NULL;
	}
	c->bytes = 0;
	pthread_mutex_unlock(&c->lock);
}

void fs_content_destroy(struct fs_content *c)
{
	fs_content_clear(c);
	free(c->slots);
	pthread_mutex_destroy(&c->lock);
}

static struct fs_blob *blob_new(uint64_t ino, uint64_t gen, const uint8_t *p,
				size_t len)
{
	struct fs_blob *b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	b->ino = ino;
	b->gen = gen;
	b->refs = 1;
	b->has_cid = 0;
	b->len = len;
	if (len)
		memcpy(b->data, p, len);
	return b;
}

/* What is staged for `key`: 1 with a blob for a put, -ENOENT for a
 * tombstone, 0 if nothing is staged. */
static int staged_blob(struct fs *fs, uint64_t ino, const uint8_t *key,
		       size_t klen, struct fs_blob **out)
{
	if (stagebuf_count(fs->stage) == 0)
		return 0;
	enum staging_kind kind;
	struct buf data = {0};
	int rc = stagebuf_get(fs->stage, key, klen, &kind, &data);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0 && kind == STAGING_TOMBSTONE)
		rc = -ENOENT;
	if (rc == 0) {
		*out = blob_new(ino, 0, data.data, data.len);
		rc = *out ? 1 : err_set(-ENOMEM, "content: out of memory");
	}
	buf_free(&data);
	return rc;
}

int fs_current(struct fs *fs, struct fs_view *v, const uint8_t *key,
	       size_t klen, struct buf *out)
{
	struct fs_blob *b = NULL;
	int rc = fs_content_get(fs, v, 0, key, klen, &b);
	if (!rc)
		rc = buf_append(out, b->data, b->len);
	fs_blob_put(b);
	return rc;
}

int fs_attrs(struct fs *fs, const uint8_t *key, size_t klen,
	     struct staging_attrs *a)
{
	/* attrs outlive commits: always asked for (one LMDB read) */
	return stagebuf_get_attrs(fs->stage, key, klen, a);
}

int fs_content_get(struct fs *fs, struct fs_view *v, uint64_t ino,
		   const uint8_t *key, size_t klen, struct fs_blob **out)
{
	struct fs_content *c = &fs->content;
	int rc = staged_blob(fs, ino, key, klen, out);
	if (rc)
		return rc < 0 ? rc : 0;
	size_t slot = ino % c->nslots;
	pthread_mutex_lock(&c->lock);
	struct fs_blob *b = c->slots[slot];
	if (ino && b && b->ino == ino && b->gen == v->gen) {
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&c->lock);
		*out = b;
		return 0;
	}
	pthread_mutex_unlock(&c->lock);

	struct buf val = {0}, text = {0};
	struct cid cid;
	rc = hamt_get(v->map, key, klen, &val);
	int has_cid = 0;
	if (!rc) {
		has_cid = hamt_value_link(val.data, val.len, &cid);
		rc = has_cid < 0 ? has_cid : 0;
	}
	if (!rc)
		rc = hamt_value_render(fs->store, val.data, val.len, &text);
	if (!rc && !(b = blob_new(ino, v->gen, text.data, text.len)))
		rc = err_set(-ENOMEM, "content: out of memory");
	buf_free(&val);
	buf_free(&text);
	if (rc)
		return rc;
	b->has_cid = has_cid == 1;
	if (b->has_cid)
		b->cid = cid;
	if (ino && b->len <= c->max_bytes / 8) {
		pthread_mutex_lock(&c->lock);
		struct fs_blob *old = c->slots[slot];
		if (old)
			c->bytes -= old->len;
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
		c->slots[slot] = b;
		c->bytes += b->len;
		pthread_mutex_unlock(&c->lock);
		fs_blob_put(old);
	}
	*out = b;
	return 0;
}
