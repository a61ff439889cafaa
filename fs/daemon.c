/* daemon.c - go to the background and report the start-up's outcome: see
 * daemon.h. */
#include "fs/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamt/err.h"

static int ready_fd = -1; /* the child's end of the pipe, until ready */

int daemon_fork(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return err_set(-errno, "daemon: pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return err_set(-e, "daemon: fork: %s", strerror(e));
	}
	if (pid > 0) {
		close(p[1]);
		unsigned char status = 1; /* the child died without a word */
		ssize_t n;
		while ((n = read(p[0], &status, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			fprintf(stderr, "hamtfs: the daemon ended during "
					"start-up without saying why\n");
		_exit(n == 1 ? status : 1);
	}
	close(p[0]);
	ready_fd = p[1];
	if (setsid() < 0) {
		/* already a session leader: cannot be after fork() */
	}
	if (chdir("/") != 0) {
		/* "/" is always there; the daemon uses absolute paths only */
	}
	return 0;
}

void daemon_ready(int status)
{
	if (ready_fd < 0)
		return;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		/* before the command exits: its caller may read our stdout
		 * or stderr to the end, and must not wait for the daemon */
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	unsigned char s = (unsigned char)status;
	while (write(ready_fd, &s, 1) < 0 && errno == EINTR)
		;
	close(ready_fd);
	ready_fd = -1;
}
