/* daemon.h - go to the background once mounted, and let the command that
 * was run exit with the outcome of the daemon's start-up.
 *
 * fuse_daemonize() lets the command exit 0 as soon as it has forked, so a
 * daemon that then fails to open its store leaves the user with a command
 * that "worked" and nothing mounted. Here the command waits until the
 * daemon calls daemon_ready(): it exits with the status given (1 if the
 * daemon dies before), and the daemon's error messages reach the terminal
 * until then.
 */
#ifndef FS_DAEMON_H
#define FS_DAEMON_H

/* Fork. In the parent this never returns: it waits for daemon_ready() in
 * the child and exits with its status. In the child (a new session, in /)
 * it returns 0. -errno with a message if the fork or its pipe fails. */
int daemon_fork(void);

/* In the child: tell the waiting command to exit with `status`, then point
 * stdin, stdout and stderr at /dev/null. Once only; a no-op without a
 * waiting command. */
void daemon_ready(int status);

#endif
