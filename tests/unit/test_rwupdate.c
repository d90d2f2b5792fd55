/* SPDX-License-Identifier: MIT */
/* RW updates staged by the image server, installed by the linuxrc at boot. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "root.h"
#include "rwupdate.h"
#include "util.h"

static char tmp[64], rw[128], root[128], outside[128];

static void put(const char *dir, const char *rel, const char *data, mode_t mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (!data) {
		assert_int_equal(util_mkdir_p(path, mode), 0);
		assert_int_equal(chmod(path, mode), 0);
		return;
	}
	*strrchr(path, '/') = '\0';
	assert_int_equal(util_mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(util_write(path, data, strlen(data), mode), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void link_(const char *dir, const char *rel, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	*strrchr(path, '/') = '\0';
	assert_int_equal(util_mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(symlink(target, path), 0);
}

static const char *get(const char *dir, const char *rel)
{
	static char buf[256];
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return util_read(path, buf, sizeof(buf)) < 0 ? NULL : buf;
}

static int exists(const char *dir, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return lstat(path, &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/dim-rwupdate-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(rw, sizeof(rw), "%s/rw", tmp);
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	put(tmp, "rw", NULL, 0711);
	put(tmp, "root/etc", NULL, 0755);
	put(tmp, "outside", NULL, 0755);
	put(root, "etc/keep", "blade's own\n", 0644);
	put(root, "etc/old", "to be removed\n", 0644);
	put(root, "etc/motd", "old motd\n", 0644);
	put(root, "var/log/blade.log", "log\n", 0600);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rootfs_clean(tmp, NULL);
	rmdir(tmp);
	return 0;
}

static void test_nothing_staged(void **state)
{
	struct rwupdate_result res;
	char why[256] = "";

	(void)state;
	assert_int_equal(rwupdate_apply(rw, root, &res, why, sizeof(why)), 0);
	assert_int_equal(res.files + res.dirs + res.removed, 0);
	assert_string_equal(get(root, "etc/motd"), "old motd\n");
}

static void test_install_and_remove(void **state)
{
	struct rwupdate_result res;
	char why[256] = "", path[512];
	struct stat st;

	(void)state;
	put(rw, "pending/etc/motd", "new motd\n", 0640);
	put(rw, "pending/etc/new.d", NULL, 0750);
	put(rw, "pending/etc/new.d/a.conf", "a\n", 0600);
	link_(rw, "pending/etc/localtime", "/usr/share/zoneinfo/UTC");
	put(rw, "pending/" RWUPDATE_REMOVE, "# comment\n/etc/old\n/etc/never-there\n", 0644);
	assert_int_equal(rwupdate_apply(rw, root, &res, why, sizeof(why)), 0);
	assert_string_equal(get(root, "etc/motd"), "new motd\n");
	snprintf(path, sizeof(path), "%s/etc/motd", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(path, sizeof(path), "%s/etc/new.d", root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_string_equal(get(root, "etc/new.d/a.conf"), "a\n");
	snprintf(path, sizeof(path), "%s/etc/localtime", root);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_false(exists(root, "etc/old"));
	assert_false(exists(root, RWUPDATE_REMOVE));
	/* What belongs to the blade and was not staged stays. */
	assert_string_equal(get(root, "etc/keep"), "blade's own\n");
	assert_string_equal(get(root, "var/log/blade.log"), "log\n");
	/* Applied updates are gone from the RW directory. */
	assert_false(exists(rw, "pending"));
	assert_false(exists(rw, "pending.applying"));
	assert_false(exists(rw, "pending.done"));
	assert_int_equal(res.files, 3);
	assert_int_equal(res.removed, 2);
	/* A second boot finds nothing more to do. */
	assert_int_equal(rwupdate_apply(rw, root, &res, why, sizeof(why)), 0);
	assert_int_equal(res.files, 0);
}

/* A link in the blade's own tree is never followed out of it. */
static void test_links_not_followed(void **state)
{
	struct rwupdate_result res;
	char why[256] = "";

	(void)state;
	link_(root, "opt", outside);
	put(rw, "pending/opt/evil", "x\n", 0644);
	put(rw, "pending/" RWUPDATE_REMOVE, "/opt/victim\n", 0644);
	put(outside, "victim", "keep me\n", 0644);
	assert_int_equal(rwupdate_apply(rw, root, &res, why, sizeof(why)), 0);
	/* The link was replaced by a real directory; outside is untouched. */
	assert_string_equal(get(outside, "victim"), "keep me\n");
	assert_false(exists(outside, "evil"));
	assert_string_equal(get(root, "opt/evil"), "x\n");
}

/* A boot that died midway left pending.applying: it goes first, then pending. */
static void test_crashed_boot_first(void **state)
{
	struct rwupdate_result res;
	char why[256] = "";

	(void)state;
	put(rw, "pending.applying/etc/motd", "older\n", 0644);
	put(rw, "pending.applying/etc/only-older", "1\n", 0644);
	put(rw, "pending/etc/motd", "newer\n", 0644);
	assert_int_equal(rwupdate_apply(rw, root, &res, why, sizeof(why)), 0);
	assert_string_equal(get(root, "etc/motd"), "newer\n");
	assert_string_equal(get(root, "etc/only-older"), "1\n");
	assert_false(exists(rw, "pending.applying"));
}

/* A failure names the path, keeps the claimed update for the next attempt. */
static void test_failure_is_named_and_kept(void **state)
{
	struct rwupdate_result res;
	char why[256] = "";

	(void)state;
	put(root, "etc/conf.d/x", "dir in the way\n", 0644);
	put(rw, "pending/etc/conf.d", "a file where the blade has a directory\n", 0644);
	assert_int_equal(rwupdate_apply(rw, root, &res, why, sizeof(why)), -EISDIR);
	assert_non_null(strstr(why, "etc/conf.d"));
	assert_true(exists(rw, "pending.applying"));
	assert_string_equal(get(root, "etc/conf.d/x"), "dir in the way\n");
}

static void test_bad_remove_paths(void **state)
{
	struct rwupdate_result res;
	char why[256] = "";

	(void)state;
	assert_int_equal(rwupdate_check_path("/etc/x"), 0);
	assert_int_equal(rwupdate_check_path("etc/x"), -EINVAL);
	assert_int_equal(rwupdate_check_path("/"), -EINVAL);
	assert_int_equal(rwupdate_check_path("/etc/../x"), -EINVAL);
	assert_int_equal(rwupdate_check_path("/etc//x"), -EINVAL);
	assert_int_equal(rwupdate_check_path("/etc/."), -EINVAL);
	put(rw, "pending/" RWUPDATE_REMOVE, "/../../etc/passwd\n", 0644);
	assert_int_equal(rwupdate_apply(rw, root, &res, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, RWUPDATE_REMOVE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_staged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crashed_boot_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_is_named_and_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_remove_paths, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
