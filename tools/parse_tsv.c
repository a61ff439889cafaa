/* parse_tsv.c - "key<TAB>value" lines. */
#include "tools/parse_tsv.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hamt/err.h"
#include "tools/input.h"

int parse_tsv_line(const char *line, size_t len, struct tsv_line *out)
{
	const char *tab = memchr(line, '\t', len);
	if (!tab)
		return err_set(-EINVAL, "no tab between key and value");
	/* an editor's byte order mark, which would become an invisible
	 * first character of the key */
	if (input_has_bom(line, len))
		return err_set(-EINVAL,
			       "the key starts with a UTF-8 byte order mark "
			       "(bytes EF BB BF, invisible in a file name); "
			       "remove it, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' "
			       "FILE (a key that is meant to start with U+FEFF "
			       "can be given in jsonl)");
	out->key = line;
	out->klen = (size_t)(tab - line);
	out->val = tab + 1;
	out->vlen = len - out->klen - 1;
	if (!input_utf8_valid((const uint8_t *)out->key, out->klen))
		return err_set(-EINVAL, "key is not valid UTF-8");
	if (!input_utf8_valid((const uint8_t *)out->val, out->vlen))
		return err_set(-EINVAL, "value is not valid UTF-8");
	return 0;
}
