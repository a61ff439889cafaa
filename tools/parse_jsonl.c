/* parse_jsonl.c - jsonl lines: envelopes (jansson) and records (scanner). */
#include "tools/parse_jsonl.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/dagjson.h"
#include "hamt/err.h"
#include "tools/input.h"

/* A UTF-8 byte order mark, which some editors put at the start of a file:
 * JSON allows none, and it is invisible in the parser's message. */
static int bom_error(const char *line, size_t len)
{
	if (!input_has_bom(line, len))
		return 0;
	return err_set(-EINVAL,
		       "the line starts with a UTF-8 byte order mark "
		       "(bytes EF BB BF), which JSON does not allow; "
		       "remove it, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' "
		       "FILE");
}

int parse_jsonl_line(const char *line, size_t len, struct buf *key,
		     struct buf *val)
{
	json_error_t jerr;
	char *text = NULL;
	int rc = bom_error(line, len);
	if (rc)
		return rc;
	json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	if (!obj)
		return err_set(-EINVAL, "bad JSON at column %d: %s",
			       jerr.column, jerr.text);
	json_t *k = json_object_get(obj, "key");
	json_t *v = json_object_get(obj, "value");
	if (!json_is_object(obj) || !json_is_string(k) || !v) {
		rc = err_set(-EINVAL, "expected {\"key\": \"<string>\", "
				      "\"value\": <any>}");
		goto out;
	}
	rc = buf_append(key, json_string_value(k), json_string_length(k));
	if (rc)
		goto out;
	text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT |
				 JSON_REAL_PRECISION(17));
	if (!text) {
		rc = err_set(-ENOMEM, "out of memory re-reading a value");
		goto out;
	}
	rc = dagjson_json_to_dagcbor(text, strlen(text), val);
out:
	free(text);
	json_decref(obj);
	return rc;
}

int parse_jsonl_record(const char *line, size_t len, const char *field,
		       size_t flen, struct json_span *member)
{
	enum json_kind kind = JSON_KIND_LITERAL;
	int rc = bom_error(line, len);
	if (!rc)
		rc = json_scan(line, len, field, flen, &kind, member);
	if (rc)
		return rc;
	if (kind != JSON_KIND_OBJECT)
		return err_set(-EINVAL, "expected a JSON object");
	return 0;
}
