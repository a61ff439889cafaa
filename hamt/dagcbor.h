/* dagcbor.h - strict DAG-CBOR over libcbor.
 *
 * DAG-CBOR is CBOR restricted to one canonical form: shortest-form integers
 * and lengths, definite lengths only, map keys are text strings sorted by
 * length first and then bytewise with no duplicates, floats always 64-bit
 * (no NaN or infinities), simple values only false/true/null, and the only
 * tag is 42 (a CID link: a byte string of 0x00 followed by a binary CID).
 * Text strings (values and keys) must be valid UTF-8. Nesting of arrays,
 * maps and tags is limited to 256 levels on decode and encode.
 *
 * Items are libcbor's cbor_item_t; ownership follows libcbor: an item
 * returned to the caller holds one reference, released with cbor_decref().
 */
#ifndef HAMT_DAGCBOR_H
#define HAMT_DAGCBOR_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cid.h"

/* Decode exactly one DAG-CBOR item from `p[0..len)` (no trailing bytes).
 * Rejects anything that is not canonical DAG-CBOR with -EINVAL and a message
 * saying what is wrong and at which byte offset if known; -ENOMEM.
 * On success `*out` holds one reference. */
int dagcbor_decode(const uint8_t *p, size_t len, cbor_item_t **out);

/* Check `p[0..len)` is canonical DAG-CBOR without keeping the item. */
int dagcbor_validate(const uint8_t *p, size_t len);

/* Append the canonical DAG-CBOR encoding of `item` to `out`: shortest
 * integers, map entries sorted length-first then bytewise (whatever order
 * the item holds them in), floats as 64-bit. -EINVAL for items DAG-CBOR
 * cannot represent (indefinite items are re-encoded as definite; duplicate
 * map keys, tags other than 42, NaN/Inf, undefined are -EINVAL). */
int dagcbor_encode(const cbor_item_t *item, struct buf *out);

/* A new tag-42 item linking to `c` (one reference), or NULL on ENOMEM. */
cbor_item_t *dagcbor_build_link(const struct cid *c);

/* If `item` is a tag-42 link, store its CID in `*out` and return 1;
 * return 0 if it is not a link; -EINVAL for a malformed link. */
int dagcbor_item_link(const cbor_item_t *item, struct cid *out);

/* Call `cb` once for every CID link anywhere in the DAG-CBOR value
 * `p[0..len)`, in encoding order. Stops and returns `cb`'s value if it is
 * non-zero; -EINVAL for invalid DAG-CBOR. */
int dagcbor_links(const uint8_t *p, size_t len,
		  int (*cb)(void *payload, const struct cid *c), void *payload);

#endif
