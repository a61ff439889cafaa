/* hamt - the command-line tool over hamt/ and store/. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hamt/err.h"
#include "hamt/hamt.h"
#include "hamt/hash.h"
#include "hamt/names.h"
#include "store/car.h"
#include "store/store.h"
#include "tools/cmd.h"

static const struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *help;
} CMDS[] = {
    {"build", cmd_build,
     "hamt build (--store DIR [--ref NAME] | --car FILE) [--format "
     "tsv|jsonl|ol]\n"
     "           [--key FIELD] [--codec raw|dag-cbor] [--values "
     "link|inline]\n"
     "           [--bit-width N] [--bucket-size N] [--threads N] [--mem "
     "SIZE]\n"
     "           [--tmp DIR] [--skip-bad] [--quiet] [FILE|-]",
     "Build a new map from records (one per line) and print its root CID\n"
     "(the last line on stdout). FILE or stdin may be gzip-compressed\n"
     "(as the Open Library dump is): it is decompressed as it is read.\n"
     "  tsv    key<TAB>value (the value is the record)\n"
     "  jsonl  {\"key\": \"...\", \"value\": <any>} (the value, as "
     "DAG-CBOR);\n"
     "         with --key FIELD each line is a JSON object record\n"
     "  ol     Open Library dump: type, key, revision, last-modified, "
     "JSON\n"
     "--key FIELD: the key is a top-level field of the JSON record (a\n"
     "string or integer; an array gives one key per element; records\n"
     "without it are skipped and counted); ol's default is column 2.\n"
     "--codec: records stored as their exact bytes (raw, the default) or\n"
     "as DAG-CBOR parsed from the JSON. --values link (default) stores\n"
     "each record as its own block (deduplicated by CID) and links it;\n"
     "inline puts it in the map. Defaults: bit width 8, bucket size 3.\n"
     "--threads N (default: all cores); --mem SIZE (K/M/G; default a\n"
     "quarter of RAM): sorted runs spill to --tmp DIR (default: the\n"
     "store's directory) past it. --skip-bad skips malformed lines and\n"
     "counts them; without it the first one stops the build. Blocks and\n"
     "--ref go to the store in one transaction: an error or interruption\n"
     "writes nothing. --car FILE writes a CARv1 instead of a store.\n"
     "Progress shows on a terminal unless --quiet.\n"},
    {"get", cmd_get, "hamt get --store DIR ROOT KEY",
     "Write the contents of KEY (as a mounted file shows them) to stdout.\n"
     "Exit status 1 and \"not found\" when the key is absent.\n"},
    {"ls", cmd_ls, "hamt ls --store DIR ROOT",
     "Print every key, one per line, as its file name (see README: '/',\n"
     "'%', NUL and the dot of \".\"/\"..\" are %XX-escaped).\n"},
    {"import", cmd_import, "hamt import --store DIR FILE.car",
     "Import every block of a CARv1 or CARv2 file (verifying each hash) in\n"
     "one transaction and print the CAR's root CIDs.\n"},
    {"export", cmd_export, "hamt export --store DIR ROOT FILE.car",
     "Write a CARv1 whose single root is ROOT, holding every block\n"
     "reachable from it (HAMT nodes and the value blocks they link).\n"
     "FILE.car '-' is standard output.\n"},
    {"verify", cmd_verify, "hamt verify --store DIR ROOT",
     "Walk the whole tree: every block's hash, every node's shape, bucket\n"
     "order and size, key positions, canonical form and depth. Prints a\n"
     "summary, or the first defect and exits non-zero.\n"},
    {"put", cmd_put, "hamt put --store DIR --ref NAME KEY [FILE|-]",
     "Stage a put of KEY with the contents of FILE (default: stdin) in the\n"
     "staging area of ref NAME (the one a mount of NAME uses). Records\n"
     "over 1 MiB are refused (\"record too large\"). Creates the store if\n"
     "missing. Nothing changes in the map until `hamt commit`.\n"},
    {"rm", cmd_rm, "hamt rm --store DIR --ref NAME KEY",
     "Stage a delete of KEY (a staged put of a key not in the map is just\n"
     "dropped). Exit status 1 and \"not found\" when KEY is neither in the\n"
     "map nor staged.\n"},
    {"status", cmd_status, "hamt status --store DIR --ref NAME",
     "List the staged changes of NAME in key order, one per line: \"put\n"
     "NAME\" or \"delete NAME\" (keys as file names, as `hamt ls` writes\n"
     "them), then a count line.\n"},
    {"commit", cmd_commit, "hamt commit --store DIR --ref NAME",
     "Merge the staged changes of NAME into its map in one durable\n"
     "transaction (new blocks, ref move, staging emptied: all or nothing)\n"
     "and print the new root CID. A ref that does not exist yet gets a new\n"
     "map. With nothing staged it prints the unchanged root.\n"},
    {"log", cmd_log, "hamt log --store DIR NAME",
     "Print the earlier roots of ref NAME (or of a staging area such as\n"
     "@CID), newest first: \"TIME OLD -> NEW\", TIME in ISO 8601 UTC, OLD\n"
     "\"-\" when the ref was created.\n"},
};

#define NCMDS (sizeof(CMDS) / sizeof(CMDS[0]))

static void usage_all(FILE *f)
{
	fprintf(f, "usage: hamt COMMAND [OPTIONS] ...\n\n"
		   "ROOT is a CID or a ref name of the store.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", CMDS[i].usage);
	fprintf(f, "\n'hamt COMMAND --help' describes one command.\n");
}

static const struct cmd *current;

void cmd_usage(FILE *f)
{
	fprintf(f, "usage: %s\n", current->usage);
}

int cmd_help(void)
{
	printf("usage: %s\n\n%s", current->usage, current->help);
	return 0;
}

int cmd_fail(const char *what)
{
	const char *msg = err_msg();
	/* a message that names `what` already (a file's reader does) gets
	 * no second copy of it */
	size_t n = what ? strlen(what) : 0;
	if (what && !strncmp(msg, what, n) && msg[n] == ':')
		what = NULL;
	fprintf(stderr, "hamt %s: %s%s%s\n", current->name, what ? what : "",
		what ? ": " : "", msg);
	return 1;
}

int cmd_bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "hamt %s: ", current->name);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	cmd_usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage_all(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage_all(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("hamt 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (!strcmp(argv[1], CMDS[i].name)) {
			current = &CMDS[i];
			return CMDS[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "hamt: unknown command '%s'\n", argv[1]);
	usage_all(stderr);
	return 2;
}
