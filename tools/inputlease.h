/* inputlease.h - learn that another process starts to change a file this
 * process reads, before it can change a byte.
 *
 * `hamt build` reads the records of its input file twice: once to hash
 * them, and again to copy them into the store. A file rewritten in
 * between would put other bytes under the hashed CIDs; one truncated
 * would cut the second read short. A read lease (fcntl F_SETLEASE, F_RDLCK)
 * prevents both: a process that opens the file for writing or truncates it is
 * held back by the kernel (up to /proc/sys/fs/lease-break-time, 45 s by
 * default) and this process gets SIGIO. inputlease_broken() then says so; the
 * reader stops and closes the file, which lets the writer go on.
 *
 * A lease cannot always be taken: the file is open for writing already,
 * belongs to another user (without CAP_LEASE), or lives on a file system
 * without leases. inputlease_take() says so and the caller falls back to
 * weaker checks (size and mtime).
 *
 * The first inputlease_take() installs a SIGIO handler for the process
 * (SA_RESTART). A SIGIO that is not a broken lease of this table (another
 * file's, or one sent by a process) goes to the handler installed before
 * it, if there was one; else it is ignored. At most INPUTLEASE_MAX leases
 * at a time.
 */
#ifndef TOOLS_INPUTLEASE_H
#define TOOLS_INPUTLEASE_H

#define INPUTLEASE_MAX 16

/* Take a read lease on fd (open read-only). Returns a handle >= 0, or -1
 * if no lease could be taken (see above; nothing to release then). */
int inputlease_take(int fd);

/* 1 if another process has started to open the file for writing or to
 * truncate it since the lease was taken; 0 otherwise, and for -1. Safe
 * from any thread. */
int inputlease_broken(int lease);

/* Give the lease up (a waiting writer goes on). -1 is a no-op. */
void inputlease_release(int lease);

#endif
