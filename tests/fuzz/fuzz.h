/* fuzz.h - shared by the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput(). It is linked either with
 * libFuzzer (-DHAMTFS_FUZZ=ON, clang) or with replay.c, a main() that runs
 * every file of the corpus directories given on its command line through
 * the target once (any compiler; ctest runs it on tests/fuzz/corpus/NAME).
 *
 * FUZZ_CHECK is an invariant: unlike assert() it stays on in release builds
 * (ctest replays the corpora in a RelWithDebInfo build, with NDEBUG), and
 * on failure it prints what failed and the last error message, then aborts
 * so libFuzzer saves the input as a crash.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hamt/err.h"

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"%s:%d: fuzz invariant failed: %s "            \
				"(last error: %s)\n",                          \
				__FILE__, __LINE__, #cond, err_msg());         \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
