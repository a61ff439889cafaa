/* fuzz_gzip.c - gzip input of `hamt build` (tools/gzin.c).
 *
 * The first byte chooses a read size (1 byte to 64 KiB); the rest is the
 * compressed stream, given through a file descriptor (a memfd). Invariants:
 *  - gzin_read returns 0 or a negative errno with a message, never more
 *    bytes than asked for, and never reads outside its buffers (ASan);
 *  - after an error or the end, it gives nothing more;
 *  - how the output is asked for does not change it: read in pieces of the
 *    chosen size after its first bytes were handed over (as from a pipe),
 *    and read in one piece from the start (as a regular file), the stream
 *    gives the same bytes
 *    and ends the same way (the same error code, or the end);
 *  - an input that does not start like gzip is never taken for gzip.
 * The output is capped at 1 MiB (a small input can inflate a lot).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "tools/gzin.h"

#define OUT_CAP ((size_t)1 << 20)

static uint8_t out_a[OUT_CAP], out_b[OUT_CAP];

struct result {
	uint8_t *out;
	size_t len;
	int rc;
};

/* peek: the first bytes are read before gzin_open and handed to it (a
 * pipe); else gzin reads the file from its start (a regular file). */
static void decode(const uint8_t *data, size_t size, size_t step, int peek,
		   uint8_t *out, struct result *r)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + ((size_t)data[0] * 257) % 65536;
	struct result a, b;
	decode(data + 1, size - 1, step, 1, out_a, &a);
	decode(data + 1, size - 1, OUT_CAP, 0, out_b, &b);
	/* the same bytes, up to where the shorter read stopped at the cap */
	size_t n = a.len < b.len ? a.len : b.len;
	FUZZ_CHECK(memcmp(a.out, b.out, n) == 0);
	if (a.len < OUT_CAP && b.len < OUT_CAP) {
		FUZZ_CHECK(a.rc == b.rc);
		FUZZ_CHECK(a.rc != 0 || a.len == b.len);
	}
	return 0;
}
