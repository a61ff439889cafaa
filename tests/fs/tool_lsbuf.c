/* lsbuf - list a directory with raw getdents64 calls of a given size.
 *
 *   lsbuf DIR BUFSIZE
 *
 * Prints every name but "." and ".." on a line of its own, in the order
 * the directory gives them. Small buffers make the kernel ask the file
 * system again from the middle of its last reply (the case hamtfs answers
 * from its readdir window). Exits 1 on any error, with a message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct dirent64_raw {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: lsbuf DIR BUFSIZE\n");
		return 2;
	}
	char *end = NULL;
	unsigned long size = strtoul(argv[2], &end, 10);
	if (!end || *end || size < 24 || size > (1ul << 24)) {
		fprintf(stderr, "lsbuf: bad buffer size %s\n", argv[2]);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		fprintf(stderr, "lsbuf: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	char *buf = malloc(size);
	if (!buf) {
		fprintf(stderr, "lsbuf: out of memory\n");
		close(fd);
		return 1;
	}
	int rc = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, size);
		if (n < 0) {
			fprintf(stderr, "lsbuf: getdents64 on %s: %s\n",
				argv[1], strerror(errno));
			rc = 1;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			const struct dirent64_raw *d =
			    (const struct dirent64_raw *)(buf + off);
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				puts(d->d_name);
			off += d->d_reclen;
		}
	}
	free(buf);
	close(fd);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
