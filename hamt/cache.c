#include "hamt/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"
#include "hamt/node.h"

struct entry {
	struct cid cid;
	struct hamt_node *node;
	struct entry *hnext;	   /* hash chain */
	struct entry *prev, *next; /* LRU list: head is most recent */
};

struct hamt_cache {
	pthread_mutex_t lock; /* guards everything below */
	struct entry **table;
	size_t nbuckets;
	struct entry *head, *tail;
	struct hamt_cache_stats st;
};

static size_t bucket_of(const struct hamt_cache *c, const struct cid *cid)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < cid->digest_len && i < 16; i++)
		h = (h ^ cid->digest[i]) * 1099511628211ull;
	return (size_t)(h % c->nbuckets);
}

int hamt_cache_new(struct hamt_cache **out, size_t max_bytes)
{
	struct hamt_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(-ENOMEM, "node cache: out of memory");
	/* about one bucket per 2 KiB cached, at least 1024 */
	c->nbuckets = max_bytes / 2048 > 1024 ? max_bytes / 2048 : 1024;
	c->table = calloc(c->nbuckets, sizeof(*c->table));
	if (!c->table) {
		free(c);
		return err_set(-ENOMEM, "node cache: out of memory");
	}
	pthread_mutex_init(&c->lock, NULL);
	c->st.max_bytes = max_bytes;
	*out = c;
	return 0;
}

static void lru_unlink(struct hamt_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct hamt_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void evict_one(struct hamt_cache *c)
{
	struct entry *e = c->tail;
	lru_unlink(c, e);
	struct entry **pp = &c->table[bucket_of(c, &e->cid)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	c->st.bytes -= e->node->mem;
	c->st.entries--;
	c->st.evictions++;
	hamt_node_unref(e->node);
	free(e);
}

void hamt_cache_free(struct hamt_cache *c)
{
	if (!c)
		return;
	while (c->tail)
		evict_one(c);
	pthread_mutex_destroy(&c->lock);
	free(c->table);
	free(c);
}

struct hamt_node *hamt_cache_get(struct hamt_cache *c, const struct cid *cid)
{
	struct hamt_node *n = NULL;
	pthread_mutex_lock(&c->lock);
	for (struct entry *e = c->table[bucket_of(c, cid)]; e; e = e->hnext) {
		if (cid_equal(&e->cid, cid)) {
			n = hamt_node_ref(e->node);
			lru_unlink(c, e);
			lru_push(c, e);
			break;
		}
	}
	if (n)
		c->st.hits++;
	else
		c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void hamt_cache_put(struct hamt_cache *c, const struct cid *cid,
		    struct hamt_node *node)
{
	if (node->mem > c->st.max_bytes)
		return;
	struct entry *ne = calloc(1, sizeof(*ne));
	if (!ne)
		return; /* caching is best effort */
	ne->cid = *cid;
	pthread_mutex_lock(&c->lock);
	size_t b = bucket_of(c, cid);
	for (struct entry *e = c->table[b]; e; e = e->hnext) {
		if (cid_equal(&e->cid, cid)) {
			pthread_mutex_unlock(&c->lock);
			free(ne);
			return; /* another thread put it first */
		}
	}
	ne->node = hamt_node_ref(node);
	ne->hnext = c->table[b];
	c->table[b] = ne;
	lru_push(c, ne);
	c->st.bytes += node->mem;
	c->st.entries++;
	while (c->st.bytes > c->st.max_bytes && c->tail)
		evict_one(c);
	pthread_mutex_unlock(&c->lock);
}

void hamt_cache_get_stats(struct hamt_cache *c, struct hamt_cache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->st;
	pthread_mutex_unlock(&c->lock);
}
