/* prefetch.c - see prefetch.h. */
#include "store/prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamt/err.h"

/* One readahead hint: no larger than the smallest read-ahead window
 * Linux has by default (128 KiB), which bounds what one hint reads unless
 * the device's largest request is larger. A hint starts the reads and
 * returns: no byte is copied or touched by this thread. */
#define PREFETCH_IO ((uint64_t)128 << 10)
/* One read in touch mode (prefetch_set_touch): the kernel's own
 * read-ahead sees the sequential reads and keeps the device busy. */
#define PREFETCH_TOUCH_IO ((uint64_t)1 << 20)

struct prefetch {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* work to do, or stop; or all done */
	int fd;
	uint64_t size; /* the thread's: of the file when last looked at */
	uint8_t *buf;  /* the thread's: PREFETCH_TOUCH_IO bytes, or NULL */
	/* guarded by lock */
	uint64_t next, end; /* read [next, end) */
	uint64_t bytes;
	int stop, busy, touch;
};

/* Read [at, at + n) (n <= PREFETCH_TOUCH_IO) into the buffer: 0, or -1
 * if the buffer cannot be had or the read fails or ends early. */
static int touch_read(struct prefetch *p, uint64_t at, uint64_t n)
{
	if (!p->buf && !(p->buf = malloc(PREFETCH_TOUCH_IO)))
		return -1;
	for (uint64_t o = 0; o < n;) {
		ssize_t r =
		    pread(p->fd, p->buf + o, (size_t)(n - o), (off_t)(at + o));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		o += (uint64_t)r;
	}
	return 0;
}

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (p->next >= p->end) {
			p->busy = 0;
			pthread_cond_broadcast(&p->cond);
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		p->busy = 1;
		int touch = p->touch;
		uint64_t io = touch ? PREFETCH_TOUCH_IO : PREFETCH_IO;
		uint64_t at = p->next, take = p->end - p->next;
		if (take > io)
			take = io;
		p->next = at + take;
		uint64_t n = take;
		pthread_mutex_unlock(&p->lock);
		struct stat st;
		if (at + n > p->size && fstat(p->fd, &st) == 0)
			p->size = (uint64_t)st.st_size; /* it may have grown */
		int r = -1;
		if (at < p->size) {
			if (n > p->size - at)
				n = p->size - at;
			r = touch ? touch_read(p, at, n)
				  : posix_fadvise(p->fd, (off_t)at, (off_t)n,
						  POSIX_FADV_WILLNEED);
		}
		pthread_mutex_lock(&p->lock);
		if (r == 0)
			p->bytes += n;
		/* past the end of the file, or a hint refused: the rest of
		 * this range would fare alike */
		else if (p->next == at + take)
			p->next = p->end;
	}
	p->busy = 0;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int prefetch_start(struct prefetch **out, int fd)
{
	*out = NULL;
	struct prefetch *p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(-ENOMEM, "out of memory");
	p->fd = fd;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	int e = pthread_create(&p->th, NULL, prefetch_main, p);
	if (e) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return err_set(-e, "prefetch: start a thread: %s", strerror(e));
	}
	*out = p;
	return 0;
}

void prefetch_ask(struct prefetch *p, uint64_t from, uint64_t len)
{
	pthread_mutex_lock(&p->lock);
	if (from != p->end)
		p->next = from;
	p->end = from + len;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void prefetch_set_touch(struct prefetch *p, int touch)
{
	pthread_mutex_lock(&p->lock);
	p->touch = touch != 0;
	pthread_mutex_unlock(&p->lock);
}

void prefetch_wait(struct prefetch *p)
{
	pthread_mutex_lock(&p->lock);
	while (!p->stop && (p->busy || p->next < p->end))
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

uint64_t prefetch_read_bytes(struct prefetch *p)
{
	pthread_mutex_lock(&p->lock);
	uint64_t n = p->bytes;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void prefetch_stop(struct prefetch *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->th, NULL);
	free(p->buf);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
