/* fuzz_names.c - the file-name <-> key mapping (hamt/names.c).
 *
 * Every input is tried both ways:
 *  - as a file name: name_to_key() either refuses it or gives a key whose
 *    name (name_from_key) is exactly the input: unescape -> escape is the
 *    identity on accepted names, so no two names open the same key. A
 *    shortened name ("...%~HEX") gives its hash bytes back and a prefix
 *    that escapes to the name's own prefix.
 *  - as a key (hashed with sha2-256 and with murmur3): its name is a valid
 *    file name (1..255 bytes, no '/' or NUL, not "." or ".."), and
 *    name_to_key gives the key back, or for a shortened name a prefix of
 *    the key and the first bytes of its hash.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "hamt/buf.h"
#include "hamt/cid.h"
#include "hamt/hash.h"
#include "hamt/names.h"

static void fuzz_name(const uint8_t *data, size_t size)
{
	struct buf key = {0};
	uint8_t hash[NAME_HASH_BYTES];
	size_t hlen = 0;
	int rc = name_to_key((const char *)data, size, &key, hash, &hlen);
	FUZZ_CHECK(rc == 0 || rc == 1 || rc == -EINVAL || rc == -ENAMETOOLONG);
	if (rc == -ENAMETOOLONG)
		FUZZ_CHECK(size > NAME_MAX_BYTES);
	if (rc < 0)
		goto out;
	FUZZ_CHECK(size >= 1 && size <= NAME_MAX_BYTES);
	FUZZ_CHECK(memchr(data, '/', size) == NULL);
	FUZZ_CHECK(memchr(data, 0, size) == NULL);
	FUZZ_CHECK(key.len <= size);
	char name[NAME_MAX_BYTES + 1];
	if (rc == 0) {
		/* a plain name is never shortened: escaping only grows */
		size_t n = name_from_key(key.data, key.len, NULL, 0, name);
		FUZZ_CHECK(n == size && memcmp(name, data, size) == 0);
		goto out;
	}
	/* shortened: PREFIX "%~" HEX, with hlen bytes of hash */
	size_t mark = strlen(NAME_MARKER);
	FUZZ_CHECK(hlen >= 1 && hlen <= NAME_HASH_BYTES);
	FUZZ_CHECK(size >= mark + 2 * hlen);
	size_t plen = size - mark - 2 * hlen;
	FUZZ_CHECK(memcmp(data + plen, NAME_MARKER, mark) == 0);
	for (size_t i = 0; i < hlen; i++) {
		static const char hex[] = "0123456789abcdef";
		uint8_t hi = data[plen + mark + 2 * i];
		uint8_t lo = data[plen + mark + 2 * i + 1];
		FUZZ_CHECK((hi | 0x20) == hex[hash[i] >> 4]);
		FUZZ_CHECK((lo | 0x20) == hex[hash[i] & 15]);
	}
	/* the prefix escapes back to itself, except the one-byte and
	 * two-byte keys "." and "..", which are escaped only as whole keys */
	int dots = (key.len == 1 && key.data[0] == '.') ||
		   (key.len == 2 && key.data[0] == '.' && key.data[1] == '.');
	if (key.len > 0 && !dots) {
		size_t n = name_from_key(key.data, key.len, NULL, 0, name);
		FUZZ_CHECK(n == plen && memcmp(name, data, plen) == 0);
	} else {
		FUZZ_CHECK(key.len == 0 ? plen == 0 : plen == key.len);
	}
out:
	buf_free(&key);
}

static void fuzz_key(uint64_t alg, const uint8_t *data, size_t size)
{
	uint8_t hash[HASH_MAX_BYTES];
	size_t hl = 0;
	char name[NAME_MAX_BYTES + 1];
	FUZZ_CHECK(hash_key(alg, data, size, hash, &hl) == 0);
	size_t n = name_from_key(data, size, hash, hl, name);
	FUZZ_CHECK(n >= 1 && n <= NAME_MAX_BYTES && name[n] == '\0');
	FUZZ_CHECK(strlen(name) == n && !memchr(name, '/', n));
	FUZZ_CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
	FUZZ_CHECK(name_of_key(alg, data, size, name) == (int)n);
	struct buf back = {0};
	uint8_t h2[NAME_HASH_BYTES];
	size_t h2len = 0;
	int rc = name_to_key(name, n, &back, h2, &h2len);
	FUZZ_CHECK(rc == 0 || rc == 1);
	if (rc == 0) {
		FUZZ_CHECK(back.len == size &&
			   (size == 0 || memcmp(back.data, data, size) == 0));
	} else {
		size_t want = hl < NAME_HASH_BYTES ? hl : NAME_HASH_BYTES;
		FUZZ_CHECK(h2len == want && memcmp(h2, hash, want) == 0);
		FUZZ_CHECK(back.len < size);
		FUZZ_CHECK(back.len == 0 ||
			   memcmp(back.data, data, back.len) == 0);
		/* shortened only when the full name would not fit */
		size_t full = 0;
		for (size_t i = 0; i < size; i++)
			full +=
			    (data[i] == '/' || data[i] == '%' || data[i] == 0)
				? 3
				: 1;
		FUZZ_CHECK(full > NAME_MAX_BYTES);
	}
	buf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_name(data, size);
	fuzz_key(MH_SHA2_256, data, size);
	fuzz_key(MH_MURMUR3_X64_64, data, size);
	return 0;
}
