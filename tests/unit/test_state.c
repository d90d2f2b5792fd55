/* SPDX-License-Identifier: MIT */
/*
 * The state store: create, schema checks, MACs and their conflicts, image
 * assignments, history, the write lock, read-only handles, and the state laid
 * over a hand-built cluster.  Crashes, concurrent processes and a full disk
 * are in tests/e2e/test_state.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "state.h"

struct fixture {
	char dir[64];
	char path[96];
	struct dim_err err;
};

static const uint8_t MAC1[6] = { 0x52, 0x54, 0x00, 0x00, 0x01, 0x01 };
static const uint8_t MAC2[6] = { 0x52, 0x54, 0x00, 0x00, 0x01, 0x02 };
static const uint8_t MAC3[6] = { 0x52, 0x54, 0x00, 0x00, 0x01, 0x03 };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_state.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal", ".lock" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct dim_state *open_rw(struct fixture *f)
{
	struct dim_state *st = NULL;

	assert_int_equal(state_open(f->path, false, &st, &f->err), 0);
	assert_non_null(st);
	return st;
}

static struct dim_state *open_ro(struct fixture *f)
{
	struct dim_state *st = NULL;

	assert_int_equal(state_open(f->path, true, &st, &f->err), 0);
	assert_non_null(st);
	return st;
}

static void begin(struct fixture *f, struct dim_state *st)
{
	assert_int_equal(state_begin(st, "dim test", 1000, &f->err), 0);
}

static void commit(struct fixture *f, struct dim_state *st)
{
	assert_int_equal(state_commit(st, &f->err), 0);
}

static void assert_msg(const struct dim_err *err, const char *part)
{
	if (!strstr(err->msg, part))
		fail_msg("message \"%s\" does not contain \"%s\"", err->msg, part);
}

/* Run SQL on the file directly, as another program would. */
static void raw_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static long long raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *s;
	sqlite3 *db;
	long long v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static char *raw_text(const char *path, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *s;
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return buf;
}

/* ---------------------------------------------------------------- open */

static void test_create(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st;
	mode_t old = umask(022);
	struct stat sb;
	char mode[16];

	st = open_rw(f);
	umask(old);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, NULL, false, &f->err), 0);
	commit(f, st);
	/* SQLite gives the WAL the database's mode. */
	{
		char wal[128];

		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		assert_int_equal(stat(wal, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0640);
	}
	state_close(st);
	assert_int_equal(raw_int(f->path, "PRAGMA application_id"), 0x44494d53);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 1);
	assert_string_equal(raw_text(f->path, "PRAGMA journal_mode", mode, sizeof(mode)), "wal");
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM macs"), 1);
	/* Opening again neither recreates nor loses anything. */
	st = open_rw(f);
	assert_int_equal(state_get_mac(st, "s01c1b01", (uint8_t[6]){ 0 }, &f->err), 1);
	state_close(st);
}

static void test_missing_dir(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = (void *)1;
	char path[128];

	snprintf(path, sizeof(path), "%s/no/such/dir/state.db", f->dir);
	assert_int_equal(state_open(path, false, &st, &f->err), -ENOENT);
	assert_null(st);
	assert_msg(&f->err, path);
	assert_msg(&f->err, "directory");
	/* A file where the directory should be. */
	snprintf(path, sizeof(path), "%s/plain", f->dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(path, sizeof(path), "%s/plain/state.db", f->dir);
	assert_int_equal(state_open(path, false, &st, &f->err), -ENOTDIR);
	snprintf(path, sizeof(path), "%s/plain", f->dir);
	unlink(path);
}

static void test_readonly_missing_and_empty(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = NULL;
	uint8_t mac[6];

	assert_int_equal(state_open(f->path, true, &st, &f->err), -ENOENT);
	assert_msg(&f->err, f->path);
	assert_false(access(f->path, F_OK) == 0);	/* a reader creates nothing */
	/* An empty file (a writer died before setting it up) is an empty state. */
	close(open(f->path, O_CREAT | O_WRONLY, 0640));
	st = open_ro(f);
	assert_int_equal(state_get_mac(st, "s01c1b01", mac, &f->err), 0);
	state_close(st);
}

static void test_not_sqlite(void **state)
{
	struct fixture *f = *state;
	static const char junk[] = "this is not a database, it is a shopping list\n";
	struct dim_state *st = NULL;
	char buf[128] = "";
	int fd;

	fd = open(f->path, O_CREAT | O_WRONLY, 0640);
	assert_true(write(fd, junk, sizeof(junk) - 1) == (ssize_t)sizeof(junk) - 1);
	close(fd);
	assert_int_equal(state_open(f->path, false, &st, &f->err), -EINVAL);
	assert_null(st);
	assert_msg(&f->err, f->path);
	assert_msg(&f->err, "not a dim state database");
	assert_int_equal(state_open(f->path, true, &st, &f->err), -EINVAL);
	/* Left as it was. */
	fd = open(f->path, O_RDONLY);
	assert_true(read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(junk) - 1);
	close(fd);
	assert_string_equal(buf, junk);
}

static void test_foreign_sqlite(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = NULL;

	raw_sql(f->path, "CREATE TABLE t (x); PRAGMA user_version = 7");
	assert_int_equal(state_open(f->path, false, &st, &f->err), -EINVAL);
	assert_msg(&f->err, "not a dim state database");
	assert_msg(&f->err, "user_version 7");
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema"), 1);
}

static void test_newer_schema(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st;

	st = open_rw(f);
	state_close(st);
	raw_sql(f->path, "PRAGMA user_version = 2");
	assert_int_equal(state_open(f->path, false, &st, &f->err), -ENOTSUP);
	assert_msg(&f->err, f->path);
	assert_msg(&f->err, "newer dim");
	assert_msg(&f->err, "version 2");
	assert_int_equal(state_open(f->path, true, &st, &f->err), -ENOTSUP);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 2);
}

static void test_delete_mode_becomes_wal(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st;
	char mode[16];

	st = open_rw(f);
	state_close(st);
	raw_sql(f->path, "PRAGMA journal_mode = DELETE");
	assert_string_equal(raw_text(f->path, "PRAGMA journal_mode", mode, sizeof(mode)),
			    "delete");
	st = open_rw(f);
	state_close(st);
	assert_string_equal(raw_text(f->path, "PRAGMA journal_mode", mode, sizeof(mode)), "wal");
}

/* ---------------------------------------------------------------- MACs, assignments */

static void test_set_get(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	char image[CL_NAME_MAX];
	uint8_t mac[6];

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, "manual", false, &f->err), 0);
	assert_int_equal(state_set_mac(st, "s01c1b02", MAC2, "bctool discover", false, &f->err), 0);
	/* The same MAC again for the same blade is no conflict. */
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, "manual", false, &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b01", "sles10", &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b01", "master", &f->err), 0);
	commit(f, st);
	state_close(st);

	st = open_ro(f);
	assert_int_equal(state_get_mac(st, "s01c1b01", mac, &f->err), 1);
	assert_memory_equal(mac, MAC1, 6);
	assert_int_equal(state_get_mac(st, "s01c1b02", mac, &f->err), 1);
	assert_memory_equal(mac, MAC2, 6);
	assert_int_equal(state_get_mac(st, "s01c1b03", mac, &f->err), 0);
	assert_int_equal(state_get_assignment(st, "s01c1b01", image, sizeof(image), &f->err), 1);
	assert_string_equal(image, "master");
	assert_int_equal(state_get_assignment(st, "s01c1b02", image, sizeof(image), &f->err), 0);
	assert_int_equal(state_get_assignment(st, "s01c1b01", image, 3, &f->err), -ENAMETOOLONG);
	state_close(st);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM macs WHERE blade = 's01c1b02' "
				 "AND source = 'bctool discover' AND mac = '52:54:00:00:01:02'"), 1);
}

static void test_clear_and_unassign(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	uint8_t mac[6];

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, NULL, false, &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b01", "master", &f->err), 0);
	assert_int_equal(state_clear_mac(st, "s01c1b01", &f->err), 1);
	assert_int_equal(state_clear_mac(st, "s01c1b01", &f->err), 0);
	assert_int_equal(state_unassign(st, "s01c1b01", &f->err), 1);
	assert_int_equal(state_unassign(st, "s01c1b01", &f->err), 0);
	/* The MAC is free again for another blade. */
	assert_int_equal(state_set_mac(st, "s01c1b02", MAC1, NULL, false, &f->err), 0);
	commit(f, st);
	assert_int_equal(state_get_mac(st, "s01c1b01", mac, &f->err), 0);
	assert_int_equal(state_get_mac(st, "s01c1b02", mac, &f->err), 1);
	state_close(st);
}

struct collected {
	int n;
	char text[8][160];
};

static int collect_history(const struct state_history *h, void *arg)
{
	struct collected *c = arg;

	if (c->n < 8)
		snprintf(c->text[c->n++], sizeof(c->text[0]), "%s|%s|%s", h->time, h->user,
			 h->text);
	return 0;
}

static void test_conflict_and_force(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	struct collected h = { 0 };
	uint8_t mac[6];

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, NULL, false, &f->err), 0);
	commit(f, st);

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b02", MAC1, NULL, false, &f->err), -EEXIST);
	assert_msg(&f->err, f->path);
	assert_msg(&f->err, "s01c1b02");
	assert_msg(&f->err, "52:54:00:00:01:01");
	assert_msg(&f->err, "already recorded for s01c1b01");
	/* Nothing changed, the transaction is still usable. */
	assert_int_equal(state_set_mac(st, "s01c1b02", MAC2, NULL, false, &f->err), 0);
	commit(f, st);
	assert_int_equal(state_get_mac(st, "s01c1b01", mac, &f->err), 1);
	assert_memory_equal(mac, MAC1, 6);

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b02", MAC1, "manual", true, &f->err), 0);
	commit(f, st);
	assert_int_equal(state_get_mac(st, "s01c1b01", mac, &f->err), 0);
	assert_int_equal(state_get_mac(st, "s01c1b02", mac, &f->err), 1);
	assert_memory_equal(mac, MAC1, 6);
	assert_int_equal(state_list_history(st, 0, collect_history, &h, &f->err), 1);
	assert_non_null(strstr(h.text[0], "dim test: MAC 52:54:00:00:01:01 moved from s01c1b01 "
				"to s01c1b02 (forced)"));
	state_close(st);
}

static void test_unicast_only(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	static const uint8_t multicast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	static const uint8_t local[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", multicast, NULL, false, &f->err), -EINVAL);
	assert_msg(&f->err, "01:00:5e:00:00:01 is not a unicast MAC");
	assert_msg(&f->err, "s01c1b01");
	assert_int_equal(state_set_mac(st, "s01c1b01", broadcast, NULL, false, &f->err), -EINVAL);
	assert_int_equal(state_set_mac(st, "s01c1b01", zero, NULL, false, &f->err), -EINVAL);
	/* Locally administered unicast (QEMU's 52:54:00, or 02:...) is fine. */
	assert_int_equal(state_set_mac(st, "s01c1b01", local, NULL, false, &f->err), 0);
	commit(f, st);
	state_close(st);
}

static void test_names(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	char longname[CL_NAME_MAX + 8];

	memset(longname, 'b', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	begin(f, st);
	assert_int_equal(state_set_mac(st, "", MAC1, NULL, false, &f->err), -EINVAL);
	assert_int_equal(state_set_mac(st, "s01 c1", MAC1, NULL, false, &f->err), -EINVAL);
	assert_msg(&f->err, "not printable");
	assert_int_equal(state_set_mac(st, "s01\nc1", MAC1, NULL, false, &f->err), -EINVAL);
	assert_int_equal(state_set_mac(st, longname, MAC1, NULL, false, &f->err), -ENAMETOOLONG);
	assert_int_equal(state_assign(st, "s01c1b01", "bad image", &f->err), -EINVAL);
	assert_msg(&f->err, "image name");
	commit(f, st);
	state_close(st);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM macs"), 0);
}

static void test_writes_need_a_transaction(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);

	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, NULL, false, &f->err), -EINVAL);
	assert_msg(&f->err, "outside a transaction");
	assert_int_equal(state_assign(st, "s01c1b01", "master", &f->err), -EINVAL);
	assert_int_equal(state_log(st, "x", &f->err), -EINVAL);
	assert_int_equal(state_commit(st, &f->err), -EINVAL);
	begin(f, st);
	assert_int_equal(state_begin(st, "again", 0, &f->err), -EINVAL);
	state_rollback(st);
	state_close(st);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM macs"), 0);
}

static void test_rollback_and_close(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	uint8_t mac[6];

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, NULL, false, &f->err), 0);
	assert_int_equal(state_get_mac(st, "s01c1b01", mac, &f->err), 1);	/* sees its own */
	state_rollback(st);
	assert_int_equal(state_get_mac(st, "s01c1b01", mac, &f->err), 0);
	/* Closing with a transaction open keeps nothing of it, and frees the lock. */
	begin(f, st);
	assert_int_equal(state_assign(st, "s01c1b01", "master", &f->err), 0);
	state_close(st);
	st = open_rw(f);
	assert_int_equal(state_get_assignment(st, "s01c1b01", (char[8]){ 0 }, 8, &f->err), 0);
	assert_int_equal(state_begin(st, "next", 0, &f->err), 0);
	state_rollback(st);
	state_close(st);
}

static void test_readonly_refuses_writes(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f), *ro;

	begin(f, st);
	assert_int_equal(state_assign(st, "s01c1b01", "master", &f->err), 0);
	commit(f, st);
	state_close(st);

	ro = open_ro(f);
	assert_int_equal(state_begin(ro, "dim dhcp assign", 100, &f->err), -EROFS);
	assert_msg(&f->err, f->path);
	assert_msg(&f->err, "read-only");
	assert_int_equal(state_assign(ro, "s01c1b01", "other", &f->err), -EROFS);
	assert_int_equal(state_set_mac(ro, "s01c1b01", MAC1, NULL, false, &f->err), -EROFS);
	assert_int_equal(state_log(ro, "x", &f->err), -EROFS);
	state_close(ro);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM assignments WHERE "
				 "image = 'master'"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM macs"), 0);
}

static void test_reader_sees_committed_only(void **state)
{
	struct fixture *f = *state;
	struct dim_state *w = open_rw(f), *r;
	uint8_t mac[6];

	r = open_ro(f);
	begin(f, w);
	assert_int_equal(state_set_mac(w, "s01c1b01", MAC1, NULL, false, &f->err), 0);
	assert_int_equal(state_set_mac(w, "s01c1b02", MAC2, NULL, false, &f->err), 0);
	/* The reader is not blocked by the writer and sees none of its changes. */
	assert_int_equal(state_get_mac(r, "s01c1b01", mac, &f->err), 0);
	commit(f, w);
	assert_int_equal(state_get_mac(r, "s01c1b01", mac, &f->err), 1);
	assert_int_equal(state_get_mac(r, "s01c1b02", mac, &f->err), 1);
	state_close(r);
	state_close(w);
}

/* ---------------------------------------------------------------- the lock */

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_lock_names_holder(void **state)
{
	struct fixture *f = *state;
	struct dim_state *a = open_rw(f), *b = open_rw(f);
	char pid[32];
	int64_t t0, waited;

	assert_int_equal(state_begin(a, "dim dhcp assign", 0, &f->err), 0);
	t0 = ms_now();
	assert_int_equal(state_begin(b, "dim dhcp mac", 300, &f->err), -EBUSY);
	waited = ms_now() - t0;
	assert_true(waited >= 300);
	assert_true(waited < 3000);
	snprintf(pid, sizeof(pid), "pid %ld ", (long)getpid());
	assert_msg(&f->err, f->path);
	assert_msg(&f->err, "database is locked by ");
	assert_msg(&f->err, pid);
	assert_msg(&f->err, "(dim dhcp assign, user ");
	assert_msg(&f->err, " since ");
	assert_msg(&f->err, "try again");
	/* b holds nothing: a's transaction goes on. */
	assert_int_equal(state_assign(a, "s01c1b01", "master", &f->err), 0);
	commit(f, a);
	/* Free now: no wait at all is needed; any timeout is taken. */
	assert_int_equal(state_begin(b, "dim dhcp mac", 0, &f->err), 0);
	state_rollback(b);
	assert_int_equal(state_begin(b, "dim dhcp mac", UINT_MAX, &f->err), 0);
	assert_int_equal(state_assign(b, "s01c1b01", "other", &f->err), 0);
	commit(f, b);
	state_close(a);
	state_close(b);
}

static void test_lock_foreign_writer(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(state_begin(st, "dim test", 100, &f->err), -EBUSY);
	assert_msg(&f->err, "not dim");
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	/* The failed begin released our lock file. */
	begin(f, st);
	commit(f, st);
	state_close(st);
}

/* ---------------------------------------------------------------- history */

static void test_history(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	struct collected h = { 0 };
	struct passwd *pw = getpwuid(getuid());
	char user[80];

	begin(f, st);
	assert_int_equal(state_log(st, "dhcp assign b1-b4 -> sles10", &f->err), 0);
	assert_int_equal(state_log(st, "second", &f->err), 0);
	assert_int_equal(state_log(st, "third\nforged 2020-01-01 line", &f->err), 0);
	commit(f, st);
	assert_int_equal(state_list_history(st, 0, collect_history, &h, &f->err), 3);
	/* 2026-11-21T10:00:00Z|user|text */
	assert_int_equal(strlen(h.text[0]) > 21, 1);
	assert_int_equal(h.text[0][4], '-');
	assert_int_equal(h.text[0][10], 'T');
	assert_int_equal(h.text[0][19], 'Z');
	assert_int_equal(h.text[0][20], '|');
	snprintf(user, sizeof(user), "|%s", pw ? pw->pw_name : "?");
	assert_non_null(strstr(h.text[0], user));
	assert_non_null(strstr(h.text[0], "|dhcp assign b1-b4 -> sles10"));
	assert_non_null(strstr(h.text[2], "|third forged 2020-01-01 line"));
	memset(&h, 0, sizeof(h));
	assert_int_equal(state_list_history(st, 2, collect_history, &h, &f->err), 2);
	assert_non_null(strstr(h.text[0], "|second"));
	assert_non_null(strstr(h.text[1], "|third"));
	state_close(st);
}

static int stop_after_one(const struct state_mac *m, void *arg)
{
	(void)m;
	++*(int *)arg;
	return 42;
}

static int count_assignments(const struct state_assignment *a, void *arg)
{
	assert_string_equal(a->image, "master");
	++*(int *)arg;
	return 0;
}

static void test_listing(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	int seen = 0;

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, NULL, false, &f->err), 0);
	assert_int_equal(state_set_mac(st, "s01c1b02", MAC2, NULL, false, &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b01", "master", &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b02", "master", &f->err), 0);
	commit(f, st);
	assert_int_equal(state_list_macs(st, stop_after_one, &seen, &f->err), 42);
	assert_int_equal(seen, 1);
	seen = 0;
	assert_int_equal(state_list_assignments(st, count_assignments, &seen, &f->err), 2);
	assert_int_equal(seen, 2);
	state_close(st);
}

/* ---------------------------------------------------------------- state_apply */

/*
 * One image server, one chassis, four bays (the fourth empty), two images;
 * the definition gives s01c1b03 a MAC and boots everything with "master".
 */
static struct cluster *small_cluster(void)
{
	struct cluster *c = calloc(1, sizeof(*c));
	unsigned i;

	assert_non_null(c);
	snprintf(c->file, sizeof(c->file), "small.xml");
	c->n_blades = 4;
	c->blades = calloc(4, sizeof(*c->blades));
	c->n_images = 2;
	c->images = calloc(2, sizeof(*c->images));
	assert_non_null(c->blades);
	assert_non_null(c->images);
	strcpy(c->images[0].name, "master");
	strcpy(c->images[1].name, "sles10");
	for (i = 0; i < 4; i++) {
		struct cl_blade *b = &c->blades[i];

		b->index = i;
		snprintf(b->name, sizeof(b->name), "s01c1b%02u", i + 1);
		snprintf(b->linear, sizeof(b->linear), "b%u", i + 1);
		b->bay = i + 1;
		b->image = 0;
	}
	c->blades[3].absent = true;
	memcpy(c->blades[2].mac, MAC3, 6);
	c->blades[2].has_mac = true;
	return c;
}

static void free_cluster(struct cluster *c)
{
	free(c->blades);
	free(c->images);
	free(c);
}

static void test_apply(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	struct cluster *c = small_cluster();

	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC1, NULL, false, &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b02", "sles10", &f->err), 0);
	/* Stale: a blade the definition lost, an empty bay, an image it lost. */
	assert_int_equal(state_set_mac(st, "s09c1b01", MAC2, NULL, false, &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b04", "master", &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b01", "sles9", &f->err), 0);
	commit(f, st);
	state_close(st);

	st = open_ro(f);
	memset(&f->err, 0, sizeof(f->err));
	assert_int_equal(state_apply(st, c, &f->err), 3);
	assert_msg(&f->err, f->path);
	assert_msg(&f->err, "ignored 3 entries that small.xml does not have");
	assert_msg(&f->err, "MAC of s09c1b01 (no such blade)");
	assert_msg(&f->err, "image of s01c1b04 (an empty bay)");
	assert_msg(&f->err, "image sles9 of s01c1b01 (no such image)");
	assert_true(c->blades[0].has_mac);
	assert_memory_equal(c->blades[0].mac, MAC1, 6);
	assert_int_equal(c->blades[0].image, 0);	/* sles9 skipped, <boot> stays */
	assert_int_equal(c->blades[1].image, 1);
	assert_false(c->blades[1].has_mac);
	assert_true(c->blades[2].has_mac);
	assert_memory_equal(c->blades[2].mac, MAC3, 6);
	assert_false(c->blades[3].has_mac);
	state_close(st);
	free_cluster(c);
}

static void test_apply_clean_and_empty(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st;
	struct cluster *c = small_cluster();

	/* A state nobody has written yet. */
	close(open(f->path, O_CREAT | O_WRONLY, 0640));
	st = open_ro(f);
	assert_int_equal(state_apply(st, c, &f->err), 0);
	state_close(st);

	st = open_rw(f);
	begin(f, st);
	assert_int_equal(state_assign(st, "s01c1b03", "sles10", &f->err), 0);
	commit(f, st);
	strcpy(f->err.msg, "untouched");
	assert_int_equal(state_apply(st, c, &f->err), 0);
	assert_string_equal(f->err.msg, "untouched");
	assert_int_equal(c->blades[2].image, 1);
	state_close(st);
	free_cluster(c);
}

static void test_apply_mac_conflict(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	struct cluster *c = small_cluster();

	/* The state gives s01c1b01 the MAC the definition gives s01c1b03. */
	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b01", MAC3, NULL, false, &f->err), 0);
	assert_int_equal(state_assign(st, "s01c1b01", "sles10", &f->err), 0);
	commit(f, st);
	assert_int_equal(state_apply(st, c, &f->err), -EEXIST);
	assert_msg(&f->err, f->path);
	assert_msg(&f->err, "MAC 52:54:00:00:01:03 is recorded for s01c1b01, but small.xml "
			    "gives it to s01c1b03");
	/* The model is left as it was. */
	assert_false(c->blades[0].has_mac);
	assert_int_equal(c->blades[0].image, 0);

	/* Once the state gives s01c1b03 another MAC, its old one is free. */
	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b03", MAC2, NULL, false, &f->err), 0);
	commit(f, st);
	assert_int_equal(state_apply(st, c, &f->err), 0);
	assert_memory_equal(c->blades[0].mac, MAC3, 6);
	assert_memory_equal(c->blades[2].mac, MAC2, 6);
	assert_int_equal(c->blades[0].image, 1);
	state_close(st);
	free_cluster(c);
}

static void test_apply_inside_transaction(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	struct cluster *c = small_cluster();

	begin(f, st);
	assert_int_equal(state_assign(st, "s01c1b02", "sles10", &f->err), 0);
	assert_int_equal(state_apply(st, c, &f->err), 0);
	assert_int_equal(c->blades[1].image, 1);
	/* Still in the transaction, which still commits. */
	assert_int_equal(state_assign(st, "s01c1b01", "sles10", &f->err), 0);
	commit(f, st);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM assignments"), 2);
	state_close(st);
	free_cluster(c);
}

static void test_apply_hand_edited_mac(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	struct cluster *c = small_cluster();

	state_close(st);
	raw_sql(f->path, "INSERT INTO macs VALUES ('s01c1b01', 'zz:54:00:00:01:01', 'vi', 'now')");
	st = open_ro(f);
	assert_int_equal(state_apply(st, c, &f->err), 1);
	assert_msg(&f->err, "\"zz:54:00:00:01:01\" is not a MAC");
	assert_false(c->blades[0].has_mac);
	assert_int_equal(state_get_mac(st, "s01c1b01", (uint8_t[6]){ 0 }, &f->err), -EBADMSG);
	state_close(st);
	free_cluster(c);
}

/* Many stale entries: the message stays one bounded line. */
static void test_apply_many_warnings(void **state)
{
	struct fixture *f = *state;
	struct dim_state *st = open_rw(f);
	struct cluster *c = small_cluster();
	char name[32];
	int i;

	begin(f, st);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "s99c1b%03d", i);
		assert_int_equal(state_assign(st, name, "master", &f->err), 0);
	}
	commit(f, st);
	assert_int_equal(state_apply(st, c, &f->err), 200);
	assert_msg(&f->err, "ignored 200 entries");
	assert_msg(&f->err, ", ...");
	assert_true(strlen(f->err.msg) < sizeof(f->err.msg) - 1);
	state_close(st);
	free_cluster(c);
}

/* The same over the loader's model of config/small.xml (make runs tests from the top). */
static void test_apply_small_xml(void **state)
{
	struct fixture *f = *state;
	static const uint8_t s02c1b03[6] = { 0x52, 0x54, 0x00, 0x00, 0x02, 0x03 };
	struct dim_state *st = open_rw(f);
	const struct cl_blade *b1, *b7, *b8;
	struct cluster *c = NULL;
	unsigned other;

	if (access("config/small.xml", R_OK) < 0) {
		state_close(st);
		skip();
	}
	assert_int_equal(cluster_load("config/small.xml", &c, &f->err), 0);
	b1 = cluster_find_blade(c, "s01c1b01");
	b7 = cluster_find_blade(c, "b7");
	b8 = cluster_find_blade(c, "s02c1b04");
	other = cluster_find_image(c, "other");
	assert_non_null(b1);
	assert_non_null(b7);
	assert_non_null(b8);
	assert_true(b8->absent);
	assert_int_not_equal(other, CL_NONE);
	assert_int_not_equal(b1->image, other);

	begin(f, st);
	assert_int_equal(state_assign(st, "s01c1b01", "other", &f->err), 0);
	assert_int_equal(state_set_mac(st, "s02c1b03", s02c1b03, NULL, false, &f->err), 0);
	assert_int_equal(state_set_mac(st, "s02c1b04", MAC2, NULL, false, &f->err), 0);
	commit(f, st);
	assert_int_equal(state_apply(st, c, &f->err), 1);
	assert_msg(&f->err, "MAC of s02c1b04 (an empty bay)");
	assert_int_equal(b1->image, other);
	assert_true(b7->has_mac);
	assert_memory_equal(b7->mac, s02c1b03, 6);
	assert_false(b8->has_mac);
	cluster_free(c);

	/* s01c1b02 given s01c1b01's MAC from the definition. */
	assert_int_equal(cluster_load("config/small.xml", &c, &f->err), 0);
	begin(f, st);
	assert_int_equal(state_set_mac(st, "s01c1b02", MAC1, NULL, false, &f->err), 0);
	commit(f, st);
	assert_int_equal(state_apply(st, c, &f->err), -EEXIST);
	assert_msg(&f->err, "is recorded for s01c1b02, but config/small.xml gives it to s01c1b01");
	cluster_free(c);
	state_close(st);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create),
		T(test_missing_dir),
		T(test_readonly_missing_and_empty),
		T(test_not_sqlite),
		T(test_foreign_sqlite),
		T(test_newer_schema),
		T(test_delete_mode_becomes_wal),
		T(test_set_get),
		T(test_clear_and_unassign),
		T(test_conflict_and_force),
		T(test_unicast_only),
		T(test_names),
		T(test_writes_need_a_transaction),
		T(test_rollback_and_close),
		T(test_readonly_refuses_writes),
		T(test_reader_sees_committed_only),
		T(test_lock_names_holder),
		T(test_lock_foreign_writer),
		T(test_history),
		T(test_listing),
		T(test_apply),
		T(test_apply_clean_and_empty),
		T(test_apply_mac_conflict),
		T(test_apply_inside_transaction),
		T(test_apply_hand_edited_mac),
		T(test_apply_many_warnings),
		T(test_apply_small_xml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
