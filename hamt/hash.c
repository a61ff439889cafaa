/* hash.c - sha2-256 through libcrypto, and murmur3-x64-64.
 *
 * OpenSSL 3.0 (Debian 12): SHA256_Init/Update/Final on a stack context,
 * the same assembly as EVP without its per-call allocation (EVP_DigestInit
 * frees and remakes the provider context every time): measured here 18M
 * hashes/s of 32-byte keys against 9.5M/s with a reused EVP_MD_CTX, and
 * 4.8M/s of 263-byte records against 3.7M/s. Those functions are marked
 * deprecated in 3.x, hence OPENSSL_SUPPRESS_DEPRECATED; a libcrypto without
 * them (4.x) gets the EVP path:
 *
 * The SHA-256 EVP_MD is fetched once per process (pthread_once). Each thread
 * keeps its own EVP_MD_CTX in a _Thread_local pointer; the same pointer is
 * registered under a pthread key whose destructor frees it when the thread
 * exits, and an atexit() handler frees the one of the thread that calls
 * exit() (key destructors do not run for it).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "hash.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_MAJOR < 4
#include <openssl/sha.h>
#define HASH_LOW_LEVEL 1
#endif

#include "cid.h"
#include "err.h"

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static pthread_key_t sha256_key;
static _Thread_local EVP_MD_CTX *sha256_ctx;

static void sha256_ctx_destroy(void *p)
{
	EVP_MD_CTX_free(p);
}

static void sha256_atexit(void)
{
	if (sha256_ctx) {
		pthread_setspecific(sha256_key, NULL);
		EVP_MD_CTX_free(sha256_ctx);
		sha256_ctx = NULL;
	}
}

static void sha256_init_once(void)
{
	/* Fetching first initialises libcrypto, which registers its own
	 * atexit cleanup; ours, registered after, runs before it. */
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md) {
		fprintf(stderr, "hamtfs: libcrypto cannot provide SHA256\n");
		abort();
	}
	if (pthread_key_create(&sha256_key, sha256_ctx_destroy) != 0) {
		fprintf(stderr, "hamtfs: pthread_key_create failed\n");
		abort();
	}
	atexit(sha256_atexit);
}

static EVP_MD_CTX *sha256_thread_ctx(void)
{
	pthread_once(&sha256_once, sha256_init_once);
	if (!sha256_ctx) {
		sha256_ctx = EVP_MD_CTX_new();
		if (!sha256_ctx) {
			fprintf(stderr, "hamtfs: EVP_MD_CTX_new failed\n");
			abort();
		}
		pthread_setspecific(sha256_key, sha256_ctx);
	}
	return sha256_ctx;
}

void hash_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
#ifdef HASH_LOW_LEVEL
	SHA256_CTX c;
	if (SHA256_Init(&c) == 1 && SHA256_Update(&c, data, len) == 1 &&
	    SHA256_Final(out, &c) == 1)
		return;
		/* (never fails in practice) fall back to EVP */
#endif
	EVP_MD_CTX *ctx = sha256_thread_ctx();
	unsigned int n = 0;
	if (EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32) {
		fprintf(stderr, "hamtfs: SHA256 digest failed\n");
		abort();
	}
}

/* ---- MurmurHash3_x64_128 (Austin Appleby, public domain) ---- */

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return k;
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void murmur3_x64_128(const uint8_t *data, size_t len, uint32_t seed,
			    uint64_t *out1, uint64_t *out2)
{
	const uint64_t c1 = UINT64_C(0x87c37b91114253d5);
	const uint64_t c2 = UINT64_C(0x4cf5ad432745937f);
	uint64_t h1 = seed, h2 = seed;
	size_t nblocks = len / 16;

	for (size_t i = 0; i < nblocks; i++) {
		uint64_t k1 = load_le64(data + i * 16);
		uint64_t k2 = load_le64(data + i * 16 + 8);

		k1 *= c1;
		k1 = rotl64(k1, 31);
		k1 *= c2;
		h1 ^= k1;
		h1 = rotl64(h1, 27);
		h1 += h2;
		h1 = h1 * 5 + 0x52dce729;

		k2 *= c2;
		k2 = rotl64(k2, 33);
		k2 *= c1;
		h2 ^= k2;
		h2 = rotl64(h2, 31);
		h2 += h1;
		h2 = h2 * 5 + 0x38495ab5;
	}

	/* indexes, not a tail pointer: data may be NULL when len is 0 */
	size_t base = nblocks * 16;
	size_t rest = len & 15;
	uint64_t k1 = 0, k2 = 0;
	for (size_t i = rest; i > 8; i--)
		k2 = (k2 << 8) | data[base + i - 1];
	for (size_t i = rest < 8 ? rest : 8; i > 0; i--)
		k1 = (k1 << 8) | data[base + i - 1];
	if (rest > 8) {
		k2 *= c2;
		k2 = rotl64(k2, 33);
		k2 *= c1;
		h2 ^= k2;
	}
	if (rest > 0) {
		k1 *= c1;
		k1 = rotl64(k1, 31);
		k1 *= c2;
		h1 ^= k1;
	}

	h1 ^= (uint64_t)len;
	h2 ^= (uint64_t)len;
	h1 += h2;
	h2 += h1;
	h1 = fmix64(h1);
	h2 = fmix64(h2);
	h1 += h2;
	h2 += h1;
	*out1 = h1;
	*out2 = h2;
}

void hash_murmur3_x64_64(const uint8_t *data, size_t len, uint8_t out[8])
{
	uint64_t h1, h2;
	murmur3_x64_128(data, len, 0, &h1, &h2);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h1 >> (56 - 8 * i));
}

int hash_key(uint64_t alg, const uint8_t *key, size_t len, uint8_t *out,
	     size_t *outlen)
{
	switch (alg) {
	case MH_SHA2_256:
		hash_sha256(key, len, out);
		*outlen = 32;
		return 0;
	case MH_MURMUR3_X64_64:
		hash_murmur3_x64_64(key, len, out);
		*outlen = 8;
		return 0;
	default:
		return err_set(-ENOTSUP,
			       "hash key: unsupported hash function 0x%llx",
			       (unsigned long long)alg);
	}
}
