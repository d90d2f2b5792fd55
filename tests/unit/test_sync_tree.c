/* SPDX-License-Identifier: MIT */
/* Filters, mirroring, manifests, staging and rsync command lines of the sync commands. */
#include <arpa/inet.h>
#include <errno.h>
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
