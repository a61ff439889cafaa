/* cmd.h - the `hamt` subcommands and the helpers they share. */
#ifndef TOOLS_CMD_H
#define TOOLS_CMD_H

#include <stdio.h>

#include "hamt/hamt.h"
#include "store/store.h"

int cmd_build(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify(int argc, char **argv);
/* cmd_stage.c: the staging area of a ref */
int cmd_put(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_log(int argc, char **argv);

/* Print the current command's usage line to f. */
void cmd_usage(FILE *f);
/* Print the current command's help to stdout; returns 0. */
int cmd_help(void);
/* Print "hamt CMD: what: <err_msg()>" to stderr (without "what: " when
 * the message begins with it already); returns 1. */
int cmd_fail(const char *what);
/* Print a usage error (fmt with one %s) and the usage; returns 2. */
int cmd_bad_usage(const char *fmt, const char *arg);

/* Parse --store DIR (required), --ref NAME (required when `ref` is not
 * NULL, refused when it is) and --help, then check there are
 * npos_min..npos_max positional arguments. Returns the index of the first
 * one, or -1 after printing help (exit 0) / -2 after a usage error (exit 2).
 */
int cmd_parse_opts(int argc, char **argv, const char **dir, const char **ref,
		   int npos_min, int npos_max);

/* How cmd_open opens the store. */
enum {
	CMD_WRITE = 0,	     /* read-write; it must exist */
	CMD_CREATE = 1,	     /* read-write; created if missing */
	CMD_READ = 2,	     /* read-only (works on a read-only file system) */
	CMD_PREFER_WRITE = 3 /* read-write, or read-only if it cannot be */
};
/* Open the store (`mode`: CMD_READ, CMD_WRITE, CMD_CREATE) and, if
 * `root_text` is given, resolve it and open the map. Prints errors;
 * returns 0 or 1. */
int cmd_open(const char *dir, int mode, const char *root_text, struct store **s,
	     struct hamt **h);

#endif
