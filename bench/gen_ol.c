/* gen_ol - deterministic synthetic records for the build benchmarks.
 *
 *   gen_ol N [SEED]          N lines in the Open Library dump layout:
 *                            type, key, revision, last-modified, JSON
 *                            (about 250-byte records: editions
 *                            /books/OL123M, works /works/OL45W, authors
 *                            /authors/OL7A, in the dump's proportions)
 *   gen_ol --small N [SEED]  N tsv lines: a 16-byte key, a 32-byte value
 *
 * The same N and SEED always give the same bytes (splitmix64). Keys are
 * unique; editions carry an isbn_13 array (a few share an ISBN, some have
 * two) for --key isbn_13 runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;

static uint64_t rnd(void)
{
	uint64_t z = (state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *const WORDS[] = {
    "The",     "Night",	  "Glass",  "River",	"Winter", "Island",
    "Garden",  "Shadow",  "Fox",    "Dream",	"House",  "Stone",
    "Letters", "History", "of",	    "the",	"and",	  "a",
    "Secret",  "Empire",  "Silent", "Summer",	"Road",	  "Light",
    "Cities",  "Café",	  "Müller", "Mountain", "Sea",	  "Journey",
    "Notes",   "Science", "Modern", "Poems",	"Days",	  "War"};
static const char *const SUBJECTS[] = {
    "Fiction",	  "Foxes",     "Fantasy",	   "History", "Poetry",
    "War",	  "Science",   "Biography",	   "Travel",  "Cooking",
    "Philosophy", "Economics", "Juvenile fiction", "Mystery", "Romance"};
static const char *const FIRST[] = {"Leo",   "Anna",  "Marie",	 "John",
				    "Ada",   "Sofia", "Kenji",	 "Olga",
				    "Pablo", "Zoë",   "Ibrahim", "Mei"};
static const char *const LAST[] = {
    "Dostoevsky", "Smith",     "Curie", "Tanaka",   "Novak",  "García",
    "Okafor",	  "Lindqvist", "Rossi", "Kowalski", "Dubois", "Haddad"};
#define NWORDS (sizeof(WORDS) / sizeof(WORDS[0]))
#define N_(a) (sizeof(a) / sizeof((a)[0]))

static void title(char *out, size_t n)
{
	size_t len = 0;
	unsigned k = 1 + below(3);
	out[0] = '\0';
	for (unsigned i = 0; i < k; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s",
					i ? " " : "", WORDS[below(NWORDS)]);
}

static void datetime(char *out, size_t n)
{
	snprintf(out, n, "20%02u-%02u-%02uT%02u:%02u:%02u.%06u", 8 + below(16),
		 1 + below(12), 1 + below(28), below(24), below(60), below(60),
		 below(1000000));
}

int main(int argc, char **argv)
{
	int small = argc > 1 && strcmp(argv[1], "--small") == 0;
	int a = small ? 2 : 1;
	if (argc - a < 1 || argc - a > 2) {
		fprintf(stderr, "usage: gen_ol [--small] N [SEED]\n");
		return 2;
	}
	uint64_t n = strtoull(argv[a], NULL, 10);
	state = argc - a > 1 ? strtoull(argv[a + 1], NULL, 10) : 1;
	static char buf[1 << 20];
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	if (small) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t v0 = rnd(), v1 = rnd();
			/* key: 'k' + 15 digits; value: 32 hex digits */
			printf("k%015" PRIu64 "\t%016" PRIx64 "%016" PRIx64
			       "\n",
			       i, v0, v1);
		}
		return fflush(stdout) ? 1 : 0;
	}
	uint64_t works = 0, books = 0, authors = 0;
	char t[160], dt[40];
	for (uint64_t i = 0; i < n; i++) {
		unsigned kind = below(100);
		unsigned rev = 1 + below(30);
		datetime(dt, sizeof(dt));
		title(t, sizeof(t));
		if (kind < 45) { /* edition */
			uint64_t id = 10000 + books++ * 3;
			uint64_t work =
			    10000 + below((unsigned)(works + 1)) * 7;
			/* a few editions share an ISBN, a few have two */
			uint64_t isbn =
			    9780000000000ull + (rnd() % 100000000ull);
			if (below(50) == 0)
				isbn = 9780000000000ull + (id % 1000);
			char isbns[64];
			if (below(10) == 0)
				snprintf(isbns, sizeof(isbns),
					 "\"%" PRIu64 "\",\"%" PRIu64 "\"",
					 isbn, isbn + 1);
			else if (below(20) == 0)
				snprintf(isbns, sizeof(isbns), "%s", "");
			else
				snprintf(isbns, sizeof(isbns),
					 "\"%" PRIu64 "\"", isbn);
			printf("/type/edition\t/books/OL%" PRIu64 "M\t%u\t%s\t"
			       "{\"key\":\"/books/OL%" PRIu64 "M\",\"title\":"
			       "\"%s\",\"type\":{\"key\":\"/type/edition\"},"
			       "\"works\":[{\"key\":\"/works/OL%" PRIu64
			       "W\"}],\"isbn_13\":[%s],"
			       "\"number_of_pages\":%u,\"revision\":%u,"
			       "\"last_modified\":{\"type\":\"/type/"
			       "datetime\",\"value\":\"%s\"}}\n",
			       id, rev, dt, id, t, work, isbns, 32 + below(900),
			       rev, dt);
		} else if (kind < 80) { /* work */
			uint64_t id = 10000 + works++ * 7;
			uint64_t au =
			    10000 + below((unsigned)(authors + 1)) * 5;
			printf("/type/work\t/works/OL%" PRIu64 "W\t%u\t%s\t"
			       "{\"key\":\"/works/OL%" PRIu64 "W\",\"title\":"
			       "\"%s\",\"type\":{\"key\":\"/type/work\"},"
			       "\"authors\":[{\"author\":{\"key\":\"/authors/"
			       "OL%" PRIu64 "A\"},\"type\":{\"key\":\"/type/"
			       "author_role\"}}],\"subjects\":[\"%s\",\"%s\"],"
			       "\"revision\":%u,\"last_modified\":{\"type\":"
			       "\"/type/datetime\",\"value\":\"%s\"}}\n",
			       id, rev, dt, id, t, au,
			       SUBJECTS[below(N_(SUBJECTS))],
			       SUBJECTS[below(N_(SUBJECTS))], rev, dt);
		} else { /* author */
			uint64_t id = 10000 + authors++ * 5;
			printf("/type/author\t/authors/OL%" PRIu64 "A\t%u\t%s\t"
			       "{\"key\":\"/authors/OL%" PRIu64 "A\",\"name\":"
			       "\"%s %s\",\"type\":{\"key\":\"/type/author\"},"
			       "\"birth_date\":\"%u\",\"personal_name\":\"%s "
			       "%s\",\"revision\":%u,"
			       "\"last_modified\":{\"type\":\"/type/"
			       "datetime\",\"value\":\"%s\"}}\n",
			       id, rev, dt, id, FIRST[below(N_(FIRST))],
			       LAST[below(N_(LAST))], 1800 + below(200),
			       FIRST[below(N_(FIRST))], LAST[below(N_(LAST))],
			       rev, dt);
		}
	}
	return fflush(stdout) ? 1 : 0;
}
