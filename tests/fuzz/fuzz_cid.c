/* fuzz_cid.c - the CID parser (binary and text) and the multibase codecs.
 *
 * Every input is tried as a binary CID, as a text CID and as base32,
 * base58btc and base64 text. Invariants:
 *  - binary: an accepted CID re-encodes to exactly the bytes it was read
 *    from (varints are minimal, so there is one encoding);
 *  - text: parse -> format -> parse gives an equal CID and format is a
 *    fixed point; an accepted "b"/"Qm"/"z" text is the canonical encoding
 *    of its bytes (decoders are strict: one text per byte string);
 *  - multibase: decode -> encode gives the input back (base32 in lower
 *    case, base64 without padding).
 */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "hamt/cid.h"
#include "hamt/multibase.h"

#define TEXT_MAX 4096

static void check_formats(const struct cid *c)
{
	char t1[CID_MAX_TEXT], t2[CID_MAX_TEXT];
	struct cid back;
	cid_format(c, t1);
	FUZZ_CHECK(t1[0] != '\0');
	if (c->version == 0)
		FUZZ_CHECK(strlen(t1) == 46 && t1[0] == 'Q' && t1[1] == 'm');
	else
		FUZZ_CHECK(t1[0] == 'b');
	FUZZ_CHECK(cid_parse(&back, t1) == 0);
	FUZZ_CHECK(cid_equal(c, &back));
	FUZZ_CHECK(cid_cmp(c, &back) == 0);
	FUZZ_CHECK(strcmp(cid_format(&back, t2), t1) == 0);
}

static void fuzz_binary(const uint8_t *data, size_t size)
{
	struct cid c;
	size_t used = 0;
	if (cid_from_bytes(&c, data, size, &used) != 0)
		return;
	FUZZ_CHECK(used > 0 && used <= size && used <= CID_MAX_BYTES);
	FUZZ_CHECK(c.version <= 1 && c.digest_len <= CID_MAX_DIGEST);
	uint8_t bin[CID_MAX_BYTES];
	size_t n = cid_to_bytes(&c, bin);
	FUZZ_CHECK(n == used && memcmp(bin, data, n) == 0);
	check_formats(&c);
}

static void fuzz_text(const char *text)
{
	struct cid c;
	if (cid_parse(&c, text) != 0)
		return;
	check_formats(&c);
	/* the text is the one encoding of the CID's bytes in its base */
	uint8_t bin[CID_MAX_BYTES];
	char enc[CID_MAX_TEXT];
	size_t n = cid_to_bytes(&c, bin), len = strlen(text);
	if (text[0] == 'b' || text[0] == 'B') {
		FUZZ_CHECK(base32_encode(bin, n, enc, sizeof(enc)) == 0);
		FUZZ_CHECK(strlen(enc) == len - 1);
		for (size_t i = 1; i < len; i++)
			FUZZ_CHECK(tolower((unsigned char)text[i]) ==
				   enc[i - 1]);
	} else if (text[0] == 'z') {
		FUZZ_CHECK(base58btc_encode(bin, n, enc, sizeof(enc)) == 0);
		FUZZ_CHECK(strcmp(enc, text + 1) == 0);
	} else {
		FUZZ_CHECK(c.version == 0);
		FUZZ_CHECK(base58btc_encode(bin, n, enc, sizeof(enc)) == 0);
		FUZZ_CHECK(strcmp(enc, text) == 0);
	}
}

static void fuzz_bases(const char *in, size_t n)
{
	static uint8_t bin[TEXT_MAX];
	static char enc[2 * TEXT_MAX + 8];
	size_t len = 0;
	/* a small output buffer too: -ENOSPC must be clean */
	uint8_t small[8];
	if (base32_decode(in, n, small, sizeof(small), &len) == 0)
		FUZZ_CHECK(len <= sizeof(small));
	if (base32_decode(in, n, bin, sizeof(bin), &len) == 0) {
		FUZZ_CHECK(base32_encode(bin, len, enc, sizeof(enc)) == 0);
		FUZZ_CHECK(strlen(enc) == n && base32_encoded_len(len) == n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(tolower((unsigned char)in[i]) == enc[i]);
	}
	if (base58btc_decode(in, n, small, sizeof(small), &len) == 0)
		FUZZ_CHECK(len <= sizeof(small));
	if (base58btc_decode(in, n, bin, sizeof(bin), &len) == 0) {
		FUZZ_CHECK(base58btc_encode(bin, len, enc, sizeof(enc)) == 0);
		FUZZ_CHECK(strlen(enc) == n && memcmp(enc, in, n) == 0);
	}
	if (base64_decode(in, n, small, sizeof(small), &len) == 0)
		FUZZ_CHECK(len <= sizeof(small));
	if (base64_decode(in, n, bin, sizeof(bin), &len) == 0) {
		size_t m = n;
		while (m > 0 && in[m - 1] == '=')
			m--;
		FUZZ_CHECK(base64_encode(bin, len, enc, sizeof(enc)) == 0);
		FUZZ_CHECK(strlen(enc) == m && memcmp(enc, in, m) == 0);
		FUZZ_CHECK(base64_encoded_len(len) == m);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[TEXT_MAX + 1];
	fuzz_binary(data, size);
	size_t n = size < TEXT_MAX ? size : TEXT_MAX;
	memcpy(text, data, n);
	text[n] = '\0';
	fuzz_text(text);
	fuzz_bases(text, n);
	return 0;
}
