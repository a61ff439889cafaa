#include "hamt/names.h"

#include <errno.h>
#include <string.h>

#include "hamt/err.h"
#include "hamt/hash.h"

static const char HEX[] = "0123456789ABCDEF";

static int needs_escape(const uint8_t *key, size_t klen, size_t i)
{
	uint8_t c = key[i];
	if (c == '/' || c == '%' || c == 0)
		return 1;
	/* the leading '.' of "." and ".." */
	if (i == 0 && c == '.' && (klen == 1 || (klen == 2 && key[1] == '.')))
		return 1;
	return 0;
}

size_t name_from_key(const uint8_t *key, size_t klen, const uint8_t *hash,
		     size_t hlen, char *out)
{
	if (klen == 0) {
		out[0] = '%';
		out[1] = 0;
		return 1;
	}
	size_t hbytes = hlen < NAME_HASH_BYTES ? hlen : NAME_HASH_BYTES;
	size_t tail = strlen(NAME_MARKER) + 2 * hbytes;
	size_t limit = NAME_MAX_BYTES;
	size_t n = 0;
	for (size_t i = 0; i < klen; i++) {
		int esc = needs_escape(key, klen, i);
		size_t w = esc ? 3 : 1;
		if (n + w > limit) {
			/* too long: restart as a shortened name */
			limit = NAME_MAX_BYTES - tail;
			n = 0;
			for (size_t j = 0; j < klen; j++) {
				int e2 = needs_escape(key, klen, j);
				/* never end inside a UTF-8 sequence */
				size_t seq = 1;
				if (!e2 && key[j] >= 0xC0) {
					while (j + seq < klen &&
					       (key[j + seq] & 0xC0) == 0x80)
						seq++;
				}
				if (n + (e2 ? 3 : seq) > limit)
					break;
				if (e2) {
					out[n++] = '%';
					out[n++] = HEX[key[j] >> 4];
					out[n++] = HEX[key[j] & 15];
				} else {
					memcpy(out + n, key + j, seq);
					n += seq;
					j += seq - 1;
				}
			}
			memcpy(out + n, NAME_MARKER, strlen(NAME_MARKER));
			n += strlen(NAME_MARKER);
			for (size_t k = 0; k < hbytes; k++) {
				out[n++] = (char)(HEX[hash[k] >> 4] | 0x20);
				out[n++] = (char)(HEX[hash[k] & 15] | 0x20);
			}
			out[n] = 0;
			return n;
		}
		if (esc) {
			out[n++] = '%';
			out[n++] = HEX[key[i] >> 4];
			out[n++] = HEX[key[i] & 15];
		} else {
			out[n++] = (char)key[i];
		}
	}
	out[n] = 0;
	return n;
}

int name_of_key(uint64_t alg, const uint8_t *key, size_t klen, char *out)
{
	uint8_t hash[HASH_MAX_BYTES];
	size_t hl;
	int rc = hash_key(alg, key, klen, hash, &hl);
	if (rc)
		return rc;
	return (int)name_from_key(key, klen, hash, hl, out);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int name_to_key(const char *name, size_t nlen, struct buf *key, uint8_t *hash,
		size_t *hlen)
{
	if (nlen > NAME_MAX_BYTES)
		return err_set(-ENAMETOOLONG, "name is %zu bytes, over %d",
			       nlen, NAME_MAX_BYTES);
	if (nlen == 0)
		return err_set(-EINVAL, "empty name");
	if (nlen == 1 && name[0] == '%')
		return 0; /* the empty key */
	if ((nlen == 1 && name[0] == '.') ||
	    (nlen == 2 && name[0] == '.' && name[1] == '.'))
		return err_set(-EINVAL, "\"%.*s\" is not a key's name",
			       (int)nlen, name);
	size_t start = key->len;
	for (size_t i = 0; i < nlen; i++) {
		char c = name[i];
		if (c == '/' || c == 0)
			return err_set(-EINVAL, "name holds '/' or NUL");
		if (c != '%') {
			int rc = buf_putc(key, (uint8_t)c);
			if (rc)
				return rc;
			continue;
		}
		if (i + 1 < nlen && name[i + 1] == '~') {
			/* shortened: the rest is the hash in hex */
			size_t hx = nlen - i - 2;
			if (hx == 0 || hx % 2 || hx / 2 > NAME_HASH_BYTES)
				return err_set(-EINVAL,
					       "shortened name has a bad hash "
					       "part");
			for (size_t k = 0; k < hx / 2; k++) {
				int hi = hexval(name[i + 2 + 2 * k]);
				int lo = hexval(name[i + 3 + 2 * k]);
				if (hi < 0 || lo < 0)
					return err_set(-EINVAL,
						       "shortened name has a "
						       "bad hash part");
				hash[k] = (uint8_t)(hi << 4 | lo);
			}
			*hlen = hx / 2;
			return 1;
		}
		if (i + 2 >= nlen)
			return err_set(-EINVAL, "name ends inside an escape");
		int hi = hexval(name[i + 1]), lo = hexval(name[i + 2]);
		if (hi < 0 || lo < 0 || name[i + 1] > 'F' || name[i + 2] > 'F')
			return err_set(-EINVAL,
				       "bad escape \"%%%c%c\" in name (use "
				       "upper-case hex)",
				       name[i + 1], name[i + 2]);
		uint8_t b = (uint8_t)(hi << 4 | lo);
		size_t pos = key->len - start;
		int rc = buf_putc(key, b);
		if (rc)
			return rc;
		int is_dot_key = b == '.' && pos == 0 &&
				 (nlen == 3 || (nlen == 4 && name[3] == '.'));
		if (!(b == '/' || b == '%' || b == 0 || is_dot_key))
			return err_set(
			    -EINVAL,
			    "escape %%%c%c in name is not one hamtfs "
			    "makes (only '/', '%%', NUL and the dot "
			    "of \".\"/\"..\" are escaped)",
			    name[i + 1], name[i + 2]);
		i += 2;
	}
	return 0;
}
