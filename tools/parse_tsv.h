/* parse_tsv.h - one line of a tsv record file: "key<TAB>value".
 *
 * The line is split on its first tab; key and value must be valid UTF-8
 * (the value may hold more tabs). No global state: any thread may call it.
 */
#ifndef TOOLS_PARSE_TSV_H
#define TOOLS_PARSE_TSV_H

#include <stddef.h>

struct tsv_line {
	const char *key; /* both point into the line */
	size_t klen;
	const char *val;
	size_t vlen;
};

/* Parse line[0..len) (without its newline). 0, or -EINVAL with a message
 * when there is no tab or the key or value is not valid UTF-8. */
int parse_tsv_line(const char *line, size_t len, struct tsv_line *out);

#endif
