/* fuzz_lines.c - the input line parsers of `hamt build` (tools/parse_tsv,
 * parse_jsonl, parse_ol, and input_parse_line over them).
 *
 * The first byte chooses the format (tsv, jsonl, ol), the codec (raw or
 * DAG-CBOR) and whether a --key field ("isbn_13", "k" or "key") is asked
 * for; the rest is one line. Invariants:
 *  - every parser returns 0 or an error with a message, never anything
 *    else, and never reads outside the line (ASan);
 *  - an accepted line gives a record and keys such that: a raw record is a
 *    piece of the line itself (its exact bytes); a DAG-CBOR record is
 *    canonical DAG-CBOR; every key is valid UTF-8;
 *  - the split of the low-level parsers agrees with the columns: a tsv key
 *    holds no tab and key + tab + value is the line; an ol line's five
 *    columns are in order within the line;
 *  - the same line parses the same way twice (no hidden state).
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "hamt/buf.h"
#include "hamt/cid.h"
#include "hamt/dagcbor.h"
#include "tools/input.h"
#include "tools/parse_jsonl.h"
#include "tools/parse_ol.h"
#include "tools/parse_tsv.h"

static const char *const fields[] = {NULL, "isbn_13", "k", "key"};

static int within(const char *line, size_t len, const char *p, size_t n)
{
	return n == 0 || (p >= line && p + n <= line + len);
}

static void check_low_level(enum input_format f, const char *line, size_t len,
			    const char *field)
{
	size_t flen = field ? strlen(field) : 0;
	if (f == INPUT_TSV) {
		struct tsv_line t;
		if (parse_tsv_line(line, len, &t) == 0) {
			FUZZ_CHECK(within(line, len, t.key, t.klen));
			FUZZ_CHECK(!memchr(t.key, '\t', t.klen));
			FUZZ_CHECK(t.klen + 1 + t.vlen == len);
			FUZZ_CHECK(t.key == line && t.val == line + t.klen + 1);
		}
	} else if (f == INPUT_OL) {
		struct ol_line o;
		if (parse_ol_line(line, len, field, flen, &o) == 0) {
			const struct json_span *c[5] = {
			    &o.type, &o.key, &o.revision, &o.modified, &o.json};
			for (int i = 0; i < 5; i++) {
				FUZZ_CHECK(
				    within(line, len, c[i]->p, c[i]->len));
				if (i > 0)
					FUZZ_CHECK(c[i]->p >=
						   c[i - 1]->p + c[i - 1]->len);
			}
			FUZZ_CHECK(o.key.len > 0 && o.type.len > 0);
			FUZZ_CHECK(within(line, len, o.member.p, o.member.len));
		}
	} else {
		struct buf k = {0}, v = {0};
		int rc = parse_jsonl_line(line, len, &k, &v);
		FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
		if (rc == 0)
			FUZZ_CHECK(input_utf8_valid(k.data, k.len));
		buf_free(&k);
		buf_free(&v);
		struct json_span m;
		rc = parse_jsonl_record(line, len, field, flen, &m);
		FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
		if (rc == 0)
			FUZZ_CHECK(within(line, len, m.p, m.len));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const char *line = (const char *)data + 1;
	size_t len = size - 1;
	struct input_opts o = {0};
	o.format = (enum input_format)(sel % 3);
	o.codec = (sel >> 2) & 1 ? CODEC_DAG_CBOR : CODEC_RAW;
	const char *field = fields[(sel >> 3) & 3];
	/* tsv takes no --key; jsonl with the raw codec needs one */
	if (o.format == INPUT_TSV)
		field = NULL;
	if (o.format == INPUT_JSONL && o.codec == CODEC_RAW && !field)
		field = "key";
	o.key_field = field;
	o.key_field_len = field ? strlen(field) : 0;

	check_low_level(o.format, line, len, field);

	struct input_scratch s1 = {0}, s2 = {0};
	struct input_rec r1, r2;
	err_clear();
	int rc1 = input_parse_line(&o, line, len, &s1, &r1);
	int rc2 = input_parse_line(&o, line, len, &s2, &r2);
	FUZZ_CHECK(rc1 == rc2);
	FUZZ_CHECK(rc1 == 0 || rc1 == -EINVAL || rc1 == -ENOMEM);
	if (rc1)
		FUZZ_CHECK(err_msg()[0] != '\0');
	if (rc1 == 0) {
		FUZZ_CHECK(r1.len == r2.len && r1.nkeys == r2.nkeys);
		FUZZ_CHECK(r1.len == 0 || !memcmp(r1.data, r2.data, r1.len));
		if (o.codec == CODEC_DAG_CBOR)
			FUZZ_CHECK(dagcbor_validate(r1.data, r1.len) == 0);
		else
			FUZZ_CHECK(
			    within(line, len, (const char *)r1.data, r1.len));
		for (size_t i = 0; i < r1.nkeys; i++) {
			FUZZ_CHECK(
			    input_utf8_valid(r1.keys[i].p, r1.keys[i].len));
			FUZZ_CHECK(r1.keys[i].len == r2.keys[i].len &&
				   (r1.keys[i].len == 0 ||
				    !memcmp(r1.keys[i].p, r2.keys[i].p,
					    r1.keys[i].len)));
		}
	}
	input_scratch_free(&s1);
	input_scratch_free(&s2);
	return 0;
}
