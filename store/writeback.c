/* writeback.c - see writeback.h. */
#include "store/writeback.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hamt/err.h"

struct writeback {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a request, or stop; or a request done */
	int fd;
	uint64_t flush_every, flushed; /* the thread's own */
	/* guarded by lock */
	uint64_t dropped; /* let go of the page cache from `from` to here */
	uint64_t end, behind;
	int asked, busy, stop, err;
	unsigned flushes;
};

/* One request, without the lock. 0 or an errno. */
static int writeback_one(struct writeback *w, uint64_t end, uint64_t behind,
			 uint64_t *dropped, unsigned *flushes)
{
	/* a hint: its failure changes nothing */
	(void)sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	struct stat st;
	if (!end) {
		if (fstat(w->fd, &st) < 0)
			return 0;
		end = (uint64_t)st.st_size;
	}
	if (end <= behind || end - behind <= *dropped)
		return 0;
	uint64_t to = end - behind;
	if (sync_file_range(w->fd, (off_t)*dropped, (off_t)(to - *dropped),
			    SYNC_FILE_RANGE_WAIT_BEFORE |
				SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER) < 0) {
		int e = errno;
		if (e == EINVAL || e == ESPIPE || e == ENOSYS)
			return 0; /* no such call for this file: keep all */
		return e;
	}
	(void)posix_fadvise(w->fd, (off_t)*dropped, (off_t)(to - *dropped),
			    POSIX_FADV_DONTNEED);
	*dropped = to;
	if (w->flush_every && to - w->flushed >= w->flush_every) {
		if (fdatasync(w->fd) < 0 && errno != EINVAL)
			return errno;
		w->flushed = to;
		(*flushes)++;
	}
	return 0;
}

static void *writeback_main(void *arg)
{
	struct writeback *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (!w->asked || w->err) {
			w->asked = 0;
			w->busy = 0;
			pthread_cond_broadcast(&w->cond);
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		w->asked = 0;
		w->busy = 1;
		uint64_t end = w->end, behind = w->behind, dropped = w->dropped;
		unsigned flushes = w->flushes;
		pthread_mutex_unlock(&w->lock);
		int e = writeback_one(w, end, behind, &dropped, &flushes);
		pthread_mutex_lock(&w->lock);
		w->dropped = dropped;
		w->flushes = flushes;
		if (e && !w->err)
			w->err = e;
	}
	w->busy = 0;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int writeback_start(struct writeback **out, int fd, uint64_t from,
		    uint64_t flush_every)
{
	*out = NULL;
	struct writeback *w = calloc(1, sizeof(*w));
	if (!w)
		return err_set(-ENOMEM, "out of memory");
	w->fd = fd;
	w->dropped = w->flushed = from;
	w->flush_every = flush_every;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	int e = pthread_create(&w->th, NULL, writeback_main, w);
	if (e) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return err_set(-e, "writeback: start a thread: %s",
			       strerror(e));
	}
	*out = w;
	return 0;
}

void writeback_kick(struct writeback *w, uint64_t end, uint64_t behind)
{
	pthread_mutex_lock(&w->lock);
	w->end = end;
	w->behind = behind;
	w->asked = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int writeback_error(struct writeback *w)
{
	pthread_mutex_lock(&w->lock);
	int e = w->err;
	pthread_mutex_unlock(&w->lock);
	return e;
}

uint64_t writeback_dropped(struct writeback *w)
{
	pthread_mutex_lock(&w->lock);
	while ((w->asked && !w->err) || w->busy)
		pthread_cond_wait(&w->cond, &w->lock);
	uint64_t d = w->dropped;
	pthread_mutex_unlock(&w->lock);
	return d;
}

unsigned writeback_flushes(struct writeback *w)
{
	pthread_mutex_lock(&w->lock);
	unsigned n = w->flushes;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int writeback_stop(struct writeback *w)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->th, NULL);
	int e = w->err;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return e;
}
