/* store.c - the block store front: LMDB plus optional read-only backends.
 *
 * LMDB environment: opened with MDB_NOTLS so a read transaction is not bound
 * to the thread that began it; that lets us keep a small pool of reset read
 * transactions (mdb_txn_reset) and hand them to whichever thread reads next
 * (mdb_txn_renew), which avoids taking a reader slot in the lock file on
 * every store_get. The map is sized 1 TiB on 64-bit hosts (the file is
 * sparse, so this costs nothing until used).
 *
 * Writers: LMDB allows one write transaction per environment; we serialise
 * them ourselves with a flag and a condition variable so store_txn_begin
 * blocks cleanly when called from several threads.
 *
 * Lock order: s->lock is a leaf lock (held only for pool/backends/writer
 * bookkeeping, never across LMDB calls or callbacks).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "hamt/err.h"
#include "hamt/varint.h"
#include "store/prefetch.h"
#include "store/store.h"
#include "store/writeback.h"

#define STORE_FORMAT_VERSION 1u
#define STORE_MAX_BACKENDS 16
#define RPOOL_SHARDS 8
#define RPOOL_MAX 16 /* per shard */

#if UINTPTR_MAX > 0xffffffffu
#define STORE_MAP_SIZE ((size_t)1 << 40) /* 1 TiB, sparse */
#else
#define STORE_MAP_SIZE ((size_t)1 << 30) /* 1 GiB on 32-bit */
#endif
#define STORE_MAP_MIN ((size_t)1 << 28) /* smallest map tried */

/* Reset read txns ready for mdb_txn_renew; a thread uses the shard chosen
 * by its thread number, so threads rarely contend for the same lock. */
struct rpool {
	pthread_mutex_t lock; /* guards txn, n */
	MDB_txn *txn[RPOOL_MAX];
	size_t n;
};

struct store {
	char *dir; /* the store directory, as given to store_open */
	MDB_env *env;
	MDB_dbi blocks, refs, reflog, staging, attrs, meta;
	int has_attrs; /* 0: a read-only open of a store made before `attrs` */
	atomic_llong fault_after; /* tests: puts left before -EIO; <0 off */
	atomic_llong read_fault_after; /* tests: reads left before -EIO */
	unsigned flags;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wcond; /* signalled when writer_busy drops */
	int writer_busy;
	struct store_backend *be[STORE_MAX_BACKENDS];
	size_t nbe;
	struct rpool rpool[RPOOL_SHARDS];
	uint64_t touched; /* reads since the last trim (atomic) */
	uint64_t trim_at; /* file-backed RSS past which to trim (atomic) */
	dev_t map_dev;	  /* identity of data.mdb, to find its mapping */
	ino_t map_ino;
	void *map_lo; /* where data.mdb is mapped (under lock) */
	size_t map_len;
};

/* Reading a block maps pages of data.mdb into the process (the kernel maps
 * up to 64 KiB around each fault), and they stay counted in its RSS as
 * file-backed pages long after the bytes were copied out. A store given a
 * map budget (store_set_map_budget: the mount's daemon) looks, every
 * STORE_TRIM_READS reads, at how much of the process is file-backed
 * (/proc/self/statm), and past the budget drops the map's pages from the
 * process: they stay in the page cache and a later read faults them back
 * in. The map is read-only (no MDB_WRITEMAP), so this never loses data.
 *
 * Dropping them every STORE_TRIM_READS reads whatever was mapped, as
 * before, made every read fault its B-tree pages in again, at 5-25 us a
 * fault on these VMs: `hamt verify` of a 400,000-key map took 10.4 s (26
 * us a block), 506,000 faults. Without a budget (the command-line tools,
 * which end when their walk does) nothing is dropped. */
#define STORE_TRIM_READS 256

/* Bytes of the process that are file-backed and resident, or UINT64_MAX
 * when /proc cannot say (then the map is trimmed as if over budget). */
static uint64_t file_rss(void)
{
	char buf[128];
	unsigned long long size = 0, res = 0, shared = 0;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return UINT64_MAX;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return UINT64_MAX;
	buf[n] = 0;
	if (sscanf(buf, "%llu %llu %llu", &size, &res, &shared) != 3)
		return UINT64_MAX;
	return (uint64_t)shared * (uint64_t)sysconf(_SC_PAGESIZE);
}

void store_set_map_budget(struct store *s, uint64_t bytes)
{
	uint64_t base = bytes == UINT64_MAX ? 0 : file_rss();
	uint64_t at = base == UINT64_MAX	  ? 0
		      : bytes > UINT64_MAX - base ? UINT64_MAX
						  : base + bytes;
	__atomic_store_n(&s->trim_at, at, __ATOMIC_RELAXED);
}

/* LMDB does not say where it mapped data.mdb: find the mapping of that
 * file (by device and inode) in /proc/self/maps, once. */
static void find_map(struct store *s)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, ino;
		unsigned maj, min;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms,
			   &off, &maj, &min, &ino) != 7)
			continue;
		if (ino == (unsigned long)s->map_ino &&
		    makedev(maj, min) == s->map_dev && perms[1] == '-') {
			s->map_lo = (void *)lo;
			s->map_len = hi - lo;
			break;
		}
	}
	fclose(f);
}

/* Where data.mdb is mapped: 1, or 0 if that cannot be found. The map does
 * not move: the store sets its size only when it opens. */
static int map_of(struct store *s, uint8_t **lo, size_t *len)
{
	pthread_mutex_lock(&s->lock);
	if (!s->map_lo)
		find_map(s);
	*lo = s->map_lo;
	*len = s->map_len;
	pthread_mutex_unlock(&s->lock);
	return *lo != NULL;
}

static void maybe_trim(struct store *s)
{
	if (__atomic_load_n(&s->trim_at, __ATOMIC_RELAXED) == UINT64_MAX)
		return;
	uint64_t t = __atomic_add_fetch(&s->touched, 1, __ATOMIC_RELAXED);
	if (t < STORE_TRIM_READS)
		return;
	/* not while a commit runs: it reads the pages it is about to write,
	 * and dropping them would only make it fault them in again */
	if (__atomic_load_n(&s->writer_busy, __ATOMIC_RELAXED))
		return;
	if (!__atomic_compare_exchange_n(&s->touched, &t, 0, 0,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return; /* another thread is trimming */
	if (file_rss() <= __atomic_load_n(&s->trim_at, __ATOMIC_RELAXED))
		return;
	uint8_t *lo;
	size_t len;
	if (map_of(s, &lo, &len))
		madvise(lo, len, MADV_DONTNEED);
}

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	int err; /* first fatal error; the txn can then only be aborted */
};

/* ------------------------------------------------------------ helpers */

static int lmdb_err(int rc, const char *what)
{
	int code;
	switch (rc) {
	case MDB_NOTFOUND:
		code = -ENOENT;
		break;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		code = -ENOSPC;
		break;
	case MDB_READERS_FULL:
	case MDB_MAP_RESIZED:
		code = -EAGAIN;
		break;
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_VALSIZE:
	case MDB_DBS_FULL:
		code = -EINVAL;
		break;
	case MDB_KEYEXIST:
		code = -EEXIST;
		break;
	default:
		code = rc > 0 ? -rc : -EIO;
		break;
	}
	return err_set(code, "%s: %s", what, mdb_strerror(rc));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static int ref_name_check(const char *name, size_t *len)
{
	size_t n = 0;
	if (!name)
		return err_set(-EINVAL, "ref name missing");
	for (; name[n]; n++) {
		unsigned char ch = (unsigned char)name[n];
		if (n >= STORE_REF_MAX)
			return err_set(-EINVAL, "ref name longer than %d bytes",
				       STORE_REF_MAX);
		if (ch <= 0x20 || ch == 0x7f)
			return err_set(-EINVAL,
				       "ref name \"%s\": control or space "
				       "character not allowed",
				       name);
	}
	if (n == 0)
		return err_set(-EINVAL, "ref name is empty");
	*len = n;
	return 0;
}

int store_mkdir_p(const char *dir)
{
	size_t n = strlen(dir);
	char *p = malloc(n + 1);
	if (!p)
		return err_set(-ENOMEM, "out of memory");
	memcpy(p, dir, n + 1);
	int rc = 0;
	for (size_t i = 1; i <= n && !rc; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char save = p[i];
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			rc = err_set(-errno, "store %s: cannot create %s: %s",
				     dir, p, strerror(errno));
		p[i] = save;
	}
	free(p);
	return rc;
}

/* 1 if `dir` has any entry besides . and .., 0 if empty, negative errno. */
static int dir_nonempty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_set(-errno, "store %s: %s", dir, strerror(errno));
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d)) != NULL)
		found = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return found;
}

/* ------------------------------------------------------ read txn pool */

static struct rpool *rpool_shard(struct store *s)
{
	static atomic_uint next;
	static _Thread_local unsigned shard = UINT_MAX;
	if (shard == UINT_MAX)
		shard = atomic_fetch_add(&next, 1) % RPOOL_SHARDS;
	return &s->rpool[shard];
}

static int rtxn_get(struct store *s, MDB_txn **out)
{
	struct rpool *rp = rpool_shard(s);
	MDB_txn *t = NULL;
	int rc;
	pthread_mutex_lock(&rp->lock);
	if (rp->n)
		t = rp->txn[--rp->n];
	pthread_mutex_unlock(&rp->lock);
	if (t) {
		rc = mdb_txn_renew(t);
		if (rc) {
			mdb_txn_abort(t);
			return lmdb_err(rc, "store: renew read txn");
		}
	} else {
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t);
		if (rc)
			return lmdb_err(rc, "store: begin read txn");
	}
	*out = t;
	return 0;
}

static void rtxn_put(struct store *s, MDB_txn *t)
{
	struct rpool *rp = rpool_shard(s);
	mdb_txn_reset(t);
	pthread_mutex_lock(&rp->lock);
	if (rp->n < RPOOL_MAX) {
		rp->txn[rp->n++] = t;
		t = NULL;
	}
	pthread_mutex_unlock(&rp->lock);
	if (t)
		mdb_txn_abort(t);
}

/* ----------------------------------------------------------- open/close */

static int meta_check(struct store *s, MDB_txn *txn, const char *dir)
{
	MDB_val k = {7, "version"}, v;
	int rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return err_set(-EINVAL,
			       "%s is not a hamtfs store (no format version)",
			       dir);
	if (rc)
		return lmdb_err(rc, "store: read format version");
	if (v.mv_size != 4)
		return err_set(-EINVAL, "%s: bad store format version record",
			       dir);
	const uint8_t *p = v.mv_data;
	uint32_t ver = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	if (ver != STORE_FORMAT_VERSION)
		return err_set(-EINVAL,
			       "%s: store format version %u not supported "
			       "(this build reads version %u)",
			       dir, ver, STORE_FORMAT_VERSION);
	return 0;
}

/* Open the named databases. `fresh`: the environment has no data yet, so
 * create everything and write the format version. */
static int open_dbs(struct store *s, const char *dir, int fresh)
{
	MDB_txn *txn = NULL;
	int rdonly = (s->flags & STORE_RDONLY) != 0;
	int rc = mdb_txn_begin(s->env, NULL, rdonly ? MDB_RDONLY : 0, &txn);
	if (rc)
		return lmdb_err(rc, "store: begin txn");
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {
	    {"meta", &s->meta},	      {"blocks", &s->blocks},
	    {"refs", &s->refs},	      {"reflog", &s->reflog},
	    {"staging", &s->staging}, {"attrs", &s->attrs},
	};
	if (!fresh) {
		/* check meta before creating anything in a foreign env */
		rc = mdb_dbi_open(txn, "meta", 0, &s->meta);
		if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
			rc = err_set(-EINVAL,
				     "%s is not a hamtfs store (no meta "
				     "database)",
				     dir);
			goto out;
		}
		if (rc) {
			rc = lmdb_err(rc, "store: open meta");
			goto out;
		}
		if ((rc = meta_check(s, txn, dir)) < 0)
			goto out;
	}
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, rdonly ? 0 : MDB_CREATE,
				  dbs[i].dbi);
		if (rc == MDB_NOTFOUND && rdonly && dbs[i].dbi == &s->attrs) {
			/* stores made before `attrs` existed: none set */
			rc = 0;
			continue;
		}
		if (dbs[i].dbi == &s->attrs && rc == 0)
			s->has_attrs = 1;
		if (rc) {
			char what[64];
			snprintf(what, sizeof(what), "store: open %s database",
				 dbs[i].name);
			rc = rc == MDB_NOTFOUND
				 ? err_set(-EINVAL,
					   "%s: store has no %s database", dir,
					   dbs[i].name)
				 : lmdb_err(rc, what);
			goto out;
		}
	}
	if (fresh) {
		uint8_t ver[4] = {0, 0, 0, STORE_FORMAT_VERSION};
		MDB_val k = {7, "version"}, v = {4, ver};
		rc = mdb_put(txn, s->meta, &k, &v, 0);
		if (rc) {
			rc = lmdb_err(rc, "store: write format version");
			goto out;
		}
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc)
		rc = lmdb_err(rc, "store: commit");
out:
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

/* The map to ask LMDB for: STORE_MAP_SIZE, or where the address space is
 * limited (ulimit -v, valgrind, ThreadSanitizer) the largest of a quarter,
 * a sixteenth, ... of which twice can be reserved, down to STORE_MAP_MIN. LMDB
 * grows a map to the size of the data file anyway, and a map smaller than
 * another process's only matters once the data outgrows it.
 *
 * Found with a reservation of our own (PROT_NONE, nothing committed), not
 * by letting mdb_env_open fail and trying again: a failed open may have
 * taken the lock file's exclusive lock and set up its shared region
 * (reader table, last transaction id) without finishing, and a process
 * that opened the store meanwhile used that region as it was. Its
 * transactions then began from an old snapshot and their commits undid
 * others': under `ulimit -v 8000000`, 600 `hamt put`s two at a time kept
 * only 574 and 587 of their records (tests/tools/test_stage.sh). */
static size_t map_size(void)
{
	size_t map = STORE_MAP_SIZE;
	for (; map / 4 >= STORE_MAP_MIN; map /= 4) {
		/* twice the map: LMDB maps the lock file and allocates too,
		 * and a map that only just fits leaves it no room for that
		 * (test_store's limit of 4 GiB above what is mapped: a 4 GiB
		 * reservation fit, and then LMDB's open failed) */
		size_t probe = map <= SIZE_MAX / 2 ? 2 * map : map;
		void *p =
		    mmap(NULL, probe, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			munmap(p, probe);
			break;
		}
	}
	return map;
}

int store_open(struct store **out, const char *dir, unsigned flags)
{
	struct store *s = NULL;
	struct stat st;
	char *data_path = NULL;
	int rc, fresh = 0;
	*out = NULL;
	if (!dir || !*dir)
		return err_set(-EINVAL, "store: no directory given");
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT)
			return err_set(-errno, "store %s: %s", dir,
				       strerror(errno));
		if (!(flags & STORE_CREATE) || (flags & STORE_RDONLY))
			return err_set(-ENOENT, "store %s: no such directory",
				       dir);
		if ((rc = store_mkdir_p(dir)) < 0)
			return rc;
	} else if (!S_ISDIR(st.st_mode)) {
		return err_set(-ENOTDIR, "store %s: not a directory", dir);
	}
	size_t dl = strlen(dir);
	data_path = malloc(dl + sizeof("/data.mdb"));
	if (!data_path)
		return err_set(-ENOMEM, "out of memory");
	memcpy(data_path, dir, dl);
	memcpy(data_path + dl, "/data.mdb", sizeof("/data.mdb"));
	if (stat(data_path, &st) < 0) {
		if (errno != ENOENT) {
			rc = err_set(-errno, "store %s: %s", data_path,
				     strerror(errno));
			goto fail;
		}
		if (!(flags & STORE_CREATE) || (flags & STORE_RDONLY)) {
			rc = dir_nonempty(dir);
			if (rc > 0)
				rc = err_set(-EINVAL,
					     "%s is not a hamtfs store (no "
					     "data.mdb)",
					     dir);
			else if (rc == 0)
				rc = err_set(-ENOENT,
					     "no store in %s (create one "
					     "first)",
					     dir);
			goto fail;
		}
		fresh = 1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		rc = err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	s->flags = flags;
	atomic_init(&s->fault_after, -1);
	s->trim_at = UINT64_MAX;
	atomic_init(&s->read_fault_after, -1);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wcond, NULL);
	for (size_t i = 0; i < RPOOL_SHARDS; i++)
		pthread_mutex_init(&s->rpool[i].lock, NULL);
	if (!(s->dir = strdup(dir))) {
		rc = err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = mdb_env_create(&s->env)) != 0) {
		rc = lmdb_err(rc, "store: create env");
		goto fail;
	}
	mdb_env_set_maxdbs(s->env, 8);
	mdb_env_set_maxreaders(s->env, 1024);
	mdb_env_set_mapsize(s->env, map_size());
	rc = mdb_env_open(s->env, dir,
			  MDB_NOTLS | (flags & STORE_RDONLY ? MDB_RDONLY : 0) |
			      (flags & STORE_PRIVATE ? MDB_NOSYNC : 0),
			  0644);
	if (rc) {
		rc = lmdb_err(rc, "store: open");
		err_wrap(rc, "store %s", dir);
		goto fail;
	}
	if (stat(data_path, &st) == 0) {
		s->map_dev = st.st_dev;
		s->map_ino = st.st_ino;
	}
	if (!fresh) {
		/* a crash during creation leaves an empty environment: treat
		 * it as new rather than refusing it forever */
		MDB_stat ms;
		if (mdb_env_stat(s->env, &ms) == 0 && ms.ms_entries == 0 &&
		    !(flags & STORE_RDONLY) && (flags & STORE_CREATE))
			fresh = 1;
	}
	if ((rc = open_dbs(s, dir, fresh)) < 0)
		goto fail;
	free(data_path);
	*out = s;
	return 0;
fail:
	free(data_path);
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nbe; i++)
		if (s->be[i] && s->be[i]->free)
			s->be[i]->free(s->be[i]);
	for (size_t i = 0; i < RPOOL_SHARDS; i++) {
		for (size_t j = 0; j < s->rpool[i].n; j++)
			mdb_txn_abort(s->rpool[i].txn[j]);
		pthread_mutex_destroy(&s->rpool[i].lock);
	}
	if (s->env)
		mdb_env_close(s->env);
	pthread_cond_destroy(&s->wcond);
	pthread_mutex_destroy(&s->lock);
	free(s->dir);
	free(s);
}

const char *store_dir(const struct store *s)
{
	return s->dir;
}

int store_is_rdonly(const struct store *s)
{
	return (s->flags & STORE_RDONLY) != 0;
}

int store_add_backend(struct store *s, struct store_backend *be)
{
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	if (s->nbe < STORE_MAX_BACKENDS)
		s->be[s->nbe++] = be;
	else
		rc = err_set(-ENOSPC, "store: more than %d backends",
			     STORE_MAX_BACKENDS);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static size_t backends_snapshot(struct store *s, struct store_backend **be)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->nbe;
	memcpy(be, s->be, n * sizeof(*be));
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---------------------------------------------------------------- blocks */

/* -EIO naming `c` for a block over the limit: none is ever written or
 * imported, so one found in a backend was put there behind our back, and
 * reading it could take any amount of memory. */
static int too_big(const struct cid *c, size_t len, const char *from)
{
	char txt[CID_MAX_TEXT];
	return err_set(-EIO,
		       "block %s: %zu bytes, over the %u-byte block limit "
		       "(from %s backend)",
		       cid_format(c, txt), len, STORE_MAX_BLOCK, from);
}

static int verify(const struct cid *c, uint8_t *data, size_t len,
		  const char *from)
{
	if (len > STORE_MAX_BLOCK)
		return too_big(c, len, from);
	int rc = cid_verify_block(c, data, len);
	if (rc == 0)
		return 0;
	char txt[CID_MAX_TEXT];
	cid_format(c, txt);
	if (rc == -EIO)
		return err_set(-EIO,
			       "block %s: content does not match its hash "
			       "(from %s backend)",
			       txt, from);
	return err_wrap(rc, "block %s (from %s backend)", txt, from);
}

int store_get(struct store *s, const struct cid *c, uint8_t **data, size_t *len)
{
	char txt[CID_MAX_TEXT];
	uint8_t key[CID_MAX_BYTES];
	MDB_txn *txn;
	int rc;
	*data = NULL;
	*len = 0;
	if (c->mh_code == MH_IDENTITY) {
		/* the block is the digest itself */
		*data = malloc(c->digest_len ? c->digest_len : 1);
		if (!*data)
			return err_set(-ENOMEM, "out of memory");
		memcpy(*data, c->digest, c->digest_len);
		*len = c->digest_len;
		return 0;
	}
	if (atomic_load(&s->read_fault_after) >= 0 &&
	    atomic_fetch_sub(&s->read_fault_after, 1) <= 0) {
		atomic_store(&s->read_fault_after, 0);
		return err_set(-EIO,
			       "block %s: injected read fault "
			       "(store_fault_read_after)",
			       cid_format(c, txt));
	}
	MDB_val k = {cid_to_bytes(c, key), key}, v;
	if ((rc = rtxn_get(s, &txn)) < 0)
		return rc;
	rc = mdb_get(txn, s->blocks, &k, &v);
	if (rc == 0 && v.mv_size > STORE_MAX_BLOCK) {
		rc = too_big(c, v.mv_size, "lmdb");
	} else if (rc == 0) {
		uint8_t *p = malloc(v.mv_size ? v.mv_size : 1);
		if (p) {
			memcpy(p, v.mv_data, v.mv_size);
			*data = p;
			*len = v.mv_size;
		} else {
			rc = err_set(-ENOMEM, "out of memory");
		}
	} else if (rc != MDB_NOTFOUND) {
		rc = lmdb_err(rc, "store: read block");
	}
	rtxn_put(s, txn);
	if (rc == 0) {
		maybe_trim(s);
		if ((rc = verify(c, *data, *len, "lmdb")) < 0) {
			free(*data);
			*data = NULL;
			*len = 0;
		}
		return rc;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	struct store_backend *be[STORE_MAX_BACKENDS];
	size_t nbe = backends_snapshot(s, be);
	for (size_t i = 0; i < nbe; i++) {
		if (!be[i]->get)
			continue;
		rc = be[i]->get(be[i], c, data, len);
		if (rc == -ENOENT)
			continue;
		if (rc < 0)
			return rc;
		if ((rc = verify(c, *data, *len, be[i]->name)) < 0) {
			free(*data);
			*data = NULL;
			*len = 0;
		}
		return rc;
	}
	return err_set(-ENOENT, "block not found: %s", cid_format(c, txt));
}

int store_has(struct store *s, const struct cid *c)
{
	uint8_t key[CID_MAX_BYTES];
	MDB_txn *txn;
	int rc;
	if (c->mh_code == MH_IDENTITY)
		return 1;
	MDB_val k = {cid_to_bytes(c, key), key}, v;
	if ((rc = rtxn_get(s, &txn)) < 0)
		return rc;
	rc = mdb_get(txn, s->blocks, &k, &v);
	rtxn_put(s, txn);
	if (rc == 0)
		return 1;
	if (rc != MDB_NOTFOUND)
		return lmdb_err(rc, "store: read block");
	struct store_backend *be[STORE_MAX_BACKENDS];
	size_t nbe = backends_snapshot(s, be);
	for (size_t i = 0; i < nbe; i++) {
		if (be[i]->has) {
			rc = be[i]->has(be[i], c);
		} else if (be[i]->get) {
			uint8_t *d;
			size_t l;
			rc = be[i]->get(be[i], c, &d, &l);
			if (rc == 0) {
				free(d);
				rc = 1;
			} else if (rc == -ENOENT) {
				rc = 0;
			}
		} else {
			rc = 0;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

int store_put(struct store *s, const struct cid *c, const uint8_t *data,
	      size_t len)
{
	struct store_txn *t;
	int rc = store_txn_begin(s, &t);
	if (rc < 0)
		return rc;
	rc = store_txn_put(t, c, data, len);
	if (rc < 0) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t);
}

int store_iterate(struct store *s, store_block_cb cb, void *payload)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return lmdb_err(rc, "store: begin read txn");
	if ((rc = mdb_cursor_open(txn, s->blocks, &cur)) != 0) {
		rc = lmdb_err(rc, "store: open cursor");
		goto out;
	}
	int op = MDB_FIRST;
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		struct cid c;
		size_t used;
		op = MDB_NEXT;
		rc = cid_from_bytes(&c, k.mv_data, k.mv_size, &used);
		if (rc == 0 && used != k.mv_size)
			rc = err_set(-EIO, "trailing bytes after CID");
		if (rc < 0) {
			err_wrap(-EIO, "store: bad key in blocks database");
			rc = -EIO;
			goto out;
		}
		if ((rc = verify(&c, v.mv_data, v.mv_size, "lmdb")) < 0)
			goto out;
		if ((rc = cb(payload, &c, v.mv_data, v.mv_size)) != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : lmdb_err(rc, "store: iterate blocks");
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

/* ------------------------------------------------------------------ refs */

static int ref_decode(const MDB_val *v, const char *name, struct cid *out)
{
	size_t used;
	int rc = cid_from_bytes(out, v->mv_data, v->mv_size, &used);
	if (rc == 0 && used != v->mv_size)
		rc = -EINVAL;
	if (rc < 0)
		return err_set(-EIO, "ref %s: stored root is not a valid CID",
			       name);
	return 0;
}

int store_ref_get(struct store *s, const char *name, struct cid *out)
{
	size_t n;
	MDB_txn *txn;
	int rc = ref_name_check(name, &n);
	if (rc < 0)
		return rc;
	if ((rc = rtxn_get(s, &txn)) < 0)
		return rc;
	MDB_val k = {n, (void *)name}, v;
	rc = mdb_get(txn, s->refs, &k, &v);
	if (rc == 0)
		rc = ref_decode(&v, name, out);
	else if (rc == MDB_NOTFOUND)
		rc = err_set(-ENOENT, "unknown ref: %s", name);
	else
		rc = lmdb_err(rc, "store: read ref");
	rtxn_put(s, txn);
	return rc;
}

int store_resolve(struct store *s, const char *root, struct cid *out)
{
	size_t n;
	if (!root || !*root)
		return err_set(-EINVAL, "empty root: want a CID or a ref name");
	if (cid_parse(out, root) == 0)
		return 0;
	if (ref_name_check(root, &n) < 0)
		return err_set(-EINVAL, "not a CID or ref name: \"%s\"", root);
	int rc = store_ref_get(s, root, out);
	if (rc == -ENOENT)
		return err_set(-ENOENT, "unknown ref or CID: %s", root);
	return rc;
}

int store_ref_set(struct store *s, const char *name, const struct cid *root)
{
	struct store_txn *t;
	int rc = store_txn_begin(s, &t);
	if (rc < 0)
		return rc;
	rc = store_txn_set_ref(t, name, root);
	if (rc < 0) {
		store_txn_abort(t);
		return rc;
	}
	return store_txn_commit(t);
}

int store_ref_list(struct store *s,
		   int (*cb)(void *payload, const char *name,
			     const struct cid *root),
		   void *payload)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char name[STORE_REF_MAX + 1];
	int rc = rtxn_get(s, &txn);
	if (rc < 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->refs, &cur)) != 0) {
		rc = lmdb_err(rc, "store: open cursor");
		goto out;
	}
	int op = MDB_FIRST;
	while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		struct cid c;
		op = MDB_NEXT;
		if (k.mv_size == 0 || k.mv_size > STORE_REF_MAX ||
		    memchr(k.mv_data, 0, k.mv_size)) {
			rc = err_set(-EIO, "store: bad ref name in database");
			goto out;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if ((rc = ref_decode(&v, name, &c)) < 0)
			goto out;
		if ((rc = cb(payload, name, &c)) != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : lmdb_err(rc, "store: list refs");
out:
	if (cur)
		mdb_cursor_close(cur);
	rtxn_put(s, txn);
	return rc;
}

/* Position `cur` on the newest reflog entry of name[0..n); 1 found, 0 none,
 * negative errno. */
static int reflog_last(MDB_cursor *cur, const char *name, size_t n, MDB_val *k,
		       MDB_val *v)
{
	uint8_t key[STORE_REF_MAX + 9];
	memcpy(key, name, n);
	key[n] = 0;
	memset(key + n + 1, 0xff, 8);
	*k = (MDB_val){n + 9, key};
	int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, k, v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, k, v, MDB_LAST);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return lmdb_err(rc, "store: read ref log");
	return k->mv_size == n + 9 && memcmp(k->mv_data, name, n) == 0 &&
	       ((const uint8_t *)k->mv_data)[n] == 0;
}

int store_ref_log(struct store *s, const char *name,
		  int (*cb)(void *payload, uint64_t time, const struct cid *old,
			    const struct cid *new_root),
		  void *payload)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t n;
	int rc = ref_name_check(name, &n);
	if (rc < 0)
		return rc;
	if ((rc = rtxn_get(s, &txn)) < 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->reflog, &cur)) != 0) {
		rc = lmdb_err(rc, "store: open cursor");
		goto out;
	}
	for (rc = reflog_last(cur, name, n, &k, &v); rc == 1;) {
		const uint8_t *p = v.mv_data;
		size_t len = v.mv_size, used;
		uint64_t oldlen;
		struct cid oldc, newc;
		if (len < 8 || varint_decode(p + 8, len - 8, &oldlen, &used) ||
		    oldlen > len - 8 - used) {
			rc = err_set(-EIO, "ref log of %s: bad entry", name);
			goto out;
		}
		uint64_t t = get_be64(p);
		p += 8 + used;
		len -= 8 + used;
		if (oldlen && (cid_from_bytes(&oldc, p, oldlen, &used) ||
			       used != oldlen)) {
			rc = err_set(-EIO, "ref log of %s: bad old CID", name);
			goto out;
		}
		p += oldlen;
		len -= oldlen;
		if (cid_from_bytes(&newc, p, len, &used) || used != len) {
			rc = err_set(-EIO, "ref log of %s: bad new CID", name);
			goto out;
		}
		if ((rc = cb(payload, t, oldlen ? &oldc : NULL, &newc)) != 0)
			goto out;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc) {
			rc = lmdb_err(rc, "store: read ref log");
			goto out;
		}
		rc = k.mv_size == n + 9 && memcmp(k.mv_data, name, n) == 0 &&
		     ((const uint8_t *)k.mv_data)[n] == 0;
	}
out:
	if (cur)
		mdb_cursor_close(cur);
	rtxn_put(s, txn);
	return rc;
}

/* ------------------------------------------------------------------ txns */

int store_txn_begin(struct store *s, struct store_txn **out)
{
	*out = NULL;
	if (s->flags & STORE_RDONLY)
		return err_set(-EROFS, "store is open read-only");
	struct store_txn *t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(-ENOMEM, "out of memory");
	pthread_mutex_lock(&s->lock);
	while (s->writer_busy)
		pthread_cond_wait(&s->wcond, &s->lock);
	/* atomic: maybe_trim reads it without the lock */
	__atomic_store_n(&s->writer_busy, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
	t->s = s;
	int rc = mdb_txn_begin(s->env, NULL, 0, &t->txn);
	if (rc) {
		rc = lmdb_err(rc, "store: begin write txn");
		t->txn = NULL;
		store_txn_abort(t);
		return rc;
	}
	*out = t;
	return 0;
}

static void writer_release(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	__atomic_store_n(&s->writer_busy, 0, __ATOMIC_RELAXED);
	pthread_cond_signal(&s->wcond);
	pthread_mutex_unlock(&s->lock);
}

/* Below this much free space, a failed write means the disk is full. LMDB
 * reports a short write as EIO, and ext4 counts as free (f_bfree, even for
 * root) the clusters it keeps back for its own metadata, 2% of the disk up
 * to 4096 clusters (16 MiB with 4 KiB clusters): a full ext4 still shows
 * up to 16 MiB left. */
#define STORE_FULL_SLACK ((uint64_t)32 << 20)

/* Bytes the store's file system has left for us, or UINT64_MAX if unknown
 * (root may use the blocks reserved for it). */
static uint64_t disk_left(const struct store *s)
{
	struct statvfs v;
	if (statvfs(s->dir, &v) != 0)
		return UINT64_MAX;
	return (uint64_t)(geteuid() == 0 ? v.f_bfree : v.f_bavail) * v.f_frsize;
}

/* The error of a failed LMDB write (a put that spilled pages, or a
 * commit). LMDB turns a short write, which is how a disk that fills up in
 * the middle of a writev shows, into EIO: when the disk is (nearly) full,
 * that is -ENOSPC. */
static int write_err(struct store *s, int rc, const char *what)
{
	if (strncmp(what, "store: ", 7) == 0)
		what += 7; /* the message names the store itself */
	if (rc == MDB_MAP_FULL) {
		MDB_envinfo info;
		mdb_env_info(s->env, &info);
		return err_set(-ENOSPC,
			       "%s: store map full (%zu MiB); nothing of "
			       "this transaction was committed",
			       what, info.me_mapsize >> 20);
	}
	if (rc == EIO || rc == ENOSPC || rc == EDQUOT) {
		uint64_t left = disk_left(s);
		if (rc != EIO || left < STORE_FULL_SLACK)
			return err_set(
			    rc == EDQUOT ? -EDQUOT : -ENOSPC,
			    "store %s: %s: %s (%llu KiB left on its disk); "
			    "nothing of this transaction was committed",
			    s->dir, what,
			    strerror(rc == EDQUOT ? EDQUOT : ENOSPC),
			    left == UINT64_MAX
				? 0ULL
				: (unsigned long long)(left >> 10));
	}
	rc = lmdb_err(rc, what);
	return err_wrap(rc, "store %s", s->dir);
}

/* After a transaction failed for want of space: give back what it wrote
 * past the last committed page (LMDB never shrinks data.mdb, and those
 * pages are garbage now), so that a full disk does not stay full. Taken
 * under LMDB's writer lock (waiting for another process's write
 * transaction, if one began after ours failed): nobody else is writing
 * there, and no reader looks past the last committed page. Best effort. */
static void give_back_space(struct store *s)
{
	MDB_txn *w = NULL;
	MDB_envinfo info;
	MDB_stat st;
	int fd = -1;
	struct stat sb;
	if ((s->flags & STORE_RDONLY) || mdb_txn_begin(s->env, NULL, 0, &w))
		return;
	if (mdb_env_info(s->env, &info) == 0 &&
	    mdb_env_stat(s->env, &st) == 0 &&
	    mdb_env_get_fd(s->env, &fd) == 0 && fstat(fd, &sb) == 0) {
		off_t want = (off_t)(info.me_last_pgno + 1) * st.ms_psize;
		/* a failure leaves the file as it was: still whole */
		int tr = sb.st_size > want ? ftruncate(fd, want) : 0;
		(void)tr;
	}
	mdb_txn_abort(w);
}

static int txn_fail(struct store_txn *t, int rc, const char *what)
{
	t->err = write_err(t->s, rc, what);
	return t->err;
}

int store_txn_put(struct store_txn *t, const struct cid *c, const uint8_t *data,
		  size_t len)
{
	uint8_t key[CID_MAX_BYTES];
	if (t->err)
		return err_set(t->err, "store: transaction already failed");
	if (len > STORE_MAX_BLOCK) {
		char txt[CID_MAX_TEXT];
		return err_set(-EFBIG,
			       "block %s: %zu bytes is over the %u "
			       "byte limit",
			       cid_format(c, txt), len, STORE_MAX_BLOCK);
	}
	if (c->mh_code == MH_IDENTITY)
		return 0; /* never stored: the CID holds the data */
	if (atomic_load(&t->s->fault_after) >= 0 &&
	    atomic_fetch_sub(&t->s->fault_after, 1) <= 0) {
		atomic_store(&t->s->fault_after, 0);
		char txt[CID_MAX_TEXT];
		return t->err = err_set(-EIO,
					"block %s: injected write fault "
					"(store_fault_after)",
					cid_format(c, txt));
	}
	MDB_val k = {cid_to_bytes(c, key), key}, v = {len, (void *)data};
	int rc = mdb_put(t->txn, t->s->blocks, &k, &v, MDB_NOOVERWRITE);
	if (rc == 0 || rc == MDB_KEYEXIST)
		return 0;
	return txn_fail(t, rc, "store: write block");
}

/* ----------------------------------------------------------- batches */

struct batch_ent {
	uint8_t key[CID_MAX_BYTES];
	uint8_t klen;
	uint8_t owned;
	const uint8_t *data;
	size_t len;
};

struct store_batch {
	struct store_txn *t;
	size_t flush_bytes, bytes;
	struct batch_ent *v;
	size_t n, cap;
	uint64_t added;
};

int store_batch_new(struct store_batch **out, struct store_txn *t,
		    size_t flush_bytes)
{
	struct store_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return err_set(-ENOMEM, "store: out of memory");
	b->t = t;
	b->flush_bytes = flush_bytes;
	*out = b;
	return 0;
}

static void batch_clear(struct store_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].owned)
			free((void *)b->v[i].data);
	b->n = 0;
	b->bytes = 0;
}

void store_batch_free(struct store_batch *b)
{
	if (!b)
		return;
	batch_clear(b);
	free(b->v);
	free(b);
}

uint64_t store_batch_count(const struct store_batch *b)
{
	return b->added;
}

static int batch_ent_cmp(const void *pa, const void *pb)
{
	const struct batch_ent *a = pa, *b = pb;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);
	return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

int store_batch_put(struct store_batch *b)
{
	struct store_txn *t = b->t;
	int rc = 0;
	if (b->n > 1)
		qsort(b->v, b->n, sizeof(*b->v), batch_ent_cmp);
	for (size_t i = 0; !rc && i < b->n; i++) {
		if (i && batch_ent_cmp(&b->v[i - 1], &b->v[i]) == 0)
			continue; /* the same block twice */
		struct cid c;
		size_t used;
		rc = cid_from_bytes(&c, b->v[i].key, b->v[i].klen, &used);
		if (!rc)
			rc = store_txn_put(t, &c, b->v[i].data, b->v[i].len);
	}
	batch_clear(b);
	return rc;
}

static int batch_add(struct store_batch *b, const struct cid *c,
		     const uint8_t *data, size_t len, int copy)
{
	if (len > STORE_MAX_BLOCK || c->mh_code == MH_IDENTITY)
		return store_txn_put(b->t, c, data, len); /* refused or void */
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct batch_ent *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return err_set(-ENOMEM, "store: out of memory");
		b->v = v;
		b->cap = cap;
	}
	struct batch_ent *e = &b->v[b->n];
	e->klen = (uint8_t)cid_to_bytes(c, e->key);
	e->len = len;
	e->owned = (uint8_t)copy;
	e->data = data;
	if (copy) {
		uint8_t *d = malloc(len ? len : 1);
		if (!d)
			return err_set(-ENOMEM, "store: out of memory");
		if (len)
			memcpy(d, data, len);
		e->data = d;
	}
	b->n++;
	b->added++;
	b->bytes += len;
	if (b->flush_bytes && b->bytes >= b->flush_bytes)
		return store_batch_put(b);
	return 0;
}

int store_batch_add(struct store_batch *b, const struct cid *c,
		    const uint8_t *data, size_t len)
{
	return batch_add(b, c, data, len, 1);
}

int store_batch_add_ref(struct store_batch *b, const struct cid *c,
			const uint8_t *data, size_t len)
{
	return batch_add(b, c, data, len, 0);
}

/* Append (time, old, new) to the ref log of name[0..n). */
static int reflog_append(struct store_txn *t, const char *name, size_t n,
			 const uint8_t *oldb, size_t oldlen,
			 const struct cid *root)
{
	MDB_cursor *cur = NULL;
	uint8_t newb[CID_MAX_BYTES];
	uint8_t val[8 + VARINT_MAX_BYTES + 2 * CID_MAX_BYTES];
	uint8_t key[STORE_REF_MAX + 9];
	size_t newlen = cid_to_bytes(root, newb);
	uint64_t seq = 1;
	MDB_val k, v;
	int rc;
	if ((rc = mdb_cursor_open(t->txn, t->s->reflog, &cur)) != 0)
		return txn_fail(t, rc, "store: open cursor");
	rc = reflog_last(cur, name, n, &k, &v);
	if (rc == 1)
		seq = get_be64((const uint8_t *)k.mv_data + n + 1) + 1;
	mdb_cursor_close(cur);
	if (rc < 0)
		return t->err = rc;
	memcpy(key, name, n);
	key[n] = 0;
	put_be64(key + n + 1, seq);
	put_be64(val, (uint64_t)time(NULL));
	size_t vl = 8 + varint_encode(oldlen, val + 8);
	memcpy(val + vl, oldb, oldlen);
	vl += oldlen;
	memcpy(val + vl, newb, newlen);
	vl += newlen;
	k = (MDB_val){n + 9, key};
	v = (MDB_val){vl, val};
	if ((rc = mdb_put(t->txn, t->s->reflog, &k, &v, 0)) != 0)
		return txn_fail(t, rc, "store: write ref log");
	return 0;
}

int store_txn_set_ref(struct store_txn *t, const char *name,
		      const struct cid *root)
{
	size_t n;
	uint8_t oldb[CID_MAX_BYTES], newb[CID_MAX_BYTES];
	size_t oldlen = 0, newlen = cid_to_bytes(root, newb);
	struct cid old;
	int rc = store_txn_get_ref(t, name, &old);
	if (rc == 0)
		oldlen = cid_to_bytes(&old, oldb);
	else if (rc != -ENOENT)
		return rc;
	ref_name_check(name, &n); /* checked by store_txn_get_ref */
	MDB_val k = {n, (void *)name}, v = {newlen, newb};
	if ((rc = mdb_put(t->txn, t->s->refs, &k, &v, 0)) != 0)
		return txn_fail(t, rc, "store: write ref");
	return reflog_append(t, name, n, oldb, oldlen, root);
}

int store_txn_get_ref(struct store_txn *t, const char *name, struct cid *out)
{
	size_t n;
	MDB_val k, v;
	if (t->err)
		return err_set(t->err, "store: transaction already failed");
	int rc = ref_name_check(name, &n);
	if (rc < 0)
		return rc;
	k = (MDB_val){n, (void *)name};
	rc = mdb_get(t->txn, t->s->refs, &k, &v);
	if (rc == MDB_NOTFOUND)
		return err_set(-ENOENT, "unknown ref: %s", name);
	if (rc)
		return txn_fail(t, rc, "store: read ref");
	return ref_decode(&v, name, out);
}

int store_txn_log_root(struct store_txn *t, const char *name,
		       const struct cid *old, const struct cid *root)
{
	size_t n;
	uint8_t oldb[CID_MAX_BYTES];
	if (t->err)
		return err_set(t->err, "store: transaction already failed");
	int rc = ref_name_check(name, &n);
	if (rc < 0)
		return rc;
	size_t oldlen = old ? cid_to_bytes(old, oldb) : 0;
	return reflog_append(t, name, n, oldb, oldlen, root);
}

void store_fault_read_after(struct store *s, long long n)
{
	atomic_store(&s->read_fault_after, n < 0 ? -1 : n);
}

void store_fault_after(struct store *s, long long n)
{
	atomic_store(&s->fault_after, n < 0 ? -1 : n);
}

int store_txn_commit(struct store_txn *t)
{
	int rc;
	if (t->err) {
		rc = err_set(t->err, "store: commit of a failed transaction: "
				     "nothing written");
		store_txn_abort(t);
		return rc;
	}
	rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	/* a private store's commits do not sync: this one syncs all of them
	 * (LMDB's fdatasync of the whole file, then of its meta page) */
	if (!rc && (t->s->flags & STORE_PRIVATE))
		rc = mdb_env_sync(t->s->env, 1);
	if (rc)
		t->err = rc = write_err(t->s, rc, "commit");
	store_txn_abort(t);
	return rc;
}

void store_txn_abort(struct store_txn *t)
{
	if (!t)
		return;
	if (t->txn)
		mdb_txn_abort(t->txn);
	if (t->s && (t->err == -ENOSPC || t->err == -EDQUOT))
		give_back_space(t->s);
	if (t->s)
		writer_release(t->s);
	free(t);
}

/* ----------------------------------------------------------- bulk load */

/* Every STORE_BULK_KICK bytes, start writeback of what LMDB has written
 * (spilled pages) so the commit's fsync finds less left to do. */
#define STORE_BULK_KICK ((uint64_t)64 << 20)
/* ... and let go of the page cache of what lies more than
 * STORE_BULK_BEHIND below the end of the file, once it is on disk: a load
 * of many GB then reuses a window of pages instead of taking a fresh page
 * for every 4 KiB it writes (on a VM that hands idle memory back to its
 * host, the first touch of a page costs more than writing it to disk). */
#define STORE_BULK_BEHIND ((off_t)256 << 20)
/* ... and, in a load into an empty store (all appends), flush what is on
 * disk every STORE_BULK_FLUSH bytes, so that the commit's fsync does not
 * wait for a VM's host to write out gigabytes (store/writeback.h). 10M
 * records: the commit took 0.01-0.15 s, against 0.7-1.4 s. Not in a load
 * into a store that has blocks, whose writes land all over the file: 3M
 * new records into the 10M store took 0.3-1.6 s longer to write with the
 * flushes, and gained less than that at the commit. */
#define STORE_BULK_FLUSH ((uint64_t)512 << 20)
/* A STORE_PRIVATE bulk load commits every STORE_BULK_STEP bytes put, so
 * that LMDB never spills: 64 MiB of blocks fill about 75 MiB of pages,
 * far under LMDB's dirty-page limit of 128k pages (512 MiB). LMDB mallocs
 * each dirty page and reuses them from one step to the next: a smaller
 * step takes fewer fresh pages (10M records: 118,000 page faults against
 * 163,000 with 256 MiB steps, and a write phase 0.5 s shorter; 32 and 16
 * MiB were no faster). */
#define STORE_BULK_STEP ((uint64_t)64 << 20)
/* A load into a store that has blocks already looks each block up, and the
 * lookups, in CID order, walk the pages of a store that was built in CID
 * order from the start of its file to the end. Left to page faults, each
 * miss reads the 8 MiB around it and waits for them (measured: 10M-record
 * store, 3.3 GB, not cached: 7-8.5 s of lookups against 2.6 s cached). So
 * the load reads ahead of where its lookups are (the place in the file of
 * the last block found present, or of the block after a new one, which
 * every STORE_BULK_RA_PROBE-th lookup finds), STORE_BULK_RA_CHUNK at a time,
 * keeping STORE_BULK_RA_AHEAD asked for, which a thread of its own reads
 * (prefetch.h: a readahead hint per chunk read only half of it here, and
 * cost the writer the page-cache allocation); and every STORE_BULK_RA_TRIM it
 * has moved on, it unmaps the pages of the map it has left behind, which stay
 * in the page cache but no longer count in the process's RSS (they did: 4.7 GB
 * for that load). Both are hints: a store laid out otherwise only reads ahead
 * for nothing, and an unmapped page a lookup needs again faults back in from
 * the page cache. */
#define STORE_BULK_RA_CHUNK ((uint64_t)16 << 20)
#define STORE_BULK_RA_AHEAD ((uint64_t)96 << 20)
#define STORE_BULK_RA_TRIM ((uint64_t)256 << 20)
/* Every STORE_BULK_RA_PROBE-th lookup is made apart, before the put, to
 * learn where it is also for blocks that are new (a power of 2). */
#define STORE_BULK_RA_PROBE 32
/* Every STORE_BULK_TOUCH_EVERY puts into the store's range, the read-ahead
 * is set to touch the pages (prefetch_set_touch) if most of the blocks of
 * the last ones were new (inserts copy every page they change), and to
 * hints if most were present (lookups only). */
#define STORE_BULK_TOUCH_EVERY 4096

struct store_bulk {
	struct store_txn *t;
	MDB_cursor *cur;
	uint8_t last[CID_MAX_BYTES]; /* greatest key before the load */
	size_t last_len;
	int appending; /* past `last` (or the store was empty) */
	uint8_t prev[CID_MAX_BYTES];
	size_t prev_len;
	uint64_t stored, present, since_kick, since_step, steps;
	uint64_t kick; /* STORE_BULK_KICK, or a test's */
	uint64_t step; /* STORE_PRIVATE: STORE_BULK_STEP, or a test's */
	off_t behind;  /* STORE_BULK_BEHIND, or a test's */
	int fd;
	off_t from;	      /* the file's size at the start of the load */
	struct writeback *wb; /* writes back and lets go past `from`, or NULL */
	/* read-ahead of a load into a non-empty store (offsets in data.mdb) */
	uint8_t *map_lo; /* where data.mdb is mapped, NULL: unknown */
	size_t map_len;
	uint64_t ra_next;  /* asked for up to here */
	uint64_t ra_pos;   /* the furthest place a lookup reached */
	uint64_t trimmed;  /* unmapped up to here */
	uint64_t ra_bytes; /* asked for in all */
	uint64_t lookups;  /* puts not appended (with the map known) */
	uint64_t ra_chunk, ra_ahead, ra_trim; /* STORE_BULK_RA_*, or a test's */
	struct prefetch *pf; /* reads what is asked for ahead, or NULL */
	uint64_t since_mode, mode_stored, mode_present; /* touch or not */
};

int store_bulk_begin(struct store_txn *t, struct store_bulk **out)
{
	MDB_val k, v;
	*out = NULL;
	if (t->err)
		return err_set(t->err, "store: transaction already failed");
	struct store_bulk *b = calloc(1, sizeof(*b));
	if (!b)
		return err_set(-ENOMEM, "out of memory");
	b->t = t;
	b->fd = -1;
	b->kick = STORE_BULK_KICK;
	b->behind = STORE_BULK_BEHIND;
	b->ra_chunk = STORE_BULK_RA_CHUNK;
	b->ra_ahead = STORE_BULK_RA_AHEAD;
	b->ra_trim = STORE_BULK_RA_TRIM;
	b->step = t->s->flags & STORE_PRIVATE ? STORE_BULK_STEP : 0;
	int rc = mdb_cursor_open(t->txn, t->s->blocks, &b->cur);
	if (rc) {
		free(b);
		return txn_fail(t, rc, "store: open cursor");
	}
	rc = mdb_cursor_get(b->cur, &k, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		b->appending = 1;
	} else if (rc) {
		mdb_cursor_close(b->cur);
		free(b);
		return txn_fail(t, rc, "store: read blocks");
	} else {
		/* keys are binary CIDs; a longer one could only come from a
		 * foreign writer: then never append */
		b->last_len =
		    k.mv_size < sizeof(b->last) ? k.mv_size : sizeof(b->last);
		memcpy(b->last, k.mv_data, b->last_len);
		if (k.mv_size > sizeof(b->last))
			memset(b->last, 0xff, sizeof(b->last));
	}
	mdb_filehandle_t fd;
	if (mdb_env_get_fd(t->s->env, &fd) == 0)
		b->fd = fd;
	/* only what the load adds at the end of the file is let go: below
	 * lie the store's own pages, which its lookups read (ahead) */
	struct stat fst;
	if (b->fd >= 0 && fstat(b->fd, &fst) == 0) {
		b->from = fst.st_size;
		if (writeback_start(&b->wb, b->fd, (uint64_t)b->from,
				    b->appending ? STORE_BULK_FLUSH : 0) != 0)
			b->wb = NULL; /* hints: the load goes on without */
	}
	/* a hint: without its thread, the load reads no ahead */
	if (!b->appending && b->fd >= 0 &&
	    map_of(t->s, &b->map_lo, &b->map_len) &&
	    prefetch_start(&b->pf, b->fd) != 0)
		b->pf = NULL;
	*out = b;
	return 0;
}

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : (al > bl ? 1 : 0);
}

/* The writeback thread's error, as the transaction's: waiting for the
 * writeback consumed it, and the commit's fsync would no longer see it. */
static int bulk_write_failed(struct store_bulk *b, int e)
{
	struct store_txn *t = b->t;
	t->err = err_set(-e, "store %s: writing the bulk load to disk: %s",
			 t->s->dir, strerror(e));
	return t->err;
}

/* Every `kick` bytes put: have what LMDB wrote so far written back, and
 * the page cache of what lies more than `behind` below the end of the
 * file let go once it is on disk (writeback.h). */
static int bulk_writeback(struct store_bulk *b)
{
	int e = writeback_error(b->wb);
	if (e)
		return bulk_write_failed(b, e);
	writeback_kick(b->wb, 0, (uint64_t)b->behind);
	return 0;
}

/* A lookup found a block at `at`: the one looked for, or the one after it
 * (LMDB's pointer to its bytes: in the map, or in a page this transaction
 * changed, which is not). Keep reading ahead of that place and let go of
 * the map behind it. The map does not move: the store sets its size only
 * when it opens. */
static void bulk_read_ahead(struct store_bulk *b, const void *at)
{
	const uint8_t *p = at;
	if (!b->map_lo || p < b->map_lo || p >= b->map_lo + b->map_len)
		return;
	uint64_t pos = (uint64_t)(p - b->map_lo);
	if (pos > b->ra_next || pos < b->trimmed) {
		/* past the window or back behind it: start again here
		 * (within a page LMDB keeps items from its end down, so
		 * small steps back are the rule) */
		b->ra_next = pos & ~(uint64_t)4095;
		b->trimmed = b->ra_next;
		b->ra_pos = pos;
	} else if (pos > b->ra_pos) {
		b->ra_pos = pos;
	}
	while (b->ra_next < b->ra_pos + b->ra_ahead) {
		if (b->pf) {
			prefetch_ask(b->pf, b->ra_next, b->ra_chunk);
			b->ra_bytes += b->ra_chunk;
		}
		b->ra_next += b->ra_chunk;
	}
	uint64_t behind = b->ra_pos - b->trimmed;
	if (behind > b->ra_chunk && behind - b->ra_chunk >= b->ra_trim) {
		/* keep the last chunk: the cursor's pages may lie there */
		uint64_t end = (b->ra_pos - b->ra_chunk) & ~(uint64_t)4095;
		/* a read-only map (no MDB_WRITEMAP): nothing is lost */
		madvise(b->map_lo + b->trimmed, end - b->trimmed,
			MADV_DONTNEED);
		b->trimmed = end;
	}
}

/* A private store's bulk load: commit what is put so far (no sync) and go
 * on in a new transaction, so that LMDB never has to spill. */
static int bulk_step(struct store_bulk *b)
{
	struct store_txn *t = b->t;
	mdb_cursor_close(b->cur);
	b->cur = NULL;
	int rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	if (rc)
		return t->err = write_err(t->s, rc, "bulk load: commit a step");
	if ((rc = mdb_txn_begin(t->s->env, NULL, 0, &t->txn)) != 0) {
		t->txn = NULL;
		return txn_fail(t, rc, "store: bulk load: begin the next step");
	}
	if ((rc = mdb_cursor_open(t->txn, t->s->blocks, &b->cur)) != 0)
		return txn_fail(t, rc, "store: bulk load: open cursor");
	b->since_step = 0;
	b->steps++;
	return 0;
}

int store_bulk_put(struct store_bulk *b, const uint8_t *cid, size_t cidlen,
		   const uint8_t *data, size_t len)
{
	struct store_txn *t = b->t;
	char txt[CID_MAX_TEXT];
	if (t->err)
		return err_set(t->err, "store: transaction already failed");
	if (cidlen == 0 || cidlen > CID_MAX_BYTES)
		return err_set(-EINVAL, "store: bulk put of a bad CID");
	if (b->prev_len && key_cmp(b->prev, b->prev_len, cid, cidlen) >= 0)
		return err_set(-EINVAL, "store: bulk put out of CID order");
	memcpy(b->prev, cid, cidlen);
	b->prev_len = cidlen;
	if (len > STORE_MAX_BLOCK) {
		struct cid c;
		if (cid_from_bytes(&c, cid, cidlen, NULL) == 0)
			cid_format(&c, txt);
		else
			snprintf(txt, sizeof(txt), "(bad CID)");
		return err_set(-EFBIG,
			       "block %s: %zu bytes is over the %u "
			       "byte limit",
			       txt, len, STORE_MAX_BLOCK);
	}
	if (atomic_load(&t->s->fault_after) >= 0 &&
	    atomic_fetch_sub(&t->s->fault_after, 1) <= 0) {
		atomic_store(&t->s->fault_after, 0);
		return t->err = err_set(-EIO, "store: bulk put: injected write "
					      "fault (store_fault_after)");
	}
	MDB_val k = {cidlen, (void *)cid}, v = {len, (void *)data};
	if (!b->appending && key_cmp(cid, cidlen, b->last, b->last_len) > 0)
		b->appending = 1;
	if (b->pf && !b->appending &&
	    ++b->since_mode >= STORE_BULK_TOUCH_EVERY) {
		prefetch_set_touch(b->pf, b->stored - b->mode_stored >
					      b->present - b->mode_present);
		b->mode_stored = b->stored;
		b->mode_present = b->present;
		b->since_mode = 0;
	}
	if (!b->appending && b->map_lo &&
	    (b->lookups++ & (STORE_BULK_RA_PROBE - 1)) == 0) {
		/* now and then, look first: where the block or the one after
		 * it lies tells the read-ahead where the lookups are also
		 * when the blocks are new (a put that stores one tells
		 * nothing: it leaves its page changed, out of the map); with
		 * no map to place it in, there is nothing to learn */
		MDB_val fk = k, fv;
		int f = mdb_cursor_get(b->cur, &fk, &fv, MDB_SET_RANGE);
		if (f == 0) {
			bulk_read_ahead(b, fv.mv_data);
			if (key_cmp(fk.mv_data, fk.mv_size, cid, cidlen) == 0) {
				b->present++;
				return 0;
			}
		} else if (f != MDB_NOTFOUND) {
			return txn_fail(t, f, "store: look up a block");
		}
	}
	int rc = mdb_cursor_put(b->cur, &k, &v,
				b->appending ? MDB_APPEND : MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST && !b->appending) {
		b->present++;
		bulk_read_ahead(b, v.mv_data);
		return 0;
	}
	if (rc)
		return txn_fail(t, rc, "store: write block");
	b->stored++;
	b->since_kick += len + cidlen;
	b->since_step += len + cidlen;
	if (b->step && b->since_step >= b->step && (rc = bulk_step(b)) != 0)
		return rc;
	if (b->since_kick >= b->kick && b->wb) {
		b->since_kick = 0;
		return bulk_writeback(b);
	}
	return 0;
}

void store_bulk_set_window(struct store_bulk *b, uint64_t kick, uint64_t behind)
{
	b->kick = kick;
	b->behind = (off_t)behind;
}

void store_bulk_set_step(struct store_bulk *b, uint64_t step)
{
	if (b->t->s->flags & STORE_PRIVATE)
		b->step = step;
}

void store_bulk_set_read_ahead(struct store_bulk *b, uint64_t chunk,
			       uint64_t ahead, uint64_t trim)
{
	b->ra_chunk = chunk ? chunk : 4096;
	b->ra_ahead = ahead;
	b->ra_trim = trim;
}

uint64_t store_bulk_read_ahead(const struct store_bulk *b)
{
	return b->ra_bytes;
}

uint64_t store_bulk_steps(const struct store_bulk *b)
{
	return b->steps;
}

uint64_t store_bulk_dropped(const struct store_bulk *b)
{
	return b->wb ? writeback_dropped(b->wb) : (uint64_t)b->from;
}

int store_bulk_end(struct store_bulk *b, uint64_t *stored, uint64_t *present)
{
	int rc = 0;
	if (!b)
		return 0;
	if (stored)
		*stored = b->stored;
	if (present)
		*present = b->present;
	if (b->cur)
		mdb_cursor_close(b->cur);
	prefetch_stop(b->pf);
	int e = writeback_stop(b->wb);
	if (e && !b->t->err)
		rc = bulk_write_failed(b, e);
	free(b);
	return rc;
}

int store_writeback(struct store *s)
{
	int fd = -1;
	int rc = mdb_env_get_fd(s->env, &fd);
	if (rc)
		return store_lmdb_error(rc, "store writeback");
	if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0)
		return err_set(-errno, "store %s: writeback: %s", s->dir,
			       strerror(errno));
	return 0;
}

/* ------------------------------------------------- for other store/ code */

MDB_env *store_lmdb_env(struct store *s)
{
	return s->env;
}

unsigned int store_lmdb_staging_dbi(struct store *s)
{
	return s->staging;
}

MDB_txn *store_txn_lmdb(struct store_txn *t)
{
	return t->txn;
}

struct store *store_txn_store(struct store_txn *t)
{
	return t->s;
}

unsigned int store_lmdb_attrs_dbi(struct store *s)
{
	return s->has_attrs ? s->attrs : 0;
}

int store_lmdb_read_begin(struct store *s, MDB_txn **out)
{
	return rtxn_get(s, out);
}

void store_lmdb_read_end(struct store *s, MDB_txn *t)
{
	if (t)
		rtxn_put(s, t);
}

int store_lmdb_error(int rc, const char *what)
{
	return lmdb_err(rc, what);
}

void store_txn_fail(struct store_txn *t, int rc)
{
	if (!t->err)
		t->err = rc < 0 ? rc : -EIO;
}
