/* SPDX-License-Identifier: MIT */
/*
 * dim dhcp's generators on a model built by hand: each backend's host entry
 * to the byte (the boot file IMAGE/KERNEL; iPXE's no-pxedhcp for .ipxe), the option encodings (Kea's escaped commas, dnsmasq's quoted
 * text and tags), the subnet without a pool, blades without a MAC or an
 * image and empty bays left out, values that would break a file refused
 * naming blade and field, determinism, and the time for 10,000 blades.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "contract.h"
#include "dhcp_gen.h"

/* ---------------------------------------------------------------- the model */

/*
 * s01 (10.77.0.1/24, isc):     s01c1b01 master, s01c1b02 other, s01c1b03 no MAC,
 *                              s01c1b04 no image
 * s02 (10.77.1.1/24, dnsmasq): s02c1b01 master, s02c1b02 other, s02c1b03 no MAC,
 *                              s02c1b04 an empty bay
 */
struct model {
	struct cluster c;
	struct cl_server servers[2];
	struct cl_blade blades[8];
	struct cl_image images[2];
	char *master_shared[5];
	char shared[5][16];
};

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void server(struct model *m, unsigned i, const char *name, const char *addr,
		   const char *net, const char *storage, const char *dhcp)
{
	struct cl_server *s = &m->servers[i];

	s->index = i;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->addr = ip(addr);
	s->net = ip(net);
	s->mask = ip("255.255.255.0");
	s->prefix = 24;
	snprintf(s->storage, sizeof(s->storage), "%s", storage);
	snprintf(s->dhcp, sizeof(s->dhcp), "%s", dhcp);
	snprintf(s->nfs, sizeof(s->nfs), "ganesha");
	s->first_chassis = i;
	s->n_chassis = 1;
	s->first_blade = i * 4;
	s->n_blades = 4;
}

static void blade(struct model *m, unsigned i, const char *addr, unsigned image, bool mac)
{
	struct cl_blade *b = &m->blades[i];

	b->index = i;
	b->server = i / 4;
	b->chassis = i / 4;
	b->bay = i % 4 + 1;
	snprintf(b->name, sizeof(b->name), "s%02uc1b%02u", i / 4 + 1, i % 4 + 1);
	snprintf(b->linear, sizeof(b->linear), "b%u", i + 1);
	b->addr = ip(addr);
	b->image = image;
	b->has_mac = mac;
	if (mac) {
		static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x00 };

		memcpy(b->mac, base, 6);
		b->mac[4] = (uint8_t)(i / 4 + 1);
		b->mac[5] = (uint8_t)(i % 4 + 1);
	}
}

static void model_init(struct model *m)
{
	static const char *const dirs[] = { "bin", "sbin", "lib", "usr", "opt" };
	struct cl_image *img;
	unsigned i;

	memset(m, 0, sizeof(*m));
	snprintf(m->c.file, sizeof(m->c.file), "unit.xml");
	snprintf(m->c.name, sizeof(m->c.name), "unit");
	server(m, 0, "s01", "10.77.0.1", "10.77.0.0", "/var/lib/dim", "isc");
	server(m, 1, "s02", "10.77.1.1", "10.77.1.0", "/srv/dim", "dnsmasq");

	for (i = 0; i < 5; i++) {
		snprintf(m->shared[i], sizeof(m->shared[i]), "%s", dirs[i]);
		m->master_shared[i] = m->shared[i];
	}
	img = &m->images[0];
	snprintf(img->name, sizeof(img->name), "master");
	snprintf(img->kernel, sizeof(img->kernel), "vmlinux");
	snprintf(img->mode, sizeof(img->mode), "bind");
	snprintf(img->nfs, sizeof(img->nfs), "auto");
	img->shared = m->master_shared;
	img->n_shared = 5;
	img->line = 30;
	img = &m->images[1];
	snprintf(img->name, sizeof(img->name), "other");
	snprintf(img->kernel, sizeof(img->kernel), "boot/vmlinux-6.1");
	snprintf(img->mode, sizeof(img->mode), "overlay");
	snprintf(img->nfs, sizeof(img->nfs), "4.1");
	img->line = 35;

	blade(m, 0, "10.77.0.11", 0, true);
	blade(m, 1, "10.77.0.12", 1, true);
	blade(m, 2, "10.77.0.13", 0, false);
	blade(m, 3, "10.77.0.14", CL_NONE, true);
	blade(m, 4, "10.77.1.11", 0, true);
	blade(m, 5, "10.77.1.12", 1, true);
	blade(m, 6, "10.77.1.13", 0, false);
	blade(m, 7, "10.77.1.14", 0, true);
	m->blades[7].absent = true;

	m->c.servers = m->servers;
	m->c.n_servers = 2;
	m->c.blades = m->blades;
	m->c.n_blades = 8;
	m->c.images = m->images;
	m->c.n_images = 2;
}

static const struct dhcp_backend *backend(const char *name)
{
	const struct dhcp_backend *b = dhcp_backend_find(name);

	assert_non_null(b);
	return b;
}

static char *show(const struct model *m, unsigned blade_index, const char *be)
{
	struct dhcp_buf out = { 0 };
	struct dim_err err = { 0 };
	int rc = dhcp_show(&m->c, &m->blades[blade_index], be ? backend(be) : NULL, &out, &err);

	if (rc)
		fail_msg("dhcp_show: %d %s", rc, err.msg);
	return out.data;
}

static void gen(const struct model *m, unsigned server_index, const char *be,
		struct dhcp_conf *conf)
{
	struct dim_err err = { 0 };
	int rc = dhcp_generate(&m->c, &m->servers[server_index], be ? backend(be) : NULL,
			       DHCP_LIVE_DIR, conf, &err);

	if (rc)
		fail_msg("dhcp_generate: %d %s", rc, err.msg);
}

static bool has(const char *text, const char *what)
{
	return strstr(text, what) != NULL;
}

static unsigned count(const char *text, const char *what)
{
	unsigned n = 0;

	for (text = strstr(text, what); text; text = strstr(text + 1, what))
		n++;
	return n;
}

/* ---------------------------------------------------------------- host entries, exactly */

static void test_isc_host(void **state)
{
	struct model m;
	char *t;

	(void)state;
	model_init(&m);
	t = show(&m, 0, NULL);
	assert_string_equal(t,
			    "host s01c1b01 {\t# b1, image master\n"
			    "\thardware ethernet 52:54:00:00:01:01;\n"
			    "\tfixed-address 10.77.0.11;\n"
			    "\toption host-name \"s01c1b01\";\n"
			    "\tnext-server 10.77.0.1;\n"
			    "\tfilename \"master/vmlinux\";\n"
			    "\toption root-path \"10.77.0.1:/var/lib/dim/images/master/ro\";\n"
			    "\toption dim-rw \"10.77.0.1:/var/lib/dim/images/master/blades/s01c1b01\";\n"
			    "\toption dim-mode \"bind\";\n"
			    "\toption dim-nfs \"auto\";\n"
			    "\toption dim-rodirs \"bin,sbin,lib,usr,opt\";\n"
			    "}\n");
	free(t);

	/* An image that shares nothing sends no dim-rodirs. */
	t = show(&m, 1, "isc");
	/* IMAGE/KERNEL: the kernel attribute names a file under IMAGE/ in the TFTP root. */
	assert_true(has(t, "\tfilename \"other/boot/vmlinux-6.1\";\n"));
	assert_false(has(t, "ipxe"));
	assert_true(has(t, "\toption dim-mode \"overlay\";\n\toption dim-nfs \"4.1\";\n}\n"));
	assert_false(has(t, "dim-rodirs"));
	assert_false(has(t, "dim-rwimg"));
	free(t);
}

static void test_kea_host(void **state)
{
	struct model m;
	char *t;

	(void)state;
	model_init(&m);
	t = show(&m, 0, "kea");
	/* Kea splits option data at commas: dim-rodirs' commas are "\\," in JSON. */
	assert_string_equal(
		t, "\t\t\t{\n"
		   "\t\t\t\t\"hw-address\": \"52:54:00:00:01:01\",\n"
		   "\t\t\t\t\"ip-address\": \"10.77.0.11\",\n"
		   "\t\t\t\t\"hostname\": \"s01c1b01\",\n"
		   "\t\t\t\t\"next-server\": \"10.77.0.1\",\n"
		   "\t\t\t\t\"boot-file-name\": \"master/vmlinux\",\n"
		   "\t\t\t\t\"user-context\": { \"dim-linear\": \"b1\", \"dim-image\": \"master\" },\n"
		   "\t\t\t\t\"option-data\": [\n"
		   "\t\t\t\t\t{ \"name\": \"root-path\", \"data\": \"10.77.0.1:/var/lib/dim/images/master/ro\" },\n"
		   "\t\t\t\t\t{ \"name\": \"dim-rw\", \"data\": \"10.77.0.1:/var/lib/dim/images/master/blades/s01c1b01\" },\n"
		   "\t\t\t\t\t{ \"name\": \"dim-mode\", \"data\": \"bind\" },\n"
		   "\t\t\t\t\t{ \"name\": \"dim-nfs\", \"data\": \"auto\" },\n"
		   "\t\t\t\t\t{ \"name\": \"dim-rodirs\", \"data\": \"bin\\\\,sbin\\\\,lib\\\\,usr\\\\,opt\" }\n"
		   "\t\t\t\t]\n"
		   "\t\t\t}\n");
	free(t);
}

static void test_dnsmasq_host(void **state)
{
	struct model m;
	char *t;

	(void)state;
	model_init(&m);
	t = show(&m, 4, NULL);
	/* Text options quoted (dnsmasq would guess a type for "3"); tags per image and blade. */
	assert_string_equal(t,
			    "# image master\n"
			    "dhcp-option=tag:dim-img-master,option:bootfile-name,\"master/vmlinux\"\n"
			    "dhcp-option=tag:dim-img-master,option:root-path,"
			    "\"10.77.1.1:/srv/dim/images/master/ro\"\n"
			    "dhcp-option=tag:dim-img-master,225,\"bind\"\n"
			    "dhcp-option=tag:dim-img-master,228,\"auto\"\n"
			    "dhcp-option=tag:dim-img-master,229,\"bin,sbin,lib,usr,opt\"\n"
			    "\n"
			    "# s02c1b01 b5, image master\n"
			    "dhcp-host=52:54:00:00:02:01,set:dim-img-master,set:dim-blade-s02c1b01,"
			    "10.77.1.11,s02c1b01\n"
			    "dhcp-option=tag:dim-blade-s02c1b01,224,"
			    "\"10.77.1.1:/srv/dim/images/master/blades/s02c1b01\"\n");
	free(t);
}

/* dim-rwimg (227) goes out only when not the default; each backend encodes it. */
static void test_rwimg_encoding(void **state)
{
	static const struct {
		const char *backend;
		const char *want;
	} cases[] = {
		{ "isc", "\toption dim-rwimg \"root.ext4\";\n" },
		{ "kea", "{ \"name\": \"dim-rwimg\", \"data\": \"root.ext4\" }" },
		{ "dnsmasq", "dhcp-option=tag:dim-img-master,227,\"root.ext4\"\n" },
	};
	struct dim_err err = { 0 };
	struct dhcp_host h;
	struct model m;
	size_t i;

	(void)state;
	model_init(&m);
	assert_int_equal(dhcp_host_make(&m.c, &m.blades[0], &h, &err), 0);
	assert_null(h.rwimg);
	h.rwimg = "root.ext4";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dhcp_backend *b = backend(cases[i].backend);
		struct dhcp_gen g = { .c = &m.c, .s = &m.servers[0], .b = b,
				      .live_dir = DHCP_LIVE_DIR };

		if (b->image)
			b->image(&g, &h);
		b->host(&g, &h);
		if (!g.out.data || !has(g.out.data, cases[i].want))
			fail_msg("%s: no %s", cases[i].backend, cases[i].want);
		dhcp_buf_free(&g.out);
	}
}

/* ---------------------------------------------------------------- whole files */

static void test_isc_file(void **state)
{
	struct dhcp_conf conf;
	struct model m;
	const char *t;

	(void)state;
	model_init(&m);
	gen(&m, 0, NULL, &conf);
	t = conf.text.data;
	assert_ptr_equal(conf.backend, backend("isc"));
	assert_int_equal(conf.n_hosts, 2);
	assert_true(has(t, "#\tinclude \"/etc/dim/dhcp/dim-dhcpd.conf\";\n"));
	/* The contract's option definitions, with its types. */
	assert_true(has(t, "option dim-rw code 224 = text;\n"
			   "option dim-mode code 225 = text;\n"
			   "option dim-servers code 226 = array of ip-address;\n"
			   "option dim-rwimg code 227 = text;\n"
			   "option dim-nfs code 228 = text;\n"
			   "option dim-rodirs code 229 = text;\n"));
	/* The boot network, no pool (no range statement at all). */
	assert_true(has(t, "subnet 10.77.0.0 netmask 255.255.255.0 {\n"
			   "\toption subnet-mask 255.255.255.0;\n"
			   "\toption routers 10.77.0.1;\n"
			   "}\n"));
	assert_false(has(t, "range"));
	/* Host entries in hierarchical order; no MAC, no image: no entry. */
	assert_true(has(t, "\nhost s01c1b01 {"));
	assert_true(strstr(t, "host s01c1b01 {") < strstr(t, "host s01c1b02 {"));
	assert_false(has(t, "s01c1b03"));
	assert_false(has(t, "s01c1b04"));
	assert_int_equal(count(t, "host s"), 2);
	assert_int_equal(conf.n_no_mac, 1);
	assert_int_equal(conf.no_mac[0], 2);
	assert_int_equal(conf.n_no_image, 1);
	assert_int_equal(conf.no_image[0], 3);
	dhcp_conf_free(&conf);
}

static void test_kea_file(void **state)
{
	struct dhcp_conf conf;
	struct model m;
	const char *t;

	(void)state;
	model_init(&m);
	gen(&m, 0, "kea", &conf);
	t = conf.text.data;
	assert_int_equal(conf.n_hosts, 2);
	assert_true(has(t, "{ \"space\": \"dhcp4\", \"name\": \"dim-rw\", \"code\": 224, "
			   "\"type\": \"string\" },\n"));
	assert_true(has(t, "{ \"space\": \"dhcp4\", \"name\": \"dim-servers\", \"code\": 226, "
			   "\"type\": \"ipv4-address\", \"array\": true },\n"));
	assert_true(has(t, "\"code\": 229, \"type\": \"string\" }\n],\n"));
	assert_true(has(t, "\t\t\"id\": 1,\n\t\t\"subnet\": \"10.77.0.0/24\",\n"));
	assert_true(has(t, "{ \"name\": \"routers\", \"data\": \"10.77.0.1\" }"));
	assert_false(has(t, "\"pools\""));
	/* Two reservations, separated by one comma, the list closed. */
	assert_int_equal(count(t, "\"hw-address\""), 2);
	assert_true(has(t, "\t\t\t},\n\t\t\t{\n\t\t\t\t\"hw-address\": \"52:54:00:00:01:02\""));
	assert_true(has(t, "\t\t\t}\n\t\t]\n\t}\n]\n"));
	dhcp_conf_free(&conf);
}

static void test_dnsmasq_files(void **state)
{
	struct dhcp_conf conf;
	struct model m;
	const char *t;

	(void)state;
	model_init(&m);
	gen(&m, 1, NULL, &conf);
	t = conf.text.data;
	assert_int_equal(conf.n_hosts, 2);
	assert_true(has(t, "#\tconf-file=/etc/dim/dhcp/dim-dnsmasq.conf\n"));
	/* "static": no pool. */
	assert_true(has(t, "dhcp-range=set:dim-net-s02,10.77.1.0,static,255.255.255.0\n"
			   "dhcp-option=tag:dim-net-s02,option:router,10.77.1.1\n"
			   "dhcp-option=tag:dim-net-s02,option:server-ip-address,10.77.1.1\n"));
	assert_int_equal(count(t, "\ndhcp-host="), 2);
	assert_true(has(t, "dhcp-host=52:54:00:00:02:02,set:dim-img-other,"
			   "set:dim-blade-s02c1b02,10.77.1.12,s02c1b02\n"));
	/* The absent bay has a MAC in the model and still no line. */
	assert_false(has(t, "s02c1b04"));
	/* Each image's options once, before the hosts. */
	assert_int_equal(count(t, "# image master\n"), 1);
	assert_int_equal(count(t, "# image other\n"), 1);
	assert_true(has(t, "dhcp-option=tag:dim-img-other,225,\"overlay\"\n"
			   "dhcp-option=tag:dim-img-other,228,\"4.1\"\n\n"));
	assert_true(strstr(t, "# image other") < strstr(t, "dhcp-host="));
	assert_int_equal(count(t, ",224,"), 2);
	assert_int_equal(conf.n_no_mac, 1);
	assert_int_equal(conf.no_mac[0], 6);
	assert_int_equal(conf.n_no_image, 0);
	dhcp_conf_free(&conf);
}

static void test_deterministic(void **state)
{
	const char *names[] = { "isc", "kea", "dnsmasq" };
	struct model m;
	size_t i;

	(void)state;
	model_init(&m);
	for (i = 0; i < 3; i++) {
		struct dhcp_conf a, b;

		gen(&m, 0, names[i], &a);
		gen(&m, 0, names[i], &b);
		assert_int_equal(a.text.len, b.text.len);
		assert_memory_equal(a.text.data, b.text.data, a.text.len);
		dhcp_conf_free(&a);
		dhcp_conf_free(&b);
	}
}

/* ---------------------------------------------------------------- iPXE images */

/*
 * An image whose kernel is an iPXE script (.ipxe): its blades' entries tell
 * iPXE there is no ProxyDHCP server (option 175, sub-option 176 = 1), each
 * backend in its syntax; the option is declared only in files that use it,
 * and blades of other images never get it.
 */
static void test_ipxe(void **state)
{
	struct dhcp_conf conf;
	struct model m;
	const char *t;
	char *s;

	(void)state;
	model_init(&m);
	snprintf(m.images[1].kernel, sizeof(m.images[1].kernel), "boot.ipxe");

	gen(&m, 0, "isc", &conf);
	t = conf.text.data;
	assert_true(has(t, "option space ipxe;\n"
			   "option ipxe-encap-opts code 175 = encapsulate ipxe;\n"
			   "option ipxe.no-pxedhcp code 176 = unsigned integer 8;\n"));
	assert_true(has(t, "\tfilename \"other/boot.ipxe\";\n\toption ipxe.no-pxedhcp 1;\n"));
	assert_int_equal(count(t, "\toption ipxe.no-pxedhcp 1;"), 1);
	dhcp_conf_free(&conf);

	gen(&m, 0, "kea", &conf);
	t = conf.text.data;
	assert_true(has(t, "\"code\": 229, \"type\": \"string\" },\n"
			   "\t{ \"space\": \"dhcp4\", \"name\": \"ipxe-encap-opts\", \"code\": 175, "
			   "\"type\": \"empty\", \"encapsulate\": \"ipxe\" },\n"
			   "\t{ \"space\": \"ipxe\", \"name\": \"no-pxedhcp\", \"code\": 176, "
			   "\"type\": \"uint8\" }\n],\n"));
	assert_int_equal(count(t, "{ \"space\": \"ipxe\", \"name\": \"no-pxedhcp\", \"data\": \"1\" }"),
			 1);
	dhcp_conf_free(&conf);

	gen(&m, 1, "dnsmasq", &conf);
	t = conf.text.data;
	assert_true(has(t, "dhcp-option=tag:dim-img-other,option:bootfile-name,"
			   "\"other/boot.ipxe\"\n"
			   "dhcp-option=tag:dim-img-other,175,b0:01:01\n"));
	assert_int_equal(count(t, ",175,"), 1);
	dhcp_conf_free(&conf);

	/* dhcp show: the entry alone carries it too. */
	s = show(&m, 1, "isc");
	assert_true(has(s, "\toption ipxe.no-pxedhcp 1;\n"));
	free(s);
	s = show(&m, 0, "isc");
	assert_false(has(s, "ipxe"));
	free(s);

	/* A server none of whose blades boots an iPXE script declares nothing of it. */
	model_init(&m);
	gen(&m, 0, "isc", &conf);
	assert_false(has(conf.text.data, "ipxe"));
	dhcp_conf_free(&conf);
	gen(&m, 0, "kea", &conf);
	assert_false(has(conf.text.data, "ipxe"));
	dhcp_conf_free(&conf);
}

/* The longest boot file BOOTP's file field holds: "master/" + 120 bytes. */
static void test_boot_file_boundary(void **state)
{
	struct model m;
	char *t;

	(void)state;
	model_init(&m);
	memset(m.images[0].kernel, 'k', 120);
	m.images[0].kernel[120] = '\0';
	t = show(&m, 0, "isc");
	assert_true(has(t, "\tfilename \"master/kkkk"));
	assert_int_equal(strstr(t, "\";\n\toption root-path") - strstr(t, "master/kkkk"), 127);
	free(t);
}

/* ---------------------------------------------------------------- refusals */

static void bad_kernel_quote(struct model *m)
{
	snprintf(m->images[0].kernel, sizeof(m->images[0].kernel), "vm\"linux");
}

static void bad_kernel_backslash(struct model *m)
{
	snprintf(m->images[0].kernel, sizeof(m->images[0].kernel), "vm\\linux");
}

static void bad_kernel_newline(struct model *m)
{
	snprintf(m->images[0].kernel, sizeof(m->images[0].kernel), "vm\nlinux");
}

static void bad_kernel_semicolon(struct model *m)
{
	snprintf(m->images[0].kernel, sizeof(m->images[0].kernel), "vmlinux;");
}

static void bad_kernel_brace(struct model *m)
{
	snprintf(m->images[0].kernel, sizeof(m->images[0].kernel), "vm}linux");
}

static void bad_kernel_long(struct model *m)
{
	memset(m->images[0].kernel, 'k', 200);
	m->images[0].kernel[200] = '\0';
}

/* "master/" + 121 bytes: one more than BOOTP's file field holds. */
static void bad_kernel_boundary(struct model *m)
{
	memset(m->images[0].kernel, 'k', 121);
	m->images[0].kernel[121] = '\0';
}

static void bad_kernel_absolute(struct model *m)
{
	snprintf(m->images[0].kernel, sizeof(m->images[0].kernel), "/boot/vmlinux");
}

static void bad_kernel_dotdot(struct model *m)
{
	snprintf(m->images[0].kernel, sizeof(m->images[0].kernel), "../vmlinux");
}

static void bad_kernel_empty_component(struct model *m)
{
	snprintf(m->images[0].kernel, sizeof(m->images[0].kernel), "boot//vmlinux");
}

static void bad_kernel_empty(struct model *m)
{
	m->images[0].kernel[0] = '\0';
}

static void bad_storage(struct model *m)
{
	snprintf(m->servers[0].storage, sizeof(m->servers[0].storage), "/var/lib/{dim}");
}

static void bad_storage_dotdot(struct model *m)
{
	snprintf(m->servers[0].storage, sizeof(m->servers[0].storage), "/var/lib/../dim");
}

static void bad_storage_long(struct model *m)
{
	memset(m->servers[0].storage, 'a', 250);
	m->servers[0].storage[0] = '/';
	m->servers[0].storage[250] = '\0';
}

static void bad_name(struct model *m)
{
	snprintf(m->blades[1].name, sizeof(m->blades[1].name), "s01c1b02;");
}

static void bad_name_rfc(struct model *m)
{
	snprintf(m->blades[1].name, sizeof(m->blades[1].name), "s01_c1b02");
}

static void bad_mode(struct model *m)
{
	snprintf(m->images[1].mode, sizeof(m->images[1].mode), "both");
}

static void bad_nfs(struct model *m)
{
	snprintf(m->images[0].nfs, sizeof(m->images[0].nfs), "5");
}

static void bad_shared(struct model *m)
{
	snprintf(m->shared[3], sizeof(m->shared[3]), "us#r");
}

static void bad_image_name(struct model *m)
{
	snprintf(m->images[1].name, sizeof(m->images[1].name), "oth,er");
}

static void test_refusals(void **state)
{
	static const struct {
		void (*spoil)(struct model *m);
		const char *want[3];	/* in the message */
	} cases[] = {
		{ bad_kernel_quote, { "unit.xml:30: image master: kernel \"vm\"linux\"",
				      "a double quote", "blade s01c1b01" } },
		{ bad_kernel_backslash, { "image master: kernel", "a backslash", "s01c1b01" } },
		{ bad_kernel_newline, { "kernel \"vm\\nlinux\"", "a newline", "s01c1b01" } },
		{ bad_kernel_semicolon, { "image master: kernel", "a semicolon", "s01c1b01" } },
		{ bad_kernel_brace, { "image master: kernel", "a brace", "s01c1b01" } },
		{ bad_kernel_long, { "image master: kernel", "longer than the 127 bytes", "s01c1b01" } },
		{ bad_kernel_boundary, { "image master: kernel", "longer than the 127 bytes", NULL } },
		{ bad_kernel_absolute, { "image master: kernel \"/boot/vmlinux\"", "absolute",
					 "s01c1b01" } },
		{ bad_kernel_dotdot, { "image master: kernel \"../vmlinux\"", "starts with '.'",
				       NULL } },
		{ bad_kernel_empty_component, { "image master: kernel \"boot//vmlinux\"",
						"empty component", NULL } },
		{ bad_kernel_empty, { "image master: kernel \"\"", "empty", NULL } },
		{ bad_storage, { "image server s01: storage \"/var/lib/{dim}\"", "a brace", NULL } },
		{ bad_storage_dotdot, { "blade s01c1b01: root-path (option 17)", "\"..\"",
					"linuxrc would refuse" } },
		{ bad_storage_long, { "blade s01c1b01: root-path (option 17)", NULL, NULL } },
		{ bad_name, { "blade \"s01c1b02;\"", "a semicolon", NULL } },
		{ bad_name_rfc, { "blade s01_c1b02", "RFC 1123", NULL } },
		{ bad_mode, { "blade s01c1b02: dim-mode (option 225) \"both\"",
			      "must be bind or overlay", "linuxrc would refuse" } },
		{ bad_nfs, { "blade s01c1b01: dim-nfs (option 228) \"5\"", "must be auto", NULL } },
		{ bad_shared, { "unit.xml:30: image master: shared directory \"us#r\"", "a '#'",
				NULL } },
		{ bad_image_name, { "unit.xml:35: image \"oth,er\"", "letters, digits", NULL } },
	};
	const char *names[] = { "isc", "kea", "dnsmasq" };
	size_t i, j, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (k = 0; k < 3; k++) {
			struct dim_err err = { 0 };
			struct dhcp_conf conf;
			struct model m;
			int rc;

			model_init(&m);
			cases[i].spoil(&m);
			rc = dhcp_generate(&m.c, &m.servers[0], backend(names[k]), DHCP_LIVE_DIR,
					   &conf, &err);
			if (rc >= 0)
				fail_msg("case %zu (%s): accepted", i, names[k]);
			/* Nothing is left half-generated. */
			assert_null(conf.text.data);
			assert_int_equal(conf.n_hosts, 0);
			for (j = 0; j < 3 && cases[i].want[j]; j++)
				if (!has(err.msg, cases[i].want[j]))
					fail_msg("case %zu (%s): \"%s\" not in: %s", i, names[k],
						 cases[i].want[j], err.msg);
			/* One line: the message can go to a terminal as it is. */
			assert_null(strchr(err.msg, '\n'));
		}
	}
}

/* A bad value on a blade that gets no entry (no MAC) does not stop the others. */
static void test_bad_value_without_entry(void **state)
{
	struct dhcp_conf conf;
	struct model m;

	(void)state;
	model_init(&m);
	snprintf(m.blades[2].name, sizeof(m.blades[2].name), "s01c1b03;");
	gen(&m, 0, "isc", &conf);
	assert_int_equal(conf.n_hosts, 2);
	dhcp_conf_free(&conf);
}

static void test_bad_live_dir(void **state)
{
	struct dim_err err = { 0 };
	struct dhcp_conf conf;
	struct model m;

	(void)state;
	model_init(&m);
	assert_int_equal(dhcp_generate(&m.c, &m.servers[1], NULL, "/etc/dim\"x", &conf, &err),
			 -EINVAL);
	assert_true(has(err.msg, "a double quote"));
	assert_int_equal(dhcp_generate(&m.c, &m.servers[1], NULL, "etc/dim", &conf, &err),
			 -EINVAL);
	assert_true(has(err.msg, "absolute"));
}

static void test_unknown_backend(void **state)
{
	struct dim_err err = { 0 };
	struct dhcp_conf conf;
	struct model m;

	(void)state;
	model_init(&m);
	snprintf(m.servers[0].dhcp, sizeof(m.servers[0].dhcp), "udhcpd");
	assert_int_equal(dhcp_generate(&m.c, &m.servers[0], NULL, DHCP_LIVE_DIR, &conf, &err),
			 -EINVAL);
	assert_true(has(err.msg, "image server s01: unknown DHCP server \"udhcpd\""));
	assert_null(dhcp_backend_find("udhcpd"));
}

static void test_show_no_entry(void **state)
{
	struct dhcp_buf out = { 0 };
	struct dim_err err = { 0 };
	struct model m;

	(void)state;
	model_init(&m);
	assert_int_equal(dhcp_show(&m.c, &m.blades[2], NULL, &out, &err), -ENODATA);
	assert_true(has(err.msg, "s01c1b03 gets no host entry: no MAC is known"));
	assert_int_equal(dhcp_show(&m.c, &m.blades[3], NULL, &out, &err), -ENODATA);
	assert_true(has(err.msg, "no image is assigned"));
	assert_int_equal(dhcp_show(&m.c, &m.blades[7], NULL, &out, &err), -ENODATA);
	assert_true(has(err.msg, "bay is empty"));
	assert_null(out.data);
}

static void test_blade_list(void **state)
{
	static const unsigned idx[] = { 0, 1, 2, 4, 6, 7 };
	struct model m;
	char buf[256], small[40];

	(void)state;
	model_init(&m);
	dhcp_blade_list(&m.c, idx, 6, buf, sizeof(buf));
	assert_string_equal(buf, "s01c1b01-s01c1b03, s02c1b01, s02c1b03-s02c1b04");
	dhcp_blade_list(&m.c, idx, 1, buf, sizeof(buf));
	assert_string_equal(buf, "s01c1b01");
	dhcp_blade_list(&m.c, idx, 6, small, sizeof(small));
	assert_true(has(small, "more)"));
	assert_true(strlen(small) < sizeof(small));
}

/* ---------------------------------------------------------------- scale */

/* n blades, 14 per chassis, 4 chassis per image server, all with a MAC. */
static void big_model(struct cluster *c, unsigned n)
{
	static char d0[] = "bin", d1[] = "sbin", d2[] = "lib", d3[] = "usr", d4[] = "opt";
	static char *shared[] = { d0, d1, d2, d3, d4 };
	unsigned i, per = 56, ns = (n + per - 1) / per;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "big");
	c->servers = calloc(ns, sizeof(*c->servers));
	c->blades = calloc(n, sizeof(*c->blades));
	c->images = calloc(1, sizeof(*c->images));
	assert_non_null(c->servers);
	assert_non_null(c->blades);
	assert_non_null(c->images);
	c->n_servers = ns;
	c->n_blades = n;
	c->n_images = 1;
	snprintf(c->images[0].name, sizeof(c->images[0].name), "sles");
	snprintf(c->images[0].kernel, sizeof(c->images[0].kernel), "zImage.of");
	snprintf(c->images[0].mode, sizeof(c->images[0].mode), "bind");
	snprintf(c->images[0].nfs, sizeof(c->images[0].nfs), "auto");
	c->images[0].shared = shared;
	c->images[0].n_shared = 5;
	for (i = 0; i < ns; i++) {
		struct cl_server *s = &c->servers[i];

		s->index = i;
		snprintf(s->name, sizeof(s->name), "s%03u", i + 1);
		s->addr.s_addr = htonl(0x0a000001u + (i << 8));
		s->net.s_addr = htonl(0x0a000000u + (i << 8));
		s->mask.s_addr = htonl(0xffffff00u);
		s->prefix = 24;
		snprintf(s->storage, sizeof(s->storage), "/var/lib/dim");
		snprintf(s->dhcp, sizeof(s->dhcp), "isc");
		s->first_blade = i * per;
		s->n_blades = i + 1 < ns ? per : n - i * per;
	}
	for (i = 0; i < n; i++) {
		struct cl_blade *b = &c->blades[i];

		b->index = i;
		b->server = i / per;
		snprintf(b->name, sizeof(b->name), "s%03uc%ub%02u", i / per + 1, i % per / 14 + 1,
			 i % 14 + 1);
		snprintf(b->linear, sizeof(b->linear), "b%u", i + 1);
		b->addr.s_addr = htonl(0x0a00000bu + ((i / per) << 8) + i % per);
		b->image = 0;
		b->has_mac = true;
		b->mac[0] = 0x52;
		b->mac[1] = 0x54;
		b->mac[4] = (uint8_t)(i >> 8);
		b->mac[5] = (uint8_t)i;
	}
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Every server's configuration in memory, per backend: the bar is well under
 * a second for 10,000 blades (xCAT's makedhcp: 456 s for 5,000).  The limit
 * here is loose for sanitizer builds on a busy machine; the times are printed.
 */
static void test_scale(void **state)
{
	static const unsigned sizes[] = { 2352, 10000 };
	const char *names[] = { "isc", "kea", "dnsmasq" };
	size_t i, k;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct cluster c;

		big_model(&c, sizes[i]);
		for (k = 0; k < 3; k++) {
			double t0 = seconds(), t;
			size_t bytes = 0;
			unsigned s, hosts = 0;

			for (s = 0; s < c.n_servers; s++) {
				struct dim_err err = { 0 };
				struct dhcp_conf conf;

				if (dhcp_generate(&c, &c.servers[s], backend(names[k]), DHCP_LIVE_DIR,
						  &conf, &err))
					fail_msg("%s", err.msg);
				hosts += conf.n_hosts;
				bytes += conf.text.len;
				dhcp_conf_free(&conf);
			}
			t = seconds() - t0;
			print_message("dhcp: %-7s %5u blades, %3u servers: %6.1f ms, %zu bytes\n",
				      names[k], sizes[i], c.n_servers, t * 1000, bytes);
			assert_int_equal(hosts, sizes[i]);
			assert_true(t < 2.0);
		}
		free(c.servers);
		free(c.blades);
		free(c.images);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isc_host),
		cmocka_unit_test(test_kea_host),
		cmocka_unit_test(test_dnsmasq_host),
		cmocka_unit_test(test_rwimg_encoding),
		cmocka_unit_test(test_isc_file),
		cmocka_unit_test(test_kea_file),
		cmocka_unit_test(test_dnsmasq_files),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_ipxe),
		cmocka_unit_test(test_boot_file_boundary),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bad_value_without_entry),
		cmocka_unit_test(test_bad_live_dir),
		cmocka_unit_test(test_unknown_backend),
		cmocka_unit_test(test_show_no_entry),
		cmocka_unit_test(test_blade_list),
		cmocka_unit_test(test_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
