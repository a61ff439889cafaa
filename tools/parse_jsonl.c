/* parse_jsonl.c - jsonl lines: envelopes (jansson) and records (scanner). */
#include "tools/parse_jsonl.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/dagjson.h"
#include "hamt/err.h"

int parse_jsonl_line(const char *line, size_t len, struct buf *key,
		     struct buf *val)
{
	json_error_t jerr;
	json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	char *text = NULL;
	int rc = 0;
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
	int rc = json_scan(line, len, field, flen, &kind, member);
	if (rc)
		return rc;
	if (kind != JSON_KIND_OBJECT)
		return err_set(-EINVAL, "expected a JSON object");
	return 0;
}
