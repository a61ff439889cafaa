/* store_car.c - a read-only backend over a CAR file (v1 or v2).
 *
 * At open the whole file is read once with car_reader (which verifies every
 * block against its CID) and an index CID -> (offset, length) of the block
 * data is built; get() then preads the block. The index is not changed
 * after open, so any number of threads may read at once. The front
 * re-verifies what get() returns, so a file changed under us gives -EIO,
 * never wrong data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamt/err.h"
#include "store/backend.h"
#include "store/car.h"

struct car_backend {
	struct store_backend be; /* first: the public view */
	int fd;
	char *path;
	struct store_cidmap *idx; /* CID -> (offset, length); read-only */
};

static int car_pread(struct car_backend *cb, uint64_t off, size_t len,
		     uint8_t **data)
{
	uint8_t *p = malloc(len ? len : 1);
	size_t got = 0;
	if (!p)
		return err_set(-ENOMEM, "%s: out of memory", cb->path);
	while (got < len) {
		ssize_t k =
		    pread(cb->fd, p + got, len - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : EIO;
			free(p);
			return err_set(-e, "%s: read at byte %llu: %s",
				       cb->path,
				       (unsigned long long)(off + got),
				       k < 0 ? strerror(e)
					     : "file shrank since it was "
					       "opened");
		}
		got += (size_t)k;
	}
	*data = p;
	return 0;
}

static int car_get(struct store_backend *be, const struct cid *c,
		   uint8_t **data, size_t *len)
{
	struct car_backend *cb = (struct car_backend *)be;
	uint64_t v[2];
	if (store_cidmap_get(cb->idx, c, v) != 1) {
		char txt[CID_MAX_TEXT];
		return err_set(-ENOENT, "block not found: %s",
			       cid_format(c, txt));
	}
	int rc = car_pread(cb, v[0], (size_t)v[1], data);
	if (rc == 0)
		*len = (size_t)v[1];
	return rc;
}

static int car_has(struct store_backend *be, const struct cid *c)
{
	struct car_backend *cb = (struct car_backend *)be;
	return store_cidmap_get(cb->idx, c, NULL);
}

struct car_iter {
	struct car_backend *cb;
	store_block_cb fn;
	void *payload;
};

static int car_iter_one(void *payload, const struct cid *c, uint64_t off,
			uint64_t len)
{
	struct car_iter *it = payload;
	uint8_t *data;
	int rc = car_pread(it->cb, off, (size_t)len, &data);
	if (rc < 0)
		return rc;
	rc = it->fn(it->payload, c, data, (size_t)len);
	free(data);
	return rc;
}

static int car_iterate(struct store_backend *be, store_block_cb fn,
		       void *payload)
{
	struct car_backend *cb = (struct car_backend *)be;
	struct car_iter it = {cb, fn, payload};
	return store_cidmap_each(cb->idx, car_iter_one, &it);
}

static void car_free(struct store_backend *be)
{
	struct car_backend *cb = (struct car_backend *)be;
	if (!cb)
		return;
	if (cb->fd >= 0)
		close(cb->fd);
	store_cidmap_free(cb->idx);
	free(cb->path);
	free(cb);
}

int store_car_open(struct store_backend **out, const char *path)
{
	struct car_reader *r = NULL;
	struct cid c;
	const uint8_t *data;
	size_t len;
	int rc;
	*out = NULL;
	struct car_backend *cb = calloc(1, sizeof(*cb));
	if (!cb)
		return err_set(-ENOMEM, "out of memory");
	cb->fd = -1;
	cb->be = (struct store_backend){
	    .name = "car",
	    .get = car_get,
	    .has = car_has,
	    .iterate = car_iterate,
	    .free = car_free,
	};
	if (!(cb->path = strdup(path))) {
		rc = err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = store_cidmap_new(&cb->idx)) < 0)
		goto fail;
	cb->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (cb->fd < 0) {
		rc = err_set(-errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((rc = car_reader_open(&r, path)) < 0)
		goto fail;
	while ((rc = car_reader_next(r, &c, &data, &len)) == 1) {
		rc = store_cidmap_put(cb->idx, &c, car_reader_block_offset(r),
				      len);
		if (rc < 0)
			goto fail;
	}
	if (rc < 0)
		goto fail;
	car_reader_close(r);
	*out = &cb->be;
	return 0;
fail:
	car_reader_close(r);
	car_free(&cb->be);
	return rc;
}
