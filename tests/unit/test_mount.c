/* SPDX-License-Identifier: MIT */
/*
 * NFS mount options, the root assembly and switch-root plans, path
 * resolution inside the new root, emptying the initramfs, module list lines,
 * backoff, and the klibc-style network configuration file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "dhcp.h"
#include "modules.h"
#include "net.h"
#include "nfsmount.h"
#include "root.h"
#include "util.h"

static void test_nfs_versions(void **state)
{
	const char *v[NFS_MAX_VERSIONS];

	(void)state;
	assert_int_equal(nfs_versions("auto", v), 2);
	assert_string_equal(v[0], "4.1");
	assert_string_equal(v[1], "3");
	assert_int_equal(nfs_versions("4", v), 2);
	assert_string_equal(v[1], "4.0");
	assert_int_equal(nfs_versions("4.2", v), 1);
	assert_string_equal(v[0], "4.2");
}

static void test_nfs_options(void **state)
{
	char buf[256];

	(void)state;
	assert_true(nfs_options(buf, sizeof(buf), "4.1", "10.0.0.1", "10.0.0.11", false) > 0);
	assert_string_equal(buf, "vers=4.1,addr=10.0.0.1,clientaddr=10.0.0.11,proto=tcp,hard,"
				 "timeo=600,retrans=2,sec=sys");
	assert_true(nfs_options(buf, sizeof(buf), "3", "10.0.0.1", "10.0.0.11", false) > 0);
	/* v3: no statd in the initramfs, so no NLM locking; MOUNT over TCP too. */
	assert_string_equal(buf, "vers=3,addr=10.0.0.1,proto=tcp,mountproto=tcp,nolock,hard,"
				 "timeo=600,retrans=2,sec=sys");
	assert_true(nfs_options(buf, sizeof(buf), "4.0", "10.0.0.1", "", false) > 0);
	assert_null(strstr(buf, "clientaddr"));
	assert_null(strstr(buf, "acdir"));
	assert_int_equal(nfs_options(buf, 20, "4.1", "10.0.0.1", "10.0.0.11", false), -ENOSPC);
	assert_int_equal(nfs_options(buf, sizeof(buf), "4.1", "", NULL, false), -EINVAL);
	assert_true(nfs_source(buf, sizeof(buf), "10.0.0.1", "/srv/ro") > 0);
	assert_string_equal(buf, "10.0.0.1:/srv/ro");
}

/*
 * The RO tree: the same options plus a short directory attribute cache, so
 * that a running blade sees names dim sync_image adds or removes within
 * NFS_RO_ACDIR seconds (30..60 s with the kernel's defaults); file
 * attributes keep the defaults.  The RW directory keeps the defaults.
 */
static void test_nfs_options_ro(void **state)
{
	char buf[256], want[256];
	int n;

	(void)state;
	snprintf(want, sizeof(want), "vers=4.1,addr=10.0.0.1,clientaddr=10.0.0.11,proto=tcp,hard,"
		 "timeo=600,retrans=2,sec=sys,acdirmin=%d,acdirmax=%d", NFS_RO_ACDIR, NFS_RO_ACDIR);
	n = nfs_options(buf, sizeof(buf), "4.1", "10.0.0.1", "10.0.0.11", true);
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
	snprintf(want, sizeof(want), "vers=3,addr=10.0.0.1,proto=tcp,mountproto=tcp,nolock,hard,"
		 "timeo=600,retrans=2,sec=sys,acdirmin=%d,acdirmax=%d", NFS_RO_ACDIR, NFS_RO_ACDIR);
	assert_true(nfs_options(buf, sizeof(buf), "3", "10.0.0.1", "10.0.0.11", true) > 0);
	assert_string_equal(buf, want);
	assert_true(NFS_RO_ACDIR >= 1 && NFS_RO_ACDIR <= 10);
	assert_null(strstr(buf, "acregmin"));
	assert_null(strstr(buf, "noac"));
	/* room for the base options but not the cache ones */
	n = nfs_options(buf, sizeof(buf), "4.1", "10.0.0.1", "10.0.0.11", false);
	assert_int_equal(nfs_options(buf, (size_t)n + 5, "4.1", "10.0.0.1", "10.0.0.11", true),
			 -ENOSPC);
}

static void test_plan_bind(void **state)
{
	static struct mount_plan p;
	char text[700];

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(root_plan_bind(&p, "/run/dim/ro", "/newroot", "usr,bin"), 0);
	assert_int_equal(p.n, 6);
	assert_int_equal(p.op[0].kind, MOP_MKDIR);
	assert_string_equal(p.op[0].target, "/newroot/usr");
	assert_int_equal(p.op[1].kind, MOP_MOUNT);
	assert_string_equal(p.op[1].src, "/run/dim/ro/usr");
	assert_int_equal(p.op[1].flags, MS_BIND);
	/* The bind is made read-only by a remount: a plain bind would be writable. */
	assert_int_equal(p.op[2].flags, MS_REMOUNT | MS_BIND | MS_RDONLY);
	assert_string_equal(p.op[2].target, "/newroot/usr");
	assert_string_equal(p.op[4].src, "/run/dim/ro/bin");
	plan_describe(&p.op[1], text, sizeof(text));
	assert_string_equal(text, "mount --bind /run/dim/ro/usr /newroot/usr");
	plan_describe(&p.op[2], text, sizeof(text));
	assert_string_equal(text, "mount -o remount,bind,ro /newroot/usr");

	memset(&p, 0, sizeof(p));
	assert_int_equal(root_plan_bind(&p, "/ro", "/nr", ""), 0);
	assert_int_equal(p.n, 0);
}

static void test_plan_overlay(void **state)
{
	static struct mount_plan p;
	char text[700];

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(root_plan_overlay(&p, "/run/dim/ro", "/run/dim/image", "/newroot"), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.op[0].target, "/run/dim/image/upper");
	assert_string_equal(p.op[1].target, "/run/dim/image/work");
	assert_string_equal(p.op[2].fstype, "overlay");
	assert_string_equal(p.op[2].target, "/newroot");
	assert_string_equal(p.op[2].data, "lowerdir=/run/dim/ro,upperdir=/run/dim/image/upper,"
					  "workdir=/run/dim/image/work");
	plan_describe(&p.op[2], text, sizeof(text));
	assert_non_null(strstr(text, "mount -t overlay -o lowerdir="));
}

static void test_plan_moves(void **state)
{
	static struct mount_plan p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(root_plan_moves(&p, "/newroot"), 0);
	assert_int_equal(p.n, 8);
	assert_int_equal(p.op[1].kind, MOP_MOVE);
	assert_string_equal(p.op[1].src, "/dev");
	assert_string_equal(p.op[1].target, "/newroot/dev");
	assert_string_equal(p.op[7].src, "/run");
	assert_string_equal(p.op[7].target, "/newroot/run");
}

static void test_plan_full(void **state)
{
	static struct mount_plan p;
	char many[4096] = "";
	int i;

	(void)state;
	for (i = 0; i < 40; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sd%d", i ? "," : "", i);
	memset(&p, 0, sizeof(p));
	/* 40 directories need 120 operations: refused, not truncated. */
	assert_int_equal(root_plan_bind(&p, "/ro", "/nr", many), -ENOSPC);
}

/* A scratch tree under /tmp for the functions that look at files. */
static char tmp[64];

static void mk(const char *rel, const char *link)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	if (link)
		assert_int_equal(symlink(link, path), 0);
	else if (rel[strlen(rel) - 1] == '/')
		assert_int_equal(util_mkdir_p(path, 0755), 0);
	else
		assert_int_equal(util_write(path, "x", 1, 0755), 0);
}

static int setup_tree(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/dim-test-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static int teardown_tree(void **state)
{
	(void)state;
	rootfs_clean(tmp, NULL);
	rmdir(tmp);
	return 0;
}

static void test_select_dirs(void **state)
{
	char ro[128], nr[128], out[256], skipped[256];

	(void)state;
	mk("ro/usr/", NULL);
	mk("ro/opt/", NULL);
	mk("ro/lib/", NULL);
	mk("ro/bin", "usr/bin");	/* merged /usr: a link in the RO tree is not bound */
	mk("nr/usr/", NULL);
	mk("nr/lib", "usr/lib");	/* and a link in the RW image stays */
	snprintf(ro, sizeof(ro), "%s/ro", tmp);
	snprintf(nr, sizeof(nr), "%s/nr", tmp);
	assert_int_equal(root_select_dirs("bin,sbin,lib,usr,opt", ro, nr, out, sizeof(out), skipped,
					  sizeof(skipped)), 0);
	assert_string_equal(out, "usr,opt");
	assert_string_equal(skipped, "lib");
}

static void test_resolve(void **state)
{
	char root[128], out[256], want[256];

	(void)state;
	mk("r/lib/systemd/", NULL);
	mk("r/lib/systemd/systemd", NULL);
	mk("r/sbin/", NULL);
	mk("r/sbin/init", "/lib/systemd/systemd");	/* absolute: relative to the new root */
	mk("r/bin", "usr/bin");
	mk("r/usr/bin/", NULL);
	mk("r/usr/bin/sh", "../../lib/systemd/./systemd");
	mk("r/loop", "loop");
	snprintf(root, sizeof(root), "%s/r", tmp);
	snprintf(want, sizeof(want), "%s/lib/systemd/systemd", root);
	assert_int_equal(root_resolve(root, "/sbin/init", out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(root_resolve(root, "/bin/sh", out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(root_resolve(root, "/nope/init", out, sizeof(out)), -ENOENT);
	assert_int_equal(root_resolve(root, "/loop", out, sizeof(out)), -ELOOP);
	/* ".." never climbs out of the root */
	assert_int_equal(root_resolve(root, "/../../../sbin/init", out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_rootfs_clean(void **state)
{
	char dir[128], path[256];
	struct stat st;

	(void)state;
	mk("c/a/b/c/", NULL);
	mk("c/a/b/c/f", NULL);
	mk("c/l", "/etc/passwd");
	mk("c/newroot/", NULL);
	mk("c/newroot/keep", NULL);
	snprintf(dir, sizeof(dir), "%s/c", tmp);
	assert_int_equal(rootfs_clean(dir, "newroot"), 0);
	snprintf(path, sizeof(path), "%s/c/a", tmp);
	assert_int_equal(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/c/l", tmp);
	assert_int_equal(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/c/newroot/keep", tmp);
	assert_int_equal(lstat(path, &st), 0);
	/* The link's target was not followed. */
	assert_int_equal(stat("/etc/passwd", &st), 0);
}

static void test_module_lines(void **state)
{
	char l1[] = "ext4.ko\n", l2[] = "  # comment\n", l3[] = "loop.ko max_loop=16 x=1\n",
	     l4[] = "../evil.ko\n", l5[] = "\n", l6[] = "a/b.ko";
	char *name, *params;

	(void)state;
	assert_int_equal(modules_parse_line(l1, &name, &params), 1);
	assert_string_equal(name, "ext4.ko");
	assert_string_equal(params, "");
	assert_int_equal(modules_parse_line(l2, &name, &params), 0);
	assert_int_equal(modules_parse_line(l3, &name, &params), 1);
	assert_string_equal(name, "loop.ko");
	assert_string_equal(params, "max_loop=16 x=1");
	assert_int_equal(modules_parse_line(l4, &name, &params), -EINVAL);
	assert_int_equal(modules_parse_line(l5, &name, &params), 0);
	assert_int_equal(modules_parse_line(l6, &name, &params), -EINVAL);
}

static void test_backoff(void **state)
{
	uint32_t r;
	unsigned a;

	(void)state;
	for (r = 0; r < 2000; r += 7) {
		uint32_t d0 = backoff_ms(0, 1000, 30000, r);
		uint32_t d9 = backoff_ms(9, 1000, 30000, r);

		assert_in_range(d0, 750, 1250);
		assert_in_range(d9, 22500, 37500);
	}
	for (a = 0; a < 100; a++)
		assert_true(backoff_ms(a, 1000, 30000, 512) <= 37500);
	/* Jitter spreads: two blades with different random draws differ. */
	assert_int_not_equal(backoff_ms(3, 1000, 30000, 0), backoff_ms(3, 1000, 30000, 400));
}

static void test_net_conf(void **state)
{
	static struct dhcp_lease l;
	char buf[1024];

	(void)state;
	memset(&l, 0, sizeof(l));
	inet_pton(AF_INET, "10.77.0.11", &l.yiaddr);
	inet_pton(AF_INET, "10.77.0.1", &l.router);
	l.lease_secs = 3600;
	strcpy(l.hostname, "b1");
	strcpy(l.bootfile, "it's");	/* not shell-safe: left empty */
	assert_true(net_format_conf(buf, sizeof(buf), "eth0", &l, "10.77.0.1", "/srv/ro", 5) > 0);
	assert_non_null(strstr(buf, "DEVICE='eth0'\n"));
	assert_non_null(strstr(buf, "IPV4ADDR='10.77.0.11'\n"));
	/* no option 1: the classful mask; no option 28: derived */
	assert_non_null(strstr(buf, "IPV4NETMASK='255.0.0.0'\n"));
	assert_non_null(strstr(buf, "IPV4BROADCAST='10.255.255.255'\n"));
	assert_non_null(strstr(buf, "HOSTNAME='b1'\n"));
	assert_non_null(strstr(buf, "filename=''\n"));
	assert_non_null(strstr(buf, "DHCPLEASETIME='3600'\n"));
	inet_pton(AF_INET, "255.255.255.0", &l.netmask);
	net_format_conf(buf, sizeof(buf), "eth0", &l, "", "", 5);
	assert_non_null(strstr(buf, "IPV4BROADCAST='10.77.0.255'\n"));
	assert_int_equal(net_format_conf(buf, 64, "eth0", &l, "", "", 5), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nfs_versions),
		cmocka_unit_test(test_nfs_options),
		cmocka_unit_test(test_nfs_options_ro),
		cmocka_unit_test(test_plan_bind),
		cmocka_unit_test(test_plan_overlay),
		cmocka_unit_test(test_plan_moves),
		cmocka_unit_test(test_plan_full),
		cmocka_unit_test_setup_teardown(test_select_dirs, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_resolve, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_rootfs_clean, setup_tree, teardown_tree),
		cmocka_unit_test(test_module_lines),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_net_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
