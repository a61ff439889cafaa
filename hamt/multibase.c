/* multibase.c - base32 (RFC 4648, no padding), base58btc, base64 (RFC 4648
 * standard alphabet).
 *
 * Decoders are strict so that every byte string has exactly one accepted
 * text form: a length that cannot come from the encoder, or unused trailing
 * bits that are not zero, is -EINVAL (as the JS multiformats codecs do).
 */
#include "multibase.h"

#include <errno.h>
#include <string.h>

#include "err.h"

static const char b32_alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b58_alpha[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- base32 ---- */

size_t base32_encoded_len(size_t n)
{
	/* ceil(n * 8 / 5) without overflowing n * 8 */
	return (n / 5) * 8 + ((n % 5) * 8 + 4) / 5;
}

int base32_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t need = base32_encoded_len(n);
	if (need >= cap)
		return err_set(
		    -ENOSPC, "base32 encode: %zu characters do not fit in %zu",
		    need, cap);
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alpha[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32_alpha[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

static int b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int base32_decode(const char *in, size_t n, uint8_t *out, size_t cap,
		  size_t *outlen)
{
	size_t rem = n % 8;
	if (rem == 1 || rem == 3 || rem == 6)
		return err_set(-EINVAL, "base32 decode: impossible length %zu",
			       n);
	size_t need = (n / 8) * 5 + (rem * 5) / 8;
	if (need > cap)
		return err_set(-ENOSPC,
			       "base32 decode: %zu bytes do not fit in %zu",
			       need, cap);
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b32_value(in[i]);
		if (v < 0)
			return err_set(-EINVAL,
				       "base32 decode: bad character 0x%02x "
				       "at offset %zu",
				       (unsigned char)in[i], i);
		acc = ((acc << 5) | (uint32_t)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return err_set(-EINVAL,
			       "base32 decode: non-zero trailing bits");
	*outlen = o;
	return 0;
}

/* ---- base58btc ---- */

int base58btc_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	if (cap == 0)
		return err_set(-ENOSPC, "base58btc encode: no room");
	size_t zeros = 0;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	if (zeros >= cap)
		goto nospc;
	/* Base-58 digits, least significant first, are built in
	 * out[zeros..zeros+ndig); then reversed and mapped to characters. */
	uint8_t *dig = (uint8_t *)out + zeros;
	size_t room = cap - 1 - zeros; /* digits that fit besides the NUL */
	size_t ndig = 0;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = in[i];
		for (size_t j = 0; j < ndig; j++) {
			carry += (unsigned)dig[j] << 8;
			dig[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry > 0) {
			if (ndig >= room)
				goto nospc;
			dig[ndig++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	for (size_t j = 0; j < ndig / 2; j++) {
		uint8_t t = dig[j];
		dig[j] = dig[ndig - 1 - j];
		dig[ndig - 1 - j] = t;
	}
	for (size_t j = 0; j < ndig; j++)
		dig[j] = (uint8_t)b58_alpha[dig[j]];
	memset(out, '1', zeros);
	out[zeros + ndig] = '\0';
	return 0;
nospc:
	return err_set(-ENOSPC,
		       "base58btc encode: %zu bytes do not fit in %zu "
		       "characters",
		       n, cap);
}

static int b58_value(char c)
{
	const char *p = c ? strchr(b58_alpha, c) : NULL;
	return p ? (int)(p - b58_alpha) : -1;
}

int base58btc_decode(const char *in, size_t n, uint8_t *out, size_t cap,
		     size_t *outlen)
{
	for (size_t i = 0; i < n; i++) {
		if (b58_value(in[i]) < 0)
			return err_set(-EINVAL,
				       "base58btc decode: bad character 0x%02x "
				       "at offset %zu",
				       (unsigned char)in[i], i);
	}
	size_t zeros = 0;
	while (zeros < n && in[zeros] == '1')
		zeros++;
	if (zeros > cap)
		goto nospc;
	/* Bytes, least significant first, built in out[zeros..). */
	uint8_t *acc = out + zeros;
	size_t room = cap - zeros;
	size_t nb = 0;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = (unsigned)b58_value(in[i]);
		for (size_t j = 0; j < nb; j++) {
			carry += (unsigned)acc[j] * 58;
			acc[j] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		while (carry > 0) {
			if (nb >= room)
				goto nospc;
			acc[nb++] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
	}
	for (size_t j = 0; j < nb / 2; j++) {
		uint8_t t = acc[j];
		acc[j] = acc[nb - 1 - j];
		acc[nb - 1 - j] = t;
	}
	memset(out, 0, zeros);
	*outlen = zeros + nb;
	return 0;
nospc:
	return err_set(-ENOSPC,
		       "base58btc decode: %zu characters do not fit in %zu "
		       "bytes",
		       n, cap);
}

/* ---- base64 ---- */

size_t base64_encoded_len(size_t n)
{
	/* ceil(n * 4 / 3) without overflowing n * 4 */
	return (n / 3) * 4 + ((n % 3) * 4 + 2) / 3;
}

int base64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t need = base64_encoded_len(n);
	if (need >= cap)
		return err_set(
		    -ENOSPC, "base64 encode: %zu characters do not fit in %zu",
		    need, cap);
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = ((acc << 8) | in[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64_alpha[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64_alpha[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
		  size_t *outlen)
{
	if (n > 0 && in[n - 1] == '=') {
		/* padded: a whole number of quads, at most two '=' */
		if (n % 4 != 0)
			return err_set(-EINVAL,
				       "base64 decode: padded length %zu is "
				       "not a multiple of 4",
				       n);
		n--;
		if (in[n - 1] == '=')
			n--;
	}
	size_t rem = n % 4;
	if (rem == 1)
		return err_set(-EINVAL, "base64 decode: impossible length %zu",
			       n);
	size_t need = (n / 4) * 3 + (rem * 3) / 4;
	if (need > cap)
		return err_set(-ENOSPC,
			       "base64 decode: %zu bytes do not fit in %zu",
			       need, cap);
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return err_set(-EINVAL,
				       "base64 decode: bad character 0x%02x "
				       "at offset %zu",
				       (unsigned char)in[i], i);
		acc = ((acc << 6) | (uint32_t)v) & 0xffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return err_set(-EINVAL,
			       "base64 decode: non-zero trailing bits");
	*outlen = o;
	return 0;
}
