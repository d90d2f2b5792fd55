/* SPDX-License-Identifier: MIT */
/*
 * The newc writer, checked by a small independent newc reader: header
 * fields, the 4-byte padding rules, order, determinism, SOURCE_DATE_EPOCH,
 * and a gzip round trip.
 */
#define ZLIB_CONST
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "cpio.h"

/* ---------------------------------------------------------------- a memory sink */

struct buf {
	unsigned char *p;
	size_t len, cap;
	int fail_at;	/* fail the nth write with -ENOSPC; 0: never */
	int writes;
};

static int buf_out(void *ctx, const void *data, size_t len)
{
	struct buf *b = ctx;

	if (b->fail_at && ++b->writes >= b->fail_at)
		return -ENOSPC;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 1024;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static void write_archive(const struct cpio_archive *a, uint32_t mtime, int gzip, struct buf *b)
{
	struct cpio_opts o = { .mtime = mtime, .gzip_level = gzip };
	struct cpio_stats st;

	memset(b, 0, sizeof(*b));
	assert_int_equal(cpio_write(a, &o, buf_out, b, &st), 0);
	assert_int_equal(st.out_size, b->len);
	assert_int_equal(st.entries, a->count);
	if (!gzip)
		assert_int_equal(st.raw_size, b->len);
}

/* ---------------------------------------------------------------- a newc reader */

enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_DEVMAJOR, F_DEVMINOR,
       F_RDEVMAJOR, F_RDEVMINOR, F_NAMESIZE, F_CHECK, F_COUNT };

struct rentry {
	size_t hdr_off;			/* where the header starts */
	size_t data_off;		/* where the data starts */
	uint32_t f[F_COUNT];
	char name[256];
	const unsigned char *data;
};

static uint32_t hex8(const unsigned char *p)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 8; i++) {
		int c = p[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (uint32_t)(c - 'A' + 10);
		else
			fail_msg("bad hex digit 0x%02x", c);
	}
	return v;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Parse a whole archive; returns the number of entries before the trailer. */
static size_t read_newc(const unsigned char *p, size_t len, struct rentry *out, size_t max)
{
	size_t off = 0, n = 0;

	for (;;) {
		struct rentry e;
		size_t i;

		memset(&e, 0, sizeof(e));
		assert_true(off + 110 <= len);
		assert_memory_equal(p + off, "070701", 6);
		e.hdr_off = off;
		for (i = 0; i < F_COUNT; i++)
			e.f[i] = hex8(p + off + 6 + 8 * i);
		assert_true(e.f[F_NAMESIZE] >= 2 && e.f[F_NAMESIZE] <= sizeof(e.name));
		assert_true(off + 110 + e.f[F_NAMESIZE] <= len);
		memcpy(e.name, p + off + 110, e.f[F_NAMESIZE]);
		assert_int_equal(e.name[e.f[F_NAMESIZE] - 1], '\0');
		/* Padding after the name: zeros up to a multiple of 4. */
		e.data_off = align4(off + 110 + e.f[F_NAMESIZE]);
		for (i = off + 110 + e.f[F_NAMESIZE]; i < e.data_off; i++)
			assert_int_equal(p[i], 0);
		assert_true(e.data_off + e.f[F_FILESIZE] <= len);
		e.data = p + e.data_off;
		off = align4(e.data_off + e.f[F_FILESIZE]);
		for (i = e.data_off + e.f[F_FILESIZE]; i < off; i++)
			assert_int_equal(p[i], 0);
		if (!strcmp(e.name, "TRAILER!!!"))
			break;
		assert_true(n < max);
		out[n++] = e;
	}
	/* After the trailer only zeros, to a 512-byte block. */
	assert_int_equal(len % 512, 0);
	for (; off < len; off++)
		assert_int_equal(p[off], 0);
	return n;
}

static void inflate_all(const struct buf *gz, struct buf *raw)
{
	z_stream z = { 0 };
	unsigned char chunk[4096];
	int zr;

	memset(raw, 0, sizeof(*raw));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = gz->p;
	z.avail_in = (uInt)gz->len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = inflate(&z, Z_NO_FLUSH);
		assert_true(zr == Z_OK || zr == Z_STREAM_END);
		buf_out(raw, chunk, sizeof(chunk) - z.avail_out);
	} while (zr != Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);	/* one member, nothing after it */
	inflateEnd(&z);
}

/* ---------------------------------------------------------------- tests */

static void test_dir_header(void **state)
{
	struct cpio_archive a;
	struct rentry e[4];
	struct buf b;

	(void)state;
	cpio_init(&a);
	assert_int_equal(cpio_add_dir(&a, "/d", 0755), 0);
	write_archive(&a, 0, 0, &b);
	assert_int_equal(read_newc(b.p, b.len, e, 4), 1);
	assert_string_equal(e[0].name, "d");
	assert_int_equal(e[0].f[F_INO], 1);
	assert_int_equal(e[0].f[F_MODE], S_IFDIR | 0755);
	assert_int_equal(e[0].f[F_UID], 0);
	assert_int_equal(e[0].f[F_GID], 0);
	assert_int_equal(e[0].f[F_NLINK], 2);
	assert_int_equal(e[0].f[F_MTIME], 0);
	assert_int_equal(e[0].f[F_FILESIZE], 0);
	assert_int_equal(e[0].f[F_RDEVMAJOR], 0);
	assert_int_equal(e[0].f[F_NAMESIZE], 2);
	assert_int_equal(e[0].f[F_CHECK], 0);
	/* 110 + "d\0" = 112, already aligned: the trailer follows at once. */
	assert_memory_equal(b.p + 112, "070701", 6);
	free(b.p);
	cpio_free(&a);
}

/* Data lengths 0..5 with names of lengths 1..6: every padding case of both. */
static void test_file_padding(void **state)
{
	static const char data[] = "abcde";
	size_t len;

	(void)state;
	for (len = 0; len <= 5; len++) {
		struct cpio_archive a;
		struct rentry e[2];
		struct buf b;
		char name[8];
		size_t name_end, next;

		memset(name, 'f', sizeof(name));
		name[len + 1] = '\0';
		cpio_init(&a);
		assert_int_equal(cpio_add_file(&a, name, 0644, data, len), 0);
		write_archive(&a, 0, 0, &b);
		assert_int_equal(read_newc(b.p, b.len, e, 2), 1);
		assert_string_equal(e[0].name, name);
		assert_int_equal(e[0].f[F_MODE], S_IFREG | 0644);
		assert_int_equal(e[0].f[F_NLINK], 1);
		assert_int_equal(e[0].f[F_FILESIZE], len);
		assert_int_equal(e[0].f[F_NAMESIZE], len + 2);
		name_end = 110 + len + 2;
		assert_int_equal(e[0].data_off, align4(name_end));
		if (len)
			assert_memory_equal(e[0].data, data, len);
		next = align4(e[0].data_off + len);
		assert_memory_equal(b.p + next, "070701", 6);
		free(b.p);
		cpio_free(&a);
	}
}

static void test_symlink_and_device(void **state)
{
	struct cpio_archive a;
	struct rentry e[4];
	struct buf b;

	(void)state;
	cpio_init(&a);
	assert_int_equal(cpio_add_chardev(&a, "/dev/console", 0600, 5, 1), 0);
	assert_int_equal(cpio_add_symlink(&a, "/bin/sh", "busybox"), 0);
	write_archive(&a, 0, 0, &b);
	/* bin, bin/sh, dev, dev/console: parents were added. */
	assert_int_equal(read_newc(b.p, b.len, e, 4), 4);
	assert_string_equal(e[0].name, "bin");
	assert_int_equal(e[0].f[F_MODE], S_IFDIR | 0755);
	assert_string_equal(e[1].name, "bin/sh");
	assert_int_equal(e[1].f[F_MODE], S_IFLNK | 0777);
	assert_int_equal(e[1].f[F_FILESIZE], 7);
	assert_memory_equal(e[1].data, "busybox", 7);
	assert_string_equal(e[3].name, "dev/console");
	assert_int_equal(e[3].f[F_MODE], S_IFCHR | 0600);
	assert_int_equal(e[3].f[F_FILESIZE], 0);
	assert_int_equal(e[3].f[F_RDEVMAJOR], 5);
	assert_int_equal(e[3].f[F_RDEVMINOR], 1);
	assert_int_equal(e[3].f[F_DEVMAJOR], 0);
	free(b.p);
	cpio_free(&a);
}

static void build_sample(struct cpio_archive *a, int reverse)
{
	static const char *const files[] = { "/etc/dim/modules", "/init", "/lib/modules/a.ko",
					     "/lib/modules/b-c.ko", "/etc/hosts" };
	size_t i, n = sizeof(files) / sizeof(files[0]);

	cpio_init(a);
	for (i = 0; i < n; i++) {
		const char *f = files[reverse ? n - 1 - i : i];

		assert_int_equal(cpio_add_file(a, f, 0644, f, strlen(f)), 0);
	}
	assert_int_equal(cpio_add_dir(a, "/tmp", 01777), 0);
	assert_int_equal(cpio_add_chardev(a, "/dev/console", 0600, 5, 1), 0);
}

/* Same content in another order: same bytes, plain and gzip'd. */
static void test_deterministic(void **state)
{
	struct cpio_archive a1, a2;
	struct buf b1, b2;
	int gz;

	(void)state;
	build_sample(&a1, 0);
	build_sample(&a2, 1);
	for (gz = 0; gz <= 9; gz += 9) {
		write_archive(&a1, 1234, gz, &b1);
		write_archive(&a2, 1234, gz, &b2);
		assert_int_equal(b1.len, b2.len);
		assert_memory_equal(b1.p, b2.p, b1.len);
		free(b1.p);
		free(b2.p);
	}
	cpio_free(&a1);
	cpio_free(&a2);
}

static void test_source_date_epoch(void **state)
{
	struct cpio_archive a;
	struct rentry e[16];
	struct buf gz, raw;
	uint32_t t;
	size_t i, n;

	(void)state;
	unsetenv("SOURCE_DATE_EPOCH");
	assert_int_equal(cpio_source_date(&t), 0);
	assert_int_equal(t, 0);
	setenv("SOURCE_DATE_EPOCH", "", 1);
	assert_int_equal(cpio_source_date(&t), 0);
	assert_int_equal(t, 0);
	setenv("SOURCE_DATE_EPOCH", "12x", 1);
	assert_int_equal(cpio_source_date(&t), -EINVAL);
	setenv("SOURCE_DATE_EPOCH", "-1", 1);
	assert_int_equal(cpio_source_date(&t), -EINVAL);
	setenv("SOURCE_DATE_EPOCH", "4294967296", 1);
	assert_int_equal(cpio_source_date(&t), -ERANGE);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	assert_int_equal(cpio_source_date(&t), 0);
	assert_int_equal(t, 1700000000);
	unsetenv("SOURCE_DATE_EPOCH");

	build_sample(&a, 0);
	write_archive(&a, t, 6, &gz);
	/* RFC 1952: ID1 ID2 CM FLG MTIME(4, LE) XFL OS */
	assert_int_equal(gz.p[0], 0x1f);
	assert_int_equal(gz.p[1], 0x8b);
	assert_int_equal(gz.p[4] | gz.p[5] << 8 | gz.p[6] << 16 | (uint32_t)gz.p[7] << 24, t);
	assert_int_equal(gz.p[9], 3);
	inflate_all(&gz, &raw);
	n = read_newc(raw.p, raw.len, e, 16);
	for (i = 0; i < n; i++)
		assert_int_equal(e[i].f[F_MTIME], t);
	free(gz.p);
	free(raw.p);
	cpio_free(&a);
}

/* Write gzip'd, read back: sorted names, parents first, unique inodes, same data. */
static void test_round_trip(void **state)
{
	struct cpio_archive a;
	struct rentry e[32];
	struct buf gz, raw;
	size_t i, j, n;

	(void)state;
	build_sample(&a, 1);
	write_archive(&a, 0, 9, &gz);
	inflate_all(&gz, &raw);
	n = read_newc(raw.p, raw.len, e, 32);
	assert_int_equal(n, a.count);
	for (i = 0; i < n; i++) {
		const struct cpio_entry *ce = cpio_lookup(&a, e[i].name);
		char parent[256], *slash;

		assert_non_null(ce);
		assert_int_equal(e[i].f[F_MODE], ce->mode);
		assert_int_equal(e[i].f[F_FILESIZE], ce->size);
		if (ce->size)
			assert_memory_equal(e[i].data, ce->data, ce->size);
		if (i > 0)
			assert_true(strcmp(e[i - 1].name, e[i].name) < 0);
		for (j = 0; j < i; j++)
			assert_int_not_equal(e[j].f[F_INO], e[i].f[F_INO]);
		strcpy(parent, e[i].name);
		slash = strrchr(parent, '/');
		if (slash) {
			*slash = '\0';
			for (j = 0; j < i && strcmp(e[j].name, parent); j++)
				;
			assert_true(j < i);	/* the parent came earlier */
			assert_int_equal(e[j].f[F_MODE] & S_IFMT, S_IFDIR);
		}
	}
	assert_int_equal(cpio_lookup(&a, "tmp")->mode, S_IFDIR | 01777);
	assert_string_equal(e[n - 1].name, "tmp");
	free(gz.p);
	free(raw.p);
	cpio_free(&a);
}

static void test_names(void **state)
{
	static const char *const bad[] = { "", "/", "//", "a/../b", "..", "./a", "a//b", "a/./b" };
	struct cpio_archive a;
	size_t i;

	(void)state;
	cpio_init(&a);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cpio_add_file(&a, bad[i], 0644, "x", 1), -EINVAL);
	assert_int_equal(a.count, 0);
	assert_int_equal(cpio_add_file(&a, "/a/b/", 0644, "x", 1), 0);
	assert_non_null(cpio_lookup(&a, "a/b"));
	assert_non_null(cpio_lookup(&a, "/a"));
	assert_int_equal(cpio_add_file(&a, "a/b", 0644, "y", 1), -EEXIST);
	assert_int_equal(cpio_add_dir(&a, "/a/b", 0755), -EEXIST);
	assert_int_equal(cpio_add_file(&a, "/a/b/c", 0644, "y", 1), -ENOTDIR);
	/* "a" was made for a/b: a later explicit add sets its mode, once. */
	assert_int_equal(cpio_lookup(&a, "a")->mode, S_IFDIR | 0755);
	assert_int_equal(cpio_add_dir(&a, "a", 0700), 0);
	assert_int_equal(cpio_lookup(&a, "a")->mode, S_IFDIR | 0700);
	assert_int_equal(cpio_add_dir(&a, "a", 0700), -EEXIST);
	assert_int_equal(cpio_add_dir(&a, "m", 010755), -EINVAL);
	assert_int_equal(cpio_add_symlink(&a, "s", ""), -EINVAL);
	cpio_free(&a);
}

static void test_add_path(void **state)
{
	char dir[] = "/tmp/test_cpio.XXXXXX", path[64];
	struct cpio_archive a;
	const struct cpio_entry *e;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	cpio_init(&a);
	assert_int_equal(cpio_add_path(&a, "/f", 0755, path), 0);
	e = cpio_lookup(&a, "f");
	assert_non_null(e);
	assert_int_equal(e->size, 5);
	assert_memory_equal(e->data, "hello", 5);
	assert_int_equal(e->mode, S_IFREG | 0755);
	assert_int_equal(cpio_add_path(&a, "/g", 0644, dir), -EISDIR);
	unlink(path);
	assert_int_equal(cpio_add_path(&a, "/g", 0644, path), -ENOENT);
	rmdir(dir);
	cpio_free(&a);
}

/* An output error ends the write with that error, plain or compressed. */
static void test_output_error(void **state)
{
	struct cpio_opts o = { .mtime = 0 };
	struct cpio_archive a;
	struct buf b;

	(void)state;
	build_sample(&a, 0);
	for (o.gzip_level = 0; o.gzip_level <= 1; o.gzip_level++) {
		memset(&b, 0, sizeof(b));
		b.fail_at = o.gzip_level ? 1 : 2;	/* gzip writes once, at the end */
		assert_int_equal(cpio_write(&a, &o, buf_out, &b, NULL), -ENOSPC);
		free(b.p);
	}
	o.gzip_level = 10;
	assert_int_equal(cpio_write(&a, &o, buf_out, &b, NULL), -EINVAL);
	cpio_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_header),
		cmocka_unit_test(test_file_padding),
		cmocka_unit_test(test_symlink_and_device),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_source_date_epoch),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_add_path),
		cmocka_unit_test(test_output_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
