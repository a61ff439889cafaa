/* dagjson.h - DAG-JSON output and plain-JSON input.
 *
 * Output follows the DAG-JSON spec: no whitespace, map keys sorted bytewise
 * by their UTF-8, links as {"/":"<cid text>"}, bytes as
 * {"/":{"bytes":"<base64 standard, no padding>"}}, integers as integers,
 * floats in the shortest form that round-trips (always with a '.' or
 * exponent), strings with JSON escapes for '"', '\\' and control bytes.
 *
 * Input (for building maps from JSON data) parses plain JSON with jansson
 * and maps it to the IPLD data model: objects -> maps, arrays -> lists,
 * strings -> strings, true/false/null, numbers with an integral value in
 * int64 range -> integers (larger integers are refused with a message), other
 * numbers -> 64-bit floats. No "/" link interpretation is done on input (it is
 * plain JSON).
 */
#ifndef HAMT_DAGJSON_H
#define HAMT_DAGJSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Append the DAG-JSON text of the DAG-CBOR value `cbor[0..len)` to `out`.
 * -EINVAL (message set) if the input is not valid DAG-CBOR. */
int dagjson_from_dagcbor(const uint8_t *cbor, size_t len, struct buf *out);

/* Parse the plain JSON text `json[0..len)` (exactly one value, surrounding
 * whitespace allowed) and append its canonical DAG-CBOR encoding to `out`.
 * -EINVAL with a message (jansson's, with line/column) on bad JSON. */
int dagjson_json_to_dagcbor(const char *json, size_t len, struct buf *out);

#endif
