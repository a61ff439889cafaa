/* hash.h - hashing through libcrypto (sha2-256) and murmur3.
 *
 * sha2-256 uses an EVP_MD fetched once per process and an EVP_MD_CTX kept
 * per thread, so it is safe from any thread and fast for small inputs.
 */
#ifndef HAMT_HASH_H
#define HAMT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_MAX_BYTES 32

/* sha2-256 of data into out[32]. Aborts only if libcrypto cannot provide
 * SHA-256 at all (a broken installation). */
void hash_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/* murmur3-x64-64 as multicodec 0x22 defines it for IPLD HashMaps: the first
 * 64 bits (h1, written big-endian) of MurmurHash3_x64_128 with seed 0. */
void hash_murmur3_x64_64(const uint8_t *data, size_t len, uint8_t out[8]);

/* Hash a HAMT key with the multihash function `alg` (0x12 or 0x22) into
 * `out` (room for HASH_MAX_BYTES); `*outlen` gets the digest length.
 * 0, or -ENOTSUP with a message for another `alg`. */
int hash_key(uint64_t alg, const uint8_t *key, size_t len, uint8_t *out,
	     size_t *outlen);

#endif
