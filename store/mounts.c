/* mounts.c - the mount table of a process (see mounts.h). */
#include "store/mounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"

/* The next space-separated field of *p, or NULL at the end of the line. */
static const char *next_field(const char **p, size_t *len)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	const char *e = s;
	while (*e && *e != ' ')
		e++;
	*len = (size_t)(e - s);
	*p = e;
	return s;
}

/* Copy s[0..len) into out[0..n), undoing the \NNN octal escapes; -EINVAL
 * if it does not fit. */
static int unescape(const char *s, size_t len, char *out, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\' && i + 3 < len && s[i + 1] >= '0' &&
		    s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') << 6 |
				   (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= n)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int mounts_parse_line(const char *line, struct mount_entry *e)
{
	const char *p = line, *f;
	size_t len;
	int field = 0;
	memset(e, 0, sizeof(*e));
	while ((f = next_field(&p, &len)) != NULL) {
		field++;
		if (field == 3) {
			char tmp[32];
			if (len >= sizeof(tmp))
				break;
			memcpy(tmp, f, len);
			tmp[len] = '\0';
			char *end;
			unsigned long ma = strtoul(tmp, &end, 10), mi;
			if (end == tmp || *end != ':')
				break;
			char *m2 = end + 1;
			mi = strtoul(m2, &end, 10);
			if (end == m2 || *end || ma > 0xfffffffful ||
			    mi > 0xfffffffful)
				break;
			e->dev.major = (unsigned)ma;
			e->dev.minor = (unsigned)mi;
		} else if (field == 5) {
			if (unescape(f, len, e->point, sizeof(e->point)))
				break;
		} else if (field >= 7 && len == 1 && f[0] == '-') {
			/* the optional fields end: the type follows */
			f = next_field(&p, &len);
			if (!f || len >= sizeof(e->fstype))
				break;
			memcpy(e->fstype, f, len);
			e->fstype[len] = '\0';
			return 0;
		}
	}
	return err_set(-EINVAL, "mount table: malformed line \"%.80s\"", line);
}

/* Call fn(entry, arg) for each line of /proc/PID/mountinfo (pid 0: this
 * process) until it returns nonzero; that value, 0 at the end, or a
 * negative errno with a message. */
static int each_mount(pid_t pid, int (*fn)(const struct mount_entry *, void *),
		      void *arg)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%ld/mountinfo", (long)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	FILE *f = fopen(path, "re");
	if (!f)
		return err_set(-errno, "mount table %s: %s", path,
			       strerror(errno));
	struct mount_entry *e = malloc(sizeof(*e));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = e ? 0 : err_set(-ENOMEM, "mount table: out of memory");
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		rc = mounts_parse_line(line, e);
		if (!rc)
			rc = fn(e, arg);
	}
	if (!rc && ferror(f))
		rc = err_set(-EIO, "mount table %s: read error", path);
	free(line);
	free(e);
	fclose(f);
	return rc;
}

struct at_ctx {
	const char *path, *prefix;
	struct mount_dev dev;
	int found;
};

static int at_one(const struct mount_entry *e, void *arg)
{
	struct at_ctx *c = arg;
	if (strcmp(e->point, c->path) != 0 ||
	    (c->prefix && strncmp(e->fstype, c->prefix, strlen(c->prefix))))
		return 0;
	c->dev = e->dev;
	c->found++;
	return 0;
}

int mounts_dev_at(const char *path, const char *fstype_prefix,
		  struct mount_dev *dev)
{
	struct at_ctx c = {.path = path, .prefix = fstype_prefix};
	int rc = each_mount(0, at_one, &c);
	if (rc)
		return rc;
	if (c.found == 0)
		return -ENOENT;
	if (c.found > 1)
		return -EEXIST;
	*dev = c.dev;
	return 0;
}

struct has_ctx {
	struct mount_dev dev;
	char *where;
	size_t n;
};

static int has_one(const struct mount_entry *e, void *arg)
{
	struct has_ctx *c = arg;
	if (e->dev.major != c->dev.major || e->dev.minor != c->dev.minor)
		return 0;
	if (c->where && c->n)
		snprintf(c->where, c->n, "%s", e->point);
	return 1;
}

int mounts_has_dev(pid_t pid, struct mount_dev dev, char *where, size_t n)
{
	struct has_ctx c = {.dev = dev, .where = where, .n = n};
	return each_mount(pid, has_one, &c);
}
