/* SPDX-License-Identifier: MIT */
/* Filters, mirroring, manifests, staging and rsync command lines of the sync commands. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "sync.h"
#include "sync_fanout.h"
#include "sync_tree.h"

static char s_bin[] = "bin", s_usr[] = "usr", k_log[] = "/var/log/*", k_tmp[] = "/tmp/*";
static char *shared[] = { s_bin, s_usr };
static char *keep_out[] = { k_log, k_tmp };

static void put(const char *root, const char *rel, const char *text)
{
	char p[4096], d[4096];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	snprintf(d, sizeof(d), "%s", p);
	*strrchr(d, '/') = '\0';
	assert_int_equal(mkdir_p(d, 0755), 0);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *root, const char *rel)
{
	char p[4096], *data = NULL;
	size_t len;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (read_file(p, &data, &len) < 0)
		return NULL;
	return data;
}

static void test_filter(void **state)
{
	struct tree_filter f = { .part = TREE_SHARED, .shared = shared, .n_shared = 2,
				 .skip = keep_out, .n_skip = 2 };

	(void)state;
	assert_true(tree_wanted(&f, "usr/bin/x", false));
	assert_false(tree_wanted(&f, "usr2/x", false));
	assert_false(tree_wanted(&f, "etc/passwd", false));
	f.part = TREE_RW;
	assert_true(tree_wanted(&f, "etc/passwd", false));
	assert_true(tree_wanted(&f, "usr", true));	/* the mount point */
	assert_false(tree_wanted(&f, "usr/bin", true));
	assert_true(tree_wanted(&f, "var/log", true));
	assert_false(tree_wanted(&f, "var/log/messages", false));
	assert_false(tree_wanted(&f, "tmp/x", false));
	f.prefix = "etc/ssh";
	assert_int_equal(tree_in_scope(&f, "etc/ssh/key"), 1);
	assert_int_equal(tree_in_scope(&f, "etc"), 2);
	assert_int_equal(tree_in_scope(&f, "etc/sshd"), 0);
	assert_int_equal(tree_in_scope(&f, "var"), 0);
}

static void test_path_norm(void **state)
{
	struct dim_err e;
	char out[256];

	(void)state;
	assert_int_equal(sync_path_norm("/etc//ssh/", out, sizeof(out), &e), 0);
	assert_string_equal(out, "etc/ssh");
	assert_int_equal(sync_path_norm("/", out, sizeof(out), &e), 0);
	assert_string_equal(out, "");
	assert_int_equal(sync_path_norm("/etc/../x", out, sizeof(out), &e), -EINVAL);
	assert_int_equal(sync_path_norm("/etc/a b", out, sizeof(out), &e), -EINVAL);
	assert_int_equal(sync_path_norm("/etc/$(x)", out, sizeof(out), &e), -EINVAL);
}

static char tmpl[] = "/tmp/dim-test-sync-XXXXXX";

static void test_mirror_links_and_removes(void **state)
{
	struct tree_filter f = { .part = TREE_SHARED, .shared = shared, .n_shared = 2 };
	char src[256], dst[256], a[300], b[300];
	struct tree_stats st;
	struct dim_err e;
	struct stat s1, s2;
	char *top = mkdtemp(strcpy(malloc(sizeof(tmpl)), tmpl));

	(void)state;
	snprintf(src, sizeof(src), "%s/master", top);
	snprintf(dst, sizeof(dst), "%s/ro", top);
	put(src, "usr/bin/tool", "v1\n");
	put(src, "bin/sh", "sh\n");
	put(src, "etc/passwd", "root\n");
	assert_int_equal(tree_mirror(src, dst, &f, TREE_LINK, &st, &e), 0);
	snprintf(a, sizeof(a), "%s/usr/bin/tool", src);
	snprintf(b, sizeof(b), "%s/usr/bin/tool", dst);
	assert_int_equal(stat(a, &s1), 0);
	assert_int_equal(stat(b, &s2), 0);
	assert_true(s1.st_ino == s2.st_ino);		/* linked, no copy */
	assert_null(slurp(dst, "etc/passwd"));		/* not shared */
	/* a change is a new inode in the master (rsync's rename): the RO tree follows */
	put(src, "usr/bin/tool.new", "v2\n");
	snprintf(b, sizeof(b), "%s/usr/bin/tool.new", src);
	assert_int_equal(rename(b, a), 0);
	assert_int_equal(unlink(strcat(strcpy(b, src), "/bin/sh")), 0);
	assert_int_equal(tree_mirror(src, dst, &f, TREE_LINK, &st, &e), 0);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.removed, 1);
	char *v = slurp(dst, "usr/bin/tool");
	assert_string_equal(v, "v2\n");
	free(v);
	assert_null(slurp(dst, "bin/sh"));
	assert_int_equal(tree_remove(top, &e), 0);
	free(top);
}

static void test_manifest_diff_and_stage(void **state)
{
	char *skip[8];
	struct cl_image img = { .name = "m", .mode = "bind", .shared = shared, .n_shared = 2,
				.keep_out = keep_out, .n_keep_out = 2 };
	struct tree_list old, now, merged, back;
	struct tree_filter f;
	struct tree_diff d;
	struct dim_err e;
	char master[256], rw[256], man[256], *tmp, *v;
	char *top = mkdtemp(strcpy(malloc(sizeof(tmpl)), tmpl));

	(void)state;
	snprintf(master, sizeof(master), "%s/master", top);
	snprintf(rw, sizeof(rw), "%s/blade", top);
	snprintf(man, sizeof(man), "%s/rw.manifest", top);
	assert_int_equal(mkdir_p(rw, 0711), 0);
	put(master, "etc/a", "a1\n");
	put(master, "etc/b", "b1\n");
	put(master, "etc/hostname", "master\n");
	put(master, "var/log/x", "log\n");
	put(master, "usr/bin/t", "t\n");
	sync_filter_rw(&img, "", skip, &f);
	assert_int_equal(tree_scan(master, &f, &old, &e), 0);
	assert_int_equal(tree_list_write(man, &old, &e), 0);
	assert_int_equal(tree_list_read(man, false, &back, &e), 0);
	assert_int_equal(back.n, old.n);
	tree_list_free(&back);

	put(master, "etc/a.new", "a2\n");
	{
		char p1[300], p2[300];

		snprintf(p1, sizeof(p1), "%s/etc/a.new", master);
		snprintf(p2, sizeof(p2), "%s/etc/a", master);
		assert_int_equal(rename(p1, p2), 0);
		snprintf(p2, sizeof(p2), "%s/etc/b", master);
		assert_int_equal(unlink(p2), 0);
	}
	put(master, "etc/hostname", "changed\n");
	put(master, "var/log/x", "log2\n");
	put(master, "usr/bin/t", "t2\n");
	assert_int_equal(tree_scan(master, &f, &now, &e), 0);
	assert_int_equal(tree_diff(&old, &now, "", &d, &merged), 0);
	assert_int_equal(d.n_changed, 1);	/* etc/a; not hostname, keep-out, shared */
	assert_string_equal(d.changed[0]->rel, "etc/a");
	assert_int_equal(d.n_removed, 1);
	assert_string_equal(d.removed[0]->rel, "etc/b");

	assert_int_equal(stage_prepare(rw, master, &d, &tmp, &e), 0);
	assert_int_equal(stage_commit(rw, tmp, &e), 0);
	free(tmp);
	v = slurp(rw, "pending/etc/a");
	assert_string_equal(v, "a2\n");
	free(v);
	v = slurp(rw, "pending/.dim-remove");
	assert_string_equal(v, "/etc/b\n");
	free(v);
	/* a second stage merges into a fresh copy */
	tree_diff_free(&d);
	tree_list_free(&old);
	old = merged;
	tree_list_free(&now);
	put(master, "etc/b", "back\n");
	assert_int_equal(tree_scan(master, &f, &now, &e), 0);
	assert_int_equal(tree_diff(&old, &now, "", &d, &merged), 0);
	assert_int_equal(stage_prepare(rw, master, &d, &tmp, &e), 0);
	assert_int_equal(stage_commit(rw, tmp, &e), 0);
	free(tmp);
	v = slurp(rw, "pending/etc/a");
	assert_string_equal(v, "a2\n");
	free(v);
	v = slurp(rw, "pending/etc/b");
	assert_string_equal(v, "back\n");
	free(v);
	v = slurp(rw, "pending/.dim-remove");
	assert_string_equal(v, "");	/* staged again: no longer removed */
	free(v);
	tree_diff_free(&d);
	tree_list_free(&old);
	tree_list_free(&now);
	tree_list_free(&merged);
	assert_int_equal(tree_remove(top, &e), 0);
	free(top);
}

/* A manifest is parsed strictly: a damaged one names its line and is refused whole. */
static void test_manifest_parse(void **state)
{
	static const char good[] =
		"# dim manifest 1\n"
		"d 0755 0 0 0 0 0 etc\n"
		"\n"
		"l 0777 0 0 7 -5 0 etc/a%20b ../x%25y\n"
		"f 4755 1000 1000 18446744073709551615 9223372036854775807 7 etc/b\n";
#define NUL_CASE "d 0755 0 0 0 0 0 etc\nf 0644 0 0 1 2 3 et\0c/a\n"
	static const struct {
		const char *text;
		unsigned line;
		size_t len;	/* 0: strlen */
	} bad[] = {
		{ "f 0644 0 0 1 2 3 etc/a", 1 },			/* no newline at the end */
		{ "f 10000 0 0 1 2 3 etc/a\n", 1 },		/* mode past 07777 */
		{ "f 0648 0 0 1 2 3 etc/a\n", 1 },			/* not octal */
		{ "f 0644 -1 0 1 2 3 etc/a\n", 1 },		/* a sign */
		{ "f 0644 4294967296 0 1 2 3 etc/a\n", 1 },		/* uid past 32 bits */
		{ "f 0644 0 0 18446744073709551616 2 3 etc/a\n", 1 },	/* size past 64 bits */
		{ "f 0644 0 0 1 2x 3 etc/a\n", 1 },		/* junk after a number */
		{ "f 0644 0 0 1 2 3 /etc/a\n", 1 },		/* absolute */
		{ "l 0777 0 0 1 2 3 etc/a\n", 1 },			/* a link without target */
		{ "f 0644 0 0 1 2 3 etc/a t\n", 1 },		/* a file with one */
		{ "f 0644 0 0 1 2 3 etc/%zz\n", 1 },		/* bad escape */
		{ "f 0644 0 0 1 2 3 etc/%00\n", 1 },		/* an escaped NUL */
		{ NUL_CASE, 2, sizeof(NUL_CASE) - 1 },		/* a NUL */
		{ "d 0755 0 0 0 0 0 etc\nd 0755 0 0 0 0 0 etc\n", 2 },	/* not increasing */
		{ "d 0755 0 0 0 0 0 etc\nd 0755 0 0 0 0 0 bin\n", 2 },
	};
	struct tree_list l, back;
	struct dim_err e;
	char *text, want[64];
	size_t i, len;

	(void)state;
	assert_int_equal(tree_list_parse(good, sizeof(good) - 1, "m", &l, &e), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.e[1].rel, "etc/a b");
	assert_string_equal(l.e[1].target, "../x%y");
	assert_int_equal(l.e[1].mtime_ns, -5);
	assert_int_equal(l.e[2].mode, 04755);
	assert_true(l.e[2].size == UINT64_MAX);
	assert_true(l.e[2].mtime_ns == INT64_MAX);
	assert_int_equal(tree_list_format(&l, &text, &len, &e), 0);
	assert_int_equal(tree_list_parse(text, len, "again", &back, &e), 0);
	assert_int_equal(back.n, 3);
	assert_string_equal(back.e[1].target, "../x%y");
	free(text);
	tree_list_free(&back);
	tree_list_free(&l);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* the NUL case: its length takes in what follows the NUL */
		size_t n = bad[i].len ? bad[i].len : strlen(bad[i].text);

		memset(&e, 0, sizeof(e));
		assert_int_equal(tree_list_parse(bad[i].text, n, "m", &l, &e), -EINVAL);
		snprintf(want, sizeof(want), "m:%u: not a dim manifest line", bad[i].line);
		if (!strstr(e.msg, want))
			fail_msg("case %zu: %s", i, e.msg);
		assert_int_equal(l.n, 0);
	}
}

/* pending/.dim-remove is the blade's to write: only absolute paths come out. */
static void test_removals_parse(void **state)
{
	static const char text[] = "/etc/a\nrelative\n/\n\n/etc/b c\n/x\0y\n/last";
	char **v;
	size_t n, i;

	(void)state;
	assert_int_equal(stage_removals_parse(text, sizeof(text) - 1, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "/etc/a");
	assert_string_equal(v[1], "/etc/b c");
	assert_string_equal(v[2], "/last");
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Another host's output: numbers saturate, the reason has no control characters. */
static void test_child_output(void **state)
{
	static struct fan_job j;
	long long files, bytes;
	char why[128];

	(void)state;
	snprintf(j.out, sizeof(j.out), "Number of regular files transferred: 99999999999999999999999\n"
		 "Total transferred file size: 1,234 bytes\n"
		 "rsync: write failed: No space left on device \033[2J\n");
	sync_rsync_stats(j.out, &files, &bytes);
	assert_true(files == LLONG_MAX);
	assert_int_equal(bytes, 1234);
	fanout_reason(&j, why, sizeof(why));
	assert_string_equal(why, "rsync: write failed: No space left on device ?[2J");
}

static void test_rsync_argv(void **state)
{
	struct cl_image img = { .name = "master", .master = "rsync://10.0.0.5/root",
				.keep_out = keep_out, .n_keep_out = 2 };
	struct cluster c = { .mgmt_storage = "/srv/mgmt" };
	struct cl_server s = { .name = "s01", .storage = "/var/lib/dim", .sync = "ssh" };
	struct sync_opts o = { .path = "", .rsh = "ssh -F cfg" };
	struct sync_argv a = { 0 };
	struct dim_err e;
	char all[2048] = "";
	size_t i;

	(void)state;
	s.addr.s_addr = htonl(0x0a4d0001);
	assert_int_equal(sync_master_argv(&c, &img, &o, &a, &e), 0);
	for (i = 0; i < a.n; i++)
		strcat(strcat(all, a.v[i]), "|");
	assert_non_null(strstr(all, "|--delay-updates|"));
	assert_non_null(strstr(all, "|--exclude=/var/log/*|"));
	assert_null(strstr(all, "--rsh"));	/* not for a daemon */
	assert_non_null(strstr(all, "|rsync://10.0.0.5/root/|/srv/mgmt/masters/master/|"));
	sync_argv_free(&a);
	o.path = "etc/ssh";
	all[0] = '\0';
	assert_int_equal(sync_server_argv(&c, &s, &img, &o, &a, &e), 0);
	for (i = 0; i < a.n; i++)
		strcat(strcat(all, a.v[i]), "|");
	assert_non_null(strstr(all, "|--rsh=ssh -F cfg|"));
	assert_non_null(strstr(all, "|--relative|/srv/mgmt/masters/master/./etc/ssh|10.77.0.1:/var/lib/dim/images/master/master/|"));
	sync_argv_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_path_norm),
		cmocka_unit_test(test_mirror_links_and_removes),
		cmocka_unit_test(test_manifest_diff_and_stage),
		cmocka_unit_test(test_rsync_argv),
		cmocka_unit_test(test_manifest_parse),
		cmocka_unit_test(test_removals_parse),
		cmocka_unit_test(test_child_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
