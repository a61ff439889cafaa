/* store_mem.c - the in-memory backend, and the CID hash table (cidmap) that
 * the mem and CAR backends and car_export share.
 *
 * cidmap: open addressing with linear probing over a power-of-two slot
 * array; each slot holds the key's 64-bit hash (0 = empty), the offset of
 * the key (a length byte + the binary CID) in a byte arena, and two values.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/buf.h"
#include "hamt/err.h"
#include "store/backend.h"

/* ------------------------------------------------------------ cidmap */

struct cidmap_slot {
	uint64_t h; /* 0 = empty */
	uint64_t koff;
	uint64_t v0, v1;
};

struct store_cidmap {
	struct cidmap_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
	struct buf keys;
};

static uint64_t cidmap_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

int store_cidmap_new(struct store_cidmap **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return err_set(-ENOMEM, "cidmap: out of memory");
	return 0;
}

void store_cidmap_free(struct store_cidmap *m)
{
	if (!m)
		return;
	free(m->slots);
	buf_free(&m->keys);
	free(m);
}

size_t store_cidmap_count(const struct store_cidmap *m)
{
	return m->n;
}

/* Slot index of key `k` (present or the empty slot where it would go). */
static size_t cidmap_find(const struct store_cidmap *m, const uint8_t *k,
			  size_t klen, uint64_t h)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)h & mask;
	for (;;) {
		const struct cidmap_slot *s = &m->slots[i];
		if (s->h == 0)
			return i;
		if (s->h == h) {
			const uint8_t *kp = m->keys.data + s->koff;
			if (kp[0] == klen && memcmp(kp + 1, k, klen) == 0)
				return i;
		}
		i = (i + 1) & mask;
	}
}

int store_cidmap_get(const struct store_cidmap *m, const struct cid *c,
		     uint64_t v[2])
{
	if (m->n == 0)
		return 0;
	uint8_t k[CID_MAX_BYTES];
	size_t klen = cid_to_bytes(c, k);
	uint64_t h = cidmap_hash(k, klen);
	const struct cidmap_slot *s = &m->slots[cidmap_find(m, k, klen, h)];
	if (s->h == 0)
		return 0;
	if (v) {
		v[0] = s->v0;
		v[1] = s->v1;
	}
	return 1;
}

static int cidmap_grow(struct store_cidmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	if (ncap < m->cap || ncap > SIZE_MAX / sizeof(struct cidmap_slot))
		return err_set(-ENOMEM, "cidmap: too many entries");
	struct cidmap_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return err_set(-ENOMEM, "cidmap: out of memory");
	for (size_t i = 0; i < m->cap; i++) {
		struct cidmap_slot *s = &m->slots[i];
		if (s->h == 0)
			continue;
		size_t j = (size_t)s->h & (ncap - 1);
		while (ns[j].h)
			j = (j + 1) & (ncap - 1);
		ns[j] = *s;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

int store_cidmap_put(struct store_cidmap *m, const struct cid *c, uint64_t v0,
		     uint64_t v1)
{
	int rc;
	/* keep the load factor under 1/2 */
	if ((m->n + 1) * 2 > m->cap && (rc = cidmap_grow(m)) < 0)
		return rc;
	uint8_t k[CID_MAX_BYTES];
	size_t klen = cid_to_bytes(c, k);
	uint64_t h = cidmap_hash(k, klen);
	size_t i = cidmap_find(m, k, klen, h);
	if (m->slots[i].h)
		return 1;
	uint64_t koff = m->keys.len;
	if (buf_putc(&m->keys, (uint8_t)klen) < 0 ||
	    buf_append(&m->keys, k, klen) < 0)
		return err_set(-ENOMEM, "cidmap: out of memory");
	m->slots[i] = (struct cidmap_slot){h, koff, v0, v1};
	m->n++;
	return 0;
}

int store_cidmap_each(const struct store_cidmap *m,
		      int (*cb)(void *payload, const struct cid *c, uint64_t v0,
				uint64_t v1),
		      void *payload)
{
	for (size_t i = 0; i < m->cap; i++) {
		const struct cidmap_slot *s = &m->slots[i];
		if (s->h == 0)
			continue;
		const uint8_t *kp = m->keys.data + s->koff;
		struct cid c;
		int rc = cid_from_bytes(&c, kp + 1, kp[0], NULL);
		if (rc < 0)
			return rc;
		rc = cb(payload, &c, s->v0, s->v1);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------- mem backend */

struct mem_backend {
	struct store_backend be;  /* first: the public view */
	pthread_rwlock_t lock;	  /* guards map */
	struct store_cidmap *map; /* CID -> (malloc()ed bytes, length) */
};

static int mem_get(struct store_backend *be, const struct cid *c,
		   uint8_t **data, size_t *len)
{
	struct mem_backend *m = (struct mem_backend *)be;
	uint64_t v[2];
	int rc = 0;
	pthread_rwlock_rdlock(&m->lock);
	if (store_cidmap_get(m->map, c, v) == 1) {
		*len = (size_t)v[1];
		*data = malloc(*len ? *len : 1);
		if (*data)
			memcpy(*data, (const void *)(uintptr_t)v[0], *len);
		else
			rc = err_set(-ENOMEM, "mem store: out of memory");
	} else {
		char txt[CID_MAX_TEXT];
		rc =
		    err_set(-ENOENT, "block not found: %s", cid_format(c, txt));
	}
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

static int mem_has(struct store_backend *be, const struct cid *c)
{
	struct mem_backend *m = (struct mem_backend *)be;
	pthread_rwlock_rdlock(&m->lock);
	int rc = store_cidmap_get(m->map, c, NULL);
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

static int mem_put(struct store_backend *be, const struct cid *c,
		   const uint8_t *data, size_t len)
{
	struct mem_backend *m = (struct mem_backend *)be;
	int rc;
	pthread_rwlock_wrlock(&m->lock);
	rc = store_cidmap_get(m->map, c, NULL);
	if (rc == 0) {
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy) {
			rc = err_set(-ENOMEM, "mem store: out of memory");
		} else {
			if (len)
				memcpy(copy, data, len);
			rc = store_cidmap_put(m->map, c, (uintptr_t)copy, len);
			if (rc < 0)
				free(copy);
		}
	}
	pthread_rwlock_unlock(&m->lock);
	return rc < 0 ? rc : 0;
}

struct mem_iter {
	store_block_cb cb;
	void *payload;
};

static int mem_iter_one(void *payload, const struct cid *c, uint64_t v0,
			uint64_t v1)
{
	struct mem_iter *it = payload;
	return it->cb(it->payload, c, (const uint8_t *)(uintptr_t)v0,
		      (size_t)v1);
}

static int mem_iterate(struct store_backend *be, store_block_cb cb,
		       void *payload)
{
	struct mem_backend *m = (struct mem_backend *)be;
	struct mem_iter it = {cb, payload};
	pthread_rwlock_rdlock(&m->lock);
	int rc = store_cidmap_each(m->map, mem_iter_one, &it);
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

static int mem_free_one(void *payload, const struct cid *c, uint64_t v0,
			uint64_t v1)
{
	(void)payload;
	(void)c;
	(void)v1;
	free((void *)(uintptr_t)v0);
	return 0;
}

static void mem_free(struct store_backend *be)
{
	struct mem_backend *m = (struct mem_backend *)be;
	if (!m)
		return;
	store_cidmap_each(m->map, mem_free_one, NULL);
	store_cidmap_free(m->map);
	pthread_rwlock_destroy(&m->lock);
	free(m);
}

int store_mem_new(struct store_backend **out)
{
	struct mem_backend *m = calloc(1, sizeof(*m));
	if (!m)
		return err_set(-ENOMEM, "mem store: out of memory");
	int rc = store_cidmap_new(&m->map);
	if (rc < 0) {
		free(m);
		return rc;
	}
	pthread_rwlock_init(&m->lock, NULL);
	m->be = (struct store_backend){
	    .name = "mem",
	    .get = mem_get,
	    .has = mem_has,
	    .put = mem_put,
	    .iterate = mem_iterate,
	    .free = mem_free,
	};
	*out = &m->be;
	return 0;
}

size_t store_mem_count(struct store_backend *be)
{
	struct mem_backend *m = (struct mem_backend *)be;
	pthread_rwlock_rdlock(&m->lock);
	size_t n = store_cidmap_count(m->map);
	pthread_rwlock_unlock(&m->lock);
	return n;
}
