/* SPDX-License-Identifier: MIT */
/*
 * dim's state in one SQLite database (state.h says what it holds).
 *
 * Crash safety.  The database runs in WAL journal mode with synchronous=FULL.
 * A commit appends the changed pages and a commit frame to state.db-wal and
 * fsyncs it; frames carry a running checksum, so after a kill -9 (or a power
 * cut) the next opener replays the WAL up to the last complete commit frame
 * and ignores the rest: the old state or the new, never a mix.  FULL rather
 * than NORMAL so that a commit that returned is on disk (NORMAL fsyncs only
 * at checkpoints and may lose the last commits on power loss, though never
 * atomicity).  WAL rather than DELETE because readers never block the writer
 * and the writer never blocks readers (dim list runs while dim dhcp assign
 * holds the lock), and because a reader never has to roll back a hot journal
 * it may not be allowed to write.  The price: WAL needs a local file system
 * (shared memory in state.db-shm), which /var/lib/dim on the management node is.
 * Checkpoints copy the WAL back into state.db; they are crash-safe too (the
 * WAL is reset only after the database file was fsync'd).
 *
 * Locking.  SQLite's own write lock (BEGIN IMMEDIATE with a busy timeout)
 * excludes a second writer but cannot say who holds it.  So a writer first
 * takes flock(LOCK_EX) on state.db.lock and writes its pid, user, command and
 * start time into it; a second writer polls (capped backoff) until its
 * timeout and then names the holder from that file.  flock is released by
 * the kernel when the holder dies, so a kill -9 leaves no stale lock; the
 * file itself stays (removing lock files races with their users).  After the
 * flock, BEGIN IMMEDIATE still guards against programs that are not dim
 * (the sqlite3 shell).
 *
 * Schema.  PRAGMA application_id marks a dim state database, user_version is
 * the schema version; migrations[v] takes version v to v + 1 and runs under
 * the lock inside one transaction, so a crash mid-upgrade leaves version v.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mac.h"
#include "state.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define STATE_APP_ID	  0x44494d53 /* "DIMS" */
#define STATE_MODE	  0640
#define OPEN_BUSY_MS	  5000	/* readers, checkpoints, schema setup: SQLite's own short locks */
#define SETUP_LOCK_MS	  10000 /* waiting for another command while setting up the schema */
#define LOCK_POLL_MAX_MS  50

/* migrations[v] takes the schema from version v to v + 1. */
static const char *const migrations[] = {
	/* 1: learned MACs, image assignments, history */
	"CREATE TABLE macs ("
	"  blade TEXT PRIMARY KEY NOT NULL,"
	"  mac TEXT NOT NULL UNIQUE CHECK (length(mac) = 17),"
	"  source TEXT NOT NULL,"
	"  time TEXT NOT NULL);"
	"CREATE TABLE assignments ("
	"  blade TEXT PRIMARY KEY NOT NULL,"
	"  image TEXT NOT NULL,"
	"  time TEXT NOT NULL);"
	"CREATE TABLE history ("
	"  id INTEGER PRIMARY KEY,"
	"  time TEXT NOT NULL,"
	"  user TEXT NOT NULL,"
	"  command TEXT NOT NULL);",
};
#define STATE_VERSION ((int)ARRAY_SIZE(migrations))

enum stmt_id {
	SQL_MAC_GET,
	SQL_MAC_OWNER,
	SQL_MAC_SET,
	SQL_MAC_DEL,
	SQL_ASSIGN_GET,
	SQL_ASSIGN_SET,
	SQL_ASSIGN_DEL,
	SQL_LOG,
	SQL_MACS,
	SQL_ASSIGNS,
	SQL_HISTORY,
	SQL_COUNT
};

static const char *const stmt_sql[SQL_COUNT] = {
	[SQL_MAC_GET] = "SELECT mac FROM macs WHERE blade = ?1",
	[SQL_MAC_OWNER] = "SELECT blade FROM macs WHERE mac = ?1",
	[SQL_MAC_SET] = "INSERT INTO macs (blade, mac, source, time) VALUES (?1, ?2, ?3, ?4) "
			"ON CONFLICT (blade) DO UPDATE SET mac = excluded.mac, "
			"source = excluded.source, time = excluded.time",
	[SQL_MAC_DEL] = "DELETE FROM macs WHERE blade = ?1",
	[SQL_ASSIGN_GET] = "SELECT image FROM assignments WHERE blade = ?1",
	[SQL_ASSIGN_SET] = "INSERT INTO assignments (blade, image, time) VALUES (?1, ?2, ?3) "
			   "ON CONFLICT (blade) DO UPDATE SET image = excluded.image, "
			   "time = excluded.time",
	[SQL_ASSIGN_DEL] = "DELETE FROM assignments WHERE blade = ?1",
	[SQL_LOG] = "INSERT INTO history (time, user, command) VALUES (?1, ?2, ?3)",
	[SQL_MACS] = "SELECT blade, mac, source, time FROM macs ORDER BY blade",
	[SQL_ASSIGNS] = "SELECT blade, image, time FROM assignments ORDER BY blade",
	[SQL_HISTORY] = "SELECT id, time, user, command FROM "
			"(SELECT * FROM history ORDER BY id DESC LIMIT ?1) ORDER BY id",
};

struct dim_state {
	sqlite3 *db;
	char *path;
	char *lock_path;
	int lock_fd;		/* >= 0 while we hold the write lock */
	bool readonly;
	bool empty;		/* read-only open of a database nobody has set up yet */
	bool in_txn;
	char what[128];		/* the command holding our transaction */
	sqlite3_stmt *stmt[SQL_COUNT];
};

/* ---------------------------------------------------------------- errors */

/*
 * SQLite's primary result codes as errno values, with the words a user
 * reads; NULL text: SQLite's own message.
 */
static const struct {
	int code;
	int rc;
	const char *text;
} sqlite_errors[] = {
	{ SQLITE_FULL, -ENOSPC, "disk full" },
	{ SQLITE_BUSY, -EBUSY, "database is locked" },
	{ SQLITE_LOCKED, -EBUSY, "database is locked" },
	{ SQLITE_READONLY, -EROFS, "read-only (no write permission on the file or its directory?)" },
	{ SQLITE_PERM, -EACCES, "permission denied" },
	{ SQLITE_AUTH, -EACCES, "permission denied" },
	{ SQLITE_NOTADB, -EINVAL, "not a dim state database (not an SQLite file)" },
	{ SQLITE_CORRUPT, -EBADMSG, "the database is corrupt" },
	{ SQLITE_NOMEM, -ENOMEM, "out of memory" },
	{ SQLITE_TOOBIG, -E2BIG, "value too big" },
	{ SQLITE_CONSTRAINT, -EEXIST, NULL },
	{ SQLITE_CANTOPEN, -EACCES, NULL },
	{ SQLITE_IOERR, -EIO, NULL },
};

/* "PATH: STEP: what went wrong", the errno for it. */
static int db_error(struct dim_state *st, int code, const char *step, struct dim_err *err)
{
	int sys = st->db ? sqlite3_system_errno(st->db) : 0;
	const char *text = NULL;
	int rc = -EIO;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sqlite_errors); i++)
		if (sqlite_errors[i].code == (code & 0xff)) {
			rc = sqlite_errors[i].rc;
			text = sqlite_errors[i].text;
			break;
		}
	/* An I/O error with the system's reason says more than SQLite's. */
	if (((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_CANTOPEN ||
	     (code & 0xff) == SQLITE_FULL) && sys > 0) {
		rc = -sys;
		text = sys == ENOSPC || sys == EDQUOT ? "disk full" : NULL;
		if (!text)
			return dim_err_set(err, rc, "%s: %s: %s (%s)", st->path, step,
					   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(code),
					   strerror(sys));
	}
	if (!text)
		text = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(code);
	/* What the file is matters, not which step found out. */
	if ((code & 0xff) == SQLITE_NOTADB)
		return dim_err_set(err, rc, "%s: %s", st->path, text);
	return dim_err_set(err, rc, "%s: %s: %s", st->path, step, text);
}

static int db_exec(struct dim_state *st, const char *sql, const char *step, struct dim_err *err)
{
	int code = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return code == SQLITE_OK ? 0 : db_error(st, code, step, err);
}

/* ---------------------------------------------------------------- small helpers */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* 2026-11-21T10:00:00Z */
static void utc_now(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Control characters (a newline would start a fake history line) become spaces. */
static void sanitize(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < size; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
	dst[i] = '\0';
}

/* The user for the history: "alice", "root (sudo alice)", or the uid. */
static void user_name(char *buf, size_t size)
{
	uid_t uid = getuid();
	struct passwd pw, *res = NULL;
	char tmp[1024], sudo[64];
	const char *s;

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, size, "%s", pw.pw_name);
	else
		snprintf(buf, size, "%u", (unsigned)uid);
	s = getenv("SUDO_USER");
	if (uid == 0 && s && *s && strcmp(s, buf)) {
		size_t n = strlen(buf);

		sanitize(sudo, sizeof(sudo), s);
		snprintf(buf + n, size - n, " (sudo %s)", sudo);
	}
}

/* Names as the definition has them: printable ASCII without spaces. */
static int check_name(struct dim_state *st, const char *kind, const char *name,
		      struct dim_err *err)
{
	size_t i, n = name ? strnlen(name, CL_NAME_MAX) : 0;

	if (n == 0)
		return dim_err_set(err, -EINVAL, "%s: empty %s name", st->path, kind);
	if (n >= CL_NAME_MAX)
		return dim_err_set(err, -ENAMETOOLONG, "%s: %s name \"%.20s...\" is too long",
				   st->path, kind, name);
	for (i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return dim_err_set(err, -EINVAL, "%s: %s name \"%s\": character %zu is "
					   "not printable ASCII", st->path, kind, name, i + 1);
	return 0;
}

/* ---------------------------------------------------------------- prepared statements */

/* The statement, reset and ready for binding. */
static int stmt_get(struct dim_state *st, enum stmt_id id, sqlite3_stmt **out,
		    struct dim_err *err)
{
	int code;

	if (!st->stmt[id]) {
		code = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					  &st->stmt[id], NULL);
		if (code != SQLITE_OK)
			return db_error(st, code, "prepare", err);
	}
	*out = st->stmt[id];
	return 0;
}

static void stmt_put(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Bind NUL-terminated strings to ?1, ?2 ... (they outlive the statement's use). */
static int stmt_bind(struct dim_state *st, sqlite3_stmt *s, struct dim_err *err, int n, ...)
{
	va_list ap;
	int i, code = SQLITE_OK;

	va_start(ap, n);
	for (i = 1; i <= n && code == SQLITE_OK; i++)
		code = sqlite3_bind_text(s, i, va_arg(ap, const char *), -1, SQLITE_STATIC);
	va_end(ap);
	return code == SQLITE_OK ? 0 : db_error(st, code, "bind", err);
}

/* Step a statement that returns no rows; reset it. */
static int stmt_run(struct dim_state *st, sqlite3_stmt *s, const char *step, struct dim_err *err)
{
	int code = sqlite3_step(s), rc = 0;

	if (code != SQLITE_DONE)
		rc = db_error(st, code, step, err);
	stmt_put(s);
	return rc;
}

/* ---------------------------------------------------------------- the write lock */

static int lock_open(struct dim_state *st, struct dim_err *err)
{
	st->lock_fd = open(st->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, STATE_MODE);
	if (st->lock_fd < 0)
		return dim_err_set(err, -errno, "%s: cannot open the lock file: %s", st->lock_path,
				   strerror(errno));
	return 0;
}

/* "pid\tsince\tuser\twhat\n": who holds the lock, for the next one to name. */
static void lock_record(struct dim_state *st)
{
	char user[128], line[512];
	int n;

	user_name(user, sizeof(user));
	n = snprintf(line, sizeof(line), "%ld\t%lld\t%s\t%s\n", (long)getpid(),
		     (long long)time(NULL), user, st->what);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* Best effort: a waiter that cannot read it says "another command". */
	if (ftruncate(st->lock_fd, 0) == 0 && pwrite(st->lock_fd, line, (size_t)n, 0) < 0)
		return;
}

/* The message for a writer that gave up: name the holder if the lock file does. */
static int lock_busy(struct dim_state *st, int fd, int64_t waited, struct dim_err *err)
{
	char buf[512], when[32], *f[4], *p, *end;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;
	time_t since;
	struct tm tm;
	int i;

	buf[n > 0 ? n : 0] = '\0';
	for (i = 0, p = buf; i < 4; i++) {
		f[i] = p;
		p = p ? strpbrk(p, i < 3 ? "\t" : "\n") : NULL;
		if (p)
			*p++ = '\0';
	}
	errno = 0;
	pid = f[0] ? strtol(f[0], &end, 10) : 0;
	/* Empty (the holder has not written it yet) or stale (its writer died). */
	if (!f[3] || pid <= 0 || *end || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return dim_err_set(err, -EBUSY, "%s: database is locked by another dim command; "
				   "gave up after %.1f s, try again", st->path, waited / 1000.0);
	since = (time_t)strtoll(f[1], NULL, 10);
	localtime_r(&since, &tm);
	if (time(NULL) - since < 12 * 3600)
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	else
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	return dim_err_set(err, -EBUSY, "%s: database is locked by pid %ld (%s, user %s) since %s; "
			   "gave up after %.1f s, try again", st->path, pid, f[3], f[2], when,
			   waited / 1000.0);
}

/* flock the lock file, waiting up to timeout_ms; then record ourselves in it. */
static int lock_acquire(struct dim_state *st, unsigned timeout_ms, struct dim_err *err)
{
	int64_t start = now_ms(), left, delay = 1;
	int rc;

	rc = lock_open(st, err);
	if (rc < 0)
		return rc;
	for (;;) {
		if (flock(st->lock_fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			rc = dim_err_set(err, -errno, "%s: flock: %s", st->lock_path,
					 strerror(errno));
			goto err_close;
		}
		left = start + timeout_ms - now_ms();
		if (left <= 0) {
			rc = lock_busy(st, st->lock_fd, now_ms() - start, err);
			goto err_close;
		}
		sleep_ms(delay < left ? delay : left);
		delay = delay * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS : delay * 2;
	}
	lock_record(st);
	return 0;

err_close:
	close(st->lock_fd);
	st->lock_fd = -1;
	return rc;
}

static void lock_release(struct dim_state *st)
{
	if (st->lock_fd < 0)
		return;
	/* Empty before unlocking, so nobody names a holder that has left. */
	if (ftruncate(st->lock_fd, 0) < 0) {
		/* a stale record is checked against the pid; nothing to do */
	}
	close(st->lock_fd);
	st->lock_fd = -1;
}

/* ---------------------------------------------------------------- transactions */

/* The lock, then SQLite's write lock; timeout_ms covers both. */
static int txn_begin(struct dim_state *st, const char *what, unsigned timeout_ms,
		     struct dim_err *err)
{
	int64_t start = now_ms(), left;
	int code, rc;

	sanitize(st->what, sizeof(st->what), what && *what ? what : "dim");
	rc = lock_acquire(st, timeout_ms, err);
	if (rc < 0)
		return rc;
	/*
	 * Another dim writer is gone by now; what remains are SQLite's short
	 * locks (a checkpoint on close) or a program that is not dim.
	 */
	left = start + timeout_ms - now_ms();
	left = left < 0 ? 1000 : left > INT_MAX - 1000 ? INT_MAX : left + 1000;
	sqlite3_busy_timeout(st->db, (int)left);
	code = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_busy_timeout(st->db, OPEN_BUSY_MS);
	if (code != SQLITE_OK) {
		if ((code & 0xff) == SQLITE_BUSY)
			rc = dim_err_set(err, -EBUSY, "%s: database is locked by a program that "
					 "is not dim (an sqlite3 shell?); try again", st->path);
		else
			rc = db_error(st, code, "begin", err);
		lock_release(st);
		return rc;
	}
	st->in_txn = true;
	return 0;
}

int state_begin(struct dim_state *st, const char *what, unsigned timeout_ms,
		struct dim_err *err)
{
	if (st->readonly)
		return dim_err_set(err, -EROFS, "%s: opened read-only; cannot change the state",
				   st->path);
	if (st->in_txn)
		return dim_err_set(err, -EINVAL, "%s: a transaction is already open", st->path);
	return txn_begin(st, what, timeout_ms, err);
}

int state_commit(struct dim_state *st, struct dim_err *err)
{
	int code, rc = 0;

	if (!st->in_txn)
		return dim_err_set(err, -EINVAL, "%s: commit without a transaction", st->path);
	if (sqlite3_get_autocommit(st->db)) {
		/* SQLite rolled back on an error (disk full, I/O) the caller saw. */
		rc = dim_err_set(err, -EIO, "%s: commit: the transaction was rolled back after "
				 "an earlier error; nothing was saved", st->path);
	} else {
		code = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
		if (code != SQLITE_OK) {
			rc = db_error(st, code, "commit", err);
			if (!sqlite3_get_autocommit(st->db))
				sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		}
	}
	st->in_txn = false;
	lock_release(st);
	return rc;
}

void state_rollback(struct dim_state *st)
{
	if (!st || !st->in_txn)
		return;
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_txn = false;
	lock_release(st);
}

/* Writes happen inside a live transaction only: never half of one, never unlocked. */
static int need_txn(struct dim_state *st, const char *op, struct dim_err *err)
{
	if (st->readonly)
		return dim_err_set(err, -EROFS, "%s: opened read-only; cannot %s", st->path, op);
	if (!st->in_txn)
		return dim_err_set(err, -EINVAL, "%s: %s outside a transaction", st->path, op);
	if (sqlite3_get_autocommit(st->db))
		return dim_err_set(err, -EIO, "%s: %s: the transaction was rolled back after an "
				   "earlier error", st->path, op);
	return 0;
}

/* ---------------------------------------------------------------- open, schema */

struct identity {
	int64_t app_id;
	int64_t version;
	int64_t objects;	/* tables, indices ... in sqlite_schema */
	char journal[16];
};

static int query_int(struct dim_state *st, const char *sql, int64_t *v, struct dim_err *err)
{
	sqlite3_stmt *s = NULL;
	int code;

	code = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (code != SQLITE_OK)
		return db_error(st, code, "open", err);
	code = sqlite3_step(s);
	if (code == SQLITE_ROW)
		*v = sqlite3_column_int64(s, 0);
	else
		*v = 0;
	if (code != SQLITE_ROW && code != SQLITE_DONE) {
		int rc = db_error(st, code, "open", err);

		sqlite3_finalize(s);
		return rc;
	}
	sqlite3_finalize(s);
	return 0;
}

/*
 * What the file is, read in one snapshot: read one by one, a process could
 * see the application_id from before another's schema setup and the
 * user_version from after it.
 */
static int identify(struct dim_state *st, struct identity *id, struct dim_err *err)
{
	bool own = sqlite3_get_autocommit(st->db);
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int rc, code;

	if (own) {
		rc = db_exec(st, "BEGIN", "open", err);
		if (rc)
			return rc;
	}
	rc = query_int(st, "PRAGMA application_id", &id->app_id, err);
	if (!rc)
		rc = query_int(st, "PRAGMA user_version", &id->version, err);
	if (!rc)
		rc = query_int(st, "SELECT count(*) FROM sqlite_schema", &id->objects, err);
	if (own)
		sqlite3_exec(st->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	if (rc)
		return rc;
	code = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &s, NULL);
	if (code != SQLITE_OK)
		return db_error(st, code, "reading the journal mode", err);
	code = sqlite3_step(s);
	t = code == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
	snprintf(id->journal, sizeof(id->journal), "%s", t ? (const char *)t : "");
	sqlite3_finalize(s);
	return 0;
}

/* Ours (0), ours but needing setup (1), or an error naming what the file is. */
static int judge(struct dim_state *st, const struct identity *id, struct dim_err *err)
{
	if (id->app_id == 0 && id->version == 0 && id->objects == 0)
		return 1;	/* new: empty file */
	if (id->app_id != STATE_APP_ID)
		return dim_err_set(err, -EINVAL, "%s: not a dim state database (an SQLite database "
				   "with application_id 0x%08" PRIx64 ", user_version %" PRId64 ")",
				   st->path, (uint64_t)(uint32_t)id->app_id, id->version);
	if (id->version > STATE_VERSION)
		return dim_err_set(err, -ENOTSUP, "%s: written by a newer dim (state schema "
				   "version %" PRId64 "; this dim knows up to %d)", st->path,
				   id->version, STATE_VERSION);
	return id->version < STATE_VERSION || strcmp(id->journal, "wal") ? 1 : 0;
}

/* Under the lock: WAL mode, then every migration missing, in one transaction. */
static int setup(struct dim_state *st, struct dim_err *err)
{
	struct identity id;
	char sql[96];
	int64_t v;
	int rc;

	rc = lock_acquire(st, SETUP_LOCK_MS, err);
	if (rc < 0) {
		dim_err_prefix(err, "setting up the schema");
		return rc;
	}
	rc = identify(st, &id, err);
	if (rc < 0)
		goto out;
	rc = judge(st, &id, err);
	if (rc <= 0)
		goto out;
	if (strcmp(id.journal, "wal")) {
		sqlite3_stmt *s;
		const unsigned char *mode;
		int code = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);

		if (code == SQLITE_OK)
			code = sqlite3_step(s);
		if (code != SQLITE_ROW) {
			rc = db_error(st, code, "switching to WAL mode", err);
			sqlite3_finalize(s);
			goto out;
		}
		mode = sqlite3_column_text(s, 0);
		if (!mode || strcmp((const char *)mode, "wal")) {
			rc = dim_err_set(err, -EIO, "%s: cannot switch to WAL mode (still %s)",
					 st->path, mode ? (const char *)mode : "?");
			sqlite3_finalize(s);
			goto out;
		}
		sqlite3_finalize(s);
	}
	if (id.version >= STATE_VERSION) {
		rc = 0;
		goto out;
	}
	rc = db_exec(st, "BEGIN IMMEDIATE", "setting up the schema", err);
	if (rc < 0)
		goto out;
	/* Again under SQLite's write lock: a program that is not dim may have been first. */
	rc = identify(st, &id, err);
	if (!rc) {
		rc = judge(st, &id, err);
		rc = rc < 0 ? rc : 0;
	}
	for (v = id.version; v < STATE_VERSION && !rc; v++)
		rc = db_exec(st, migrations[v], "setting up the schema", err);
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
		 STATE_APP_ID, STATE_VERSION);
	if (!rc)
		rc = db_exec(st, sql, "setting up the schema", err);
	if (!rc)
		rc = db_exec(st, "COMMIT", "setting up the schema", err);
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
	lock_release(st);
	return rc;
}

/* The directory must exist: a typo in --state should not create a tree. */
static int check_dir(const char *path, struct dim_err *err)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct stat sb;

	if (!slash)
		return 0;
	if (slash == path)
		return 0;
	if ((size_t)(slash - path) >= sizeof(dir))
		return dim_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (stat(dir, &sb) < 0)
		return dim_err_set(err, -errno, "%s: directory %s: %s (create it, or give "
				   "another --state)", path, dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return dim_err_set(err, -ENOTDIR, "%s: %s is not a directory", path, dir);
	return 0;
}

/*
 * Create the file ourselves so it has our mode (SQLite would use 0644);
 * SQLite gives state.db-wal and -shm the database file's mode.  An empty
 * file is an empty database to SQLite.
 */
static int create_file(const char *path, struct dim_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, STATE_MODE);

	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		return dim_err_set(err, -errno, "%s: cannot create: %s", path, strerror(errno));
	close(fd);
	return 0;
}

int state_open(const char *path, bool readonly, struct dim_state **out, struct dim_err *err)
{
	struct dim_state *st;
	struct identity id;
	struct stat sb;
	int flags, code, rc;

	*out = NULL;
	if (!path || !*path)
		return dim_err_set(err, -EINVAL, "state database: no path given");
	rc = check_dir(path, err);
	if (rc < 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return dim_err_set(err, -ENOMEM, "%s: out of memory", path);
	st->lock_fd = -1;
	st->readonly = readonly;
	st->path = strdup(path);
	if (!st->path || asprintf(&st->lock_path, "%s.lock", path) < 0) {
		st->lock_path = NULL;
		rc = dim_err_set(err, -ENOMEM, "%s: out of memory", path);
		goto err_free;
	}
	if (readonly) {
		if (stat(path, &sb) < 0) {
			rc = dim_err_set(err, -errno, "%s: %s", path, strerror(errno));
			goto err_free;
		}
		/*
		 * Read-write at the SQLite level if we may (query_only keeps it
		 * from writing data) so a reader can recover the WAL after a
		 * writer's crash and checkpoint on close; read-only otherwise.
		 */
		flags = access(path, W_OK) == 0 ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	} else {
		rc = create_file(path, err);
		if (rc < 0)
			goto err_free;
		flags = SQLITE_OPEN_READWRITE;
	}
	code = sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_EXRESCODE, NULL);
	if (code != SQLITE_OK) {
		rc = db_error(st, code, "open", err);
		goto err_close;
	}
	sqlite3_busy_timeout(st->db, OPEN_BUSY_MS);
	if (readonly) {
		rc = db_exec(st, "PRAGMA query_only = 1", "open", err);
		if (rc < 0)
			goto err_close;
	}
	rc = identify(st, &id, err);
	if (rc < 0)
		goto err_close;
	rc = judge(st, &id, err);
	if (rc < 0)
		goto err_close;
	if (rc > 0 && readonly) {
		/* Nothing recorded yet; an older schema needs a writer to upgrade it. */
		if (id.version == 0) {
			st->empty = true;
		} else if (id.version < STATE_VERSION) {
			rc = dim_err_set(err, -ENOTSUP, "%s: state schema version %" PRId64 " is "
					 "older than this dim's (%d); a command that writes "
					 "the state upgrades it", path, id.version, STATE_VERSION);
			goto err_close;
		}
	} else if (rc > 0) {
		rc = setup(st, err);
		if (rc < 0)
			goto err_close;
	}
	/* Per connection: every commit (and checkpoint) fsync'd; keep the WAL small after. */
	rc = db_exec(st, "PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 4194304",
		     "open", err);
	if (rc < 0)
		goto err_close;
	*out = st;
	return 0;

err_close:
	sqlite3_close(st->db);
err_free:
	free(st->lock_path);
	free(st->path);
	free(st);
	return rc;
}

void state_close(struct dim_state *st)
{
	size_t i;

	if (!st)
		return;
	state_rollback(st);
	for (i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	lock_release(st);
	free(st->lock_path);
	free(st->path);
	free(st);
}

/* ---------------------------------------------------------------- writes */

static int log_line(struct dim_state *st, const char *text, struct dim_err *err)
{
	char when[32], user[128], line[1024];
	sqlite3_stmt *s = NULL;
	int rc;

	utc_now(when);
	user_name(user, sizeof(user));
	sanitize(line, sizeof(line), text);
	rc = stmt_get(st, SQL_LOG, &s, err);
	if (!rc)
		rc = stmt_bind(st, s, err, 3, when, user, line);
	return rc ? rc : stmt_run(st, s, "writing the history", err);
}

int state_log(struct dim_state *st, const char *what, struct dim_err *err)
{
	int rc = need_txn(st, "write the history", err);

	return rc ? rc : log_line(st, what ? what : "", err);
}

/* The blade holding a MAC into owner (empty if none). */
static int mac_owner(struct dim_state *st, const char *mac, char owner[CL_NAME_MAX],
		     struct dim_err *err)
{
	sqlite3_stmt *s = NULL;
	int code, rc;

	owner[0] = '\0';
	rc = stmt_get(st, SQL_MAC_OWNER, &s, err);
	if (!rc)
		rc = stmt_bind(st, s, err, 1, mac);
	if (rc)
		return rc;
	code = sqlite3_step(s);
	if (code == SQLITE_ROW)
		snprintf(owner, CL_NAME_MAX, "%s", (const char *)sqlite3_column_text(s, 0));
	else if (code != SQLITE_DONE)
		rc = db_error(st, code, "looking up a MAC", err);
	stmt_put(s);
	return rc;
}

static int delete_blade(struct dim_state *st, enum stmt_id id, const char *blade,
			struct dim_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = stmt_get(st, id, &s, err);
	if (!rc)
		rc = stmt_bind(st, s, err, 1, blade);
	if (!rc)
		rc = stmt_run(st, s, "deleting", err);
	return rc ? rc : sqlite3_changes(st->db) > 0;
}

int state_set_mac(struct dim_state *st, const char *blade, const uint8_t mac[6],
		  const char *source, bool force, struct dim_err *err)
{
	char text[MAC_TEXT_LEN + 1], owner[CL_NAME_MAX], when[32], src[64], line[256];
	static const uint8_t zero[6];
	sqlite3_stmt *s = NULL;
	int rc;

	rc = need_txn(st, "record a MAC", err);
	if (!rc)
		rc = check_name(st, "blade", blade, err);
	if (rc)
		return rc;
	mac_format(mac, text);
	/* The group bit (IEEE 802 bit 0 of the first octet) marks multicast and broadcast. */
	if ((mac[0] & 1) || !memcmp(mac, zero, 6))
		return dim_err_set(err, -EINVAL, "%s: blade %s: %s is not a unicast MAC address",
				   st->path, blade, text);
	rc = mac_owner(st, text, owner, err);
	if (rc)
		return rc;
	if (*owner && strcmp(owner, blade)) {
		if (!force)
			return dim_err_set(err, -EEXIST, "%s: blade %s: MAC %s is already recorded "
					   "for %s", st->path, blade, text, owner);
		rc = delete_blade(st, SQL_MAC_DEL, owner, err);
		if (rc < 0)
			return rc;
		snprintf(line, sizeof(line), "%s: MAC %s moved from %s to %s (forced)", st->what,
			 text, owner, blade);
		rc = log_line(st, line, err);
		if (rc)
			return rc;
	}
	utc_now(when);
	sanitize(src, sizeof(src), source && *source ? source : "manual");
	rc = stmt_get(st, SQL_MAC_SET, &s, err);
	if (!rc)
		rc = stmt_bind(st, s, err, 4, blade, text, src, when);
	return rc ? rc : stmt_run(st, s, "recording a MAC", err);
}

int state_clear_mac(struct dim_state *st, const char *blade, struct dim_err *err)
{
	int rc = need_txn(st, "forget a MAC", err);

	if (!rc)
		rc = check_name(st, "blade", blade, err);
	return rc ? rc : delete_blade(st, SQL_MAC_DEL, blade, err);
}

int state_assign(struct dim_state *st, const char *blade, const char *image,
		 struct dim_err *err)
{
	char when[32];
	sqlite3_stmt *s = NULL;
	int rc;

	rc = need_txn(st, "assign an image", err);
	if (!rc)
		rc = check_name(st, "blade", blade, err);
	if (!rc)
		rc = check_name(st, "image", image, err);
	if (rc)
		return rc;
	utc_now(when);
	rc = stmt_get(st, SQL_ASSIGN_SET, &s, err);
	if (!rc)
		rc = stmt_bind(st, s, err, 3, blade, image, when);
	return rc ? rc : stmt_run(st, s, "assigning an image", err);
}

int state_unassign(struct dim_state *st, const char *blade, struct dim_err *err)
{
	int rc = need_txn(st, "drop an assignment", err);

	if (!rc)
		rc = check_name(st, "blade", blade, err);
	return rc ? rc : delete_blade(st, SQL_ASSIGN_DEL, blade, err);
}

/* ---------------------------------------------------------------- reads */

/* One text column of the row a blade has (SQL_MAC_GET, SQL_ASSIGN_GET): 1, 0 or -errno. */
static int get_text(struct dim_state *st, enum stmt_id id, const char *blade, char *buf,
		    size_t size, struct dim_err *err)
{
	const unsigned char *t;
	sqlite3_stmt *s = NULL;
	int code, rc;

	rc = check_name(st, "blade", blade, err);
	if (rc || st->empty)
		return rc;
	rc = stmt_get(st, id, &s, err);
	if (!rc)
		rc = stmt_bind(st, s, err, 1, blade);
	if (rc)
		return rc;
	code = sqlite3_step(s);
	if (code == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		rc = 1;
		if ((size_t)snprintf(buf, size, "%s", t ? (const char *)t : "") >= size)
			rc = dim_err_set(err, -ENAMETOOLONG, "%s: blade %s: value too long",
					 st->path, blade);
	} else if (code != SQLITE_DONE) {
		rc = db_error(st, code, "reading", err);
	}
	stmt_put(s);
	return rc;
}

int state_get_mac(struct dim_state *st, const char *blade, uint8_t mac[6], struct dim_err *err)
{
	char text[64];
	int rc = get_text(st, SQL_MAC_GET, blade, text, sizeof(text), err);

	if (rc == 1 && mac_parse(text, false, mac) < 0)
		return dim_err_set(err, -EBADMSG, "%s: blade %s: recorded MAC \"%s\" is not a MAC",
				   st->path, blade, text);
	return rc;
}

int state_get_assignment(struct dim_state *st, const char *blade, char *image, size_t size,
			 struct dim_err *err)
{
	return get_text(st, SQL_ASSIGN_GET, blade, image, size, err);
}

static const char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? (const char *)t : "";
}

/* A listing: one SELECT (one snapshot), one callback per row. */
struct walker {
	int (*row)(sqlite3_stmt *s, const struct walker *w);
	union {
		int (*mac)(const struct state_mac *m, void *arg);
		int (*assignment)(const struct state_assignment *a, void *arg);
		int (*history)(const struct state_history *h, void *arg);
	} fn;
	void *arg;
};

static int walk(struct dim_state *st, enum stmt_id id, int64_t limit, const struct walker *w,
		struct dim_err *err)
{
	sqlite3_stmt *s = NULL;
	int code, rc, n = 0;

	if (st->empty)
		return 0;
	rc = stmt_get(st, id, &s, err);
	if (rc)
		return rc;
	if (limit && sqlite3_bind_int64(s, 1, limit) != SQLITE_OK) {
		rc = db_error(st, sqlite3_errcode(st->db), "bind", err);
		stmt_put(s);
		return rc;
	}
	while ((code = sqlite3_step(s)) == SQLITE_ROW) {
		rc = w->row(s, w);
		if (rc)
			break;
		n++;
	}
	if (!rc && code != SQLITE_DONE)
		rc = db_error(st, code, "reading", err);
	stmt_put(s);
	return rc ? rc : n;
}

static int mac_row(sqlite3_stmt *s, const struct walker *w)
{
	struct state_mac m = {
		.blade = col(s, 0), .mac_text = col(s, 1), .source = col(s, 2), .time = col(s, 3),
	};

	m.mac_ok = mac_parse(m.mac_text, false, m.mac) == 0;
	return w->fn.mac(&m, w->arg);
}

static int assignment_row(sqlite3_stmt *s, const struct walker *w)
{
	struct state_assignment a = { .blade = col(s, 0), .image = col(s, 1), .time = col(s, 2) };

	return w->fn.assignment(&a, w->arg);
}

static int history_row(sqlite3_stmt *s, const struct walker *w)
{
	struct state_history h = {
		.id = sqlite3_column_int64(s, 0), .time = col(s, 1), .user = col(s, 2),
		.text = col(s, 3),
	};

	return w->fn.history(&h, w->arg);
}

int state_list_macs(struct dim_state *st, int (*fn)(const struct state_mac *m, void *arg),
		    void *arg, struct dim_err *err)
{
	struct walker w = { .row = mac_row, .fn.mac = fn, .arg = arg };

	return walk(st, SQL_MACS, 0, &w, err);
}

int state_list_assignments(struct dim_state *st,
			   int (*fn)(const struct state_assignment *a, void *arg), void *arg,
			   struct dim_err *err)
{
	struct walker w = { .row = assignment_row, .fn.assignment = fn, .arg = arg };

	return walk(st, SQL_ASSIGNS, 0, &w, err);
}

int state_list_history(struct dim_state *st, unsigned last,
		       int (*fn)(const struct state_history *h, void *arg), void *arg,
		       struct dim_err *err)
{
	struct walker w = { .row = history_row, .fn.history = fn, .arg = arg };

	/* LIMIT -1 is no limit. */
	return walk(st, SQL_HISTORY, last ? (int64_t)last : -1, &w, err);
}

/* ---------------------------------------------------------------- state_apply */

/* What the state says about one blade, before it is laid over the definition. */
struct overlay {
	const struct cluster *c;
	unsigned *by_name;	/* blade indices sorted by name */
	uint8_t (*mac)[6];	/* each blade's MAC after the overlay */
	bool *has_mac;
	bool *mac_from_state;
	unsigned *image;	/* after the overlay */
	int warnings;
	char msg[640];		/* the first few, then "..." */
	size_t len;
	bool cut;
};

static int by_name_cmp(const void *a, const void *b, void *arg)
{
	const struct cluster *c = arg;

	return strcmp(c->blades[*(const unsigned *)a].name, c->blades[*(const unsigned *)b].name);
}

static const struct cl_blade *ov_blade(const struct overlay *ov, const char *name)
{
	size_t lo = 0, hi = ov->c->n_blades;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cl_blade *b = &ov->c->blades[ov->by_name[mid]];
		int d = strcmp(name, b->name);

		if (!d)
			return b;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

__attribute__((format(printf, 2, 3)))
static void ov_warn(struct overlay *ov, const char *fmt, ...)
{
	char one[256];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(one, sizeof(one), fmt, ap);
	va_end(ap);
	n = strlen(one);
	if (ov->cut || ov->len + n + 2 + 4 >= sizeof(ov->msg)) {
		if (!ov->cut)
			memcpy(ov->msg + ov->len, ", ...", 6);
		ov->cut = true;
	} else {
		snprintf(ov->msg + ov->len, sizeof(ov->msg) - ov->len, "%s%s",
			 ov->warnings ? ", " : "", one);
		ov->len += n + (ov->warnings ? 2 : 0);
	}
	ov->warnings++;
}

/* Either the blade the state names, or NULL and a warning. */
static const struct cl_blade *ov_known(struct overlay *ov, const char *what, const char *blade)
{
	const struct cl_blade *b = ov_blade(ov, blade);

	if (!b)
		ov_warn(ov, "%s of %s (no such blade)", what, blade);
	else if (b->absent)
		ov_warn(ov, "%s of %s (an empty bay)", what, blade);
	return b && !b->absent ? b : NULL;
}

static int ov_mac(const struct state_mac *m, void *arg)
{
	struct overlay *ov = arg;
	const struct cl_blade *b = ov_known(ov, "MAC", m->blade);

	if (!b)
		return 0;
	if (!m->mac_ok) {
		ov_warn(ov, "MAC of %s (\"%s\" is not a MAC)", m->blade, m->mac_text);
		return 0;
	}
	memcpy(ov->mac[b->index], m->mac, 6);
	ov->has_mac[b->index] = true;
	ov->mac_from_state[b->index] = true;
	return 0;
}

static int ov_assign(const struct state_assignment *a, void *arg)
{
	struct overlay *ov = arg;
	const struct cl_blade *b = ov_known(ov, "image", a->blade);
	unsigned i;

	if (!b)
		return 0;
	for (i = 0; i < ov->c->n_images; i++)
		if (!strcmp(ov->c->images[i].name, a->image))
			break;
	if (i == ov->c->n_images) {
		ov_warn(ov, "image %s of %s (no such image)", a->image, a->blade);
		return 0;
	}
	ov->image[b->index] = i;
	return 0;
}

static int by_mac_cmp(const void *a, const void *b, void *arg)
{
	const struct overlay *ov = arg;
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	int d = memcmp(ov->mac[x], ov->mac[y], 6);

	return d ? d : (x > y) - (x < y);
}

/* After the overlay no two blades may share a MAC; the state's MAC loses to the definition's. */
static int ov_conflicts(struct dim_state *st, struct overlay *ov, struct dim_err *err)
{
	const struct cluster *c = ov->c;
	unsigned i, n = 0, *idx = malloc((c->n_blades + 1) * sizeof(*idx));
	int rc = 0;

	if (!idx)
		return dim_err_set(err, -ENOMEM, "%s: out of memory", st->path);
	for (i = 0; i < c->n_blades; i++)
		if (ov->has_mac[i])
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), by_mac_cmp, ov);
	for (i = 1; i < n && !rc; i++) {
		unsigned a = idx[i - 1], b = idx[i];
		char text[MAC_TEXT_LEN + 1];

		if (memcmp(ov->mac[a], ov->mac[b], 6))
			continue;
		mac_format(ov->mac[a], text);
		if (ov->mac_from_state[b] && !ov->mac_from_state[a]) {
			unsigned t = a;

			a = b;
			b = t;
		}
		if (ov->mac_from_state[a] && !ov->mac_from_state[b])
			rc = dim_err_set(err, -EEXIST, "%s: MAC %s is recorded for %s, but %s gives "
					 "it to %s", st->path, text, c->blades[a].name, c->file,
					 c->blades[b].name);
		else
			rc = dim_err_set(err, -EEXIST, "%s: MAC %s is used by both %s and %s",
					 st->path, text, c->blades[a].name, c->blades[b].name);
	}
	free(idx);
	return rc;
}

static void ov_free(struct overlay *ov)
{
	free(ov->by_name);
	free(ov->mac);
	free(ov->has_mac);
	free(ov->mac_from_state);
	free(ov->image);
}

int state_apply(struct dim_state *st, struct cluster *c, struct dim_err *err)
{
	struct overlay ov = { .c = c };
	size_t n = c->n_blades + 1;	/* never malloc(0) */
	bool snapshot = false;
	unsigned i;
	int rc;

	if (st->empty)
		return 0;
	ov.by_name = malloc(n * sizeof(*ov.by_name));
	ov.mac = malloc(n * sizeof(*ov.mac));
	ov.has_mac = calloc(n, sizeof(*ov.has_mac));
	ov.mac_from_state = calloc(n, sizeof(*ov.mac_from_state));
	ov.image = malloc(n * sizeof(*ov.image));
	if (!ov.by_name || !ov.mac || !ov.has_mac || !ov.mac_from_state || !ov.image) {
		rc = dim_err_set(err, -ENOMEM, "%s: out of memory", st->path);
		goto out;
	}
	for (i = 0; i < c->n_blades; i++) {
		ov.by_name[i] = i;
		memcpy(ov.mac[i], c->blades[i].mac, 6);
		ov.has_mac[i] = c->blades[i].has_mac;
		ov.image[i] = c->blades[i].image;
		/* The overlay indexes by array position; the model promises they agree. */
		if (c->blades[i].index != i) {
			rc = dim_err_set(err, -EINVAL, "%s: blade %s has index %u at position %u",
					 c->file, c->blades[i].name, c->blades[i].index, i);
			goto out;
		}
	}
	qsort_r(ov.by_name, c->n_blades, sizeof(*ov.by_name), by_name_cmp, c);

	/* Both tables from one snapshot (a read transaction unless we are writing). */
	if (!st->in_txn) {
		rc = db_exec(st, "BEGIN", "reading the state", err);
		if (rc)
			goto out;
		snapshot = true;
	}
	rc = state_list_macs(st, ov_mac, &ov, err);
	if (rc >= 0)
		rc = state_list_assignments(st, ov_assign, &ov, err);
	if (snapshot)
		sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (rc < 0)
		goto out;
	rc = ov_conflicts(st, &ov, err);
	if (rc < 0)
		goto out;

	for (i = 0; i < c->n_blades; i++) {
		memcpy(c->blades[i].mac, ov.mac[i], 6);
		c->blades[i].has_mac = ov.has_mac[i];
		c->blades[i].image = ov.image[i];
	}
	rc = ov.warnings;
	if (rc)
		dim_err_set(err, 0, "%s: ignored %d entr%s that %s does not have: %s", st->path, rc,
			    rc == 1 ? "y" : "ies", c->file, ov.msg);
out:
	ov_free(&ov);
	return rc;
}
