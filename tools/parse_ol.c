/* parse_ol.c - Open Library dump lines. */
#include "tools/parse_ol.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hamt/err.h"
#include "tools/input.h"

static int printable(const struct json_span *s)
{
	for (size_t i = 0; i < s->len; i++)
		if ((unsigned char)s->p[i] < 0x20 ||
		    (unsigned char)s->p[i] > 0x7e)
			return 0;
	return 1;
}

int parse_ol_line(const char *line, size_t len, const char *field, size_t flen,
		  struct ol_line *out)
{
	struct json_span *col[4] = {&out->type, &out->key, &out->revision,
				    &out->modified};
	const char *p = line, *end = line + len;
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < 4; c++) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		if (!tab)
			return err_set(-EINVAL,
				       "expected 5 tab-separated columns "
				       "(type, key, revision, last-modified, "
				       "JSON), found %d",
				       c + 1);
		*col[c] = (struct json_span){p, (size_t)(tab - p)};
		p = tab + 1;
	}
	out->json = (struct json_span){p, (size_t)(end - p)};
	if (out->type.len == 0 || !printable(&out->type))
		return err_set(-EINVAL, "column 1 (type) is empty or not "
					"printable ASCII");
	if (out->key.len == 0)
		return err_set(-EINVAL, "column 2 (key) is empty");
	if (!input_utf8_valid((const uint8_t *)out->key.p, out->key.len))
		return err_set(-EINVAL, "column 2 (key) is not valid UTF-8");
	if (out->revision.len == 0 || out->revision.len > 19)
		return err_set(-EINVAL, "column 3 (revision) is not a number");
	for (size_t i = 0; i < out->revision.len; i++)
		if (out->revision.p[i] < '0' || out->revision.p[i] > '9')
			return err_set(-EINVAL,
				       "column 3 (revision) is not a number");
	if (out->modified.len == 0 || !printable(&out->modified))
		return err_set(-EINVAL, "column 4 (last-modified) is empty or "
					"not printable ASCII");
	enum json_kind kind = JSON_KIND_LITERAL;
	int rc = json_scan(out->json.p, out->json.len, field, flen, &kind,
			   field ? &out->member : NULL);
	if (rc)
		return err_wrap(rc, "column 5 (JSON record)");
	if (kind != JSON_KIND_OBJECT)
		return err_set(-EINVAL,
			       "column 5 (JSON record) is not a JSON object");
	return 0;
}
