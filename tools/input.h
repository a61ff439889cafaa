/* input.h - what one line of a record file gives `hamt build`.
 *
 * Formats (each line parser is its own module):
 *   tsv    key<TAB>value (parse_tsv.h)
 *   jsonl  {"key": "...", "value": <any>}, or with a key field each line is
 *          a JSON object record (parse_jsonl.h)
 *   ol     the Open Library dump: type, key, revision, last-modified, JSON
 *          (parse_ol.h)
 * Empty lines are skipped by the caller; a line ending in "\r" loses it.
 *
 * A line gives one record (the bytes of its block, raw or DAG-CBOR) and
 * zero or more keys: the format's key, or the values of a top-level field
 * of a JSON record (json_scan_keys: a string, an integer, or each of those
 * in an array). A record that gives no key is skipped by the caller.
 *
 * Which bytes a record is:
 *   tsv                the value; as DAG-CBOR: the value parsed as JSON
 *   jsonl (envelope)   the value, always DAG-CBOR
 *   jsonl (key field)  the whole line; or the line as DAG-CBOR
 *   ol                 column 5 (the JSON record); or it as DAG-CBOR
 * No global state: any thread may call these with its own scratch.
 */
#ifndef TOOLS_INPUT_H
#define TOOLS_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/buf.h"

enum input_format { INPUT_TSV, INPUT_JSONL, INPUT_OL };

struct input_opts {
	enum input_format format;
	uint64_t codec;	       /* CODEC_RAW or CODEC_DAG_CBOR */
	const char *key_field; /* NULL: the format's own key */
	size_t key_field_len;
};

struct input_key {
	const uint8_t *p;
	size_t len;
};

/* What one line gave. Pointers are into the line or the scratch and stay
 * valid until the next call with the same scratch. */
struct input_rec {
	const uint8_t *data; /* the record's block bytes */
	size_t len;
	const struct input_key *keys;
	size_t nkeys;
	size_t ignored; /* key values of a kind that cannot be a key */
};

/* Per-thread working memory of input_parse_line; zero it before first use.
 */
struct input_scratch {
	struct buf rec, keys, tmp;
	size_t *koff; /* key offsets into `keys`, nkeys + 1 of them */
	size_t kcap;
	struct input_key *kv;
	size_t kvcap;
};

/* Parse one line (without its newline and "\r"). 0, or -EINVAL with a
 * message saying what is wrong (the caller adds the line number);
 * -ENOMEM. */
int input_parse_line(const struct input_opts *o, const char *line, size_t len,
		     struct input_scratch *s, struct input_rec *out);
void input_scratch_free(struct input_scratch *s);

/* 1 if p[0..n) is valid UTF-8 (shortest form, no surrogates, at most
 * U+10FFFF), else 0. */
int input_utf8_valid(const uint8_t *p, size_t n);

/* 1 if line[0..len) starts with a UTF-8 byte order mark (EF BB BF), as
 * some editors begin a file; the parsers refuse it by name. */
int input_has_bom(const char *line, size_t len);

#endif
