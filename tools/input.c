#include "tools/input.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/dagjson.h"
#include "hamt/err.h"

int input_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

int input_tsv_line(const char *line, size_t len, const char **key, size_t *klen,
		   const char **val, size_t *vlen)
{
	const char *tab = memchr(line, '\t', len);
	if (!tab)
		return err_set(-EINVAL, "no tab between key and value");
	*key = line;
	*klen = (size_t)(tab - line);
	*val = tab + 1;
	*vlen = len - *klen - 1;
	if (!input_utf8_valid((const uint8_t *)*key, *klen))
		return err_set(-EINVAL, "key is not valid UTF-8");
	if (!input_utf8_valid((const uint8_t *)*val, *vlen))
		return err_set(-EINVAL, "value is not valid UTF-8");
	return 0;
}

int input_jsonl_line(const char *line, size_t len, struct buf *key,
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
