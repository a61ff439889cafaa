/* backend.h - what a block-store backend implements.
 *
 * A backend fills in a struct of function pointers; an operation left NULL
 * means "not supported" (a read-only backend has no put). The front
 * (store.c) verifies every block a backend returns against its CID before
 * anyone sees it, so backends do not re-hash on read.
 */
#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/cid.h"

typedef int (*store_block_cb)(void *payload, const struct cid *c,
			      const uint8_t *data, size_t len);

struct store_backend {
	const char *name; /* for messages: "lmdb", "car", "mem" */
	/* Read block `c` into a malloc()ed buffer `*data` of `*len` bytes
	 * (caller frees). 0, -ENOENT if absent, other negative errno. */
	int (*get)(struct store_backend *be, const struct cid *c,
		   uint8_t **data, size_t *len);
	/* 1 if present, 0 if absent, negative errno. */
	int (*has)(struct store_backend *be, const struct cid *c);
	/* Store one block (no-op if present). 0 or negative errno. */
	int (*put)(struct store_backend *be, const struct cid *c,
		   const uint8_t *data, size_t len);
	/* Call cb for every block; stops with cb's non-zero value. */
	int (*iterate)(struct store_backend *be, store_block_cb cb,
		       void *payload);
	/* Release the backend. */
	void (*free)(struct store_backend *be);
};

/* An in-memory backend (for tests and scratch work). */
int store_mem_new(struct store_backend **out);
/* Number of blocks a mem backend holds (for tests that count writes). */
size_t store_mem_count(struct store_backend *be);

/* A read-only backend over a CAR file (v1 or v2): indexes block offsets on
 * open (verifying each block's hash), reads blocks with pread. */
int store_car_open(struct store_backend **out, const char *path);

/* A hash table from CID to two 64-bit values, shared by the mem and CAR
 * backends and car_export (a "seen" set). Not thread-safe: callers lock.
 * Keys are copied in (as binary CIDs); the table never frees what the
 * values point to. */
struct store_cidmap;
/* 0 or -ENOMEM. */
int store_cidmap_new(struct store_cidmap **out);
/* NULL is a no-op. */
void store_cidmap_free(struct store_cidmap *m);
/* 1 with `v[0..1]` filled (v may be NULL) if `c` is present, 0 if absent. */
int store_cidmap_get(const struct store_cidmap *m, const struct cid *c,
		     uint64_t v[2]);
/* Insert `c` with `v0`, `v1`. 1 if `c` was already present (its values are
 * left unchanged), 0 if inserted, -ENOMEM. */
int store_cidmap_put(struct store_cidmap *m, const struct cid *c, uint64_t v0,
		     uint64_t v1);
/* Number of CIDs held. */
size_t store_cidmap_count(const struct store_cidmap *m);
/* Call cb(payload, c, v0, v1) for every entry (unspecified order); stops
 * with cb's non-zero value. */
int store_cidmap_each(const struct store_cidmap *m,
		      int (*cb)(void *payload, const struct cid *c, uint64_t v0,
				uint64_t v1),
		      void *payload);

#endif
