#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_MSG_MAX 1024

static _Thread_local char err_buf[ERR_MSG_MAX];

int err_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return code;
}

int err_wrap(int code, const char *fmt, ...)
{
	char old[ERR_MSG_MAX];
	memcpy(old, err_buf, sizeof(old));
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	size_t at =
	    (size_t)n < sizeof(err_buf) ? (size_t)n : sizeof(err_buf) - 1;
	if (old[0] && at + 2 < sizeof(err_buf)) {
		size_t room = sizeof(err_buf) - at - 1;
		size_t ol = strnlen(old, sizeof(old) - 1);
		err_buf[at++] = ':';
		err_buf[at++] = ' ';
		room -= 2;
		if (ol > room)
			ol = room;
		memcpy(err_buf + at, old, ol);
		err_buf[at + ol] = '\0';
	}
	return code;
}

const char *err_msg(void)
{
	return err_buf;
}

void err_clear(void)
{
	err_buf[0] = '\0';
}
