/* test_input.c - the line parsers and the JSON scanner.
 *
 * json_scan is checked against jansson (the parser the rest of hamtfs
 * uses) on generated JSON texts and on mutations of them: both must accept
 * or reject the same texts (except numbers jansson cannot hold, which are
 * valid JSON), the member found must be the member jansson finds, and the
 * keys made from it must be the keys jansson's values give. Then the
 * tsv, jsonl and Open Library line parsers, case by case; and the read
 * lease on an input (tools/inputlease.h): a writer breaks it, a SIGIO
 * that is not a broken lease reaches the handler installed before. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamt/cid.h"
#include "test.h"
#include "tools/input.h"
#include "tools/inputlease.h"
#include "tools/json_scan.h"
#include "tools/parse_jsonl.h"
#include "tools/parse_ol.h"
#include "tools/parse_tsv.h"

static uint64_t rs = 42;

static unsigned pick(unsigned n)
{
	return (unsigned)(test_rand(&rs) % n);
}

/* ------------------------------------------------- random JSON texts */

static void ws(struct buf *b)
{
	static const char *const W[] = {"", "", "", " ", "\t", "\n", "\r\n "};
	buf_puts(b, W[pick(7)]);
}

static void gen_string(struct buf *b)
{
	static const char *const P[] = {"a",
					"key",
					"/works/OL1W",
					"caf\xc3\xa9",
					"\xe6\x97\xa5",
					"\xf0\x9f\x98\x80",
					"\\\"",
					"\\\\",
					"\\/",
					"\\n",
					"\\t",
					"\\u00e9",
					"\\u0000",
					"\\ud83d\\ude00",
					" ",
					"isbn",
					"9781",
					"\\b\\f\\r",
					"x y z"};
	buf_putc(b, '"');
	unsigned n = pick(4);
	for (unsigned i = 0; i < n; i++)
		buf_puts(b, P[pick(sizeof(P) / sizeof(P[0]))]);
	buf_putc(b, '"');
}

static void gen_number(struct buf *b)
{
	static const char *const N[] = {"0",
					"-0",
					"7",
					"-12",
					"123456",
					"1.5",
					"-0.25",
					"1e5",
					"2E-3",
					"6.02e+23",
					"10",
					"1.0",
					"9007199254740993",
					"-1"};
	buf_puts(b, N[pick(sizeof(N) / sizeof(N[0]))]);
}

static void gen_value(struct buf *b, int depth)
{
	unsigned k = pick(depth > 4 ? 5 : 8);
	switch (k) {
	case 0:
		gen_string(b);
		break;
	case 1:
		gen_number(b);
		break;
	case 2:
		buf_puts(b, "true");
		break;
	case 3:
		buf_puts(b, pick(2) ? "false" : "null");
		break;
	case 4:
		gen_string(b);
		break;
	case 5:
	case 6: {
		unsigned n = pick(4);
		buf_putc(b, '{');
		for (unsigned i = 0; i < n; i++) {
			if (i)
				buf_putc(b, ',');
			ws(b);
			gen_string(b);
			ws(b);
			buf_putc(b, ':');
			ws(b);
			gen_value(b, depth + 1);
			ws(b);
		}
		buf_putc(b, '}');
		break;
	}
	default: {
		unsigned n = pick(4);
		buf_putc(b, '[');
		for (unsigned i = 0; i < n; i++) {
			if (i)
				buf_putc(b, ',');
			ws(b);
			gen_value(b, depth + 1);
			ws(b);
		}
		buf_putc(b, ']');
		break;
	}
	}
}

/* A top-level object with a member "isbn" (maybe) among others. */
static void gen_record(struct buf *b)
{
	unsigned n = 1 + pick(4), at = pick(n + 1);
	buf_putc(b, '{');
	ws(b);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		if (i == at) {
			buf_puts(b, pick(4) ? "\"isbn\"" : "\"is\\u0062n\"");
			buf_putc(b, ':');
			ws(b);
			gen_value(b, 3);
			buf_putc(b, ',');
		}
		static const char *const K[] = {"\"title\"", "\"key\"", "\"n\"",
						"\"isb\"", "\"isbnx\""};
		buf_puts(b, K[pick(5)]);
		ws(b);
		buf_putc(b, ':');
		gen_value(b, 1);
	}
	ws(b);
	buf_putc(b, '}');
	ws(b);
}

static void mutate(struct buf *b)
{
	static const uint8_t I[] = {'"',  '\\', '{', '}', '[',	']',  ',',
				    ':',  'u',	'0', '1', 0x01, 0x80, 0xc3,
				    0xff, ' ',	'e', '-', '.',	'n',  0xed};
	if (b->len == 0) {
		buf_putc(b, I[pick(sizeof(I))]);
		return;
	}
	size_t at = pick((unsigned)b->len);
	switch (pick(4)) {
	case 0: /* delete */
		memmove(b->data + at, b->data + at + 1, b->len - at - 1);
		b->len--;
		break;
	case 1: /* replace */
		b->data[at] = I[pick(sizeof(I))];
		break;
	case 2: /* insert */
		buf_putc(b, 0);
		memmove(b->data + at + 1, b->data + at, b->len - at - 1);
		b->data[at] = I[pick(sizeof(I))];
		break;
	default: /* truncate */
		b->len = at;
		break;
	}
}

/* Keys the jansson way, as json_scan_keys defines them. */
struct keys {
	struct buf all; /* each key followed by a 0xff separator */
	size_t n;
};

static int key_cb(void *payload, const uint8_t *k, size_t n)
{
	struct keys *ks = payload;
	buf_append(&ks->all, k, n);
	buf_putc(&ks->all, 0xff);
	ks->n++;
	return 0;
}

static void jansson_key(json_t *v, struct keys *ks, size_t *other)
{
	char tmp[32];
	if (json_is_string(v)) {
		key_cb(ks, (const uint8_t *)json_string_value(v),
		       json_string_length(v));
	} else if (json_is_integer(v)) {
		int n = snprintf(tmp, sizeof(tmp), "%lld",
				 (long long)json_integer_value(v));
		key_cb(ks, (const uint8_t *)tmp, (size_t)n);
	} else if (!json_is_null(v)) {
		(*other)++;
	}
}

static unsigned compared, members, keysets;

static void differential(const struct buf *b)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)b->data, b->len,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	struct json_span m;
	enum json_kind kind;
	int rc = json_scan((const char *)b->data, b->len, "isbn", 4, &kind, &m);
	if (!j &&
	    (strstr(jerr.text, "too big") || strstr(jerr.text, "overflow") ||
	     strstr(jerr.text, "NUL byte in object key"))) {
		/* valid JSON that jansson cannot hold */
		return;
	}
	if (rc && strstr(err_msg(), "twice")) {
		/* the key field repeated: only an error for the key lookup */
		CHECK(json_scan((const char *)b->data, b->len, NULL, 0, NULL,
				NULL) == (j ? 0 : -EINVAL));
		json_decref(j);
		return;
	}
	compared++;
	if ((rc == 0) != (j != NULL)) {
		fprintf(stderr, "scanner %s, jansson %s (%s): [%.*s]\n",
			rc ? "rejects" : "accepts", j ? "accepts" : "rejects",
			j ? err_msg() : jerr.text, (int)b->len,
			(const char *)b->data);
		CHECK(0);
	}
	if (rc == 0 && j && json_is_object(j)) {
		/* a repeated key field is an error for the scanner only;
		 * jansson keeps the last: compare only unrepeated ones */
		json_t *want = json_object_get(j, "isbn");
		CHECK((want != NULL) == (m.p != NULL));
		if (want && m.p) {
			members++;
			json_t *got =
			    json_loadb(m.p, m.len,
				       JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
			CHECK(got && json_equal(got, want));
			struct keys a = {0}, bk = {0};
			size_t oa = 0, ob = 0;
			struct buf scratch = {0};
			CHECK_OK(json_scan_keys(m, &scratch, key_cb, &a, &oa));
			if (json_is_array(want))
				for (size_t i = 0; i < json_array_size(want);
				     i++) {
					json_t *e = json_array_get(want, i);
					if (json_is_array(e))
						ob++;
					else
						jansson_key(e, &bk, &ob);
				}
			else
				jansson_key(want, &bk, &ob);
			CHECK(a.n == bk.n && oa == ob &&
			      a.all.len == bk.all.len &&
			      (a.all.len == 0 || memcmp(a.all.data, bk.all.data,
							a.all.len) == 0));
			keysets++;
			buf_free(&a.all);
			buf_free(&bk.all);
			buf_free(&scratch);
			json_decref(got);
		}
	}
	json_decref(j);
}

static void test_scan_random(void)
{
	struct buf b = {0};
	for (int round = 0; round < 20000; round++) {
		buf_reset(&b);
		if (round % 2)
			gen_record(&b);
		else
			gen_value(&b, 0);
		differential(&b);
		for (int k = 0; k < 4; k++) {
			mutate(&b);
			differential(&b);
		}
	}
	buf_free(&b);
	printf("json_scan vs jansson: %u texts, %u members, %u key sets\n",
	       compared, members, keysets);
	CHECK(compared > 80000);
	CHECK(members > 1000 && keysets > 1000);
}

static int scan_ok(const char *s)
{
	return json_scan(s, strlen(s), NULL, 0, NULL, NULL) == 0;
}

static void test_scan_cases(void)
{
	const char *good[] = {"{}",
			      "[]",
			      "0",
			      "-0",
			      "1e5",
			      "\"\"",
			      " {\"a\" : [1, 2.5e-3, "
			      "true, false, null]} ",
			      "\"\\ud83d\\ude00\"",
			      "\"\\u0000\"",
			      "123456789012345678901234567890",
			      "1E400",
			      "\"\xf4\x8f\xbf\xbf\""};
	const char *bad[] = {"",
			     " ",
			     "{",
			     "{\"a\"}",
			     "{\"a\":1,}",
			     "[1,]",
			     "01",
			     "1.",
			     ".5",
			     "+1",
			     "1e",
			     "--1",
			     "tru",
			     "nul",
			     "'a'",
			     "\"a",
			     "\"\\x\"",
			     "\"\\u12\"",
			     "\"\\ud83d\"",
			     "\"\\ude00\"",
			     "\"a\tb\"",
			     "\"\xc3\"",
			     "\"\xc0\xaf\"",
			     "\"\xed\xa0\x80\"",
			     "\"\xf4\x90\x80\x80\"",
			     "[1] [2]",
			     "{} x",
			     "\x01",
			     "[1 2]",
			     "{\"a\" 1}"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!scan_ok(good[i]))
			fprintf(stderr, "should accept: %s (%s)\n", good[i],
				err_msg());
		CHECK(scan_ok(good[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (scan_ok(bad[i]))
			fprintf(stderr, "should reject: %s\n", bad[i]);
		CHECK(!scan_ok(bad[i]));
	}
	/* nesting limit */
	struct buf deep = {0};
	for (int i = 0; i < JSON_SCAN_MAX_DEPTH + 1; i++)
		buf_putc(&deep, '[');
	for (int i = 0; i < JSON_SCAN_MAX_DEPTH + 1; i++)
		buf_putc(&deep, ']');
	CHECK(json_scan((const char *)deep.data, deep.len, NULL, 0, NULL,
			NULL) == -EINVAL);
	CHECK(strstr(err_msg(), "nesting") != NULL);
	deep.len = 2 * JSON_SCAN_MAX_DEPTH;
	memset(deep.data, '[', JSON_SCAN_MAX_DEPTH);
	memset(deep.data + JSON_SCAN_MAX_DEPTH, ']', JSON_SCAN_MAX_DEPTH);
	CHECK(json_scan((const char *)deep.data, deep.len, NULL, 0, NULL,
			NULL) == 0);
	buf_free(&deep);
	/* the error says where */
	CHECK(json_scan("{\"a\":tru}", 9, NULL, 0, NULL, NULL) == -EINVAL);
	CHECK(strstr(err_msg(), "byte 5") != NULL);
	/* the key field twice is an error; other repeats are not */
	struct json_span m;
	const char *twice = "{\"k\":1,\"x\":2,\"k\":3}";
	CHECK(json_scan(twice, strlen(twice), "k", 1, NULL, &m) == -EINVAL);
	CHECK(strstr(err_msg(), "twice") != NULL);
	CHECK(json_scan(twice, strlen(twice), "x", 1, NULL, &m) == 0);
	CHECK(m.p && m.len == 1 && m.p[0] == '2');
	/* only top-level members count */
	const char *nested = "{\"a\":{\"k\":1}}";
	CHECK(json_scan(nested, strlen(nested), "k", 1, NULL, &m) == 0);
	CHECK(m.p == NULL);
}

/* ------------------------------------------------------ line parsers */

static void test_tsv(void)
{
	struct tsv_line t;
	CHECK_OK(parse_tsv_line("k\tv\tw", 5, &t));
	CHECK(t.klen == 1 && t.vlen == 3 && !memcmp(t.val, "v\tw", 3));
	CHECK_OK(parse_tsv_line("\t", 1, &t));
	CHECK(t.klen == 0 && t.vlen == 0);
	CHECK_ERR(parse_tsv_line("no tab", 6, &t), -EINVAL);
	CHECK(strstr(err_msg(), "no tab") != NULL);
	/* a byte order mark before the key is named as such */
	CHECK_ERR(parse_tsv_line("\xEF\xBB\xBFk\tv", 6, &t), -EINVAL);
	CHECK(strstr(err_msg(), "byte order mark") != NULL);
	CHECK_OK(parse_tsv_line("k\xEF\xBB\xBF\tv", 6, &t)); /* not first */
	CHECK_ERR(parse_tsv_line("k\xff\tv", 4, &t), -EINVAL);
	CHECK_ERR(parse_tsv_line("k\tv\xc3", 4, &t), -EINVAL);
}

static void test_jsonl(void)
{
	struct buf k = {0}, v = {0};
	const char *l = "{\"key\":\"a\",\"value\":{\"n\":1}}";
	CHECK_OK(parse_jsonl_line(l, strlen(l), &k, &v));
	CHECK(k.len == 1 && k.data[0] == 'a');
	CHECK(v.len == 4 && v.data[0] == 0xa1); /* {"n": 1} */
	buf_reset(&k);
	buf_reset(&v);
	CHECK_ERR(parse_jsonl_line("{\"key\":1,\"value\":2}", 19, &k, &v),
		  -EINVAL);
	CHECK_ERR(parse_jsonl_line("{\"key\":\"a\"}", 11, &k, &v), -EINVAL);
	CHECK_ERR(parse_jsonl_line("{", 1, &k, &v), -EINVAL);
	struct json_span m;
	CHECK_OK(parse_jsonl_record("{\"t\":[1]}", 9, "t", 1, &m));
	CHECK(m.len == 3);
	CHECK_ERR(parse_jsonl_record("[1]", 3, "t", 1, &m), -EINVAL);
	buf_free(&k);
	buf_free(&v);
}

static int ol(const char *line, const char *field, struct ol_line *out)
{
	return parse_ol_line(line, strlen(line), field,
			     field ? strlen(field) : 0, out);
}

static void test_ol(void)
{
	struct ol_line l;
	const char *good =
	    "/type/edition\t/books/OL1M\t3\t2023-09-14T01:52:36."
	    "129815\t{\"key\":\"/books/OL1M\",\"isbn_13\":[\"1\","
	    "\"2\"]}";
	CHECK_OK(ol(good, NULL, &l));
	CHECK(l.key.len == 11 && !memcmp(l.key.p, "/books/OL1M", 11));
	CHECK(l.revision.len == 1 && l.json.p[0] == '{');
	CHECK(l.member.p == NULL);
	CHECK_OK(ol(good, "isbn_13", &l));
	CHECK(l.member.len == 9 && !memcmp(l.member.p, "[\"1\",\"2\"]", 9));
	/* a tab inside the JSON is whitespace: still 5 columns */
	CHECK_OK(ol("/type/work\t/works/OL2W\t1\t2020\t{\"a\":\t1}", NULL, &l));
	struct {
		const char *line, *msg;
	} bad[] = {
	    {"/type/work\t/works/OL2W\t1\t2020", "found 4"},
	    {"just one column", "found 1"},
	    {"\t/works/OL2W\t1\t2020\t{}", "column 1"},
	    {"/type/work\t\t1\t2020\t{}", "column 2"},
	    {"/type/work\t/w\xff\t1\t2020\t{}", "column 2"},
	    {"/type/work\t/works/OL2W\tx\t2020\t{}", "column 3"},
	    {"/type/work\t/works/OL2W\t\t2020\t{}", "column 3"},
	    {"/type/work\t/works/OL2W\t1\t\t{}", "column 4"},
	    {"/type/work\t/works/OL2W\t1\t2020\t{\"a\":}", "column 5"},
	    {"/type/work\t/works/OL2W\t1\t2020\t[1]", "not a JSON object"},
	    {"/type/work\t/works/OL2W\t1\t2020\t", "column 5"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ol(bad[i].line, NULL, &l);
		CHECK(rc == -EINVAL);
		if (rc != -EINVAL || !strstr(err_msg(), bad[i].msg))
			fprintf(stderr,
				"line %zu: rc %d, message '%s', want "
				"'%s'\n",
				i, rc, err_msg(), bad[i].msg);
		CHECK(strstr(err_msg(), bad[i].msg) != NULL);
	}
}

/* A whole line to record and keys, with a key field. */
static void test_input_keys(void)
{
	struct input_opts o = {INPUT_OL, CODEC_RAW, "isbn", 4};
	struct input_scratch s = {0};
	struct input_rec r;
	const char *line = "/type/edition\t/books/OL1M\t1\t2020\t{\"isbn\":[\"a"
			   "\",\"caf\\u00e9\",12,-0,null,true,1.5,[\"x\"],"
			   "99999999999999999999]}";
	CHECK_OK(input_parse_line(&o, line, strlen(line), &s, &r));
	CHECK(r.nkeys == 4);
	if (r.nkeys == 4) {
		CHECK(r.keys[0].len == 1 && r.keys[0].p[0] == 'a');
		CHECK(r.keys[1].len == 5 &&
		      !memcmp(r.keys[1].p, "caf\xc3\xa9", 5));
		CHECK(r.keys[2].len == 2 && !memcmp(r.keys[2].p, "12", 2));
		CHECK(r.keys[3].len == 1 && r.keys[3].p[0] == '0');
	}
	CHECK(r.ignored == 4); /* true, 1.5, [..], the huge integer */
	/* the record is the JSON column, byte for byte */
	const char *json = strchr(line, '{');
	CHECK(r.len == strlen(json) && !memcmp(r.data, json, r.len));
	/* no such field, null, an empty array: no keys */
	const char *none[] = {"/t\t/k\t1\t2\t{\"x\":1}",
			      "/t\t/k\t1\t2\t{\"isbn\":null}",
			      "/t\t/k\t1\t2\t{\"isbn\":[]}"};
	for (size_t i = 0; i < 3; i++) {
		CHECK_OK(
		    input_parse_line(&o, none[i], strlen(none[i]), &s, &r));
		CHECK(r.nkeys == 0);
	}
	/* the default key is column 2; DAG-CBOR records */
	o.key_field = NULL;
	o.codec = CODEC_DAG_CBOR;
	const char *l2 = "/t\t/works/OL9W\t1\t2\t{\"b\":1,\"a\":[true]}";
	CHECK_OK(input_parse_line(&o, l2, strlen(l2), &s, &r));
	CHECK(r.nkeys == 1 && r.keys[0].len == 11);
	static const uint8_t cbor[] = {0xa2, 0x61, 'a', 0x81,
				       0xf5, 0x61, 'b', 0x01};
	CHECK(r.len == sizeof(cbor) && !memcmp(r.data, cbor, sizeof(cbor)));
	/* DAG-CBOR cannot hold a repeated map key: a malformed line */
	const char *dup = "/t\t/k\t1\t2\t{\"a\":1,\"a\":2}";
	CHECK_ERR(input_parse_line(&o, dup, strlen(dup), &s, &r), -EINVAL);
	/* jsonl records keyed by a field */
	struct input_opts j = {INPUT_JSONL, CODEC_RAW, "id", 2};
	const char *l3 = "{\"id\":\"x1\",\"v\":2}";
	CHECK_OK(input_parse_line(&j, l3, strlen(l3), &s, &r));
	CHECK(r.nkeys == 1 && r.len == strlen(l3));
	/* tsv values as DAG-CBOR */
	struct input_opts t = {INPUT_TSV, CODEC_DAG_CBOR, NULL, 0};
	CHECK_OK(input_parse_line(&t, "k\t[1]", 5, &s, &r));
	CHECK(r.len == 2 && r.data[0] == 0x81 && r.data[1] == 0x01);
	CHECK_ERR(input_parse_line(&t, "k\t[1", 4, &s, &r), -EINVAL);
	input_scratch_free(&s);
}

/* ------------------------------------------------------ the lease */

static volatile sig_atomic_t own_sigio;

static void count_sigio(int sig)
{
	(void)sig;
	own_sigio++;
}

static void test_lease(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_sigio;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGIO, &sa, NULL) == 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/leased", test_tmpdir("lease"));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "a\tb\n", 4) == 4);
	if (fd >= 0)
		close(fd);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	int h = inputlease_take(fd);
	if (h < 0) {
		printf("no lease on %s: skipped\n", path);
		close(fd);
		return;
	}
	/* a SIGIO that is not a broken lease: the earlier handler's */
	CHECK(raise(SIGIO) == 0);
	CHECK(own_sigio == 1 && !inputlease_broken(h));
	/* a writer: held back until the lease goes, which breaks it */
	pid_t pid = fork();
	if (pid == 0) {
		int w = open(path, O_WRONLY | O_APPEND);
		_exit(w >= 0 && write(w, "c\td\n", 4) == 4 ? 0 : 1);
	}
	CHECK(pid > 0);
	for (int i = 0; i < 1000 && !inputlease_broken(h); i++)
		usleep(10000);
	CHECK(inputlease_broken(h) && own_sigio == 1);
	inputlease_release(h);
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0);
	close(fd);
}

int main(void)
{
	test_scan_cases();
	test_scan_random();
	test_tsv();
	test_jsonl();
	test_ol();
	test_input_keys();
	test_lease();
	return test_summary();
}
