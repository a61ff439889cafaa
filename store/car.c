/* car.c - CARv1/CARv2 reading, CARv1 writing, import and export.
 *
 * The reader reads through a window buffer (1 MiB at a time with pread) so
 * a CAR of millions of small blocks costs few system calls. Every length
 * read from the file is checked against what is left of the payload before
 * it is used; a section is refused before it is read if it could not hold a
 * block of at most STORE_MAX_BLOCK bytes.
 */
#include <cbor.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hamt/dagcbor.h"
#include "hamt/err.h"
#include "hamt/varint.h"
#include "store/car.h"

#define CAR_WINDOW (1u << 20)
#define CAR_MAX_HEADER (32u << 20) /* as go-car */
#define CARV2_PRAGMA_LEN 11
#define CARV2_HEADER_LEN 40

struct car_reader {
	int fd;
	char *path;
	uint64_t file_size;
	uint64_t pos;  /* offset of the next section */
	uint64_t end;  /* end of the CARv1 payload */
	uint64_t last; /* offset of the data of the block last returned */
	int err;       /* sticky error: once bad, always bad */
	struct cid *roots;
	size_t nroots;
	uint8_t *win; /* file bytes [win_off, win_off + win_len) */
	size_t win_cap, win_len;
	uint64_t win_off;
};

/* ------------------------------------------------------------- reader */

/* Make file bytes [off, off + n) available at *p. The caller has checked
 * that they lie within the file. */
static int win_read(struct car_reader *r, uint64_t off, size_t n,
		    const uint8_t **p)
{
	if (off >= r->win_off && off - r->win_off <= r->win_len &&
	    n <= r->win_len - (off - r->win_off)) {
		*p = r->win + (off - r->win_off);
		return 0;
	}
	size_t want = n > CAR_WINDOW ? n : CAR_WINDOW;
	if (want > r->file_size - off)
		want = (size_t)(r->file_size - off);
	if (want < n)
		return err_set(-EINVAL, "%s: truncated at byte %" PRIu64,
			       r->path, r->file_size);
	if (want > r->win_cap) {
		uint8_t *w = realloc(r->win, want);
		if (!w)
			return err_set(-ENOMEM, "%s: out of memory", r->path);
		r->win = w;
		r->win_cap = want;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t k =
		    pread(r->fd, r->win + got, want - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r->win_len = 0;
			return err_set(-errno,
				       "%s: read at byte %" PRIu64 ": %s",
				       r->path, off + got, strerror(errno));
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->win_off = off;
	r->win_len = got;
	if (got < n)
		return err_set(-EINVAL,
			       "%s: truncated at byte %" PRIu64
			       " (file shrank while reading)",
			       r->path, off + got);
	*p = r->win;
	return 0;
}

/* Read a varint at r->pos.. bounded by `end`: value and bytes used. */
static int read_varint(struct car_reader *r, uint64_t off, uint64_t end,
		       uint64_t *v, size_t *used, const char *what)
{
	const uint8_t *p;
	if (off >= end)
		return err_set(-EINVAL,
			       "%s: truncated: %s missing at byte "
			       "%" PRIu64,
			       r->path, what, off);
	size_t avail = end - off < VARINT_MAX_BYTES ? (size_t)(end - off)
						    : VARINT_MAX_BYTES;
	int rc = win_read(r, off, avail, &p);
	if (rc < 0)
		return rc;
	if (varint_decode(p, avail, v, used) < 0)
		return err_set(-EINVAL,
			       "%s: bad or truncated %s at byte %" PRIu64,
			       r->path, what, off);
	return 0;
}

static const cbor_item_t *map_find(const cbor_item_t *map, const char *key)
{
	size_t n = cbor_map_size(map), kl = strlen(key);
	struct cbor_pair *pairs = cbor_map_handle(map);
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *k = pairs[i].key;
		if (cbor_isa_string(k) && cbor_string_length(k) == kl &&
		    memcmp(cbor_string_handle(k), key, kl) == 0)
			return pairs[i].value;
	}
	return NULL;
}

/* Parse a CARv1-style header at `off` (bounded by `end`): its version in
 * *version, and for version 1 the roots; *next gets the first byte after. */
static int read_header(struct car_reader *r, uint64_t off, uint64_t end,
		       uint64_t *version, uint64_t *next)
{
	uint64_t hlen;
	size_t used;
	const uint8_t *p;
	cbor_item_t *item = NULL;
	int rc = read_varint(r, off, end, &hlen, &used, "header length");
	if (rc < 0)
		return rc;
	if (hlen == 0 || hlen > CAR_MAX_HEADER)
		return err_set(-EINVAL,
			       "%s: bad header length %" PRIu64
			       " at byte %" PRIu64,
			       r->path, hlen, off);
	if (hlen > end - off - used)
		return err_set(-EINVAL,
			       "%s: truncated header at byte %" PRIu64
			       " (%" PRIu64 " bytes claimed, %" PRIu64 " left)",
			       r->path, off, hlen, end - off - used);
	if ((rc = win_read(r, off + used, (size_t)hlen, &p)) < 0)
		return rc;
	if ((rc = dagcbor_decode(p, (size_t)hlen, &item)) < 0) {
		err_wrap(rc, "%s: header at byte %" PRIu64, r->path, off);
		return -EINVAL;
	}
	rc = -EINVAL;
	const cbor_item_t *ver, *roots;
	if (!cbor_isa_map(item)) {
		err_set(rc, "%s: header is not a map", r->path);
		goto out;
	}
	ver = map_find(item, "version");
	if (!ver || !cbor_isa_uint(ver)) {
		err_set(rc, "%s: header has no version", r->path);
		goto out;
	}
	*version = cbor_get_int(ver);
	*next = off + used + hlen;
	if (*version != 1) {
		rc = 0;
		goto out;
	}
	roots = map_find(item, "roots");
	if (!roots || !cbor_isa_array(roots)) {
		err_set(rc, "%s: header has no roots array", r->path);
		goto out;
	}
	size_t n = cbor_array_size(roots);
	if (n == 0) {
		err_set(rc, "%s: header has no roots", r->path);
		goto out;
	}
	r->roots = calloc(n, sizeof(*r->roots));
	if (!r->roots) {
		rc = err_set(-ENOMEM, "%s: out of memory", r->path);
		goto out;
	}
	cbor_item_t **h = cbor_array_handle(roots);
	for (size_t i = 0; i < n; i++) {
		if (dagcbor_item_link(h[i], &r->roots[i]) != 1) {
			err_set(rc, "%s: root %zu is not a CID link", r->path,
				i);
			goto out;
		}
	}
	r->nroots = n;
	rc = 0;
out:
	cbor_decref(&item);
	return rc;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int car_reader_open(struct car_reader **out, const char *path)
{
	struct stat st;
	uint64_t version, next;
	int rc;
	*out = NULL;
	struct car_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return err_set(-ENOMEM, "out of memory");
	r->fd = -1;
	r->path = strdup(path);
	if (!r->path) {
		rc = err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = err_set(-errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(r->fd, &st) < 0) {
		rc = err_set(-errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(-EINVAL, "%s: not a regular file", path);
		goto fail;
	}
	r->file_size = (uint64_t)st.st_size;
	if ((rc = read_header(r, 0, r->file_size, &version, &next)) < 0)
		goto fail;
	if (version == 2) {
		const uint8_t *p;
		static const uint8_t pragma[CARV2_PRAGMA_LEN] = {
		    0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72,
		    0x73, 0x69, 0x6f, 0x6e, 0x02};
		if (next != CARV2_PRAGMA_LEN ||
		    r->file_size < CARV2_PRAGMA_LEN + CARV2_HEADER_LEN) {
			rc = err_set(-EINVAL,
				     "%s: bad or truncated CARv2 "
				     "pragma/header",
				     path);
			goto fail;
		}
		rc = win_read(r, 0, CARV2_PRAGMA_LEN + CARV2_HEADER_LEN, &p);
		if (rc < 0)
			goto fail;
		if (memcmp(p, pragma, sizeof(pragma)) != 0) {
			rc = err_set(-EINVAL, "%s: bad CARv2 pragma", path);
			goto fail;
		}
		uint64_t doff = get_le64(p + CARV2_PRAGMA_LEN + 16);
		uint64_t dsize = get_le64(p + CARV2_PRAGMA_LEN + 24);
		if (doff < CARV2_PRAGMA_LEN + CARV2_HEADER_LEN ||
		    doff > r->file_size || dsize > r->file_size - doff ||
		    dsize == 0) {
			rc = err_set(-EINVAL,
				     "%s: CARv2 data offset %" PRIu64
				     " / size %" PRIu64
				     " outside the file (%" PRIu64 " bytes)",
				     path, doff, dsize, r->file_size);
			goto fail;
		}
		r->end = doff + dsize;
		rc = read_header(r, doff, r->end, &version, &next);
		if (rc < 0)
			goto fail;
		if (version != 1) {
			rc = err_set(-EINVAL,
				     "%s: CARv2 payload has version %" PRIu64
				     ", want 1",
				     path, version);
			goto fail;
		}
	} else if (version == 1) {
		r->end = r->file_size;
	} else {
		rc = err_set(-EINVAL,
			     "%s: CAR version %" PRIu64 " not supported", path,
			     version);
		goto fail;
	}
	r->pos = next;
	*out = r;
	return 0;
fail:
	car_reader_close(r);
	return rc;
}

const struct cid *car_reader_roots(struct car_reader *r, size_t *n)
{
	*n = r->nroots;
	return r->roots;
}

int car_reader_next(struct car_reader *r, struct cid *c, const uint8_t **data,
		    size_t *len)
{
	uint64_t slen;
	size_t used, cu;
	const uint8_t *p;
	int rc;
	if (r->err)
		return err_set(r->err, "%s: reading after an error", r->path);
	if (r->pos == r->end)
		return 0;
	uint64_t off = r->pos;
	if ((rc = read_varint(r, off, r->end, &slen, &used, "section length")) <
	    0)
		goto bad;
	if (slen == 0) {
		rc = err_set(-EINVAL, "%s: empty section at byte %" PRIu64,
			     r->path, off);
		goto bad;
	}
	if (slen > r->end - off - used) {
		rc = err_set(-EINVAL,
			     "%s: truncated section at byte %" PRIu64
			     " (%" PRIu64 " bytes claimed, %" PRIu64 " left)",
			     r->path, off, slen, r->end - off - used);
		goto bad;
	}
	if (slen > (uint64_t)STORE_MAX_BLOCK + CID_MAX_BYTES) {
		rc = err_set(-EFBIG,
			     "%s: section at byte %" PRIu64 " is %" PRIu64
			     " bytes: blocks over %u bytes are refused",
			     r->path, off, slen, STORE_MAX_BLOCK);
		goto bad;
	}
	if ((rc = win_read(r, off + used, (size_t)slen, &p)) < 0)
		goto bad;
	if ((rc = cid_from_bytes(c, p, (size_t)slen, &cu)) < 0) {
		err_wrap(rc, "%s: bad CID at byte %" PRIu64, r->path,
			 off + used);
		goto bad;
	}
	size_t blen = (size_t)slen - cu;
	if (blen > STORE_MAX_BLOCK) {
		char txt[CID_MAX_TEXT];
		rc = err_set(-EFBIG,
			     "%s: block %s at byte %" PRIu64
			     " is %zu bytes: blocks over %u bytes are refused",
			     r->path, cid_format(c, txt), off, blen,
			     STORE_MAX_BLOCK);
		goto bad;
	}
	if ((rc = cid_verify_block(c, p + cu, blen)) < 0) {
		err_wrap(rc, "%s: block at byte %" PRIu64, r->path, off);
		goto bad;
	}
	r->last = off + used + cu;
	r->pos = off + used + slen;
	*data = p + cu;
	*len = blen;
	return 1;
bad:
	r->err = rc;
	return rc;
}

uint64_t car_reader_block_offset(struct car_reader *r)
{
	return r->last;
}

void car_reader_close(struct car_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->roots);
	free(r->win);
	free(r);
}

/* ------------------------------------------------------------- writer */

struct car_writer {
	FILE *f;
	char *path;
	char *tmp;
	int err;
	size_t hdr_off, hdr_len; /* where the header's CBOR is */
	unsigned char *patch;	 /* a new header to write at finish */
	int stream;		 /* standard output: no temporary file */
};

/* The DAG-CBOR header {"roots": [...], "version": 1}, built with libcbor in
 * canonical key order (length-first: "roots" before "version"). */
static int encode_header(const struct cid *roots, size_t nroots,
			 unsigned char **out, size_t *len)
{
	int rc = err_set(-ENOMEM, "CAR header: out of memory");
	cbor_item_t *map = cbor_new_definite_map(2);
	cbor_item_t *arr = cbor_new_definite_array(nroots);
	cbor_item_t *k1 = cbor_build_string("roots");
	cbor_item_t *k2 = cbor_build_string("version");
	cbor_item_t *ver = cbor_build_uint8(1);
	size_t cap = 0;
	*out = NULL;
	if (!map || !arr || !k1 || !k2 || !ver)
		goto out;
	for (size_t i = 0; i < nroots; i++) {
		uint8_t b[1 + CID_MAX_BYTES];
		b[0] = 0;
		size_t n = 1 + cid_to_bytes(&roots[i], b + 1);
		cbor_item_t *bs = cbor_build_bytestring(b, n);
		cbor_item_t *tag = bs ? cbor_new_tag(42) : NULL;
		if (tag)
			cbor_tag_set_item(tag, bs);
		bool ok = tag && cbor_array_push(arr, tag);
		if (bs)
			cbor_decref(&bs);
		if (tag)
			cbor_decref(&tag);
		if (!ok)
			goto out;
	}
	if (!cbor_map_add(map, (struct cbor_pair){.key = k1, .value = arr}) ||
	    !cbor_map_add(map, (struct cbor_pair){.key = k2, .value = ver}))
		goto out;
	*len = cbor_serialize_alloc(map, out, &cap);
	if (*len == 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	if (map)
		cbor_decref(&map);
	if (arr)
		cbor_decref(&arr);
	if (k1)
		cbor_decref(&k1);
	if (k2)
		cbor_decref(&k2);
	if (ver)
		cbor_decref(&ver);
	return rc;
}

static int wr(struct car_writer *w, const void *p, size_t n)
{
	if (w->err)
		return w->err;
	if (n && fwrite(p, 1, n, w->f) != n)
		w->err = err_set(errno ? -errno : -EIO, "%s: write: %s", w->tmp,
				 strerror(errno ? errno : EIO));
	return w->err;
}

int car_writer_open(struct car_writer **out, const char *path,
		    const struct cid *roots, size_t nroots)
{
	unsigned char *hdr = NULL;
	size_t hlen;
	uint8_t vb[VARINT_MAX_BYTES];
	int rc, fd = -1;
	*out = NULL;
	struct car_writer *w = calloc(1, sizeof(*w));
	size_t pl = strlen(path);
	int stream = !strcmp(path, "-");
	/* w->tmp is what messages name: the temporary file, or for a
	 * stream standard output */
	if (!w || !(w->path = strdup(path)) ||
	    !(w->tmp = stream ? strdup("standard output")
			      : malloc(pl + sizeof(".tmpXXXXXX")))) {
		rc = err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	w->stream = stream;
	if (stream) {
		fd = dup(STDOUT_FILENO);
		if (fd < 0) {
			rc = err_set(-errno, "standard output: %s",
				     strerror(errno));
			goto fail;
		}
	} else {
		memcpy(w->tmp, path, pl);
		memcpy(w->tmp + pl, ".tmpXXXXXX", sizeof(".tmpXXXXXX"));
		fd = mkstemp(w->tmp);
	}
	if (fd < 0) {
		rc = err_set(-errno, "%s: cannot create temporary file: %s",
			     path, strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		goto fail;
	}
	if (!w->stream && fchmod(fd, 0644) < 0) {
		/* not fatal: the file is still usable */
	}
	w->f = fdopen(fd, "wb");
	if (!w->f) {
		rc = err_set(-errno, "%s: %s", w->tmp, strerror(errno));
		close(fd);
		goto fail;
	}
	setvbuf(w->f, NULL, _IOFBF, 1u << 20);
	if ((rc = encode_header(roots, nroots, &hdr, &hlen)) < 0)
		goto fail;
	w->hdr_off = varint_encode(hlen, vb);
	w->hdr_len = hlen;
	if ((rc = wr(w, vb, w->hdr_off)) < 0 || (rc = wr(w, hdr, hlen)) < 0)
		goto fail;
	free(hdr);
	*out = w;
	return 0;
fail:
	free(hdr);
	car_writer_abort(w);
	return rc;
}

int car_writer_put(struct car_writer *w, const struct cid *c,
		   const uint8_t *data, size_t len)
{
	uint8_t cb[CID_MAX_BYTES], vb[VARINT_MAX_BYTES];
	int rc;
	if (len > STORE_MAX_BLOCK) {
		char txt[CID_MAX_TEXT];
		return err_set(-EFBIG,
			       "block %s: %zu bytes is over the %u "
			       "byte limit",
			       cid_format(c, txt), len, STORE_MAX_BLOCK);
	}
	size_t cl = cid_to_bytes(c, cb);
	if ((rc = wr(w, vb, varint_encode(cl + len, vb))) < 0 ||
	    (rc = wr(w, cb, cl)) < 0 || (rc = wr(w, data, len)) < 0)
		return rc;
	return 0;
}

int car_writer_set_root(struct car_writer *w, const struct cid *root)
{
	unsigned char *hdr = NULL;
	size_t hlen = 0;
	if (w->stream)
		return err_set(-ESPIPE,
			       "CAR to standard output: its header is written "
			       "first, so its root cannot change");
	int rc = encode_header(root, 1, &hdr, &hlen);
	if (rc < 0)
		return rc;
	if (hlen != w->hdr_len) {
		free(hdr);
		return err_set(-EINVAL,
			       "CAR: the new root's header is %zu "
			       "bytes, the old one %zu",
			       hlen, w->hdr_len);
	}
	free(w->patch);
	w->patch = hdr;
	return 0;
}

int car_writer_finish(struct car_writer *w)
{
	int rc = w->err;
	if (!rc && fflush(w->f) != 0)
		rc = err_set(-errno, "%s: write: %s", w->tmp, strerror(errno));
	if (!rc && w->patch &&
	    pwrite(fileno(w->f), w->patch, w->hdr_len, (off_t)w->hdr_off) !=
		(ssize_t)w->hdr_len)
		rc = err_set(errno ? -errno : -EIO, "%s: write: %s", w->tmp,
			     strerror(errno ? errno : EIO));
	/* standard output may be a pipe or a terminal, which have nothing
	 * to sync */
	if (!rc && fsync(fileno(w->f)) < 0 &&
	    !(w->stream && (errno == EINVAL || errno == EROFS)))
		rc = err_set(-errno, "%s: fsync: %s", w->tmp, strerror(errno));
	if (fclose(w->f) != 0 && !rc)
		rc = err_set(-errno, "%s: close: %s", w->tmp, strerror(errno));
	w->f = NULL;
	if (w->stream) {
		car_writer_abort(w); /* frees; a stream has no file to remove */
		return rc;
	}
	if (!rc && rename(w->tmp, w->path) < 0)
		rc =
		    err_set(-errno, "%s: rename: %s", w->path, strerror(errno));
	if (!rc) {
		/* make the rename durable too */
		char *dir = strdup(w->path);
		if (dir) {
			char *slash = strrchr(dir, '/');
			const char *d = ".";
			if (slash == dir)
				d = "/";
			else if (slash) {
				*slash = '\0';
				d = dir;
			}
			int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
			free(dir);
		}
		free(w->tmp);
		w->tmp = NULL;
	}
	car_writer_abort(w);
	return rc;
}

void car_writer_abort(struct car_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	if (w->tmp) {
		if (!w->stream)
			unlink(w->tmp);
		free(w->tmp);
	}
	free(w->patch);
	free(w->path);
	free(w);
}

/* ------------------------------------------------------ import/export */

int car_import(struct store *s, const char *path, struct cid **roots,
	       size_t *nroots)
{
	struct car_reader *r = NULL;
	struct store_txn *t = NULL;
	struct cid c;
	const uint8_t *data = NULL;
	size_t len = 0, n;
	int rc;
	*roots = NULL;
	*nroots = 0;
	if ((rc = car_reader_open(&r, path)) < 0)
		return rc;
	const struct cid *rr = car_reader_roots(r, &n);
	struct cid *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy) {
		rc = err_set(-ENOMEM, "out of memory");
		goto out;
	}
	memcpy(copy, rr, n * sizeof(*copy));
	if ((rc = store_txn_begin(s, &t)) < 0)
		goto out;
	while ((rc = car_reader_next(r, &c, &data, &len)) == 1) {
		if ((rc = store_txn_put(t, &c, data, len)) < 0) {
			err_wrap(rc, "import %s", path);
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	rc = store_txn_commit(t);
	t = NULL;
	if (rc < 0)
		goto out;
	*roots = copy;
	*nroots = n;
	copy = NULL;
out:
	store_txn_abort(t);
	free(copy);
	car_reader_close(r);
	return rc;
}

struct cidstack {
	struct cid *v;
	size_t n, cap;
};

static int cidstack_push(void *payload, const struct cid *c)
{
	struct cidstack *st = payload;
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof(*st->v))
			return err_set(-ENOMEM, "export: too many links");
		struct cid *v = realloc(st->v, ncap * sizeof(*v));
		if (!v)
			return err_set(-ENOMEM, "export: out of memory");
		st->v = v;
		st->cap = ncap;
	}
	st->v[st->n++] = *c;
	return 0;
}

int car_export(struct store *s, const struct cid *root, const char *path,
	       uint64_t *blocks, uint64_t *bytes)
{
	struct store_cidmap *seen = NULL;
	struct car_writer *w = NULL;
	struct cidstack stack = {0}, links = {0};
	uint64_t nb = 0, nbytes = 0;
	uint8_t *data = NULL;
	size_t len;
	char txt[CID_MAX_TEXT];
	int rc;
	if ((rc = store_cidmap_new(&seen)) < 0)
		goto out;
	if ((rc = car_writer_open(&w, path, root, 1)) < 0)
		goto out;
	if ((rc = cidstack_push(&stack, root)) < 0)
		goto out;
	while (stack.n) {
		struct cid c = stack.v[--stack.n];
		rc = store_cidmap_put(seen, &c, 0, 0);
		if (rc < 0)
			goto out;
		if (rc == 1)
			continue;
		if ((rc = store_get(s, &c, &data, &len)) < 0) {
			if (rc == -ENOENT)
				err_set(rc, "export: block %s missing",
					cid_format(&c, txt));
			goto out;
		}
		if ((rc = car_writer_put(w, &c, data, len)) < 0)
			goto out;
		nb++;
		nbytes += len;
		if (c.codec == CODEC_DAG_CBOR) {
			links.n = 0;
			rc = dagcbor_links(data, len, cidstack_push, &links);
			if (rc) {
				err_wrap(rc < 0 ? rc : -EINVAL,
					 "export: block %s",
					 cid_format(&c, txt));
				rc = rc < 0 ? rc : -EINVAL;
				goto out;
			}
			/* push in reverse so the first link comes out first */
			for (size_t i = links.n; i > 0; i--)
				if ((rc = cidstack_push(&stack,
							&links.v[i - 1])) < 0)
					goto out;
		}
		free(data);
		data = NULL;
	}
	rc = car_writer_finish(w);
	w = NULL;
	if (rc == 0) {
		if (blocks)
			*blocks = nb;
		if (bytes)
			*bytes = nbytes;
	}
out:
	free(data);
	car_writer_abort(w);
	store_cidmap_free(seen);
	free(stack.v);
	free(links.v);
	return rc;
}
