/* prefetch.c - see prefetch.h. */
#include "store/prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamt/err.h"

/* One pread: large enough that the syscalls cost nothing next to the
 * reads, small enough that a new range is taken up soon. The kernel's own
 * read-ahead sees sequential reads and keeps the device busy between
 * them. */
#define PREFETCH_IO ((size_t)1 << 20)

struct prefetch {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* work to do, or stop; or all done */
	int fd;
	uint8_t *buf;
	/* guarded by lock */
	uint64_t next, end; /* read [next, end) */
	uint64_t bytes;
	int stop, busy;
};

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
		uint64_t at = p->next, n = p->end - p->next;
		if (n > PREFETCH_IO)
			n = PREFETCH_IO;
		p->next = at + n;
		pthread_mutex_unlock(&p->lock);
		ssize_t r;
		do
			r = pread(p->fd, p->buf, (size_t)n, (off_t)at);
		while (r < 0 && errno == EINTR);
		pthread_mutex_lock(&p->lock);
		if (r > 0)
			p->bytes += (uint64_t)r;
		/* past the end of the file, or a read error: the rest of
		 * this range would fail alike; a reader that needs those
		 * bytes gets the error itself */
		if (r < (ssize_t)n && p->next == at + n)
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
	if (!p || !(p->buf = malloc(PREFETCH_IO))) {
		free(p);
		return err_set(-ENOMEM, "out of memory");
	}
	p->fd = fd;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	int e = pthread_create(&p->th, NULL, prefetch_main, p);
	if (e) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p->buf);
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
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->buf);
	free(p);
}
