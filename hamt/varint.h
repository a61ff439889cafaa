/* varint.h - unsigned LEB128 varints as used by multiformats (CID, multihash,
 * CAR framing). At most 9 bytes (63 bits) are accepted on decode, as the
 * multiformats unsigned-varint spec requires; non-minimal encodings
 * (a trailing 0x00 continuation byte) are rejected.
 */
#ifndef HAMT_VARINT_H
#define HAMT_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX_BYTES 10

/* Encode `v` into `out` (room for VARINT_MAX_BYTES); returns bytes written. */
size_t varint_encode(uint64_t v, uint8_t *out);

/* Number of bytes varint_encode() would write for `v`. */
size_t varint_size(uint64_t v);

/* Decode a varint from `p[0..len)`. On success stores the value in `*out`,
 * the bytes consumed in `*used`, and returns 0. Returns -EINVAL (message set)
 * if the input is truncated, longer than 9 bytes, or not minimal. */
int varint_decode(const uint8_t *p, size_t len, uint64_t *out, size_t *used);

#endif
