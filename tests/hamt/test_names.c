/* test_names.c - the key <-> file name bijection. */
#include <errno.h>
#include <string.h>

#include "hamt/hash.h"
#include "hamt/names.h"
#include "test.h"

static void roundtrip(const uint8_t *key, size_t klen)
{
	uint8_t hash[32];
	char name[NAME_MAX_BYTES + 1];
	hash_sha256(key, klen, hash);
	size_t n = name_from_key(key, klen, hash, 32, name);
	CHECK(n >= 1 && n <= NAME_MAX_BYTES);
	CHECK(strlen(name) == n); /* no NUL inside */
	CHECK(memchr(name, '/', n) == NULL);
	CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
	struct buf k = {0};
	uint8_t h2[NAME_HASH_BYTES];
	size_t hl = 0;
	int rc = name_to_key(name, n, &k, h2, &hl);
	if (rc == 0) {
		CHECK(k.len == klen &&
		      (klen == 0 || !memcmp(k.data, key, klen)));
	} else {
		/* shortened: prefix of the key's name, and the hash prefix */
		CHECK(rc == 1);
		CHECK(hl == NAME_HASH_BYTES && !memcmp(h2, hash, hl));
		CHECK(k.len < klen && !memcmp(k.data, key, k.len));
	}
	buf_free(&k);
}

static void expect_name(const char *key, size_t klen, const char *want)
{
	uint8_t hash[32] = {0};
	char name[NAME_MAX_BYTES + 1];
	name_from_key((const uint8_t *)key, klen, hash, 32, name);
	CHECK(strcmp(name, want) == 0);
	if (strcmp(name, want))
		fprintf(stderr, "name of key: got '%s' want '%s'\n", name,
			want);
}

static void expect_bad(const char *name)
{
	struct buf k = {0};
	uint8_t h[NAME_HASH_BYTES];
	size_t hl;
	CHECK(name_to_key(name, strlen(name), &k, h, &hl) < 0);
	buf_free(&k);
}

int main(void)
{
	expect_name("plain", 5, "plain");
	expect_name("/works/OL45804W", 15, "%2Fworks%2FOL45804W");
	expect_name("100%", 4, "100%25");
	expect_name(".", 1, "%2E");
	expect_name("..", 2, "%2E.");
	expect_name("...", 3, "...");
	expect_name(".hidden", 7, ".hidden");
	expect_name("a\0b", 3, "a%00b");
	expect_name("", 0, "%");
	expect_name("caf\xc3\xa9 \xe6\x97\xa5", 9, "caf\xc3\xa9 \xe6\x97\xa5");
	expect_bad(".");
	expect_bad("..");
	expect_bad("");
	expect_bad("%41");    /* 'A' is never escaped */
	expect_bad("%2f");    /* lower-case hex is never produced */
	expect_bad("%2");     /* truncated escape */
	expect_bad("%2E%2E"); /* ".." is written "%2E." */
	expect_bad("%~zz");
	const char *keys[] = {"a",     "/",   "%",
			      ".",     "..",  "...",
			      "./x",   "%2F", "\xf0\x9f\x98\x80",
			      "a b\tc"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		roundtrip((const uint8_t *)keys[i], strlen(keys[i]));
	roundtrip((const uint8_t *)"", 0);
	/* long keys: escaped length crosses 255, with escapes and UTF-8 */
	uint8_t big[1024];
	uint64_t rng = 7;
	for (size_t len = 80; len <= 1024; len += 37) {
		for (size_t i = 0; i < len; i++) {
			uint64_t r = test_rand(&rng) % 10;
			big[i] = r == 0	  ? '/'
				 : r == 1 ? '%'
					  : (uint8_t)('a' + r);
		}
		/* a 3-byte UTF-8 character straddling the cut point */
		if (len > 230)
			memcpy(big + 218, "\xe6\x97\xa5", 3);
		roundtrip(big, len);
	}
	/* a 255-byte key with no escapes is shown as it is */
	memset(big, 'x', 255);
	char name[NAME_MAX_BYTES + 1];
	CHECK(name_from_key(big, 255, big, 32, name) == 255);
	CHECK(name_from_key(big, 256, big, 32, name) <= 255);
	CHECK(strstr(name, NAME_MARKER) != NULL);
	return test_summary();
}
