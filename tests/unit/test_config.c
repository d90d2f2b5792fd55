/* SPDX-License-Identifier: MIT */
/* The kernel command line keys, the DHCP merge and their precedence. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "contract.h"
#include "dhcp.h"

static struct config cfg;

static void parse(const char *cmdline, int problems)
{
	config_init(&cfg);
	assert_int_equal(config_parse_cmdline(&cfg, cmdline), problems);
}

static void test_defaults(void **state)
{
	(void)state;
	parse("", 0);
	assert_string_equal(config_get(&cfg, CFG_IFACE), "eth0");
	assert_string_equal(config_get(&cfg, CFG_MODE), "bind");
	assert_string_equal(config_get(&cfg, CFG_NFS), "auto");
	assert_string_equal(config_get(&cfg, CFG_RWIMG), DIM_DEFAULT_RWIMG);
	assert_string_equal(config_get(&cfg, CFG_INIT), "/sbin/init");
	assert_int_equal(config_num(&cfg, CFG_TIMEOUT), DIM_DEFAULT_TIMEOUT);
	assert_false(config_isset(&cfg, CFG_RO));
	assert_false(config_isset(&cfg, CFG_RW));
}

static void test_typical(void **state)
{
	(void)state;
	parse("BOOT_IMAGE=/vmlinux root=/dev/nfs console=hvc0 quiet dim.mode=overlay "
	      "dim.ro=10.0.0.1:/srv/ro dim.rw=/srv/rw/b1 dim.nfs=3 dim.timeout=30 "
	      "dim.debug dim.init=/lib/systemd/systemd BOOTIF=01-52-54-00-12-34-56 -- single",
	      0);
	assert_string_equal(config_get(&cfg, CFG_MODE), "overlay");
	assert_string_equal(config_get(&cfg, CFG_RO), "10.0.0.1:/srv/ro");
	assert_string_equal(config_get(&cfg, CFG_RW), "/srv/rw/b1");
	assert_string_equal(config_get(&cfg, CFG_NFS), "3");
	assert_int_equal(config_num(&cfg, CFG_TIMEOUT), 30);
	assert_int_equal(config_num(&cfg, CFG_DEBUG), 1);
	assert_string_equal(config_get(&cfg, CFG_INIT), "/lib/systemd/systemd");
	assert_string_equal(config_get(&cfg, CFG_BOOTIF), "01-52-54-00-12-34-56");
	assert_int_equal(cfg.v[CFG_MODE].src, SRC_CMDLINE);
}

static void test_after_dashes_is_init_s(void **state)
{
	(void)state;
	parse("dim.mode=bind -- dim.mode=overlay", 0);
	assert_string_equal(config_get(&cfg, CFG_MODE), "bind");
}

static void test_quotes(void **state)
{
	(void)state;
	parse("dim.ro=\"10.0.0.1:/srv/ro\" \"dim.rw=/srv/rw\"", 0);
	assert_string_equal(config_get(&cfg, CFG_RO), "10.0.0.1:/srv/ro");
	assert_string_equal(config_get(&cfg, CFG_RW), "/srv/rw");
	/* An unterminated quote must not run off the end. */
	parse("dim.ro=\"/x", 1);
	parse("\"dim.ro=/y", 0);
	assert_string_equal(config_get(&cfg, CFG_RO), "/y");
}

/* Garbage gets one warning per key and leaves the default in place. */
static void test_garbage(void **state)
{
	static const struct {
		const char *cmdline;
		enum cfg_key key;
		const char *kept;
	} cases[] = {
		{ "dim.mode=chaos", CFG_MODE, "bind" },
		{ "dim.nfs=5", CFG_NFS, "auto" },
		{ "dim.timeout=-1", CFG_TIMEOUT, "120" },
		{ "dim.timeout=99999999999999999999", CFG_TIMEOUT, "120" },
		{ "dim.timeout=12x", CFG_TIMEOUT, "120" },
		{ "dim.iface=eth0;reboot", CFG_IFACE, "eth0" },
		{ "dim.iface=averyveryverylongname", CFG_IFACE, "eth0" },
		{ "dim.init=sbin/init", CFG_INIT, "/sbin/init" },
		{ "dim.init=/sbin/../bin/sh", CFG_INIT, "/sbin/init" },
		{ "dim.rwimg=../etc/passwd", CFG_RWIMG, DIM_DEFAULT_RWIMG },
		{ "dim.rwimg=a'b", CFG_RWIMG, DIM_DEFAULT_RWIMG },
		{ "dim.debug=yes", CFG_DEBUG, "0" },
		{ "dim.rodirs=usr,..", CFG_RODIRS, DIM_DEFAULT_RODIRS },
		{ "BOOTIF=01-52-54", CFG_BOOTIF, "" },
		{ "dim.server=10.0.0.256", CFG_SERVER, "" },
		{ "dim.server=1.2.3", CFG_SERVER, "" },
		{ "dim.servers=1.2.3.4,5.6.7.8,1.1.1.1,2.2.2.2,3.3.3.3", CFG_SERVERS, "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(cases[i].cmdline, 1);
		assert_string_equal(config_get(&cfg, cases[i].key), cases[i].kept);
	}
}

static void test_bad_locations(void **state)
{
	static const char *const bad[] = {
		"dim.ro=srv/ro", "dim.ro=:/srv", "dim.ro=host:/srv", "dim.ro=10.0.0.1:srv",
		"dim.ro=/srv/$(reboot)", "dim.ro=/srv/a'b", "dim.ro=/a/../b", "dim.ro=/a/..",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_init(&cfg);
		config_parse_cmdline(&cfg, bad[i]);
		assert_false(config_isset(&cfg, CFG_RO));
	}
}

static void test_unknown_key(void **state)
{
	(void)state;
	parse("dim.nosuchkey=1 dim.mode=overlay", 1);
	assert_string_equal(config_get(&cfg, CFG_MODE), "overlay");
	/* Not ours: no complaint. */
	parse("dimension=3 ip=dhcp root=/dev/nfs", 0);
}

static void test_long_cmdline(void **state)
{
	char line[9000];

	(void)state;
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "dim.ro=/", 8);
	parse(line, 1);
	assert_false(config_isset(&cfg, CFG_RO));
}

static void set_site(struct dhcp_lease *l, int code, const void *data, size_t len)
{
	struct dhcp_blob *b = &l->site[code - DIM_OPT_FIRST];

	b->present = true;
	b->len = (uint16_t)len;
	memcpy(b->data, data, len);
}

static void test_dhcp_merge_and_precedence(void **state)
{
	static struct dhcp_lease l;
	static const uint8_t servers[] = { 10, 0, 0, 2, 10, 0, 0, 3 };

	(void)state;
	memset(&l, 0, sizeof(l));
	strcpy(l.root_path, "10.0.0.1:/srv/images/x/ro");
	set_site(&l, DIM_OPT_RW, "10.0.0.1:/srv/images/x/blades/b1", 32);
	set_site(&l, DIM_OPT_MODE, "overlay\0", 8);	/* a trailing NUL some servers send */
	set_site(&l, DIM_OPT_SERVERS, servers, sizeof(servers));
	set_site(&l, DIM_OPT_NFS, "4.2", 3);

	parse("dim.nfs=3", 0);
	assert_int_equal(config_merge_dhcp(&cfg, &l), 0);
	assert_string_equal(config_get(&cfg, CFG_RO), "10.0.0.1:/srv/images/x/ro");
	assert_string_equal(config_get(&cfg, CFG_RW), "10.0.0.1:/srv/images/x/blades/b1");
	assert_string_equal(config_get(&cfg, CFG_MODE), "overlay");
	assert_string_equal(config_get(&cfg, CFG_SERVERS), "10.0.0.2,10.0.0.3");
	/* The command line wins over DHCP. */
	assert_string_equal(config_get(&cfg, CFG_NFS), "3");
	assert_int_equal(cfg.v[CFG_NFS].src, SRC_CMDLINE);
	assert_int_equal(cfg.v[CFG_RO].src, SRC_DHCP);
}

static void test_dhcp_bad_values(void **state)
{
	static struct dhcp_lease l;
	static const uint8_t odd[] = { 10, 0, 0 };

	(void)state;
	memset(&l, 0, sizeof(l));
	strcpy(l.root_path, "/srv/ro;reboot");
	set_site(&l, DIM_OPT_MODE, "bi\nnd", 5);
	set_site(&l, DIM_OPT_SERVERS, odd, sizeof(odd));
	set_site(&l, DIM_OPT_RW, "a\0b", 3);
	set_site(&l, DIM_OPT_RWIMG, "", 0);
	parse("", 0);
	assert_int_equal(config_merge_dhcp(&cfg, &l), 5);
	assert_false(config_isset(&cfg, CFG_RO));
	assert_false(config_isset(&cfg, CFG_RW));
	assert_false(config_isset(&cfg, CFG_SERVERS));
	assert_string_equal(config_get(&cfg, CFG_MODE), "bind");
	assert_string_equal(config_get(&cfg, CFG_RWIMG), DIM_DEFAULT_RWIMG);
}

static void test_split_location(void **state)
{
	char server[16], path[64];

	(void)state;
	assert_int_equal(config_split_location("10.1.2.3:/a/b", server, sizeof(server), path,
					       sizeof(path)), 0);
	assert_string_equal(server, "10.1.2.3");
	assert_string_equal(path, "/a/b");
	assert_int_equal(config_split_location("/a", server, sizeof(server), path, sizeof(path)), 0);
	assert_string_equal(server, "");
	assert_int_equal(config_split_location("255.255.255.255.1:/a", server, sizeof(server), path,
					       sizeof(path)), -EINVAL);
}

static void test_hostname(void **state)
{
	static const char *const good[] = { "b1", "s01c1b01", "node-7.cluster.example", "a" };
	static const char *const bad[] = {
		"", "-a", "a-", "a..b", "a_b", "evil;rm", "a'b", "a b", ".a",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(cfg_check_hostname(good[i], &why), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cfg_check_hostname(bad[i], &why), -EINVAL);
}

static void test_format(void **state)
{
	char buf[4096];
	int n;

	(void)state;
	parse("dim.ro=10.0.0.1:/srv/ro dim.mode=overlay", 0);
	n = config_format(&cfg, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "DIM_RO='10.0.0.1:/srv/ro'\n"));
	assert_non_null(strstr(buf, "DIM_MODE='overlay'\n"));
	assert_null(strstr(buf, "DIM_RW="));
	assert_int_equal(config_format(&cfg, buf, 10), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_typical),
		cmocka_unit_test(test_after_dashes_is_init_s),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bad_locations),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_long_cmdline),
		cmocka_unit_test(test_dhcp_merge_and_precedence),
		cmocka_unit_test(test_dhcp_bad_values),
		cmocka_unit_test(test_split_location),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
