/* SPDX-License-Identifier: MIT */
/*
 * The cluster definition loader: the shipped definitions load into the model
 * the format promises (names, linear numbering, addresses, images, absent
 * bays), and every kind of bad definition is refused with one message that
 * names file:line and the culprit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cluster_test.h"

static void assert_addr(struct in_addr a, const char *want)
{
	char buf[INET_ADDRSTRLEN];

	assert_non_null(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

static const struct cl_blade *blade(const struct cluster *c, const char *name)
{
	const struct cl_blade *b = cluster_find_blade(c, name);

	if (!b)
		fprintf(stderr, "no blade %s\n", name);
	assert_non_null(b);
	return b;
}

static const struct cl_chassis *chassis(const struct cluster *c, const char *name)
{
	const struct cl_chassis *ch = cluster_find_chassis(c, name);

	if (!ch)
		fprintf(stderr, "no chassis %s\n", name);
	assert_non_null(ch);
	return ch;
}

/* ---------------------------------------------------------------- small.xml */

static void test_small(void **state)
{
	struct cluster *c = load_ok(SMALL_XML);
	const struct cl_blade *b;
	const struct cl_image *img;
	char path[512];
	unsigned i;

	(void)state;
	assert_string_equal(c->name, "small");
	assert_string_equal(c->file, SMALL_XML);
	assert_string_equal(c->mgmt_name, "mn");
	assert_addr(c->mgmt_addr, "10.77.255.1");
	assert_int_equal(c->n_levels, 3);
	assert_int_equal(c->server_level, 0);
	assert_int_equal(c->chassis_level, 1);
	assert_int_equal(c->blade_level, 2);
	assert_int_equal(c->levels[0].role, CL_ROLE_SERVER);
	assert_int_equal(c->levels[1].role, CL_ROLE_CHASSIS);
	assert_int_equal(c->levels[2].role, CL_ROLE_BLADE);
	assert_int_equal(c->levels[2].pad, 2);
	assert_int_equal(c->levels[2].first, 1);
	assert_int_equal(c->n_servers, 2);
	assert_int_equal(c->n_chassis, 2);
	assert_int_equal(c->n_blades, 8);

	/* Image servers: boot networks, addresses, defaults and no overrides. */
	assert_string_equal(c->servers[0].name, "s01");
	assert_string_equal(c->servers[1].name, "s02");
	assert_addr(c->servers[0].net, "10.77.0.0");
	assert_addr(c->servers[1].net, "10.77.1.0");
	assert_addr(c->servers[1].mask, "255.255.255.0");
	assert_int_equal(c->servers[1].prefix, 24);
	assert_addr(c->servers[0].addr, "10.77.0.1");
	assert_addr(c->servers[1].addr, "10.77.1.1");
	assert_string_equal(c->servers[1].storage, "/var/lib/dim");
	assert_string_equal(c->servers[1].dhcp, "isc");
	assert_string_equal(c->servers[1].nfs, "ganesha");
	assert_int_equal(c->servers[1].first_chassis, 1);
	assert_int_equal(c->servers[1].n_chassis, 1);
	assert_int_equal(c->servers[1].first_blade, 4);
	assert_int_equal(c->servers[1].n_blades, 4);

	/* Chassis and their management modules. */
	assert_string_equal(c->chassis[1].name, "s02c1");
	assert_string_equal(c->chassis[1].mm_name, "s02c1mm");
	assert_string_equal(c->chassis[1].linear, "mm2");
	assert_addr(c->chassis[0].mm_addr, "10.78.0.10");
	assert_addr(c->chassis[1].mm_addr, "10.78.1.10");
	assert_int_equal(c->chassis[1].server, 1);
	assert_int_equal(c->chassis[1].first_blade, 4);
	assert_int_equal(c->chassis[1].n_bays, 4);
	assert_int_equal(c->n_creds, 1);
	assert_int_equal(c->chassis[0].cred, 0);
	assert_string_equal(c->creds[0].type, "snmp");
	assert_string_equal(c->creds[0].file, "/etc/dim/secrets/bc");

	/* Blades in hierarchical order, named, numbered, addressed. */
	for (i = 0; i < c->n_blades; i++) {
		static const char *const names[] = { "s01c1b01", "s01c1b02", "s01c1b03", "s01c1b04",
						     "s02c1b01", "s02c1b02", "s02c1b03", "s02c1b04" };
		char linear[16];

		snprintf(linear, sizeof(linear), "b%u", i + 1);
		assert_int_equal(c->blades[i].index, i);
		assert_string_equal(c->blades[i].name, names[i]);
		assert_string_equal(c->blades[i].linear, linear);
		assert_int_equal(c->blades[i].bay, i % 4 + 1);
		assert_int_equal(c->blades[i].server, i / 4);
		assert_int_equal(c->blades[i].chassis, i / 4);
	}
	b = blade(c, "s01c1b03");
	assert_int_equal(b->num[0], 1);
	assert_int_equal(b->num[1], 1);
	assert_int_equal(b->num[2], 3);
	assert_addr(b->addr, "10.77.0.13");
	assert_addr(blade(c, "s02c1b01")->addr, "10.77.1.11");
	assert_addr(blade(c, "s02c1b03")->addr, "10.77.1.13");

	/* MACs from <mac>; none for the others. */
	assert_true(b->has_mac);
	assert_memory_equal(b->mac, ((uint8_t[]){ 0x52, 0x54, 0, 0, 1, 3 }), 6);
	assert_false(blade(c, "s02c1b03")->has_mac);

	/* <boot>: master for all, then other for s02c1b03 (the later wins); the empty bay has none. */
	assert_int_equal(c->n_images, 2);
	assert_int_equal(blade(c, "s01c1b01")->image, cluster_find_image(c, "master"));
	assert_int_equal(blade(c, "s02c1b03")->image, cluster_find_image(c, "other"));
	assert_true(blade(c, "s02c1b04")->absent);
	assert_int_equal(blade(c, "s02c1b04")->image, CL_NONE);
	assert_false(blade(c, "s02c1b03")->absent);
	assert_int_equal(cluster_find_image(c, "nope"), CL_NONE);

	/* Images. */
	img = &c->images[cluster_find_image(c, "master")];
	assert_string_equal(img->distribution, "busybox test master");
	assert_string_equal(img->kernel, "vmlinux");
	assert_string_equal(img->mode, "bind");
	assert_string_equal(img->nfs, "auto");
	assert_int_equal(img->rw_size, 64ull << 20);
	assert_int_equal(img->n_shared, 5);
	assert_string_equal(img->shared[0], "bin");
	assert_string_equal(img->shared[4], "opt");
	assert_int_equal(img->n_keep_out, 2);
	assert_string_equal(img->keep_out[1], "/tmp/*");
	assert_int_equal(img->n_per_blade, 1);
	assert_string_equal(img->per_blade[0], "/etc/hostname");
	assert_string_equal(c->images[1].mode, "overlay");
	assert_int_equal(c->images[1].n_keep_out, 0);

	/* Storage layout. */
	assert_int_equal(cluster_ro_path(c, &c->servers[0], img, path, sizeof(path)), 0);
	assert_string_equal(path, "/var/lib/dim/images/master/ro");
	assert_int_equal(cluster_rw_dir(c, blade(c, "b6"), img, path, sizeof(path)), 0);
	assert_string_equal(path, "/var/lib/dim/images/master/blades/s02c1b02");
	assert_int_equal(cluster_rw_dir(c, blade(c, "b6"), img, path, 20), -ENAMETOOLONG);
	cluster_free(c);
}

/* Look-ups by hierarchical and linear names, with and without padding. */
static void test_find(void **state)
{
	struct cluster *c = load_ok(SMALL_XML);

	(void)state;
	assert_ptr_equal(cluster_find_blade(c, "s01c1b01"), &c->blades[0]);
	assert_ptr_equal(cluster_find_blade(c, "s1c1b1"), &c->blades[0]);
	assert_ptr_equal(cluster_find_blade(c, "s001c01b001"), &c->blades[0]);
	assert_ptr_equal(cluster_find_blade(c, "b7"), &c->blades[6]);
	assert_ptr_equal(cluster_find_blade(c, "s02c1b04"), &c->blades[7]);	/* absent, but there */
	assert_null(cluster_find_blade(c, "b9"));
	assert_null(cluster_find_blade(c, "b0"));
	assert_null(cluster_find_blade(c, "s01c1"));
	assert_null(cluster_find_blade(c, "s01c1b05"));
	assert_null(cluster_find_blade(c, "b[1-2]"));
	assert_null(cluster_find_blade(c, ""));
	assert_null(cluster_find_blade(c, "S01C1B01"));
	assert_ptr_equal(cluster_find_chassis(c, "s02c1"), &c->chassis[1]);
	assert_ptr_equal(cluster_find_chassis(c, "s02c1mm"), &c->chassis[1]);
	assert_ptr_equal(cluster_find_chassis(c, "mm2"), &c->chassis[1]);
	assert_null(cluster_find_chassis(c, "mm3"));
	assert_null(cluster_find_chassis(c, "s02c1b01"));
	assert_ptr_equal(cluster_find_server(c, "s02"), &c->servers[1]);
	assert_ptr_equal(cluster_find_server(c, "s2"), &c->servers[1]);
	assert_null(cluster_find_server(c, "s03"));
	assert_null(cluster_find_server(c, "s02c1"));
	cluster_free(c);
}

/* ---------------------------------------------------------------- marenostrum.xml */

static void test_marenostrum(void **state)
{
	struct cluster *c = load_ok(MARENOSTRUM_XML);
	unsigned s, ch;
	char name[32], addr[32];

	(void)state;
	assert_int_equal(c->n_servers, 42);
	assert_int_equal(c->n_chassis, 168);
	assert_int_equal(c->n_blades, 2352);
	for (s = 0; s < c->n_blades; s++)
		assert_false(c->blades[s].absent);

	/* The original's numbering. */
	assert_string_equal(blade(c, "s01c1b01")->linear, "b1");
	assert_string_equal(blade(c, "s01c2b14")->linear, "b28");
	assert_string_equal(blade(c, "s42c4b14")->linear, "b2352");
	assert_string_equal(chassis(c, "s23c2mm")->linear, "mm90");
	assert_string_equal(chassis(c, "mm90")->mm_name, "s23c2mm");
	assert_string_equal(blade(c, "b28")->name, "s01c2b14");
	assert_string_equal(blade(c, "b2352")->name, "s42c4b14");

	/* First and last blade of every image server, the server itself, its management modules. */
	for (s = 1; s <= 42; s++) {
		const struct cl_server *sv;

		snprintf(name, sizeof(name), "s%02dc1b01", s);
		snprintf(addr, sizeof(addr), "10.1.%u.11", s);
		assert_addr(blade(c, name)->addr, addr);
		assert_int_equal(blade(c, name)->index, (s - 1) * 56);
		snprintf(name, sizeof(name), "s%02dc4b14", s);
		snprintf(addr, sizeof(addr), "10.1.%u.66", s);
		assert_addr(blade(c, name)->addr, addr);
		assert_int_equal(blade(c, name)->server, s - 1);
		snprintf(name, sizeof(name), "s%02d", s);
		sv = cluster_find_server(c, name);
		assert_non_null(sv);
		snprintf(addr, sizeof(addr), "10.1.%u.1", s);
		assert_addr(sv->addr, addr);
		snprintf(addr, sizeof(addr), "10.1.%u.0", s);
		assert_addr(sv->net, addr);
		assert_int_equal(sv->first_blade, (s - 1) * 56);
		assert_int_equal(sv->n_blades, 56);
		for (ch = 1; ch <= 4; ch++) {
			snprintf(name, sizeof(name), "s%02dc%umm", s, ch);
			snprintf(addr, sizeof(addr), "10.0.%u.1%u", s, ch);
			assert_addr(chassis(c, name)->mm_addr, addr);
			assert_int_equal(chassis(c, name)->index, (s - 1) * 4 + ch - 1);
		}
	}
	assert_addr(chassis(c, "mm90")->mm_addr, "10.0.23.12");

	/* Images: SLES 9 everywhere, Debian on the test partition s42; s42's own servers. */
	assert_int_equal(blade(c, "s41c4b14")->image, cluster_find_image(c, "sles9"));
	assert_int_equal(blade(c, "s42c1b01")->image, cluster_find_image(c, "debian12"));
	assert_string_equal(cluster_find_server(c, "s42")->dhcp, "kea");
	assert_string_equal(cluster_find_server(c, "s42")->nfs, "ganesha");
	assert_string_equal(cluster_find_server(c, "s41")->dhcp, "isc");
	assert_string_equal(cluster_find_server(c, "s41")->storage, "/srv/dim");
	assert_true(blade(c, "b2352")->has_mac);
	cluster_free(c);
}

/* The same numbering without padding, and with a grouping level above the servers. */
static void test_numbering_unpadded(void **state)
{
	char *text = slurp(MARENOSTRUM_XML), *t1, *t2, *t3;
	struct cluster *c;

	(void)state;
	t1 = replace(text, "count=\"42\" pad=\"2\"", "count=\"42\"");
	t2 = replace(t1, "count=\"14\" pad=\"2\"", "count=\"14\"");
	/* No <mac> lines: they name padded blades, which still resolve, but keep it short. */
	t3 = replace(t2, "<!-- s01 -->", "</cluster><!--");
	strcpy(strstr(t3, "</cluster><!--") + strlen("</cluster>"), "\n");
	c = load_text_ok(t3);
	assert_string_equal(c->blades[0].name, "s1c1b1");
	assert_string_equal(blade(c, "s1c1b1")->linear, "b1");
	assert_string_equal(blade(c, "s1c2b14")->linear, "b28");
	assert_string_equal(blade(c, "s01c2b14")->linear, "b28");
	assert_string_equal(chassis(c, "s23c2mm")->linear, "mm90");
	assert_string_equal(chassis(c, "mm90")->name, "s23c2");
	assert_string_equal(c->servers[41].name, "s42");
	cluster_free(c);
	free(t3);
	free(t2);
	free(t1);
	free(text);
}

static const char rack_xml[] =
	"<cluster xmlns='urn:dim:cluster:1' name='racks'>\n"
	"<management name='admin' address='10.9.0.1'/>\n"
	"<naming blade-linear='n' chassis-linear='enc' mm-suffix='cmm'>\n"
	"  <level name='row' prefix='r' count='2'/>\n"
	"  <level name='server' prefix='s' count='3' role='server'/>\n"
	"  <level name='chassis' prefix='e' count='2' first='0'/>\n"
	"  <level name='node' prefix='n' count='10' pad='3'/>\n"
	"</naming>\n"
	"<imageservers storage='/srv/d'>\n"
	"  <network base='10.20.0.0' prefix='25' strides='row:0.0.2.0 server:0.0.0.128'/>\n"
	"  <address base='10.20.0.126' strides='row:0.0.2.0 server:128'/>\n"
	"  <imageserver name='r2s3' storage='/srv/other' nfs='ganesha'/>\n"
	"</imageservers>\n"
	"<chassis><address base='10.9.1.1' strides='row:16 server:4 chassis:1'/></chassis>\n"
	"<blades><address base='10.20.0.1' strides='row:0.0.2.0 server:128 chassis:10 node:1'/></blades>\n"
	"<image name='img' kernel='k/vmlinuz-6.1' rw-size='1G'><shared/></image>\n"
	"<boot image='img' nodes='r2'/>\n"
	"</cluster>\n";

/* Four levels, a grouping level, first="0", other linear words, defaults. */
static void test_deep_naming(void **state)
{
	struct cluster *c = load_text_ok(rack_xml);
	const struct cl_blade *b;

	(void)state;
	assert_int_equal(c->n_levels, 4);
	assert_int_equal(c->server_level, 1);
	assert_int_equal(c->chassis_level, 2);
	assert_int_equal(c->levels[0].role, CL_ROLE_NONE);
	assert_int_equal(c->levels[1].role, CL_ROLE_SERVER);
	assert_int_equal(c->n_servers, 6);
	assert_int_equal(c->n_chassis, 12);
	assert_int_equal(c->n_blades, 120);
	assert_string_equal(c->servers[5].name, "r2s3");
	assert_string_equal(c->servers[5].storage, "/srv/other");
	assert_string_equal(c->servers[5].nfs, "ganesha");
	assert_string_equal(c->servers[4].storage, "/srv/d");
	assert_string_equal(c->servers[4].dhcp, "isc");	/* the defaults */
	assert_string_equal(c->servers[4].nfs, "kernel");
	assert_addr(c->servers[5].net, "10.20.3.0");	/* row 1 * 512 + server 2 * 128 */
	assert_addr(c->servers[5].addr, "10.20.3.126");
	assert_string_equal(c->chassis[0].name, "r1s1e0");
	assert_string_equal(c->chassis[0].mm_name, "r1s1e0cmm");
	assert_string_equal(c->chassis[11].linear, "enc12");
	assert_int_equal(c->chassis[0].cred, CL_NONE);
	b = blade(c, "r2s3e1n010");
	assert_int_equal(b->index, 119);
	assert_string_equal(b->linear, "n120");
	assert_addr(b->addr, "10.20.3.20");	/* 1 + 512 + 2 * 128 + 1 * 10 + 9 */
	assert_int_equal(b->num[2], 1);
	assert_int_equal(b->image, 0);
	assert_int_equal(blade(c, "n60")->image, CL_NONE);
	assert_ptr_equal(cluster_find_chassis(c, "enc12"), cluster_find_chassis(c, "r2s3e1cmm"));
	/* An empty <shared/> shares nothing; without it the boot contract's default set. */
	assert_int_equal(c->images[0].n_shared, 0);
	assert_string_equal(c->images[0].mode, "bind");
	cluster_free(c);
}

/* Two levels: each chassis is its own image server. */
static void test_two_levels(void **state)
{
	static const char xml[] =
		"<cluster xmlns='urn:dim:cluster:1' name='two'>\n"
		"<management name='mn' address='10.1.0.1'/>\n"
		"<naming><level name='chassis' prefix='c' count='3'/>"
		"<level name='blade' prefix='b' count='14' pad='2'/></naming>\n"
		"<imageservers><network base='10.2.0.0' prefix='24' strides='chassis:0.0.1.0'/>"
		"<address base='10.2.0.254' strides='chassis:0.0.1.0'/></imageservers>\n"
		"<chassis><address base='10.1.1.1' strides='chassis:1'/></chassis>\n"
		"<blades><address base='10.2.0.1' strides='chassis:0.0.1.0 blade:1'/></blades>\n"
		"<image name='i' kernel='k' rw-size='1M'/>\n"
		"</cluster>\n";
	struct cluster *c = load_text_ok(xml);

	(void)state;
	assert_int_equal(c->n_servers, 3);
	assert_int_equal(c->server_level, c->chassis_level);
	assert_string_equal(c->servers[2].name, "c3");
	assert_string_equal(c->chassis[2].mm_name, "c3mm");
	assert_int_equal(c->servers[2].n_blades, 14);
	assert_int_equal(c->images[0].n_shared, 8);	/* bin,sbin,lib,lib32,lib64,libx32,usr,opt */
	assert_string_equal(blade(c, "b42")->name, "c3b14");
	assert_addr(blade(c, "b42")->addr, "10.2.2.14");
	cluster_free(c);
}

/* ---------------------------------------------------------------- bad definitions */

/*
 * A variant of small.xml: up to three replacements, the line the message
 * must name (that of the first occurrence of at, in the changed text), and
 * what the message must say.
 */
struct bad_case {
	const char *what;
	const char *from[3], *to[3];
	const char *at;		/* NULL: to[0] */
	const char *want[3];
};

static const struct bad_case semantic_cases[] = {
	{ "duplicate MAC",
	  { "address=\"52:54:00:00:02:02\"" }, { "address=\"52:54:00:00:01:03\"" },
	  "node=\"s02c1b02\"",
	  { "blade s02c1b02: MAC 52:54:00:00:01:03 already used by s01c1b03" } },
	{ "duplicate MAC, written in another case",
	  { "address=\"52:54:00:00:01:03\"", "address=\"52:54:00:00:02:02\"" },
	  { "address=\"52:54:00:00:01:0a\"", "address=\"52:54:00:00:01:0A\"" }, "node=\"s02c1b02\"",
	  { "blade s02c1b02: MAC 52:54:00:00:01:0a already used by s01c1b03" } },
	{ "address outside the boot network",
	  { "chassis:14 blade:1\"" }, { "chassis:14 blade:100\"" }, "<address base=\"10.77.0.11\"",
	  { "address rule of blades: s01c1b04 gets 10.77.1.55, outside s01's boot network 10.77.0.0/24" } },
	{ "rule overflows",
	  { "<address base=\"10.77.0.11\"" }, { "<address base=\"255.255.255.250\"" }, NULL,
	  { "rule overflows 255.255.255.255", "s02c1b04" } },
	{ "rule overflows by a stride",
	  { "chassis:14 blade:1\"" }, { "chassis:14 blade:4294967295\"" }, "<address base=\"10.77.0.11\"",
	  { "rule overflows 255.255.255.255" } },
	{ "blade on the image server's address",
	  { "<address base=\"10.77.0.1\" " }, { "<address base=\"10.77.0.11\" " }, "<address base=\"10.77.0.11\" strides=\"server:0.0.1.0 chassis",
	  { "blade s01c1b01: address 10.77.0.11 already used by image server s01" } },
	{ "blade on the management node's address",
	  { "10.77.255.1" }, { "10.77.0.12" }, "<address base=\"10.77.0.11\"",
	  { "blade s01c1b02: address 10.77.0.12 already used by the management node mn" } },
	{ "blade on a management module's address",
	  { "10.78.0.10" }, { "10.77.0.13" }, "<address base=\"10.77.0.11\"",
	  { "blade s01c1b03: address 10.77.0.13 already used by management module s01c1mm" } },
	{ "blade on a blade's address",
	  { "count=\"1\" role=\"chassis\"", "chassis:14 blade:1" }, { "count=\"2\" role=\"chassis\"", "chassis:2 blade:1" },
	  "<address base=\"10.77.0.11\"",
	  { "blade s01c2b01: address 10.77.0.13 already used by blade s01c1b03" } },
	{ "management module on the management node's address",
	  { "10.77.255.1" }, { "10.78.1.10" }, "<address base=\"10.78.0.10\"",
	  { "management module s02c1mm: address 10.78.1.10 already used by the management node mn" } },
	{ "management modules on one address",
	  { "strides=\"server:0.0.1.0 chassis:1\"" }, { "strides=\"chassis:1\"" }, NULL,
	  { "management module s02c1mm: address 10.78.0.10 already used by management module s01c1mm" } },
	{ "broadcast address",
	  { "<address base=\"10.77.0.11\"" }, { "<address base=\"10.77.0.252\"" }, NULL,
	  { "s01c1b04 gets 10.77.0.255, the broadcast address of s01's boot network 10.77.0.0/24" } },
	{ "network address",
	  { "<address base=\"10.77.0.11\"" }, { "<address base=\"10.77.0.0\"" }, NULL,
	  { "s01c1b01 gets 10.77.0.0, the network address of s01's boot network" } },
	{ "image server outside its network",
	  { "<address base=\"10.77.0.1\" " }, { "<address base=\"10.77.9.1\" " }, NULL,
	  { "address rule of image servers: s01 gets 10.77.9.1, outside its boot network 10.77.0.0/24" } },
	{ "network with host bits",
	  { "<network base=\"10.77.0.0\"" }, { "<network base=\"10.77.0.5\"" }, NULL,
	  { "network rule of image servers: s01 gets 10.77.0.5/24, which has host bits set" } },
	{ "two servers on one network",
	  { "prefix=\"24\" strides=\"server:0.0.1.0\"" }, { "prefix=\"16\"" }, "<network",
	  { "s02 gets 10.77.0.0/16, the boot network of s01 too" } },
	{ "loopback management module",
	  { "10.78.0.10" }, { "127.0.0.10" }, NULL, { "s01c1mm gets 127.0.0.10, a loopback address" } },
	{ "multicast management node",
	  { "10.77.255.1" }, { "224.0.0.1" }, NULL, { "management node mn: address 224.0.0.1 is a multicast" } },
	{ "unknown image",
	  { "<boot image=\"other\"" }, { "<boot image=\"nope\"" }, NULL, { "boot: no <image name=\"nope\">" } },
	{ "unknown credentials",
	  { "credentials=\"bc\"" }, { "credentials=\"nope\"" }, NULL, { "chassis: no <credentials name=\"nope\">" } },
	{ "range selecting nothing",
	  { "nodes=\"s02c1b03\"" }, { "nodes=\"s02c1b04\"" }, NULL,
	  { "boot image other: nodes: \"s02c1b04\": selects only empty bays" } },
	{ "range naming no node",
	  { "nodes=\"s02c1b03\"" }, { "nodes=\"s02c1b03,s09\"" }, NULL, { "boot image other: nodes: \"s09\": no server s09 (s01..s02)" } },
	{ "absent twice",
	  { "<absent nodes=\"s02c1b04\"/>" }, { "<absent nodes=\"s02c1b04\"/><absent nodes=\"b8\"/>" }, "<absent nodes=\"s02c1b04\"/><absent",
	  { "absent: nodes: \"b8\": selects only empty bays" } },
	{ "multicast MAC",
	  { "address=\"52:54:00:00:02:02\"" }, { "address=\"53:54:00:00:02:02\"" }, NULL,
	  { "blade s02c1b02: MAC 53:54:00:00:02:02 is a multicast address" } },
	{ "zero MAC",
	  { "address=\"52:54:00:00:02:02\"" }, { "address=\"00:00:00:00:00:00\"" }, NULL, { "blade s02c1b02: MAC 00:00:00:00:00:00" } },
	{ "MAC of an empty bay",
	  { "node=\"s02c1b02\"" }, { "node=\"s02c1b04\"" }, NULL, { "blade s02c1b04: a MAC for an empty bay" } },
	{ "MAC of no blade",
	  { "node=\"s02c1b02\"" }, { "node=\"s02c1b09\"" }, NULL, { "mac: no blade s02c1b09" } },
	{ "MAC of a chassis",
	  { "node=\"s02c1b02\"" }, { "node=\"mm2\"" }, NULL, { "mac: no blade mm2" } },
	{ "two MACs for a blade",
	  { "node=\"s02c1b02\"" }, { "node=\"b5\"" }, NULL, { "blade s02c1b01: a second MAC (the first on line 49)" } },
	{ "rw-size overflow",
	  { "rw-size=\"64M\"" }, { "rw-size=\"99999999999999T\"" }, NULL, { "image master: rw-size 99999999999999T is more than 16 EiB" } },
	{ "rw-size overflow without suffix",
	  { "rw-size=\"64M\"" }, { "rw-size=\"18446744073709551616\"" }, NULL, { "image master: rw-size 18446744073709551616 is more" } },
	{ "rw-size too small",
	  { "rw-size=\"64M\"" }, { "rw-size=\"1000K\"" }, NULL, { "image master: rw-size 1000K: an RW image needs at least 1M" } },
	{ "two levels with one prefix",
	  { "prefix=\"c\"" }, { "prefix=\"s\"" }, "name=\"chassis\"", { "level chassis: prefix \"s\" is level server's too" } },
	{ "two levels with one name",
	  { "name=\"chassis\" prefix" }, { "name=\"server\" prefix" }, "prefix=\"c\"", { "level server: a second level of that name" } },
	{ "linear name clashes with the first level",
	  { "blade-linear=\"b\"" }, { "blade-linear=\"s\"" }, NULL,
	  { "naming: \"s\" is both a linear name and the prefix of level server" } },
	{ "two linear words alike",
	  { "chassis-linear=\"mm\"" }, { "chassis-linear=\"b\"" }, NULL, { "blade-linear and chassis-linear are both \"b\"" } },
	{ "blade role on the chassis level",
	  { "role=\"chassis\"" }, { "role=\"blade\"" }, NULL, { "level chassis: role blade" } },
	{ "two server levels",
	  { "role=\"chassis\"" }, { "role=\"server\"" }, "prefix=\"c\"", { "level chassis: a second level with role server" } },
	{ "too many blades",
	  { "count=\"2\" pad=\"2\"" }, { "count=\"400000\" pad=\"2\"" }, "<naming", { "naming: more than 1000000 blades" } },
	{ "one level",
	  { "<level name=\"chassis\" prefix=\"c\" count=\"1\" role=\"chassis\"/>", "<level name=\"blade\" prefix=\"b\" count=\"4\" pad=\"2\" role=\"blade\"/>" }, { "", "" },
	  "<naming", { "naming: at least two levels (chassis and blade)" } },
	{ "nine levels",
	  { "<level name=\"chassis\"" },
	  { "<level name=\"l1\" prefix=\"l\" count=\"1\"/><level name=\"m1\" prefix=\"m\" count=\"1\"/>"
	    "<level name=\"n1\" prefix=\"n\" count=\"1\"/><level name=\"o1\" prefix=\"o\" count=\"1\"/>"
	    "<level name=\"p1\" prefix=\"p\" count=\"1\"/><level name=\"q1\" prefix=\"q\" count=\"1\"/>"
	    "<level name=\"chassis\"" }, "name=\"blade\"", { "naming: more than 8 levels" } },
	{ "names too long",
	  { "prefix=\"s\" count=\"2\" pad=\"2\"", "prefix=\"c\" count=\"1\"", "prefix=\"b\" count=\"4\" pad=\"2\"" },
	  { "prefix=\"sssssssssssssss\" count=\"2\" pad=\"9\"", "prefix=\"ccccccccccccccc\" count=\"1\" pad=\"9\"",
	    "prefix=\"bbbbbbbbbbbbbbb\" count=\"4\" pad=\"9\"" },
	  "<naming", { "naming: names would be 74 characters long, more than 63" } },
	{ "image defined twice",
	  { "image name=\"other\"" }, { "image name=\"master\"" }, "second image", { "image master: defined twice (line 32)" } },
	{ "credentials defined twice",
	  { "<credentials name=\"bc\" type=\"snmp\" file=\"/etc/dim/secrets/bc\"/>" },
	  { "<credentials name=\"bc\" type=\"snmp\" file=\"/etc/dim/secrets/bc\"/><credentials name=\"bc\" type=\"ipmi\" file=\"/x\"/>" },
	  NULL, { "credentials bc: defined twice" } },
	{ "stride of an unknown level",
	  { "strides=\"server:0.0.1.0 chassis:1\"" }, { "strides=\"server:0.0.1.0 rack:1\"" }, NULL,
	  { "address rule of chassis: strides: no level named \"rack\"" } },
	{ "stride of a level below",
	  { "<address base=\"10.77.0.1\" strides=\"server:0.0.1.0\"" }, { "<address base=\"10.77.0.1\" strides=\"server:0.0.1.0 blade:1\"" }, NULL,
	  { "address rule of image servers: strides: level blade is below the nodes this rule numbers" } },
	{ "stride given twice",
	  { "chassis:14 blade:1\"" }, { "chassis:14 blade:1 blade:2\"" }, "<address base=\"10.77.0.11\"", { "strides: level blade given twice" } },
	{ "stride of 0",
	  { "chassis:14 blade:1\"" }, { "chassis:14 blade:0\"" }, "<address base=\"10.77.0.11\"", { "strides: level blade has a stride of 0" } },
	{ "management node named like a node",
	  { "name=\"mn\"" }, { "name=\"s01\"" }, NULL, { "management node s01: that name is a node's" } },
	{ "management node named like a linear name",
	  { "name=\"mn\"" }, { "name=\"b3\"" }, NULL, { "management node b3: that name is a node's" } },
	{ "override of no server",
	  { "<address base=\"10.77.0.1\" strides=\"server:0.0.1.0\"/>" },
	  { "<address base=\"10.77.0.1\" strides=\"server:0.0.1.0\"/><imageserver name=\"s03\"/>" }, "<imageserver name",
	  { "imageserver s03: no image server of that name (s01..s02)" } },
	{ "override twice",
	  { "<address base=\"10.77.0.1\" strides=\"server:0.0.1.0\"/>" },
	  { "<address base=\"10.77.0.1\" strides=\"server:0.0.1.0\"/>\n<imageserver name=\"s02\"/>\n<imageserver name=\"s2\" dhcp=\"kea\"/>" },
	  "<imageserver name=\"s2\"", { "imageserver s2: given twice (line 20)" } },
	{ "pad out of range",
	  { "count=\"2\" pad=\"2\"" }, { "count=\"2\" pad=\"12\"" }, NULL, { "element level: attribute pad: 12 is not in 0..9" } },
	{ "count of 0",
	  { "count=\"2\" pad=\"2\"" }, { "count=\"0\" pad=\"2\"" }, NULL, { "element level: attribute count: 0 is not in 1..1000000" } },
	{ "network prefix too long",
	  { "prefix=\"24\"" }, { "prefix=\"31\"" }, NULL, { "element network: attribute prefix: 31 is not in 1..30" } },
	{ "storage with ..",
	  { "storage=\"/var/lib/dim\"" }, { "storage=\"/var/lib/../dim\"" }, NULL,
	  { "element imageservers: attribute storage: \"/var/lib/../dim\" is not an absolute path" } },
	{ "storage with a trailing /",
	  { "storage=\"/var/lib/dim\"" }, { "storage=\"/var/lib/dim/\"" }, NULL, { "attribute storage: \"/var/lib/dim/\"" } },
	{ "kernel with ..",
	  { "kernel=\"vmlinux\" mode=\"bind\"" }, { "kernel=\"a/../../vmlinux\" mode=\"bind\"" }, NULL,
	  { "element image: attribute kernel: \"a/../../vmlinux\" is not a file name" } },
	{ "shared directory with a /",
	  { "<shared>bin sbin" }, { "<shared>bin s/bin" }, NULL, { "image master: shared: \"s/bin\" is not a first-level directory name" } },
	{ "keep-out with ..",
	  { "/var/log/*" }, { "/var/../log/*" }, NULL, { "image master: keep-out: \"/var/../log/*\"" } },
	{ "per-blade relative",
	  { "/etc/hostname" }, { "etc/hostname" }, NULL, { "image master: per-blade: \"etc/hostname\" is not an absolute path" } },
};

static const struct bad_case syntax_cases[] = {
	{ "bad MAC syntax",
	  { "address=\"52:54:00:00:01:03\"" }, { "address=\"52:54:00:00:01\"" }, NULL,
	  { "element mac: attribute address: \"52:54:00:00:01\" is not a MAC address" } },
	{ "bad MAC digits",
	  { "address=\"52:54:00:00:01:03\"" }, { "address=\"52:54:00:00:01:0g\"" }, NULL, { "is not a MAC address" } },
	{ "rw-size suffix",
	  { "rw-size=\"64M\"" }, { "rw-size=\"64Q\"" }, NULL, { "element image: attribute rw-size: \"64Q\" is not a size" } },
	{ "mode",
	  { "mode=\"bind\"" }, { "mode=\"union\"" }, NULL, { "element image: attribute mode: \"union\" is not bind or overlay" } },
	{ "image name with a space",
	  { "image name=\"other\"" }, { "image name=\"o ther\"" }, NULL, { "element image: attribute name: \"o ther\" is not a name" } },
	{ "image name ..",
	  { "image name=\"other\"" }, { "image name=\"..\"" }, NULL, { "attribute name: \"..\" is not a name" } },
	{ "image name too long",
	  { "image name=\"other\"" }, { "image name=\"o123456789012345678901234567890123456789012345678901234567890123\"" }, NULL,
	  { "attribute name: \"o1234" } },
	{ "image name not ASCII",
	  { "image name=\"other\"" }, { "image name=\"\xc3\xa9t\xc3\xa9\"" }, NULL, { "attribute name: \"\\xc3\\xa9t" } },
	{ "storage with a semicolon",
	  { "storage=\"/var/lib/dim\"" }, { "storage=\"/var/lib/dim;rm\"" }, NULL, { "attribute storage: \"/var/lib/dim;rm\"" } },
	{ "storage with a space",
	  { "storage=\"/var/lib/dim\"" }, { "storage=\"/var/lib/my dim\"" }, NULL, { "attribute storage: \"/var/lib/my dim\"" } },
	{ "distribution with a quote",
	  { "distribution=\"busybox test master\"" }, { "distribution=\"busybox &quot;test\"" }, NULL,
	  { "element image: attribute distribution: \"busybox \\x22test\" is not printable ASCII" } },
	{ "distribution with a newline",
	  { "distribution=\"busybox test master\"" }, { "distribution=\"busybox&#10;subnet x {\"" }, NULL, { "attribute distribution: \"busybox\\x0asubnet" } },
	{ "distribution with a brace",
	  { "distribution=\"busybox test master\"" }, { "distribution=\"a } b\"" }, NULL, { "attribute distribution: \"a } b\"" } },
	{ "distribution with a hash",
	  { "distribution=\"busybox test master\"" }, { "distribution=\"a # b\"" }, NULL, { "attribute distribution" } },
	{ "kernel with a space",
	  { "kernel=\"vmlinux\" mode=\"bind\"" }, { "kernel=\"vm linux\" mode=\"bind\"" }, NULL, { "attribute kernel: \"vm linux\"" } },
	{ "address with a leading zero",
	  { "10.77.255.1" }, { "10.77.255.01" }, NULL, { "element management: attribute address: \"10.77.255.01\" is not an IPv4 address" } },
	{ "address out of range",
	  { "10.77.255.1" }, { "10.77.256.1" }, NULL, { "attribute address: \"10.77.256.1\"" } },
	{ "strides syntax",
	  { "strides=\"server:0.0.1.0 chassis:1\"" }, { "strides=\"server=0.0.1.0\"" }, NULL, { "element address: attribute strides: \"server=0.0.1.0\" is not level:stride pairs" } },
	{ "stride beyond 32 bits",
	  { "strides=\"server:0.0.1.0 chassis:1\"" }, { "strides=\"server:4294967296\"" }, NULL, { "attribute strides: \"server:4294967296\"" } },
	{ "nodes with a semicolon",
	  { "nodes=\"s02c1b03\"" }, { "nodes=\"s02c1b03;\"" }, NULL, { "element boot: attribute nodes: \"s02c1b03;\" is not a node range" } },
	{ "unknown attribute",
	  { "<blades>" }, { "<blades speed=\"fast\">" }, NULL, { "element blades: attribute speed is not allowed here" } },
	{ "unknown attribute of the root",
	  { "<cluster xmlns" }, { "<cluster x=\"1\" xmlns" }, NULL, { "element cluster: attribute x is not allowed here" } },
	{ "missing attribute",
	  { "kernel=\"vmlinux\" mode=\"bind\"" }, { "mode=\"bind\"" }, "<image name=\"master\"", { "element image: attribute kernel is missing" } },
	{ "unknown element",
	  { "<absent nodes=\"s02c1b04\"/>" }, { "<absent nodes=\"s02c1b04\"/><zone/>" }, NULL, { "element zone: " } },
	{ "XInclude is an unknown element",
	  { "<absent nodes=\"s02c1b04\"/>" },
	  { "<absent nodes=\"s02c1b04\"/><xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"/etc/passwd\" parse=\"text\"/>" },
	  NULL, { "element include: Did not expect element include there" } },
	{ "missing element",
	  { "<blades>\n    <address base=\"10.77.0.11\" strides=\"server:0.0.1.0 chassis:14 blade:1\"/>\n  </blades>" }, { "" },
	  "<credentials", { "element credentials: " } },
	{ "elements out of order",
	  { "<management name=\"mn\" address=\"10.77.255.1\"/>" }, { "" }, "<naming", { "element naming: " } },
	{ "wrong namespace",
	  { "urn:dim:cluster:1" }, { "urn:dim:cluster:2" }, NULL, { "element cluster: " } },

	{ "not well-formed",
	  { "<blades>" }, { "<blades" }, "<address base=\"10.77.0.11\"", { "not well-formed XML" } },
	{ "undefined entity",
	  { "name=\"small\"" }, { "name=\"&small;\"" }, NULL, { "not well-formed XML: Entity 'small' not defined" } },
};

static void run_cases(const struct bad_case *cases, size_t n)
{
	char *base = slurp(SMALL_XML);
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct bad_case *t = &cases[i];
		struct dim_err err = { 0 };
		struct cluster *c = (struct cluster *)&err;	/* must be cleared */
		char *text = strdup(base), *next, head[32];
		int rc;

		for (k = 0; k < 3 && t->from[k]; k++) {
			next = replace(text, t->from[k], t->to[k]);
			free(text);
			text = next;
		}
		rc = cluster_load_buffer(text, strlen(text), "t.xml", &c, &err);
		snprintf(head, sizeof(head), "t.xml:%u: ",
			 line_at(text, t->at ? t->at : t->to[0][0] ? t->to[0] : "<cluster"));
		fprintf(stderr, "  %-45s %s\n", t->what, rc ? err.msg : "(loaded)");
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(err.rc, -EINVAL);
		assert_null(c);
		if ((t->at || t->to[0][0]) && !strstr(err.msg, head)) {
			fprintf(stderr, "    wanted: %s\n", head);
			fail();
		}
		assert_int_equal(strncmp(err.msg, "t.xml:", 6), 0);
		for (k = 0; k < 3 && t->want[k]; k++)
			if (!strstr(err.msg, t->want[k])) {
				fprintf(stderr, "    wanted: %s\n", t->want[k]);
				fail();
			}
		assert_null(strchr(err.msg, '\n'));
		free(text);
	}
	free(base);
}

static void test_semantic_errors(void **state)
{
	(void)state;
	run_cases(semantic_cases, sizeof(semantic_cases) / sizeof(semantic_cases[0]));
}

static void test_schema_errors(void **state)
{
	(void)state;
	run_cases(syntax_cases, sizeof(syntax_cases) / sizeof(syntax_cases[0]));
}

/* ---------------------------------------------------------------- entities */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void refused_doctype(const char *xml, const char *must_not)
{
	struct dim_err err = { 0 };
	struct cluster *c = NULL;
	double t0 = now();

	assert_int_equal(cluster_load_buffer(xml, strlen(xml), "evil.xml", &c, &err), -EINVAL);
	assert_null(c);
	fprintf(stderr, "  %s\n", err.msg);
	assert_non_null(strstr(err.msg, "evil.xml:2: a DOCTYPE is not allowed"));
	if (must_not)
		assert_null(strstr(err.msg, must_not));
	assert_true(now() - t0 < 1.0);
}

/* Billion laughs: ten levels of ten references, 10^10 "lol"s if anything expanded them. */
static void test_billion_laughs(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE cluster [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<cluster xmlns=\"urn:dim:cluster:1\" name=\"&lol9;\"/>\n";

	(void)state;
	refused_doctype(xml, "lollol");
}

/* An external entity naming a local file: never read, never shown. */
static void test_external_entity(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE cluster [ <!ENTITY x SYSTEM \"file:///etc/passwd\"> ]>\n"
		"<cluster xmlns=\"urn:dim:cluster:1\" name=\"&x;\"/>\n";
	static const char xml_param[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE cluster [ <!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p; ]>\n"
		"<cluster xmlns=\"urn:dim:cluster:1\" name=\"x\"/>\n";
	static const char xml_dtd[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE cluster SYSTEM \"http://127.0.0.1:9/cluster.dtd\">\n"
		"<cluster xmlns=\"urn:dim:cluster:1\" name=\"x\"/>\n";

	(void)state;
	refused_doctype(xml, "root:");
	refused_doctype(xml_param, "root:");
	refused_doctype(xml_dtd, NULL);
}

/* ---------------------------------------------------------------- files */

static void test_files(void **state)
{
	struct dim_err err = { 0 };
	struct cluster *c = NULL;

	(void)state;
	assert_int_equal(cluster_load("/nonexistent/cluster.xml", &c, &err), -ENOENT);
	assert_null(c);
	assert_non_null(strstr(err.msg, "/nonexistent/cluster.xml: No such file"));
	assert_int_equal(cluster_load("config", &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "config: not a regular file"));
	assert_int_equal(cluster_load_buffer("", 0, "empty.xml", &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "empty.xml:1: not well-formed XML"));
	assert_int_equal(cluster_load_buffer("<a/>", 4, "a.xml", &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "a.xml:1: element a: "));
	cluster_free(NULL);
}

/* Loading twice gives the same model (the compiled schema is reused). */
static void test_reload(void **state)
{
	struct cluster *a = load_ok(SMALL_XML), *b = load_ok(SMALL_XML);
	unsigned i;

	(void)state;
	assert_int_equal(a->n_blades, b->n_blades);
	for (i = 0; i < a->n_blades; i++) {
		assert_string_equal(a->blades[i].name, b->blades[i].name);
		assert_int_equal(a->blades[i].addr.s_addr, b->blades[i].addr.s_addr);
	}
	cluster_free(a);
	cluster_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_marenostrum),
		cmocka_unit_test(test_numbering_unpadded),
		cmocka_unit_test(test_deep_naming),
		cmocka_unit_test(test_two_levels),
		cmocka_unit_test(test_semantic_errors),
		cmocka_unit_test(test_schema_errors),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_external_entity),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
