/* test_bigbuf.c - large buffers (tools/bigbuf.h): a new one holds what is
 * written to it; growing keeps the contents (from empty, within the same
 * mapped length, and past it, many times); a request too large fails with
 * -ENOMEM and a message and leaves the buffer as it was; and (where the
 * kernel has transparent huge pages and this is not an AddressSanitizer
 * build) the buffer is a mapping the kernel may back with huge pages
 * (THPeligible in /proc/self/smaps). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/err.h"
#include "test.h"
#include "tools/bigbuf.h"

static uint8_t at(size_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

static void fill(uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		p[i] = at(i);
}

static int holds(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != at(i))
			return 0;
	return 1;
}

#ifndef BIGBUF_MALLOC /* (tools/bigbuf.h) */
/* 1 if the kernel may use huge pages for the mapping that holds p, 0 if
 * not, -1 if smaps does not say. */
static int thp_eligible(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, r = -1;
	uintptr_t a = (uintptr_t)p;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		int v;
		if (in && sscanf(line, "THPeligible: %d", &v) == 1) {
			r = v;
			break;
		}
	}
	if (f)
		fclose(f);
	return r;
}

/* The kernel's transparent huge page mode is not "never". */
static int thp_on(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128] = "";
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	return f && !strstr(line, "[never]");
}
#endif

int main(void)
{
	/* a new buffer */
	size_t len = 5u << 20;
	uint8_t *p = bigbuf_alloc(len);
	CHECK(p != NULL);
	fill(p, 0, len);
	CHECK(holds(p, len));
#ifndef BIGBUF_MALLOC
	if (thp_on())
		CHECK(thp_eligible(p) == 1);
#endif
	bigbuf_free(p, len);
	bigbuf_free(NULL, 0);

	/* grown from nothing, by small steps and large ones */
	void *v = NULL;
	size_t have = 0, used = 0;
	CHECK_OK(bigbuf_grow(&v, &have, 100));
	CHECK(v != NULL && have >= 100);
	fill(v, 0, 100);
	used = 100;
	for (size_t need = 1000; need <= (40u << 20); need = need * 3 + 7) {
		CHECK_OK(bigbuf_grow(&v, &have, need));
		CHECK(have >= need);
		CHECK(holds(v, used));
		fill(v, used, need);
		used = need;
	}
	CHECK(holds(v, used));
	/* what it has already: nothing changes */
	void *same = v;
	size_t had = have;
	CHECK_OK(bigbuf_grow(&v, &have, 10));
	CHECK(v == same && have == had);
	/* more than can ever be: refused, the buffer as it was */
	CHECK_ERR(bigbuf_grow(&v, &have, SIZE_MAX - 4096), -ENOMEM);
	CHECK(strstr(err_msg(), "out of memory") != NULL);
	CHECK(v == same && have == had && holds(v, used));
#ifndef BIGBUF_MALLOC
	if (thp_on())
		CHECK(thp_eligible(v) == 1);
#endif
	bigbuf_free(v, have);
	return test_summary();
}
