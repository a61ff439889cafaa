/* fuzz_gzip.c - gzip input of `hamt build` (tools/gzin.c).
 *
 * The first byte chooses a read size (1 byte to 64 KiB) and the size of
 * the pieces the compressed data arrives in (1 byte to 1 KiB); the rest is the
 * compressed stream, given through a file descriptor (a memfd). Invariants:
 *  - gzin_read returns 0 or a negative errno with a message, never more
 *    bytes than asked for, and never reads outside its buffers (ASan);
 *  - after an error or the end, it gives nothing more;
 *  - how the output is asked for does not change it: read in pieces of the
 *    chosen size after its first bytes were handed over (as from a pipe),
 *    and read in one piece from the start (as a regular file), the stream
 *    gives the same bytes
 *    and ends the same way (the same error code, or the end);
 *  - an input that does not start like gzip is never taken for gzip;
 *  - against zlib (a second, independent inflate): what both give before
 *    either stops is the same, and a stream that zlib decodes whole (every
 *    member, nothing after the last) gzin decodes whole too, to the same
 *    bytes.
 * The output is capped at 1 MiB (a small input can inflate a lot).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zlib.h>

#include "fuzz.h"
#include "tools/gzin.h"

#define OUT_CAP ((size_t)1 << 20)

static uint8_t out_a[OUT_CAP], out_b[OUT_CAP], out_z[OUT_CAP];

struct result {
	uint8_t *out;
	size_t len;
	int rc;
};

/* peek: the first bytes are read before gzin_open and handed to it (a
 * pipe); else gzin reads the file from its start (a regular file). */
static void decode(const uint8_t *data, size_t size, size_t step, size_t rsize,
		   int peek, uint8_t *out, struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->out = out;
	int fd = memfd_create("fuzz_gzip", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	uint8_t head[2];
	size_t nhead = size < 2 ? size : 2;
	FUZZ_CHECK(read(fd, head, nhead) == (ssize_t)nhead);
	FUZZ_CHECK(gzin_magic(head, nhead) ==
		   (size >= 2 && data[0] == 0x1f && data[1] == 0x8b));
	struct gzin *g = NULL;
	if (!peek)
		FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	FUZZ_CHECK(gzin_open(&g, fd, "fuzz", peek ? head : NULL,
			     peek ? nhead : 0) == 0);
	if (rsize)
		gzin_set_read_size(g, rsize);
	while (r->len < OUT_CAP) {
		size_t n = OUT_CAP - r->len < step ? OUT_CAP - r->len : step;
		size_t got = 0;
		int rc = gzin_read(g, r->out + r->len, n, &got);
		FUZZ_CHECK(got <= n);
		if (rc) {
			FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM ||
				   rc == -EIO);
			FUZZ_CHECK(err_msg()[0] != '\0');
			r->rc = rc;
			break;
		}
		r->len += got;
		if (got == 0) {
			/* the end stays the end */
			FUZZ_CHECK(gzin_read(g, r->out, 1, &got) == 0 &&
				   got == 0);
			break;
		}
	}
	FUZZ_CHECK(gzin_consumed(g) <= size);
	gzin_close(g);
	close(fd);
}

/* zlib's inflate of gzip members back to back, up to OUT_CAP bytes: 1 if
 * the stream decoded whole (it ended after a whole member), 0 if not or
 * if it passed the cap. */
static int zlib_decode(const uint8_t *data, size_t size, size_t *len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	*len = 0;
	FUZZ_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)size;
	z.next_out = out_z;
	z.avail_out = OUT_CAP;
	int ended = 0, failed = 0;
	while (z.avail_in > 0) {
		int zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			ended = 1;
			FUZZ_CHECK(inflateReset(&z) == Z_OK);
			continue;
		}
		if (zr != Z_OK || z.avail_out == 0) {
			failed = 1;
			break;
		}
		ended = 0; /* inside a member */
	}
	int whole = ended && !failed;
	*len = OUT_CAP - z.avail_out;
	inflateEnd(&z);
	return whole;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + ((size_t)data[0] * 257) % 65536;
	struct result a, b;
	size_t rsize = 1 + ((size_t)data[0] * 61) % 1024;
	decode(data + 1, size - 1, step, rsize, 1, out_a, &a);
	decode(data + 1, size - 1, OUT_CAP, 0, 0, out_b, &b);
	/* the same bytes, up to where the shorter read stopped at the cap */
	size_t n = a.len < b.len ? a.len : b.len;
	FUZZ_CHECK(memcmp(a.out, b.out, n) == 0);
	if (a.len < OUT_CAP && b.len < OUT_CAP) {
		FUZZ_CHECK(a.rc == b.rc);
		FUZZ_CHECK(a.rc != 0 || a.len == b.len);
	}
	size_t zlen;
	int whole = zlib_decode(data + 1, size - 1, &zlen);
	n = zlen < b.len ? zlen : b.len;
	FUZZ_CHECK(memcmp(out_z, b.out, n) == 0);
	if (whole && size - 1 >= 2)
		FUZZ_CHECK(b.rc == 0 && b.len == zlen);
	return 0;
}
