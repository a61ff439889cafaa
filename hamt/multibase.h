/* multibase.h - the base encodings hamtfs needs: base32 (RFC 4648 lower
 * case, no padding; multibase prefix 'b'), base58btc (bitcoin alphabet;
 * prefix 'z', and bare for CIDv0 "Qm..."), base64 (RFC 4648 standard
 * alphabet, no padding, as DAG-JSON bytes use).
 *
 * Encoders write a NUL-terminated string without a multibase prefix into
 * `out` of capacity `cap` and return 0, or -ENOSPC if it does not fit.
 * Decoders write into `out` of capacity `cap`, store the length in `*outlen`
 * and return 0; -EINVAL (message set) for a character outside the alphabet
 * or impossible length, -ENOSPC if the result does not fit.
 */
#ifndef HAMT_MULTIBASE_H
#define HAMT_MULTIBASE_H

#include <stddef.h>
#include <stdint.h>

/* Characters (without NUL) the encoders produce for `n` input bytes. */
size_t base32_encoded_len(size_t n);
size_t base64_encoded_len(size_t n);

int base32_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Accepts lower or upper case, no padding. */
int base32_decode(const char *in, size_t n, uint8_t *out, size_t cap,
		  size_t *outlen);

int base58btc_encode(const uint8_t *in, size_t n, char *out, size_t cap);
int base58btc_decode(const char *in, size_t n, uint8_t *out, size_t cap,
		     size_t *outlen);

int base64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Accepts input with or without '=' padding. */
int base64_decode(const char *in, size_t n, uint8_t *out, size_t cap,
		  size_t *outlen);

#endif
