/* SPDX-License-Identifier: MIT */
/*
 * The exports generators (server/nfs.c) on hand-built models: the exact
 * lines and blocks, export ids unique and stable, bad values refused with
 * the blade or image and the field named.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "nfs.h"

/* ---------------------------------------------------------------- a model by hand */

struct model {
	struct cluster c;
	struct cl_server servers[4];
	struct cl_blade blades[12000];
	struct cl_image images[70];
};

static struct model *m;

static void set_addr(struct in_addr *a, const char *s)
{
	assert_int_equal(inet_pton(AF_INET, s, a), 1);
}

static void add_image(const char *name, uint64_t rw_size)
{
	struct cl_image *img = &m->images[m->c.n_images];

	memset(img, 0, sizeof(*img));
	snprintf(img->name, sizeof(img->name), "%s", name);
	snprintf(img->mode, sizeof(img->mode), "bind");
	snprintf(img->nfs, sizeof(img->nfs), "auto");
	img->rw_size = rw_size;
	m->c.n_images++;
}

/* A server with n bays; blade k (0-based) at host part first_host + k. */
static struct cl_server *add_server(const char *name, const char *addr, const char *net,
				    unsigned prefix, const char *storage, unsigned n,
				    unsigned first_host)
{
	struct cl_server *s = &m->servers[m->c.n_servers];
	uint32_t base;
	unsigned k;

	memset(s, 0, sizeof(*s));
	s->index = m->c.n_servers;
	snprintf(s->name, sizeof(s->name), "%s", name);
	set_addr(&s->addr, addr);
	set_addr(&s->net, net);
	s->prefix = prefix;
	s->mask.s_addr = htonl(prefix ? 0xffffffffu << (32 - prefix) : 0);
	snprintf(s->storage, sizeof(s->storage), "%s", storage);
	snprintf(s->nfs, sizeof(s->nfs), "ganesha");
	s->first_blade = m->c.n_blades;
	s->n_blades = n;
	base = ntohl(s->net.s_addr);
	for (k = 0; k < n; k++) {
		struct cl_blade *b = &m->blades[m->c.n_blades];

		memset(b, 0, sizeof(*b));
		b->index = m->c.n_blades;
		snprintf(b->name, sizeof(b->name), "%sc1b%02u", name, k + 1);
		snprintf(b->linear, sizeof(b->linear), "b%u", b->index + 1);
		b->server = s->index;
		b->bay = k + 1;
		b->addr.s_addr = htonl(base + first_host + k);
		b->image = 0;
		m->c.n_blades++;
	}
	m->c.n_servers++;
	return s;
}

/*
 * s01: 10.77.0.1/24, storage /srv/dim, bays 1..4: b01 master, b02 other,
 * b03 absent, b04 master.  s02: 10.77.1.1/24, bays 1..2: b01 master, b02
 * no image.  Management node 10.77.255.1, outside both networks.
 */
static void build_model(unsigned s01_bays)
{
	memset(m, 0, sizeof(*m));
	m->c.servers = m->servers;
	m->c.blades = m->blades;
	m->c.images = m->images;
	snprintf(m->c.name, sizeof(m->c.name), "t");
	snprintf(m->c.mgmt_name, sizeof(m->c.mgmt_name), "mn");
	set_addr(&m->c.mgmt_addr, "10.77.255.1");
	add_image("master", 64ull << 20);
	add_image("other", 1ull << 30);
	add_server("s01", "10.77.0.1", "10.77.0.0", 24, "/srv/dim", s01_bays, 11);
	add_server("s02", "10.77.1.1", "10.77.1.0", 24, "/var/lib/dim", 2, 11);
	m->blades[1].image = 1;
	m->blades[2].absent = true;
	m->blades[s01_bays + 1].image = CL_NONE;
}

static void build_small(void)
{
	build_model(4);
}

static int setup(void **state)
{
	(void)state;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	build_small();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(m);
	m = NULL;
	return 0;
}

static char *render(unsigned server, enum nfs_backend b, bool ro_squash, struct nfs_plan *p)
{
	struct nfs_opts o = { .backend = b, .ro_squash = ro_squash };
	struct dim_err err = { 0 };
	struct nfs_text t;
	struct nfs_plan own;
	int rc;

	if (!p)
		p = &own;
	rc = nfs_plan(&m->c, &m->servers[server], p, &err);
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, 0);
	rc = nfs_render(p, &o, &t, &err);
	assert_int_equal(rc, 0);
	if (p == &own)
		nfs_plan_free(p);
	return t.buf;	/* NUL-terminated: vsnprintf wrote it */
}

/* The error nfs_plan() gives for server i (0 if none). */
static int plan_error(unsigned server, struct dim_err *err)
{
	struct nfs_plan p;
	int rc;

	memset(err, 0, sizeof(*err));
	rc = nfs_plan(&m->c, &m->servers[server], &p, err);
	if (rc == 0)
		nfs_plan_free(&p);
	return rc;
}

/* ---------------------------------------------------------------- exact output */

static const char kernel_s01[] =
	"# Exports of image server s01 of cluster t, for the kernel NFS server\n"
	"# (exports(5)), written by dim nfs: dim nfs install replaces this file.\n"
	"# RO trees: read-only to the boot network and the management node; RW\n"
	"# directories: read-write to their blade, read-only with root squashing to\n"
	"# the management node.  fsid = image << 10 | position, see dim(8).\n"
	"/srv/dim/images/master/ro 10.77.0.0/24(sec=sys,ro,sync,no_subtree_check,no_root_squash,"
	"fsid=1024) 10.77.255.1(sec=sys,ro,sync,no_subtree_check,no_root_squash,fsid=1024)\n"
	"/srv/dim/images/master/blades/s01c1b01 10.77.0.11(sec=sys,rw,sync,no_subtree_check,"
	"no_root_squash,fsid=1025) 10.77.255.1(sec=sys,ro,sync,no_subtree_check,root_squash,"
	"fsid=1025)\n"
	"/srv/dim/images/master/blades/s01c1b04 10.77.0.14(sec=sys,rw,sync,no_subtree_check,"
	"no_root_squash,fsid=1028) 10.77.255.1(sec=sys,ro,sync,no_subtree_check,root_squash,"
	"fsid=1028)\n"
	"/srv/dim/images/other/ro 10.77.0.0/24(sec=sys,ro,sync,no_subtree_check,no_root_squash,"
	"fsid=2048) 10.77.255.1(sec=sys,ro,sync,no_subtree_check,no_root_squash,fsid=2048)\n"
	"/srv/dim/images/other/blades/s01c1b02 10.77.0.12(sec=sys,rw,sync,no_subtree_check,"
	"no_root_squash,fsid=2050) 10.77.255.1(sec=sys,ro,sync,no_subtree_check,root_squash,"
	"fsid=2050)\n";

static void test_kernel_exact(void **state)
{
	char *text;

	(void)state;
	text = render(0, NFS_BACKEND_KERNEL, false, NULL);
	assert_string_equal(text, kernel_s01);
	free(text);
}

static const char ganesha_s02[] =
	"# Exports of image server s02 of cluster t, for nfs-ganesha, written by\n"
	"# dim nfs: dim nfs install replaces this file.  Include it from ganesha.conf\n"
	"# (%include), which must also set NFSV4 { Allow_Numeric_Owners = true;\n"
	"# Only_Numeric_Owners = true; } for the blades.  RO trees: read-only to the\n"
	"# boot network and the management node; RW directories: read-write to their\n"
	"# blade, read-only with root squashing to the management node.\n"
	"# Export_Id = image << 10 | position, see dim(8).\n"
	"\n"
	"# image master: RO tree\n"
	"EXPORT {\n"
	"\tExport_Id = 1024;\n"
	"\tPath = \"/var/lib/dim/images/master/ro\";\n"
	"\tPseudo = \"/var/lib/dim/images/master/ro\";\n"
	"\tProtocols = 3, 4;\n"
	"\tTransports = TCP;\n"
	"\tSecType = sys;\n"
	"\tAccess_Type = None;\n"
	"\tSquash = root_squash;\n"
	"\tFSAL { Name = VFS; }\n"
	"\tCLIENT { Clients = 10.77.1.0/24; Access_Type = RO; Squash = no_root_squash; }\n"
	"\tCLIENT { Clients = 10.77.255.1; Access_Type = RO; Squash = no_root_squash; }\n"
	"}\n"
	"\n"
	"# blade s02c1b01 (b5), image master: RW directory\n"
	"EXPORT {\n"
	"\tExport_Id = 1025;\n"
	"\tPath = \"/var/lib/dim/images/master/blades/s02c1b01\";\n"
	"\tPseudo = \"/var/lib/dim/images/master/blades/s02c1b01\";\n"
	"\tProtocols = 3, 4;\n"
	"\tTransports = TCP;\n"
	"\tSecType = sys;\n"
	"\tAccess_Type = None;\n"
	"\tSquash = root_squash;\n"
	"\tFSAL { Name = VFS; }\n"
	"\tCLIENT { Clients = 10.77.1.11; Access_Type = RW; Squash = no_root_squash; }\n"
	"\tCLIENT { Clients = 10.77.255.1; Access_Type = RO; Squash = root_squash; }\n"
	"}\n";

static void test_ganesha_exact(void **state)
{
	char *text;

	(void)state;
	text = render(1, NFS_BACKEND_GANESHA, false, NULL);
	assert_string_equal(text, ganesha_s02);
	free(text);
}

/* --ro-squash squashes root on the RO trees and nowhere else. */
static void test_ro_squash(void **state)
{
	char *plain, *squashed, *k;

	(void)state;
	plain = render(0, NFS_BACKEND_KERNEL, false, NULL);
	squashed = render(0, NFS_BACKEND_KERNEL, true, NULL);
	assert_non_null(strstr(squashed, "/srv/dim/images/master/ro 10.77.0.0/24(sec=sys,ro,sync,"
					 "no_subtree_check,root_squash,fsid=1024) 10.77.255.1(sec="
					 "sys,ro,sync,no_subtree_check,root_squash,fsid=1024)\n"));
	/* The RW lines are the same in both. */
	k = strstr(plain, "/srv/dim/images/master/blades/s01c1b01");
	assert_non_null(k);
	assert_non_null(strstr(squashed, strndupa(k, (size_t)(strchr(k, '\n') - k + 1))));
	free(plain);
	free(squashed);

	plain = render(1, NFS_BACKEND_GANESHA, true, NULL);
	assert_non_null(strstr(plain, "Clients = 10.77.1.0/24; Access_Type = RO; Squash = "
				      "root_squash; }"));
	assert_non_null(strstr(plain, "Clients = 10.77.1.11; Access_Type = RW; Squash = "
				      "no_root_squash; }"));
	free(plain);
}

/* A management node inside the boot network needs no client entry of its own on the RO tree. */
static void test_mgmt_inside_network(void **state)
{
	char *text;

	(void)state;
	set_addr(&m->c.mgmt_addr, "10.77.0.200");
	text = render(0, NFS_BACKEND_KERNEL, false, NULL);
	assert_non_null(strstr(text, "/srv/dim/images/master/ro 10.77.0.0/24(sec=sys,ro,sync,"
				     "no_subtree_check,no_root_squash,fsid=1024)\n"));
	assert_non_null(strstr(text, "10.77.0.200(sec=sys,ro,sync,no_subtree_check,root_squash,"
				     "fsid=1025)\n"));
	free(text);
}

/* ---------------------------------------------------------------- ids */

static void test_ids_formula_and_order(void **state)
{
	struct nfs_plan p;
	char *text;

	(void)state;
	text = render(0, NFS_BACKEND_GANESHA, false, &p);
	assert_int_equal(p.n, 5);
	/* image << 10 | position; sorted; the absent bay 3 exported nowhere */
	assert_int_equal(p.ex[0].id, 1 << 10);
	assert_null(p.ex[0].blade);
	assert_int_equal(p.ex[1].id, 1 << 10 | 1);
	assert_int_equal(p.ex[2].id, 1 << 10 | 4);
	assert_int_equal(p.ex[3].id, 2 << 10);
	assert_int_equal(p.ex[4].id, 2 << 10 | 2);
	assert_string_equal(p.ex[4].blade->name, "s01c1b02");
	assert_string_equal(p.ex[4].path, "/srv/dim/images/other/blades/s01c1b02");
	assert_null(strstr(text, "s01c1b03"));
	nfs_plan_free(&p);
	free(text);
}

/*
 * Appending an image and a bay (which moves every blade of s02 in the
 * cluster's array), and moving a blade to the new image, keeps every other
 * export's id.
 */
static void test_ids_stable(void **state)
{
	struct nfs_plan before[2], after[2];
	unsigned i, srv, gone = 0;

	(void)state;
	for (srv = 0; srv < 2; srv++)
		assert_int_equal(nfs_plan(&m->c, &m->servers[srv], &before[srv], NULL), 0);

	build_model(5);
	m->blades[4].image = 0;
	add_image("third", 1 << 20);
	m->blades[3].image = 2;	/* s01c1b04 moves to the new image */
	for (srv = 0; srv < 2; srv++)
		assert_int_equal(nfs_plan(&m->c, &m->servers[srv], &after[srv], NULL), 0);

	for (srv = 0; srv < 2; srv++) {
		for (i = 0; i < before[srv].n; i++) {
			const struct nfs_export *b = &before[srv].ex[i];
			const struct nfs_export *a = nfs_plan_find(&after[srv], b->path);

			if (a)
				assert_int_equal(a->id, b->id);
			else
				gone++;
			if (!a)
				assert_string_equal(b->path, "/srv/dim/images/master/blades/s01c1b04");
		}
	}
	assert_int_equal(gone, 1);
	assert_int_equal(nfs_plan_find(&after[0], "/srv/dim/images/third/blades/s01c1b04")->id,
			 3 << 10 | 4);
	assert_int_equal(nfs_plan_find(&after[0], "/srv/dim/images/master/blades/s01c1b05")->id,
			 1 << 10 | 5);
	for (srv = 0; srv < 2; srv++) {
		nfs_plan_free(&before[srv]);
		nfs_plan_free(&after[srv]);
	}
}

/* The largest server and image numbers: every id distinct and within 16 bits. */
static void test_ids_unique_at_limits(void **state)
{
	static uint8_t seen[65536];
	struct nfs_plan p;
	unsigned i;

	(void)state;
	memset(m, 0, sizeof(*m));
	m->c.servers = m->servers;
	m->c.blades = m->blades;
	m->c.images = m->images;
	snprintf(m->c.name, sizeof(m->c.name), "big");
	set_addr(&m->c.mgmt_addr, "10.0.255.1");
	for (i = 0; i < NFS_MAX_IMAGES; i++) {
		char name[16];

		snprintf(name, sizeof(name), "img%u", i);
		add_image(name, 1 << 20);
	}
	add_server("s01", "10.1.0.1", "10.1.0.0", 16, "/d", NFS_MAX_POSITIONS, 10);
	for (i = 0; i < NFS_MAX_POSITIONS; i++)
		m->blades[i].image = i % NFS_MAX_IMAGES;
	assert_int_equal(nfs_plan(&m->c, &m->servers[0], &p, NULL), 0);
	assert_int_equal(p.n, NFS_MAX_IMAGES + NFS_MAX_POSITIONS);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < p.n; i++) {
		assert_true(p.ex[i].id > 0 && p.ex[i].id <= 65535);
		assert_int_equal(seen[p.ex[i].id], 0);
		seen[p.ex[i].id] = 1;
		if (i)
			assert_true(p.ex[i].id > p.ex[i - 1].id);
	}
	/* image 63's last blade: bay 1008 (1007 % 63 == 62) */
	assert_int_equal(p.ex[p.n - 1].id, 63 << 10 | 1008);
	nfs_plan_free(&p);

	/* One bay more, or one image more, has no id. */
	add_server("s02", "10.2.0.1", "10.2.0.0", 16, "/d", NFS_MAX_POSITIONS + 1, 10);
	{
		struct dim_err err;

		assert_int_equal(plan_error(1, &err), -ERANGE);
		assert_non_null(strstr(err.msg, "image server s02: 1024 blades"));
	}
}

static void test_image_beyond_ids(void **state)
{
	struct dim_err err;
	unsigned i;

	(void)state;
	for (i = m->c.n_images; i <= NFS_MAX_IMAGES; i++) {
		char name[16];

		snprintf(name, sizeof(name), "img%u", i);
		add_image(name, 1 << 20);
	}
	m->blades[1].image = NFS_MAX_IMAGES;	/* the 64th image */
	assert_int_equal(plan_error(0, &err), -ERANGE);
	assert_string_equal(err.msg, "blade s01c1b02: image img63 is number 64 of the definition; "
				     "export ids leave room for 63 images");
	/* Images no blade of the server boots do not count. */
	assert_int_equal(plan_error(1, &err), 0);
}

/* ---------------------------------------------------------------- refusals */

static const struct {
	const char *storage;
	const char *problem;
} bad_storage[] = {
	{ "/srv/dim x", "has the character ' '" },
	{ "/srv/\"dim", "has the character '\"'" },
	{ "/srv/dim;", "has the character ';'" },
	{ "/srv/dim#1", "has the character '#'" },
	{ "/srv/(dim)", "has the character '('" },
	{ "/srv/dim\n", "has the byte 0x0a" },
	{ "/srv/d\xc3\xa9", "has the byte 0xc3" },
	{ "/srv/../etc", "has a . or .. component" },
	{ "/srv/./dim", "has a . or .. component" },
	{ "/srv//dim", "has an empty component (//)" },
	{ "srv/dim", "is not absolute" },
};

static void test_bad_storage_refused(void **state)
{
	struct dim_err err;
	char want[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_storage) / sizeof(*bad_storage); i++) {
		build_small();
		snprintf(m->servers[0].storage, sizeof(m->servers[0].storage), "%s",
			 bad_storage[i].storage);
		assert_int_equal(plan_error(0, &err), -EINVAL);
		snprintf(want, sizeof(want),
			 "image server s01: image master (RO tree): path \"%s/images/master/ro\" %s "
			 "(an export path may hold only A-Z a-z 0-9 _ . + - /)",
			 bad_storage[i].storage, bad_storage[i].problem);
		assert_string_equal(err.msg, want);
		/* The other server is not concerned. */
		assert_int_equal(plan_error(1, &err), 0);
	}
}

static void test_bad_names_refused(void **state)
{
	struct dim_err err;

	(void)state;
	snprintf(m->images[1].name, sizeof(m->images[1].name), "ot her");
	assert_int_equal(plan_error(0, &err), -EINVAL);
	assert_string_equal(err.msg, "image \"ot her\": a name may hold only A-Z a-z 0-9 _ . + -");

	build_small();
	snprintf(m->blades[3].name, sizeof(m->blades[3].name), "s01c1b04\"");
	assert_int_equal(plan_error(0, &err), -EINVAL);
	assert_string_equal(err.msg, "blade \"s01c1b04\"\": a name may hold only A-Z a-z 0-9 _ . + -");

	build_small();
	snprintf(m->blades[0].name, sizeof(m->blades[0].name), "..");
	assert_int_equal(plan_error(0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "blade .. (RW directory, image master): path "
					"\"/srv/dim/images/master/blades/..\" has a . or .. component"));

	build_small();
	snprintf(m->c.name, sizeof(m->c.name), "a\nb");
	assert_int_equal(plan_error(0, &err), -EINVAL);
}

static void test_blade_with_mgmt_address(void **state)
{
	struct dim_err err;

	(void)state;
	set_addr(&m->blades[3].addr, "10.77.255.1");
	assert_int_equal(plan_error(0, &err), -EINVAL);
	assert_string_equal(err.msg, "blade s01c1b04 has the management node's address 10.77.255.1");
}

static void test_bad_prefix_refused(void **state)
{
	struct dim_err err;

	(void)state;
	m->servers[1].prefix = 33;
	assert_int_equal(plan_error(1, &err), -EINVAL);
	assert_string_equal(err.msg, "image server s02: boot network prefix /33");
}

/* ---------------------------------------------------------------- lines, filter, helpers */

static void test_lines_map_to_exports(void **state)
{
	struct nfs_plan p;
	char *text;
	unsigned line = 1;
	const char *s;

	(void)state;
	text = render(0, NFS_BACKEND_KERNEL, false, &p);
	assert_null(nfs_plan_at_line(&p, 5));
	assert_ptr_equal(nfs_plan_at_line(&p, 6), &p.ex[0]);
	assert_ptr_equal(nfs_plan_at_line(&p, 10), &p.ex[4]);
	free(text);
	nfs_plan_free(&p);

	/* ganesha: every line of a block, its comment included, is its export's. */
	text = render(0, NFS_BACKEND_GANESHA, false, &p);
	for (s = text; *s; s++) {
		if (s == text || s[-1] == '\n') {
			if (!strncmp(s, "\tPath = \"", 9)) {
				const struct nfs_export *e = nfs_plan_at_line(&p, line);

				assert_non_null(e);
				assert_memory_equal(s + 9, e->path, strlen(e->path));
				assert_int_equal(s[9 + strlen(e->path)], '"');
			}
		}
		if (*s == '\n')
			line++;
	}
	assert_null(nfs_plan_at_line(&p, 7));
	assert_ptr_equal(nfs_plan_at_line(&p, 8), &p.ex[0]);
	free(text);
	nfs_plan_free(&p);
}

static bool keep_not_b01(const struct nfs_export *e, void *arg)
{
	(void)arg;
	return !e->blade || strcmp(e->blade->name, "s01c1b01");
}

static void test_filter(void **state)
{
	struct nfs_opts o = { .backend = NFS_BACKEND_KERNEL };
	struct nfs_plan p;
	struct nfs_text t;

	(void)state;
	assert_int_equal(nfs_plan(&m->c, &m->servers[0], &p, NULL), 0);
	nfs_plan_filter(&p, keep_not_b01, NULL);
	assert_int_equal(p.n, 4);
	assert_int_equal(nfs_render(&p, &o, &t, NULL), 0);
	assert_null(strstr(t.buf, "s01c1b01"));
	assert_non_null(strstr(t.buf, "s01c1b04"));
	nfs_text_free(&t);
	nfs_plan_free(&p);
}

static void test_size_str(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} t[] = {
		{ 0, "0" }, { 1, "1" }, { 1000, "1000" }, { 1024, "1K" }, { 1536 << 10, "1536K" },
		{ 64ull << 20, "64M" }, { 1ull << 30, "1G" }, { 3ull << 40, "3T" },
		{ (64ull << 20) + 1, "67108865" }, { 1ull << 60, "1E" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		nfs_size_str(t[i].bytes, buf, sizeof(buf));
		assert_string_equal(buf, t[i].text);
	}
}

static void test_backends(void **state)
{
	enum nfs_backend b;

	(void)state;
	assert_int_equal(nfs_backend_parse("kernel", &b), 0);
	assert_int_equal(b, NFS_BACKEND_KERNEL);
	assert_string_equal(nfs_backend_default_file(b), "/etc/exports.d/dim.exports");
	assert_int_equal(nfs_backend_parse("ganesha", &b), 0);
	assert_int_equal(b, NFS_BACKEND_GANESHA);
	assert_string_equal(nfs_backend_name(b), "ganesha");
	assert_string_equal(nfs_backend_default_file(b), "/etc/ganesha/dim-exports.conf");
	assert_int_equal(nfs_backend_parse("Kernel", &b), -EINVAL);
	assert_int_equal(nfs_backend_parse("", &b), -EINVAL);
}

static void test_ganesha_main(void **state)
{
	struct dim_err err = { 0 };
	struct nfs_text t;

	(void)state;
	assert_int_equal(nfs_render_ganesha_main("/etc/ganesha/dim-exports.conf", &t, &err), 0);
	assert_non_null(strstr(t.buf, "\tAllow_Numeric_Owners = true;\n\tOnly_Numeric_Owners = true;\n"));
	assert_non_null(strstr(t.buf, "NFSV4 {\n"));
	assert_non_null(strstr(t.buf, "\n%include \"/etc/ganesha/dim-exports.conf\"\n"));
	nfs_text_free(&t);
	assert_int_equal(nfs_render_ganesha_main("/etc/x\"; NFSV4 {", &t, &err), -EINVAL);
	assert_string_equal(err.msg, "ganesha include \"/etc/x\"; NFSV4 {\" has the character '\"'");
}

/* A server without blades, or whose blades boot nothing, exports nothing (and says so). */
static void test_nothing_to_export(void **state)
{
	struct nfs_plan p;
	char *text;

	(void)state;
	m->blades[4].image = CL_NONE;
	text = render(1, NFS_BACKEND_KERNEL, false, &p);
	assert_int_equal(p.n, 0);
	assert_null(strstr(text, "\n/"));
	assert_non_null(strstr(text, "# Exports of image server s02"));
	nfs_plan_free(&p);
	free(text);
}

/* ---------------------------------------------------------------- the definition's own */

static void test_small_xml(void **state)
{
	struct cluster *c = NULL;
	struct dim_err err = { 0 };
	struct nfs_plan p;
	int rc;

	(void)state;
	rc = cluster_load("config/small.xml", &c, &err);
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, 0);
	/* s02: bay 4 empty, bay 3 boots "other". */
	assert_int_equal(nfs_plan(c, cluster_find_server(c, "s02"), &p, &err), 0);
	assert_int_equal(p.n, 5);
	assert_string_equal(p.ex[0].path, "/var/lib/dim/images/master/ro");
	assert_int_equal(p.ex[2].id, 1 << 10 | 2);
	assert_string_equal(p.ex[3].path, "/var/lib/dim/images/other/ro");
	assert_string_equal(p.ex[4].path, "/var/lib/dim/images/other/blades/s02c1b03");
	assert_int_equal(p.ex[4].id, 2 << 10 | 3);
	nfs_plan_free(&p);
	cluster_free(c);
}

/* ---------------------------------------------------------------- batches of files */

static char *slurp_file(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static unsigned count_entries(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *d;
	unsigned n = 0;

	assert_non_null(dir);
	while ((d = readdir(dir)))
		n += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
	closedir(dir);
	return n;
}

/* Every file of a batch appears at once, with its content; nothing else is left. */
static void test_batch(void **state)
{
	char dir[] = "/tmp/dim-nfs-batch-XXXXXX", a[64], b[64], c[96];
	struct nfs_batch batch = { 0 };
	struct dim_err err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(c, sizeof(c), "%s/no/such/dir/c", dir);

	assert_int_equal(nfs_batch_add(&batch, a, "one\n", 4, &err), 0);
	assert_int_equal(nfs_batch_add(&batch, b, "two\n", 4, &err), 0);
	assert_null(slurp_file(a));	/* not before the commit */
	assert_int_equal(count_entries(dir), 2);	/* the two temporary files */
	assert_int_equal(nfs_batch_commit(&batch, &err), 0);
	assert_string_equal(slurp_file(a), "one\n");
	assert_string_equal(slurp_file(b), "two\n");
	assert_int_equal(count_entries(dir), 2);

	/* A file that cannot be made: the caller aborts, nothing changes. */
	assert_int_equal(nfs_batch_add(&batch, a, "new\n", 4, &err), 0);
	assert_int_equal(nfs_batch_add(&batch, c, "x", 1, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/no/such/dir/c.tmp-"));
	nfs_batch_abort(&batch);
	assert_string_equal(slurp_file(a), "one\n");
	assert_int_equal(count_entries(dir), 2);
	assert_int_equal(batch.n, 0);

	/* An empty batch commits to nothing. */
	assert_int_equal(nfs_batch_commit(&batch, &err), 0);
	unlink(a);
	unlink(b);
	assert_int_equal(rmdir(dir), 0);
}

/* ---------------------------------------------------------------- speed */

/* 10,000 blades on 40 servers, both backends: well under a second (the bar). */
static void test_ten_thousand_blades(void **state)
{
	struct nfs_opts o = { 0 };
	struct timespec t0, t1;
	size_t bytes = 0;
	unsigned i, b;
	double s;

	(void)state;
	memset(m, 0, sizeof(*m));
	m->c.servers = m->servers;
	m->c.blades = m->blades;
	m->c.images = m->images;
	snprintf(m->c.name, sizeof(m->c.name), "big");
	set_addr(&m->c.mgmt_addr, "10.0.255.1");
	add_image("sles10", 1ull << 30);
	add_image("rhel", 1ull << 30);
	/* four servers of 250 blades, reused ten times: 40 server plans */
	for (i = 0; i < 4; i++) {
		char name[8], addr[16], net[16];

		snprintf(name, sizeof(name), "s%02u", i + 1);
		snprintf(addr, sizeof(addr), "10.%u.0.1", i + 1);
		snprintf(net, sizeof(net), "10.%u.0.0", i + 1);
		add_server(name, addr, net, 16, "/var/lib/dim", 250, 10);
	}
	for (b = 0; b < m->c.n_blades; b++)
		m->blades[b].image = b % 7 == 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (o.backend = NFS_BACKEND_KERNEL; o.backend <= NFS_BACKEND_GANESHA; o.backend++)
		for (i = 0; i < 40; i++) {
			struct nfs_plan p;
			struct nfs_text t;

			assert_int_equal(nfs_plan(&m->c, &m->servers[i % 4], &p, NULL), 0);
			assert_int_equal(nfs_render(&p, &o, &t, NULL), 0);
			bytes += t.len;
			nfs_text_free(&t);
			nfs_plan_free(&p);
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("  nfs: exports of 10,000 blades, kernel and ganesha: %.3f s, %zu bytes\n", s,
	       bytes);
	/* Generous under ASan; the plain build measures a small fraction of this. */
	assert_true(s < 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kernel_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ganesha_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ro_squash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mgmt_inside_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_formula_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_unique_at_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_beyond_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_storage_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blade_with_mgmt_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_prefix_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lines_map_to_exports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_str, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ganesha_main, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_xml, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ten_thousand_blades, setup, teardown),
	};

	return cmocka_run_group_tests_name("nfs_gen", tests, NULL, NULL);
}
