/* parse_ol.h - one line of an Open Library dump.
 *
 * Five tab-separated columns: type (e.g. /type/edition), key (e.g.
 * /books/OL45M), revision (a decimal number), last-modified (e.g.
 * 2023-09-14T01:52:36.129815) and the JSON record. The line is split on
 * its first four tabs (the JSON may hold tabs as whitespace). Checked:
 * type, key and last-modified are not empty; key is valid UTF-8; type and
 * last-modified are printable ASCII; revision is 1..19 digits; the record
 * is one JSON object (json_scan.h rules). No global state: any thread may
 * call it.
 */
#ifndef TOOLS_PARSE_OL_H
#define TOOLS_PARSE_OL_H

#include <stddef.h>

#include "tools/json_scan.h"

struct ol_line {
	struct json_span type, key, revision, modified, json; /* columns */
	struct json_span member; /* value of the field asked for, if any */
};

/* Parse line[0..len) (without its newline). With `field` not NULL,
 * `out->member` gets the value of the record's top-level member
 * field[0..flen) ({NULL, 0} if absent). 0, or -EINVAL with a message that
 * names the column. */
int parse_ol_line(const char *line, size_t len, const char *field, size_t flen,
		  struct ol_line *out);

#endif
