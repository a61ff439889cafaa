/* gzin.c - a gzip stream read as the bytes it holds (see gzin.h). */
#include "tools/gzin.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "hamt/err.h"

#define GZIN_BUF (256u * 1024)

struct gzin {
	z_stream z;
	int fd;
	const char *name;
	uint8_t *in;	     /* GZIN_BUF bytes read from fd */
	uint64_t read_total; /* bytes read from fd (with the first ones) */
	uint64_t members;    /* members ended */
	int in_member;	     /* inside a member: its end is still to come */
	int eof;	     /* fd has nothing more */
	int done;	     /* the stream ended after a whole member */
};

int gzin_magic(const uint8_t *p, size_t n)
{
	return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int gzin_open(struct gzin **out, int fd, const char *name, const uint8_t *pre,
	      size_t npre)
{
	*out = NULL;
	struct gzin *g = calloc(1, sizeof(*g));
	if (!g || npre > GZIN_BUF || !(g->in = malloc(GZIN_BUF))) {
		free(g);
		return err_set(-ENOMEM, "out of memory (gzip input %s)", name);
	}
	g->fd = fd;
	g->name = name;
	if (npre)
		memcpy(g->in, pre, npre);
	g->read_total = npre;
	g->z.next_in = g->in;
	g->z.avail_in = (uInt)npre;
	/* 16 + window bits: gzip members only, header and trailer checked */
	if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
		free(g->in);
		free(g);
		return err_set(-ENOMEM, "out of memory (gzip input %s)", name);
	}
	*out = g;
	return 0;
}

uint64_t gzin_consumed(const struct gzin *g)
{
	return g->read_total - g->z.avail_in;
}

static int fill(struct gzin *g)
{
	for (;;) {
		ssize_t r = read(g->fd, g->in, GZIN_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(-errno, "%s: read: %s", g->name,
				       strerror(errno));
		if (r == 0)
			g->eof = 1;
		g->z.next_in = g->in;
		g->z.avail_in = (uInt)r;
		g->read_total += (uint64_t)r;
		return 0;
	}
}

static int zerr(struct gzin *g, int zr)
{
	unsigned long long at = (unsigned long long)gzin_consumed(g);
	if (zr == Z_MEM_ERROR)
		return err_set(-ENOMEM, "out of memory (gzip input %s)",
			       g->name);
	if (zr == Z_DATA_ERROR && g->members > 0 && g->z.total_out == 0)
		return err_set(-EINVAL,
			       "%s: compressed byte %llu: what follows gzip "
			       "member %llu is not gzip data",
			       g->name, at, (unsigned long long)g->members);
	if (zr == Z_DATA_ERROR)
		return err_set(-EINVAL,
			       "%s: compressed byte %llu: damaged gzip data "
			       "(%s)",
			       g->name, at, g->z.msg ? g->z.msg : "inflate");
	return err_set(-EIO, "%s: compressed byte %llu: zlib error %d", g->name,
		       at, zr);
}

int gzin_read(struct gzin *g, uint8_t *p, size_t n, size_t *got)
{
	*got = 0;
	if (g->done || n == 0)
		return 0;
	g->z.next_out = p;
	g->z.avail_out = n > UINT_MAX ? UINT_MAX : (uInt)n;
	uInt want = g->z.avail_out;
	int rc = 0;
	while (g->z.avail_out > 0) {
		if (g->z.avail_in == 0 && !g->eof && (rc = fill(g)) != 0)
			break;
		if (!g->in_member) {
			if (g->z.avail_in == 0 && g->eof) {
				g->done = 1; /* after a whole member */
				break;
			}
			g->in_member = 1;
		}
		int zr = inflate(&g->z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			g->in_member = 0;
			g->members++;
			if (inflateReset(&g->z) != Z_OK) {
				rc = zerr(g, Z_STREAM_ERROR);
				break;
			}
		} else if (zr == Z_BUF_ERROR) {
			/* no progress: input is needed, and there is none */
			if (g->z.avail_in == 0 && g->eof) {
				rc = err_set(
				    -EINVAL,
				    "%s: the gzip data ends early, "
				    "at compressed byte %llu (a "
				    "truncated file?)",
				    g->name,
				    (unsigned long long)gzin_consumed(g));
				break;
			}
		} else if (zr != Z_OK) {
			rc = zerr(g, zr);
			break;
		}
	}
	*got = want - g->z.avail_out;
	return rc;
}

void gzin_close(struct gzin *g)
{
	if (!g)
		return;
	inflateEnd(&g->z);
	free(g->in);
	free(g);
}
