/* varint.c - unsigned LEB128 varints (multiformats unsigned-varint). */
#include "varint.h"

#include <errno.h>

#include "err.h"

/* The multiformats spec caps varints at 9 bytes (63 bits of value). */
#define VARINT_DECODE_MAX 9

size_t varint_encode(uint64_t v, uint8_t *out)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int varint_decode(const uint8_t *p, size_t len, uint64_t *out, size_t *used)
{
	uint64_t v = 0;
	for (size_t i = 0; i < VARINT_DECODE_MAX; i++) {
		if (i >= len)
			return err_set(-EINVAL,
				       "varint: truncated after %zu bytes", i);
		uint8_t b = p[i];
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return err_set(-EINVAL,
					       "varint: not minimal (%zu bytes "
					       "ending in 0x00)",
					       i + 1);
			*out = v;
			*used = i + 1;
			return 0;
		}
	}
	return err_set(-EINVAL, "varint: longer than %d bytes",
		       VARINT_DECODE_MAX);
}
