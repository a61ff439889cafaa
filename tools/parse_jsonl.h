/* parse_jsonl.h - one line of a jsonl record file.
 *
 * Two forms:
 *  - the envelope {"key": "<string>", "value": <any JSON>} (the default):
 *    parse_jsonl_line() gives the key bytes and the value as DAG-CBOR;
 *  - a record keyed by one of its own top-level fields (`--key FIELD`):
 *    parse_jsonl_record() checks the line is one JSON object and finds
 *    the field.
 * No global state: any thread may call them.
 */
#ifndef TOOLS_PARSE_JSONL_H
#define TOOLS_PARSE_JSONL_H

#include <stddef.h>

#include "hamt/buf.h"
#include "tools/json_scan.h"

/* Envelope form: appends the key bytes to `key` and the DAG-CBOR of the
 * value to `val`. -EINVAL with a message on bad JSON or a missing or
 * non-string "key" or a missing "value". */
int parse_jsonl_line(const char *line, size_t len, struct buf *key,
		     struct buf *val);

/* Record form: 0 if line[0..len) is one JSON object (json_scan rules);
 * `*member` gets the value of its top-level member field[0..flen), or
 * {NULL, 0} if it has none. -EINVAL with a message otherwise. */
int parse_jsonl_record(const char *line, size_t len, const char *field,
		       size_t flen, struct json_span *member);

#endif
