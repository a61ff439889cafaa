/* test.h - a small harness for the unit tests.
 *
 * CHECK(cond) records a failure with file:line and goes on; CHECK_OK(expr)
 * expects 0 and prints err_msg() otherwise; test_tmpdir() makes a fresh
 * directory under $TEST_TMP (or /tmp). main() ends with
 * `return test_summary();`, which prints "N passed, N failed" and returns
 * non-zero if any check failed.
 */
#ifndef TESTS_TEST_H
#define TESTS_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hamt/err.h"

extern unsigned long test_passed, test_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			test_passed++;                                         \
		} else {                                                       \
			test_failed++;                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_OK(expr)                                                         \
	do {                                                                   \
		int check_rc_ = (expr);                                        \
		if (check_rc_ == 0) {                                          \
			test_passed++;                                         \
		} else {                                                       \
			test_failed++;                                         \
			fprintf(stderr, "%s:%d: %s returned %d: %s\n",         \
				__FILE__, __LINE__, #expr, check_rc_,          \
				err_msg());                                    \
		}                                                              \
	} while (0)

#define CHECK_ERR(expr, code)                                                  \
	do {                                                                   \
		int check_rc_ = (expr);                                        \
		if (check_rc_ == (code)) {                                     \
			test_passed++;                                         \
		} else {                                                       \
			test_failed++;                                         \
			fprintf(stderr,                                        \
				"%s:%d: %s returned %d, want %d (%s)\n",       \
				__FILE__, __LINE__, #expr, check_rc_, (code),  \
				err_msg());                                    \
		}                                                              \
	} while (0)

/* A fresh empty directory for this test; path is static storage. */
const char *test_tmpdir(const char *name);
/* Path of a fixture file under $FIXTURES (static storage). */
const char *test_fixture(const char *rel);
/* Read a whole file into malloc()ed memory; NULL on failure. */
uint8_t *test_read_file(const char *path, size_t *len);
/* The share (0..1) of the pages of [off, off + len) of the file open as
 * `fd` that are in the page cache (mincore); 0 if that cannot be seen.
 * `off` is a multiple of the page size. */
double test_cached(int fd, uint64_t off, uint64_t len);
/* Deterministic PRNG (xorshift64*). */
uint64_t test_rand(uint64_t *state);
struct store;
struct cid;
/* A store_block_cb that counts blocks into the size_t at `payload`. */
int test_count_cb(void *payload, const struct cid *c, const uint8_t *data,
		  size_t len);
/* Number of blocks in the store's LMDB (a failure is a failed check). */
size_t test_count_blocks(struct store *s);
/* Print the summary line and return the exit status. */
int test_summary(void);

#endif
