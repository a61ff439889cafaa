/* gzin.c - a gzip stream read as the bytes it holds (see gzin.h). */
#include "tools/gzin.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "hamt/err.h"

#define GZIN_BUF (256u * 1024)

struct gzin {
	struct inflate_state st;
	int fd;
	const char *name;
	uint8_t *in;	     /* GZIN_BUF bytes read from fd */
	size_t rsize;	     /* bytes asked of one read() (GZIN_BUF) */
	uint64_t read_total; /* bytes read from fd (with the first ones) */
	uint64_t members;    /* members ended */
	int in_member;	     /* inside a member: its end is still to come */
	int eof;	     /* fd has nothing more */
	int done;	     /* the stream ended after a whole member */
	int failed;	     /* the error returned: returned again */
	char msg[512];	     /* with its message */
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
	g->rsize = GZIN_BUF;
	if (npre)
		memcpy(g->in, pre, npre);
	g->read_total = npre;
	isal_inflate_init(&g->st);
	g->st.next_in = g->in;
	g->st.avail_in = (uint32_t)npre;
	*out = g;
	return 0;
}

void gzin_set_read_size(struct gzin *g, size_t n)
{
	g->rsize = n == 0 ? 1 : n > GZIN_BUF ? GZIN_BUF : n;
}

uint64_t gzin_consumed(const struct gzin *g)
{
	return g->read_total - g->st.avail_in;
}

/* Read more input after the st.avail_in bytes left (moved to the front of
 * the buffer). At the end of fd, sets eof. */
static int fill(struct gzin *g)
{
	uint32_t left = g->st.avail_in;
	if (left >= GZIN_BUF) /* no room: ISA-L took none of a full buffer */
		return err_set(-EIO,
			       "%s: compressed byte %llu: ISA-L inflate made "
			       "no progress with %u bytes buffered",
			       g->name, (unsigned long long)gzin_consumed(g),
			       GZIN_BUF);
	if (left)
		memmove(g->in, g->st.next_in, left);
	g->st.next_in = g->in;
	for (;;) {
		size_t ask =
		    GZIN_BUF - left < g->rsize ? GZIN_BUF - left : g->rsize;
		ssize_t r = read(g->fd, g->in + left, ask);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(-errno, "%s: read: %s", g->name,
				       strerror(errno));
		if (r == 0)
			g->eof = 1;
		g->st.avail_in = left + (uint32_t)r;
		g->read_total += (uint64_t)r;
		return 0;
	}
}

static const char *isal_what(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "invalid deflate block";
	case ISAL_INVALID_SYMBOL:
		return "invalid code in the deflate data";
	case ISAL_INVALID_LOOKBACK:
		return "a distance reaches back too far";
	case ISAL_INVALID_WRAPPER:
		return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD:
		return "compression method is not deflate";
	case ISAL_INCORRECT_CHECKSUM:
		return "the CRC-32 or the length in a member's trailer does "
		       "not match its data";
	default:
		return NULL;
	}
}

static int not_gzip(struct gzin *g)
{
	unsigned long long at = (unsigned long long)gzin_consumed(g);
	if (g->members == 0)
		return err_set(-EINVAL,
			       "%s: compressed byte %llu: not gzip data",
			       g->name, at);
	return err_set(-EINVAL,
		       "%s: compressed byte %llu: what follows gzip "
		       "member %llu is not gzip data",
		       g->name, at, (unsigned long long)g->members);
}

static int truncated(struct gzin *g);
static int inflate_err(struct gzin *g, int r);

static int damaged(struct gzin *g, const char *what)
{
	return err_set(-EINVAL,
		       "%s: compressed byte %llu: damaged gzip data (%s)",
		       g->name, (unsigned long long)gzin_consumed(g), what);
}

/* At least `k` bytes at next_in (more read as needed): 0; the end of the
 * data first is a truncated stream. */
static int need(struct gzin *g, size_t k)
{
	int rc;
	if (k > GZIN_BUF)
		return err_set(-EINVAL,
			       "%s: compressed byte %llu: a gzip header of "
			       "more than %u bytes",
			       g->name, (unsigned long long)gzin_consumed(g),
			       GZIN_BUF);
	while (g->st.avail_in < k) {
		if (g->eof)
			return truncated(g);
		if ((rc = fill(g)) != 0)
			return rc;
	}
	return 0;
}

/* Past the NUL that ends a string field starting `*pos` bytes into the
 * header. */
static int skip_string(struct gzin *g, size_t *pos)
{
	for (;;) {
		int rc = need(g, *pos + 1);
		if (rc)
			return rc;
		const uint8_t *p = g->st.next_in;
		const uint8_t *z = memchr(p + *pos, 0, g->st.avail_in - *pos);
		if (z) {
			*pos = (size_t)(z - p) + 1;
			return 0;
		}
		*pos = g->st.avail_in;
	}
}

/* A member starts: its header (RFC 1952), parsed and checked here, so
 * that its header CRC is checked however the bytes arrive and bytes after
 * the last member that are not gzip are named so, however few. Then ISA-L
 * inflates the deflate data and checks the trailer (CRC-32 and length).
 * 0, 1 at the end of the stream, or an error. */
static int member_start(struct gzin *g)
{
	int rc;
	while (g->st.avail_in < 2 && !g->eof)
		if ((rc = fill(g)) != 0)
			return rc;
	if (g->st.avail_in == 0)
		return 1; /* after a whole member: the end */
	const uint8_t *p = g->st.next_in;
	if (p[0] != 0x1f || (g->st.avail_in >= 2 && p[1] != 0x8b))
		return not_gzip(g);
	if ((rc = need(g, 10)) != 0)
		return rc;
	p = g->st.next_in;
	unsigned flags = p[3];
	if (p[2] != 8)
		return inflate_err(g, ISAL_UNSUPPORTED_METHOD);
	if (flags & 0xe0)
		return damaged(g, "reserved header flags set");
	size_t pos = 10;
	if (flags & 4) { /* FEXTRA */
		if ((rc = need(g, pos + 2)) != 0)
			return rc;
		p = g->st.next_in;
		pos += 2 + (size_t)(p[pos] | p[pos + 1] << 8);
		if ((rc = need(g, pos)) != 0)
			return rc;
	}
	if ((flags & 8) && (rc = skip_string(g, &pos)) != 0) /* FNAME */
		return rc;
	if ((flags & 16) && (rc = skip_string(g, &pos)) != 0) /* FCOMMENT */
		return rc;
	if (flags & 2) { /* FHCRC: the low 16 bits of the header's CRC-32 */
		if ((rc = need(g, pos + 2)) != 0)
			return rc;
		p = g->st.next_in;
		unsigned want = p[pos] | p[pos + 1] << 8;
		if ((crc32(0, p, (uInt)pos) & 0xffff) != want)
			return damaged(g, "the header CRC does not match the "
					  "header");
		pos += 2;
	}
	g->st.next_in += pos;
	g->st.avail_in -= (uint32_t)pos;
	isal_inflate_reset(&g->st);
	g->st.crc_flag = ISAL_GZIP_NO_HDR_VER;
	g->in_member = 1;
	return 0;
}

static int inflate_err(struct gzin *g, int r)
{
	const char *what = isal_what(r);
	if (what)
		return damaged(g, what);
	return err_set(-EIO, "%s: compressed byte %llu: ISA-L inflate error %d",
		       g->name, (unsigned long long)gzin_consumed(g), r);
}

static int truncated(struct gzin *g)
{
	return err_set(-EINVAL,
		       "%s: the gzip data ends early, at compressed byte %llu "
		       "(a truncated file?)",
		       g->name, (unsigned long long)gzin_consumed(g));
}

int gzin_read(struct gzin *g, uint8_t *p, size_t n, size_t *got)
{
	*got = 0;
	if (g->failed)
		return err_set(g->failed, "%s", g->msg);
	if (g->done || n == 0)
		return 0;
	g->st.next_out = p;
	g->st.avail_out = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	uint32_t want = g->st.avail_out;
	int rc = 0, stuck = 0;
	while (g->st.avail_out > 0) {
		if (!g->in_member) {
			rc = member_start(g);
			if (rc == 1) {
				rc = 0;
				g->done = 1;
				break;
			}
			if (rc)
				break;
		}
		if ((g->st.avail_in == 0 || stuck) && !g->eof &&
		    (rc = fill(g)) != 0)
			break;
		uint32_t in0 = g->st.avail_in, out0 = g->st.avail_out;
		const uint8_t *at0 = g->st.next_in;
		int r = isal_inflate(&g->st);
		if (r < 0) {
			/* after an error ISA-L's counts may be off (seen:
			 * avail_in one past what it was given, next_in right):
			 * keep them within what the call had, for the message
			 * and for *got */
			if (g->st.next_in >= at0 && g->st.next_in <= at0 + in0)
				g->st.avail_in =
				    (uint32_t)(at0 + in0 - g->st.next_in);
			else
				g->st.avail_in = in0;
			if (g->st.avail_out > out0)
				g->st.avail_out = out0;
			rc = inflate_err(g, r);
			break;
		}
		if (g->st.block_state == ISAL_BLOCK_FINISH) {
			/* the member's trailer is checked: the next one may
			 * follow in the bytes left */
			g->in_member = 0;
			g->members++;
			continue;
		}
		/* no progress: more input is needed (ISA-L may leave the
		 * start of a trailer unconsumed until it has all of it);
		 * fill() fails if the buffer is full already */
		stuck = in0 == g->st.avail_in && out0 == g->st.avail_out;
		if (stuck && g->eof) {
			rc = truncated(g); /* and there is none */
			break;
		}
	}
	*got = want - g->st.avail_out;
	if (rc) {
		g->failed = rc;
		snprintf(g->msg, sizeof(g->msg), "%s", err_msg());
	}
	return rc;
}

void gzin_close(struct gzin *g)
{
	if (!g)
		return;
	free(g->in);
	free(g);
}
