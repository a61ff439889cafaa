/* blocks - list the CIDs of every block in a store, one per line, in CID
 * order (for shell tests comparing block sets).
 * usage: blocks STORE */
#include <stdio.h>

#include "hamt/cid.h"
#include "hamt/err.h"
#include "store/store.h"

static int print_cb(void *payload, const struct cid *c, const uint8_t *data,
		    size_t len)
{
	char txt[CID_MAX_TEXT];
	(void)payload;
	(void)data;
	(void)len;
	return printf("%s\n", cid_format(c, txt)) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct store *s;
	if (argc != 2) {
		fprintf(stderr, "usage: blocks STORE\n");
		return 2;
	}
	if (store_open(&s, argv[1], STORE_RDONLY) ||
	    store_iterate(s, print_cb, NULL)) {
		fprintf(stderr, "blocks: %s\n", err_msg());
		return 1;
	}
	store_close(s);
	return 0;
}
