/* mapfixture.h - a synthetic map for tests and benchmarks, built straight
 * into a store (no staging, no pipeline): key i is "/works/OL<i>W" and its
 * record at version v a short JSON text naming i and v, stored as a raw
 * block the map links to. */
#ifndef TESTS_MAPFIXTURE_H
#define TESTS_MAPFIXTURE_H

#include <stddef.h>

#include "hamt/cid.h"
#include "store/store.h"

#define MAPFIXTURE_KEY_MAX 32	 /* bytes of a key, with its NUL */
#define MAPFIXTURE_RECORD_MAX 64 /* bytes of a record, with its NUL */

/* Key i into out[MAPFIXTURE_KEY_MAX]; returns its length. */
size_t mapfixture_key(size_t i, char *out);
/* The record of key i at version v into out[MAPFIXTURE_RECORD_MAX];
 * returns its length. */
size_t mapfixture_record(size_t i, unsigned v, char *out);

/* Build keys [0, n) at version v in one store transaction that also
 * points `ref` at the new root. 0, or a negative errno with a message;
 * the store is unchanged then. */
int mapfixture_build(struct store *s, const char *ref, size_t n, unsigned v,
		     struct cid *root);

#endif
