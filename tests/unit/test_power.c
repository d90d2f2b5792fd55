/* SPDX-License-Identifier: MIT */
/*
 * Tests of power.c's pure parts and of the definition's power settings:
 * what management modules report (MACs), credentials files (format,
 * permissions, secrets never in messages), discovery verdicts, the IPMI
 * argv (no password), <chassis><use> and <blades><bmc>, and power_run's
 * refusals before any worker starts.  The backends against real agents are
 * in tests/e2e/test_bctool.py.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster_test.h"
#include "mac.h"
#include "power.h"

/* ---------------------------------------------------------------- MACs */

static void test_parse_mac(void **state)
{
	static const struct {
		const char *in;
		int ok;
		uint8_t mac[6];
	} cases[] = {
		{ "00:11:25:75:00:c2", 1, { 0x00, 0x11, 0x25, 0x75, 0x00, 0xc2 } },
		{ "00:11:25:75:00:C2", 1, { 0x00, 0x11, 0x25, 0x75, 0x00, 0xc2 } },
		{ "00-1A-64-0B-0C-0D", 1, { 0x00, 0x1a, 0x64, 0x0b, 0x0c, 0x0d } },
		{ " 00:1a:64:0b:0c:0d ", 1, { 0x00, 0x1a, 0x64, 0x0b, 0x0c, 0x0d } },
		/* POWER blades: a range, the first is the NIC's */
		{ "00:1a:64:00:00:10 -> 00:1a:64:00:00:1f", 1, { 0x00, 0x1a, 0x64, 0, 0, 0x10 } },
		{ "00:1a:64:00:00:10->00:1a:64:00:00:1f", 1, { 0x00, 0x1a, 0x64, 0, 0, 0x10 } },
		{ "Not Installed", 0, { 0 } },
		{ "Not Available", 0, { 0 } },
		{ "", 0, { 0 } },
		{ "00:11:25:75:00", 0, { 0 } },
		{ "00:11:25:75:00:c", 0, { 0 } },
		{ "00:11:25:75:00:c2:33", 0, { 0 } },
		{ "00:11:25:75:00:cg", 0, { 0 } },
		{ "0:11:25:75:00:c2", 0, { 0 } },
		{ "00112575 00c2", 0, { 0 } },
		{ "00:11:25:75:00:c2 junk", 0, { 0 } },
	};
	char text[18];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		uint8_t mac[6] = { 0 };
		int rc = power_parse_mac(cases[i].in, strlen(cases[i].in), mac);

		if (rc != cases[i].ok)
			fprintf(stderr, "case \"%s\"\n", cases[i].in);
		assert_int_equal(rc, cases[i].ok);
		if (rc)
			assert_memory_equal(mac, cases[i].mac, 6);
	}
	/* Bounded by len, not by a NUL. */
	assert_int_equal(power_parse_mac("00:11:25:75:00:c2", 16, (uint8_t[6]){ 0 }), 0);
	mac_format((const uint8_t[]){ 0x52, 0x54, 0, 0xab, 1, 0xff }, text);
	assert_string_equal(text, "52:54:00:ab:01:ff");
}

/* ---------------------------------------------------------------- credentials */

static int parse(const char *text, const char *type, struct power_creds *cr, struct dim_err *err)
{
	memset(err, 0, sizeof(*err));
	return power_creds_parse(text, strlen(text), "/etc/dim/secrets/bc", type, cr, err);
}

static void test_creds_snmp(void **state)
{
	struct power_creds cr;
	struct dim_err err;

	(void)state;
	assert_int_equal(parse("community=public\n", "snmp", &cr, &err), 0);
	assert_int_equal(cr.version, 2);
	assert_string_equal(cr.community, "public");
	assert_int_equal(cr.port, 161);
	assert_int_equal(cr.timeout_ms, 1000);
	assert_int_equal(cr.retries, 1);

	assert_int_equal(parse("# the chassis\n\n  version = 1 \r\ncommunity=s3cret word\nport=1161\n"
			       "timeout=250\nretries=0\n", "snmp", &cr, &err), 0);
	assert_int_equal(cr.version, 1);
	assert_string_equal(cr.community, "s3cret word");
	assert_int_equal(cr.port, 1161);
	assert_int_equal(cr.timeout_ms, 250);
	assert_int_equal(cr.retries, 0);

	/* v3: implied by user; priv defaults to AES with the auth password, as MMs do */
	assert_int_equal(parse("user=USERID\nauth-password=PASSW0RD1\n", "snmp", &cr, &err), 0);
	assert_int_equal(cr.version, 3);
	assert_string_equal(cr.auth, "SHA");
	assert_string_equal(cr.priv, "AES");
	assert_string_equal(cr.priv_pass, "PASSW0RD1");
	assert_int_equal(parse("user=u\nauth-password=aaaaaaaa\npriv=DES\npriv-password=bbbbbbbb",
			       "snmp", &cr, &err), 0);
	assert_string_equal(cr.priv, "DES");
	assert_string_equal(cr.priv_pass, "bbbbbbbb");
	power_creds_wipe(&cr);
	assert_string_equal(cr.priv_pass, "");
	assert_string_equal(cr.auth_pass, "");
}

static void test_creds_refused(void **state)
{
	static const struct {
		const char *text, *type, *msg;
	} bad[] = {
		{ "community=topsecret\ncolour=topsecret\n", "snmp",
		  "/etc/dim/secrets/bc:2: unknown key \"colour\" for snmp credentials" },
		{ "version=4\ncommunity=x\n", "snmp", "/etc/dim/secrets/bc:1: version: wants 1, 2c or 3" },
		{ "user=u\nauth-password=topsecr\n", "snmp",
		  "/etc/dim/secrets/bc:2: auth-password: wants 8 to 127 printable characters (value not shown)" },
		{ "user=u\nauth-password=topsecret\npriv=3DES\n", "snmp", "priv: wants AES or DES" },
		{ "version=3\n", "snmp", "SNMPv3 (authPriv) needs user and auth-password" },
		{ "user=u\npriv-password=topsecret\n", "snmp", "needs user and auth-password" },
		{ "password=topsecret\n", "ipmi", "IPMI needs user and password" },
		{ "version=2c\n", "snmp", "SNMPv2c needs community" },
		{ "community=x\nport=0\n", "snmp", "port: wants a port number" },
		{ "community=x\ntimeout=60001\n", "snmp", "timeout: wants milliseconds" },
		{ "community=x\nretries=11\n", "snmp", "retries: wants 0 to 10" },
		{ "community=x\ntopsecret\n", "snmp", ":2: not key=value" },
		{ "community=top\x01secret\n", "snmp", "community: wants" },
		{ "user=admin\n", "ipmi", "IPMI needs user and password" },
		{ "user=admin\npassword=topsecret\ncommunity=topsecret\n", "ipmi",
		  ":3: unknown key \"community\" for ipmi credentials" },
		{ "user=admin\npassword=topsecret\ninterface=serial\n", "ipmi", "interface: wants lanplus or lan" },
		{ "community=x\n", "telnet", "credentials of unknown type telnet" },
	};
	struct power_creds cr;
	struct dim_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(parse(bad[i].text, bad[i].type, &cr, &err), -EINVAL);
		if (!strstr(err.msg, bad[i].msg))
			fprintf(stderr, "case %zu: %s\n", i, err.msg);
		assert_non_null(strstr(err.msg, bad[i].msg));
		assert_null(strstr(err.msg, "topsecr"));
		/* nothing half-parsed is left in memory */
		assert_string_equal(cr.community, "");
		assert_string_equal(cr.auth_pass, "");
		assert_string_equal(cr.priv_pass, "");
		assert_string_equal(cr.password, "");
	}
}

static void test_creds_file_mode(void **state)
{
	char dir[] = "/tmp/dim-power-XXXXXX", path[64];
	struct power_creds cr;
	struct dim_err err = { 0 };
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bc", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "community=public\n", 17), 17);
	close(fd);
	assert_int_equal(power_creds_load(path, "snmp", &cr, &err), 0);
	assert_string_equal(cr.community, "public");

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(power_creds_load(path, "snmp", &cr, &err), -EACCES);
	assert_non_null(strstr(err.msg, "group or others may use it (mode 0640): refused"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(power_creds_load(path, "snmp", &cr, &err), -EACCES);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(power_creds_load(path, "snmp", &cr, &err), 0);

	assert_int_equal(power_creds_load(dir, "snmp", &cr, &err), -EINVAL);
	unlink(path);
	assert_int_equal(power_creds_load(path, "snmp", &cr, &err), -ENOENT);
	rmdir(dir);
}

/* ---------------------------------------------------------------- IPMI argv */

static void test_ipmi_argv(void **state)
{
	struct power_creds cr;
	struct dim_err err;
	const char *argv[32], *cmd[] = { "chassis", "power", "status", NULL };
	char bufs[64], line[512] = "";

	(void)state;
	assert_int_equal(parse("user=admin\npassword=hunter2hunter2\n", "ipmi", &cr, &err), 0);
	assert_int_equal(ipmi_argv(&cr, "10.79.0.11", 2500, 1, cmd, argv, 32, bufs, sizeof(bufs)), 0);
	for (size_t i = 0; argv[i]; i++) {
		strcat(line, argv[i]);
		strcat(line, " ");
	}
	assert_string_equal(line, "ipmitool -I lanplus -H 10.79.0.11 -p 623 -U admin -E -N 3 -R 2 "
				  "-C 3 chassis power status ");
	assert_null(strstr(line, "hunter2"));
	assert_int_equal(parse("user=admin\npassword=x\ninterface=lan\nport=6230\n", "ipmi", &cr, &err),
			 0);
	assert_int_equal(ipmi_argv(&cr, "h", 1000, 0, cmd, argv, 32, bufs, sizeof(bufs)), 0);
	assert_string_equal(argv[2], "lan");
	assert_string_equal(argv[6], "6230");
	assert_string_equal(argv[14], "chassis");	/* no -C on plain lan */
	assert_int_equal(ipmi_argv(&cr, "h", 1000, 0, cmd, argv, 8, bufs, sizeof(bufs)), -ENOSPC);
}

/* ---------------------------------------------------------------- names */

static void test_op_names(void **state)
{
	(void)state;
	for (int op = 0; op < POWER_N_OPS; op++)
		assert_int_equal(power_op_find(power_op_name((enum power_op)op)), op);
	assert_int_equal(power_op_find("explode"), -1);
	assert_string_equal(power_state_name(POWER_S_ON), "on");
	assert_string_equal(power_state_name(POWER_S_STANDBY), "standby");
	assert_string_equal(power_state_name(42), "unknown");
	assert_non_null(power_backend_find("snmp"));
	assert_non_null(power_backend_find("ipmi"));
	assert_null(power_backend_find("telnet"));
}

/* ---------------------------------------------------------------- discovery */

static struct power_result found_macs(unsigned n, const uint8_t (*macs)[6], const uint8_t *nic)
{
	struct power_result r = { .n_macs = n };

	for (unsigned i = 0; i < n; i++) {
		memcpy(r.macs[i], macs[i], 6);
		r.mac_nic[i] = nic[i];
	}
	return r;
}

static void test_boot_mac(void **state)
{
	static const uint8_t macs[2][6] = { { 0, 0x1a, 0x64, 0, 0, 2 }, { 0, 0x1a, 0x64, 0, 0, 4 } };
	static const uint8_t nic[2] = { 2, 4 };	/* NIC 1 and 3 "Not Installed" */
	struct power_result r = found_macs(2, macs, nic);
	uint8_t mac[6];

	(void)state;
	assert_true(power_boot_mac(&r, 0, mac));
	assert_memory_equal(mac, macs[0], 6);
	assert_true(power_boot_mac(&r, 4, mac));
	assert_memory_equal(mac, macs[1], 6);
	assert_false(power_boot_mac(&r, 1, mac));
	r.rc = -ETIMEDOUT;
	assert_false(power_boot_mac(&r, 0, mac));
	r = found_macs(0, macs, nic);
	assert_false(power_boot_mac(&r, 0, mac));
}

static void test_judge(void **state)
{
	struct cluster *def = load_ok(SMALL_XML), *cur = load_ok(SMALL_XML);
	const struct cl_blade *b1 = cluster_find_blade(def, "s01c1b01");
	const struct cl_blade *b2 = cluster_find_blade(def, "s01c1b02");
	const struct cl_blade *s2b1 = cluster_find_blade(def, "s02c1b01");
	const struct cl_blade *s2b3 = cluster_find_blade(def, "s02c1b03");
	struct power_found f[4];
	const uint8_t fresh[6] = { 0, 0x1a, 0x64, 1, 2, 3 };

	(void)state;
	/* the state gave s02c1b03 (no MAC in the definition) a MAC */
	cur->blades[s2b3->index].has_mac = true;
	memcpy(cur->blades[s2b3->index].mac, fresh, 6);

	memset(f, 0, sizeof(f));
	f[0] = (struct power_found){ .blade = b1->index, .has_mac = true };
	memcpy(f[0].mac, b1->mac, 6);					/* what it has */
	f[1] = (struct power_found){ .blade = b2->index, .has_mac = true };
	memcpy(f[1].mac, (uint8_t[]){ 0, 0x1a, 0x64, 9, 9, 9 }, 6);	/* replaced */
	f[2] = (struct power_found){ .blade = s2b1->index, .has_mac = true };
	memcpy(f[2].mac, fresh, 6);					/* moved from s02c1b03 */
	f[3] = (struct power_found){ .blade = s2b3->index, .has_mac = false };
	assert_int_equal(power_discover_judge(def, cur, f, 4, false), 3);
	assert_int_equal(f[0].verdict, PV_SAME);
	assert_int_equal(f[1].verdict, PV_CHANGED);
	assert_memory_equal(f[1].old, b2->mac, 6);
	assert_int_equal(f[2].verdict, PV_MOVED);
	assert_int_equal(f[2].other, s2b3->index);
	assert_int_equal(f[3].verdict, PV_NO_MAC);
	/* --force accepts the replaced and the moved blade, not a missing MAC */
	assert_int_equal(power_discover_judge(def, cur, f, 4, true), 1);

	/* the definition's MAC of another blade, and one MAC on two bays: never */
	memcpy(f[1].mac, b1->mac, 6);
	f[2].has_mac = true;
	memcpy(f[2].mac, (uint8_t[]){ 0, 0x1a, 0x64, 7, 7, 7 }, 6);
	f[3].has_mac = true;
	memcpy(f[3].mac, f[2].mac, 6);
	assert_int_equal(power_discover_judge(def, cur, f + 1, 3, true), 3);
	assert_int_equal(f[1].verdict, PV_DEFINED);
	assert_int_equal(f[1].other, b1->index);
	assert_int_equal(f[2].verdict, PV_DUPLICATE);
	assert_int_equal(f[2].other, s2b3->index);
	assert_int_equal(f[3].verdict, PV_DUPLICATE);
	assert_string_equal(power_verdict_name(PV_MOVED), "moved");
	cluster_free(def);
	cluster_free(cur);
}

/* ---------------------------------------------------------------- the definition */

static const char *const RACK_CRED =
	"<credentials name=\"rack\" type=\"ipmi\" file=\"/etc/dim/secrets/rack\"/>\n"
	"  <credentials name=\"bc\"";
static const char *const USE_S02 =
	"<use nodes=\"s02c1\" credentials=\"rack\"/></chassis>";
static const char *const BMC_RULE =
	"<bmc base=\"10.79.0.11\" strides=\"server:0.0.1.0 chassis:14 blade:1\"/></blades>";

static char *ipmi_variant(const char *bmc)
{
	char *text = slurp(SMALL_XML), *a, *b, *c;

	a = replace(text, "<credentials name=\"bc\"", RACK_CRED);
	b = replace(a, "</chassis>", USE_S02);
	c = bmc ? replace(b, "</blades>", bmc) : strdup(b);
	free(text);
	free(a);
	free(b);
	return c;
}

static void test_definition_bmc_and_use(void **state)
{
	char *text = ipmi_variant(BMC_RULE), addr[16];
	struct cluster *c = load_text_ok(text);
	const struct cl_chassis *s1 = cluster_find_chassis(c, "s01c1");
	const struct cl_chassis *s2 = cluster_find_chassis(c, "s02c1");
	const struct cl_blade *b = cluster_find_blade(c, "s02c1b02");

	(void)state;
	assert_string_equal(c->creds[s1->cred].name, "bc");
	assert_string_equal(c->creds[s2->cred].name, "rack");
	assert_string_equal(c->creds[s2->cred].type, "ipmi");
	assert_true(b->has_bmc);
	inet_ntop(AF_INET, &b->bmc_addr, addr, sizeof(addr));
	assert_string_equal(addr, "10.79.1.12");
	cluster_free(c);
	free(text);
}

static void expect_error(const char *text, const char *msg)
{
	struct dim_err err = { 0 };
	struct cluster *c = NULL;

	assert_int_equal(cluster_load_buffer(text, strlen(text), "t.xml", &c, &err), -EINVAL);
	if (!strstr(err.msg, msg))
		fprintf(stderr, "got: %s\n", err.msg);
	assert_non_null(strstr(err.msg, msg));
}

static void test_definition_errors(void **state)
{
	char *text = ipmi_variant(NULL), *bad;

	(void)state;
	/* an ipmi chassis needs its nodes' BMC addresses */
	expect_error(text, "blades: chassis s02c1 is reached with ipmi credentials rack, so its "
			   "nodes need BMC addresses");
	free(text);
	/* a BMC on a blade's address */
	text = ipmi_variant("<bmc base=\"10.77.0.12\" strides=\"server:0.0.1.0 chassis:14 blade:1\"/></blades>");
	expect_error(text, "address 10.77.0.12 already used by");
	free(text);
	/* <use> naming unknown credentials, or a range with no chassis */
	text = ipmi_variant(BMC_RULE);
	bad = replace(text, "credentials=\"rack\"/></chassis>", "credentials=\"nope\"/></chassis>");
	expect_error(bad, "chassis: use: no <credentials name=\"nope\">");
	free(bad);
	bad = replace(text, "<use nodes=\"s02c1\"", "<use nodes=\"s09c1\"");
	expect_error(bad, "chassis: use: ");
	free(bad);
	free(text);
}

/* ---------------------------------------------------------------- power_run refusals */

static int never(const struct power_result *r, void *arg)
{
	(void)r;
	(void)arg;
	fail_msg("no result expected");
	return 0;
}

static void test_run_refuses(void **state)
{
	struct cluster *c = load_ok(SMALL_XML);
	struct cl_selection sel = { 0 };
	struct power_job job = { .op = POWER_STATE, .sel = &sel, .opts = { .retries = -1 } };
	struct dim_err err = { 0 };

	(void)state;
	assert_int_equal(cluster_select_blades(c, "s01c1b01", &sel, &err), 0);
	/* small.xml's credentials file does not exist here: nothing starts */
	snprintf(c->creds[0].file, sizeof(c->creds[0].file), "/nonexistent/bc");
	assert_int_equal(power_run(c, &job, never, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "credentials bc: /nonexistent/bc"));
	/* a chassis without credentials */
	c->chassis[0].cred = CL_NONE;
	assert_int_equal(power_run(c, &job, never, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "chassis s01c1 has no credentials"));
	/* nothing selected: nothing to do, nothing failed */
	cl_selection_free(&sel);
	assert_int_equal(cluster_select_blades(c, "s02c1b01", &sel, &err), 0);
	memset(sel.bits, 0, sizeof(*sel.bits));
	assert_int_equal(power_run(c, &job, never, NULL, &err), 0);
	cl_selection_free(&sel);
	cluster_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_mac),
		cmocka_unit_test(test_creds_snmp),
		cmocka_unit_test(test_creds_refused),
		cmocka_unit_test(test_creds_file_mode),
		cmocka_unit_test(test_ipmi_argv),
		cmocka_unit_test(test_op_names),
		cmocka_unit_test(test_boot_mac),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_definition_bmc_and_use),
		cmocka_unit_test(test_definition_errors),
		cmocka_unit_test(test_run_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
