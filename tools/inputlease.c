/* inputlease.c - read leases on input files: see inputlease.h. */
#include "tools/inputlease.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* fd + 1 of each lease (0: free slot), and whether it was broken; read by
 * the signal handler, so lock-free atomics only */
static atomic_int lease_fd[INPUTLEASE_MAX];
static atomic_int lease_broken[INPUTLEASE_MAX];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static int handler_installed;
static struct sigaction prev_sa; /* set before the handler is installed */

static void on_sigio(int sig, siginfo_t *si, void *uc)
{
	/* a broken lease: from the kernel (si_code > 0), si_fd set because
	 * of F_SETSIG */
	if (si && si->si_code > 0)
		for (int i = 0; i < INPUTLEASE_MAX; i++)
			if (atomic_load(&lease_fd[i]) == si->si_fd + 1) {
				atomic_store(&lease_broken[i], 1);
				return;
			}
	/* not ours: to whoever handled SIGIO before (default: ignored, not
	 * the default action, which would end the process) */
	if (prev_sa.sa_flags & SA_SIGINFO) {
		if (prev_sa.sa_sigaction)
			prev_sa.sa_sigaction(sig, si, uc);
	} else if (prev_sa.sa_handler != SIG_DFL &&
		   prev_sa.sa_handler != SIG_IGN) {
		prev_sa.sa_handler(sig);
	}
}

int inputlease_take(int fd)
{
	pthread_mutex_lock(&table_lock);
	int slot = -1;
	for (int i = 0; i < INPUTLEASE_MAX && slot < 0; i++)
		if (!atomic_load(&lease_fd[i]))
			slot = i;
	if (slot >= 0 && !handler_installed) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigio;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGIO, &sa, &prev_sa) == 0)
			handler_installed = 1;
	}
	if (slot < 0 || !handler_installed) {
		pthread_mutex_unlock(&table_lock);
		return -1;
	}
	atomic_store(&lease_broken[slot], 0);
	atomic_store(&lease_fd[slot], fd + 1);
	/* SIGIO with siginfo (si_fd) when the lease is broken */
	if (fcntl(fd, F_SETSIG, SIGIO) != 0 ||
	    fcntl(fd, F_SETLEASE, F_RDLCK) != 0) {
		atomic_store(&lease_fd[slot], 0);
		slot = -1;
	}
	pthread_mutex_unlock(&table_lock);
	return slot;
}

int inputlease_broken(int lease)
{
	if (lease < 0 || lease >= INPUTLEASE_MAX)
		return 0;
	return atomic_load(&lease_broken[lease]);
}

void inputlease_release(int lease)
{
	if (lease < 0 || lease >= INPUTLEASE_MAX)
		return;
	pthread_mutex_lock(&table_lock);
	int f = atomic_load(&lease_fd[lease]);
	if (f) {
		if (fcntl(f - 1, F_SETLEASE, F_UNLCK) != 0) {
			/* closing the file releases it too */
		}
		atomic_store(&lease_fd[lease], 0);
		atomic_store(&lease_broken[lease], 0);
	}
	pthread_mutex_unlock(&table_lock);
}
