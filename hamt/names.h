/* names.h - the bijection between keys (bytes) and file names.
 *
 * A file name cannot hold '/' or NUL, cannot be "." or "..", cannot be
 * empty, and is at most NAME_MAX_BYTES bytes. A key maps to a name by
 * percent-escaping (%XX, upper-case hex) '/', '%', NUL, and the leading '.'
 * of the keys "." and ".."; every other byte is kept verbatim. The empty key
 * is the name "%" (which no other key produces, since '%' is always escaped).
 *
 * A key whose escaped name would pass NAME_MAX_BYTES is shown under a
 * shortened name: a prefix of the escaped name (never cutting an escape or a
 * UTF-8 sequence), the marker "%~", and the hex of the first
 * NAME_HASH_BYTES bytes of the key's HAMT hash. '%' followed by '~' never
 * occurs in an escaped name, so shortened names cannot collide with others,
 * and the hash lets a lookup walk straight to the key's bucket.
 */
#ifndef HAMT_NAMES_H
#define HAMT_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "hamt/buf.h"

#define NAME_MAX_BYTES 255
#define NAME_HASH_BYTES 16
#define NAME_MARKER "%~"

/* Write the name of `key` into `out` (room for NAME_MAX_BYTES + 1; NUL
 * terminated) and return its length. `hash`/`hlen` is the key's HAMT hash,
 * used only when the name must be shortened. */
size_t name_from_key(const uint8_t *key, size_t klen, const uint8_t *hash,
		     size_t hlen, char *out);

/* The same, hashing the key with the map's hash function `alg` first.
 * Returns the length, or a negative errno for an unknown `alg`. */
int name_of_key(uint64_t alg, const uint8_t *key, size_t klen, char *out);

/* Decode a name. For a plain name, appends the key to `key` and returns 0.
 * For a shortened name, appends the unescaped prefix to `key`, stores the
 * hash bytes from the name in `hash` (room for NAME_HASH_BYTES) and their
 * count in `*hlen`, and returns 1: the caller finds the key whose hash starts
 * with those bytes and whose name is `name`. -EINVAL with a message for a
 * name no key maps to (a bad escape, an escape that was not needed, "." or
 * ".."); -ENAMETOOLONG over NAME_MAX_BYTES. */
int name_to_key(const char *name, size_t nlen, struct buf *key, uint8_t *hash,
		size_t *hlen);

#endif
