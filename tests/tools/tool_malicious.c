/* tool_malicious.c - write the hostile maps of tests/malicious.h for the
 * shell tests (tests/tools/test_malicious.sh, tests/fs/test_malicious.sh).
 *
 * usage: malicious STORE_DIR CAR_DIR
 * Builds every case into the store at STORE_DIR (a ref per case) and
 * prints one line per case, tab-separated:
 *     NAME KIND CID DEFECT BAD_KEY GOOD_KEY GOOD_VALUE
 * KIND is root, tree or value; CID the block the error must name; DEFECT
 * text the error must contain; the keys are "-" for root cases. Writes
 * big-v1.car and big-v2.car (one block of 2 MiB + 1 byte) and limit.car
 * (one block of exactly 2 MiB) into CAR_DIR. Set HAMTFS_TEST_BIG=0 to
 * leave out the 128 MiB bitWidth-30 root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"
#include "malicious.h"
#include "store/store.h"

int main(int argc, char **argv)
{
	static const char *const kinds[] = {"root", "tree", "value"};
	struct mal_case cases[MAL_MAX_CASES];
	struct store *s = NULL;
	size_t n = 0;
	char path[4096];
	if (argc != 3) {
		fprintf(stderr, "usage: malicious STORE_DIR CAR_DIR\n");
		return 2;
	}
	const char *big = getenv("HAMTFS_TEST_BIG");
	int rc = store_open(&s, argv[1], STORE_CREATE);
	if (!rc)
		rc = mal_build(s, cases, &n, !big || strcmp(big, "0") != 0);
	store_close(s);
	static const struct {
		const char *name;
		size_t len;
		int v2;
	} cars[] = {{"big-v1.car", STORE_MAX_BLOCK + 1, 0},
		    {"big-v2.car", STORE_MAX_BLOCK + 1, 1},
		    {"limit.car", STORE_MAX_BLOCK, 0}};
	for (size_t i = 0; !rc && i < sizeof(cars) / sizeof(cars[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[2], cars[i].name);
		rc = mal_write_car(path, cars[i].len, cars[i].v2);
	}
	if (rc) {
		fprintf(stderr, "malicious: %s\n", err_msg());
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mal_case *c = &cases[i];
		char txt[CID_MAX_TEXT];
		int root = c->kind == MAL_ROOT;
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c->name, kinds[c->kind],
		       cid_format(&c->bad, txt), c->defect,
		       root ? "-" : c->bad_key, root ? "-" : c->good_key,
		       root ? "-" : c->good_val);
	}
	return 0;
}
