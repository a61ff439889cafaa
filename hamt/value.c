/* value.c - a value's file contents (DESIGN.md "Values"). */
#include <cbor.h>
#include <errno.h>
#include <stdlib.h>

#include "hamt/dagcbor.h"
#include "hamt/dagjson.h"
#include "hamt/err.h"
#include "hamt/hamt.h"

int hamt_value_encode_link(const struct cid *c, struct buf *out)
{
	uint8_t raw[CID_MAX_BYTES + 1];
	unsigned char head[9];
	raw[0] = 0;
	size_t n = cid_to_bytes(c, raw + 1) + 1;
	size_t h = cbor_encode_tag(42, head, sizeof(head));
	int rc = buf_append(out, head, h);
	if (!rc) {
		h = cbor_encode_bytestring_start(n, head, sizeof(head));
		rc = buf_append(out, head, h);
	}
	return rc ? rc : buf_append(out, raw, n);
}

int hamt_value_encode_bytes(const uint8_t *p, size_t n, struct buf *out)
{
	unsigned char head[9];
	size_t h = cbor_encode_bytestring_start(n, head, sizeof(head));
	int rc = buf_append(out, head, h);
	return rc ? rc : buf_append(out, p, n);
}

int hamt_value_link(const uint8_t *val, size_t vlen, struct cid *out)
{
	/* a link is tag 42 (0xd8 0x2a) around a byte string */
	if (vlen < 3 || val[0] != 0xd8 || val[1] != 0x2a)
		return 0;
	cbor_item_t *it = NULL;
	int rc = dagcbor_decode(val, vlen, &it);
	if (rc)
		return rc;
	rc = dagcbor_item_link(it, out);
	cbor_decref(&it);
	return rc;
}

int hamt_value_render(struct store *s, const uint8_t *val, size_t vlen,
		      struct buf *out)
{
	struct cid c;
	int rc = hamt_value_link(val, vlen, &c);
	if (rc < 0)
		return rc;
	if (rc == 1 && (c.codec == CODEC_RAW || c.codec == CODEC_DAG_CBOR ||
			c.codec == CODEC_DAG_JSON)) {
		uint8_t *data = NULL;
		size_t len = 0;
		rc = store_get(s, &c, &data, &len);
		if (rc == -ENOENT) {
			/* the map links it: a broken map, not an absent key */
			char txt[CID_MAX_TEXT];
			return err_set(-EIO,
				       "value block %s: missing from the store",
				       cid_format(&c, txt));
		}
		if (rc)
			return rc;
		if (c.codec == CODEC_DAG_CBOR) {
			rc = dagjson_from_dagcbor(data, len, out);
			if (rc) {
				char txt[CID_MAX_TEXT];
				err_wrap(rc, "value block %s",
					 cid_format(&c, txt));
			}
		} else
			rc = buf_append(out, data, len);
		free(data);
		return rc;
	}
	if (rc == 0 && vlen > 0 && ((val[0] >> 5) == 2 || (val[0] >> 5) == 3)) {
		/* inline bytes or string: the payload itself */
		cbor_item_t *it = NULL;
		rc = dagcbor_decode(val, vlen, &it);
		if (rc)
			return rc;
		if (cbor_isa_bytestring(it))
			rc = buf_append(out, cbor_bytestring_handle(it),
					cbor_bytestring_length(it));
		else
			rc = buf_append(out, cbor_string_handle(it),
					cbor_string_length(it));
		cbor_decref(&it);
		return rc;
	}
	/* any other inline value, or a link to another codec */
	return dagjson_from_dagcbor(val, vlen, out);
}
