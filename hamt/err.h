/* err.h - error reporting shared by every hamtfs module.
 *
 * Convention: a function that can fail returns 0 on success and a negative
 * errno value on failure (-ENOENT not found, -EEXIST exists, -EINVAL bad
 * argument or input, -EIO corrupt or unverifiable data, -ENOMEM, -ENOSPC,
 * -EFBIG, -ENOTSUP unsupported codec/hash/format). Before returning an error
 * it records a message saying what failed and where with err_set(); the
 * message is per thread and stays until the next err_set() on that thread.
 */
#ifndef HAMT_ERR_H
#define HAMT_ERR_H

/* Record a printf-style message for this thread and return `code` (a
 * negative errno), so callers can write `return err_set(-EIO, "...")`. */
int err_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepend context to the current message ("context: old message") and
 * return `code`. Use when passing an error up with more detail. */
int err_wrap(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" if none). Valid until the
 * next err_set()/err_wrap() on this thread. */
const char *err_msg(void);

/* Forget the message of this thread. */
void err_clear(void);

#endif
