/* malicious.h - hostile HAMTs and CARs for the tests.
 *
 * mal_build() writes every case into a store with raw store_put() calls
 * (and, for a block no put accepts, straight into LMDB), bypassing the
 * encoder, and sets a ref named after each case to its root. Each case has
 * exactly one defect; everything else about it is well formed, so the
 * first error any reader meets is that defect:
 *
 *   MAL_ROOT   the root itself is bad: opening the map fails;
 *   MAL_TREE   a node under the root is bad: a lookup whose path meets it
 *              and any listing fail, lookups elsewhere still work;
 *   MAL_VALUE  the value block of one key is bad: reading that key fails,
 *              listings (which do not read values) and other keys work.
 *
 * For every case the error message must contain `defect` and the CID text
 * of `bad`. Used by tests/hamt/test_malicious.c (the library) and the tool
 * tests/tools/tool_malicious.c (the `hamt` command and the mount).
 */
#ifndef TESTS_MALICIOUS_H
#define TESTS_MALICIOUS_H

#include <stddef.h>

#include "hamt/cid.h"
#include "store/store.h"

enum mal_kind { MAL_ROOT, MAL_TREE, MAL_VALUE };

struct mal_case {
	const char *name; /* also the ref name */
	enum mal_kind kind;
	struct cid root;
	struct cid bad;	    /* the block the message must name */
	const char *defect; /* text the message must contain */
	char bad_key[32];   /* TREE/VALUE: a key whose lookup meets it */
	char good_key[32];  /* TREE/VALUE: a key that still reads */
	char good_val[64];  /* ... and its contents */
};

#define MAL_MAX_CASES 64

/* Write every case into `s`; `cases` has room for MAL_MAX_CASES. 0 with
 * `*n` set, or a negative errno. With `big` 0 the case whose root block is
 * 128 MiB (bitWidth 30) is left out (it costs seconds under valgrind). */
int mal_build(struct store *s, struct mal_case *cases, size_t *n, int big);

/* The node of bitWidth 30 as a root block (128 MiB + a few bytes), in a
 * malloc()ed buffer. NULL on ENOMEM. */
uint8_t *mal_bitwidth30_root(size_t *len);

/* Write a CAR (v1, or v2 if `v2`) whose only root is a raw block of
 * `block_len` bytes, holding that block. 0 or a negative errno. */
int mal_write_car(const char *path, size_t block_len, int v2);

#endif
