/* input.h - parsing the record files `hamt build` reads.
 *
 * tsv:   one "key<TAB>value" per line, split on the first tab; both UTF-8.
 * jsonl: one JSON object per line: {"key": "<string>", "value": <any>}.
 * Empty lines (and a final line without '\n') are accepted; a line ending
 * in "\r\n" loses the '\r'.
 */
#ifndef TOOLS_INPUT_H
#define TOOLS_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/buf.h"

enum input_format { INPUT_TSV, INPUT_JSONL };

/* Parse one tsv line (without its newline): key and value point into
 * `line`. -EINVAL with a message if there is no tab or the key or value is
 * not valid UTF-8. */
int input_tsv_line(const char *line, size_t len, const char **key, size_t *klen,
		   const char **val, size_t *vlen);

/* Parse one jsonl line: appends the key bytes to `key` and the DAG-CBOR of
 * the value to `val`. -EINVAL with a message on bad JSON or a missing or
 * non-string "key" or a missing "value". */
int input_jsonl_line(const char *line, size_t len, struct buf *key,
		     struct buf *val);

/* 1 if p[0..n) is valid UTF-8, else 0. */
int input_utf8_valid(const uint8_t *p, size_t n);

#endif
