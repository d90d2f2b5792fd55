/* SPDX-License-Identifier: MIT */
/*
 * The exports of an image server, from the cluster model to text: pure
 * functions, no file system, so the tests and the benchmark run them on any
 * model.  nfs.h says what is exported and how ids are made; exports(5) and
 * ganesha-export-config(8) are the formats.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfs.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	enum nfs_backend backend;
	const char *file;	/* where it is installed by default */
} backends[] = {
	{ "kernel", NFS_BACKEND_KERNEL, "/etc/exports.d/dim.exports" },
	{ "ganesha", NFS_BACKEND_GANESHA, "/etc/ganesha/dim-exports.conf" },
};

int nfs_backend_parse(const char *name, enum nfs_backend *b)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i].name, name)) {
			*b = backends[i].backend;
			return 0;
		}
	return -EINVAL;
}

const char *nfs_backend_name(enum nfs_backend b)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i].backend == b)
			return backends[i].name;
	return "?";
}

const char *nfs_backend_default_file(enum nfs_backend b)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i].backend == b)
			return backends[i].file;
	return NULL;
}

/* ---------------------------------------------------------------- validation */

/*
 * Characters a path may have to reach an exports file (where blanks, '#',
 * '(' and quotes have meaning) and a ganesha block (a quoted string, ';' and
 * '}' end things) unquoted and unescaped.  Anything else is refused rather
 * than escaped: storage roots and names are the admin's choice and these
 * suffice.
 */
static bool path_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '+' || ch == '-' || ch == '/';
}

/* NULL if path is fine, else what is wrong with it. */
static const char *path_problem(const char *path, char *why, size_t size)
{
	const char *p, *comp;

	if (path[0] != '/')
		return "is not absolute";
	for (p = path; *p; p++)
		if (!path_char_ok(*p)) {
			if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
				snprintf(why, size, "has the character '%c'", *p);
			else
				snprintf(why, size, "has the byte 0x%02x", (unsigned char)*p);
			return why;
		}
	/* "." and ".." would export something else than the path says. */
	for (comp = path + 1; *comp; comp = p + (*p == '/')) {
		size_t len;

		p = strchrnul(comp, '/');
		len = (size_t)(p - comp);
		if (len == 0)
			return "has an empty component (//)";
		if ((len == 1 && comp[0] == '.') || (len == 2 && comp[0] == '.' && comp[1] == '.'))
			return "has a . or .. component";
	}
	return NULL;
}

/* Names that end up in comments and messages: one word. */
static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!path_char_ok(*s) || *s == '/')
			return false;
	return true;
}

void nfs_export_describe(const struct nfs_export *e, char *buf, size_t size)
{
	if (e->blade)
		snprintf(buf, size, "blade %s (RW directory, image %s)", e->blade->name,
			 e->image->name);
	else
		snprintf(buf, size, "image %s (RO tree)", e->image->name);
}

/* ---------------------------------------------------------------- the plan */

static int check_path(const struct cl_server *s, const struct nfs_export *e, struct dim_err *err)
{
	char what[160], why[64];
	const char *problem = path_problem(e->path, why, sizeof(why));

	if (!problem)
		return 0;
	nfs_export_describe(e, what, sizeof(what));
	return dim_err_set(err, -EINVAL,
			   "image server %s: %s: path \"%s\" %s (an export path may hold only "
			   "A-Z a-z 0-9 _ . + - /)",
			   s->name, what, e->path, problem);
}

static int add_export(const struct cluster *c, const struct cl_server *s, struct nfs_plan *p,
		      unsigned image, const struct cl_blade *b, unsigned pos, struct dim_err *err)
{
	struct nfs_export *e = &p->ex[p->n];
	const struct cl_image *img = &c->images[image];
	int rc;

	memset(e, 0, sizeof(*e));
	e->image = img;
	e->blade = b;
	e->id = (image + 1) << NFS_ID_POS_BITS | pos;
	if (b)
		rc = cluster_rw_dir(c, b, img, e->path, sizeof(e->path));
	else
		rc = cluster_ro_path(c, s, img, e->path, sizeof(e->path));
	if (rc < 0) {
		char what[160];

		nfs_export_describe(e, what, sizeof(what));
		return dim_err_set(err, rc, "image server %s: %s: path too long (storage \"%s\")",
				   s->name, what, s->storage);
	}
	rc = check_path(s, e, err);
	if (rc < 0)
		return rc;
	p->n++;
	return 0;
}

int nfs_plan(const struct cluster *c, const struct cl_server *s, struct nfs_plan *p,
	     struct dim_err *err)
{
	unsigned i, k, img;
	bool *used = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	p->c = c;
	p->server = s;
	if (s->prefix > 32)
		return dim_err_set(err, -EINVAL, "image server %s: boot network prefix /%u", s->name,
				   s->prefix);
	if (!name_ok(s->name) || !name_ok(c->name))
		return dim_err_set(err, -EINVAL, "image server \"%s\" of cluster \"%s\": a name "
				   "may hold only A-Z a-z 0-9 _ . + -", s->name, c->name);
	if (s->first_blade > c->n_blades || s->n_blades > c->n_blades - s->first_blade)
		return dim_err_set(err, -EINVAL, "image server %s: blades %u..%u outside the model",
				   s->name, s->first_blade, s->first_blade + s->n_blades);
	if (s->n_blades > NFS_MAX_POSITIONS)
		return dim_err_set(err, -ERANGE,
				   "image server %s: %u blades; export ids leave room for %u per "
				   "image server",
				   s->name, s->n_blades, NFS_MAX_POSITIONS);
	used = calloc(c->n_images ? c->n_images : 1, sizeof(*used));
	p->ex = calloc((size_t)c->n_images + s->n_blades + 1, sizeof(*p->ex));
	if (!used || !p->ex) {
		rc = -ENOMEM;
		goto err;
	}
	for (i = 0; i < s->n_blades; i++) {
		const struct cl_blade *b = &c->blades[s->first_blade + i];

		if (b->absent || b->image == CL_NONE)
			continue;
		if (b->image >= c->n_images) {
			rc = dim_err_set(err, -EINVAL, "blade %s: image %u not in the definition",
					 b->name, b->image);
			goto err;
		}
		if (b->image >= NFS_MAX_IMAGES) {
			rc = dim_err_set(err, -ERANGE,
					 "blade %s: image %s is number %u of the definition; export "
					 "ids leave room for %u images",
					 b->name, c->images[b->image].name, b->image + 1,
					 NFS_MAX_IMAGES);
			goto err;
		}
		if (!name_ok(b->name) || !name_ok(b->linear)) {
			rc = dim_err_set(err, -EINVAL, "blade \"%s\": a name may hold only A-Z a-z "
					 "0-9 _ . + -", b->name);
			goto err;
		}
		if (c->mgmt_addr.s_addr && b->addr.s_addr == c->mgmt_addr.s_addr) {
			rc = dim_err_set(err, -EINVAL, "blade %s has the management node's address %s",
					 b->name, inet_ntoa(b->addr));
			goto err;
		}
		used[b->image] = true;
	}
	/* Image by image, its RO tree and then its blades: sorted by id. */
	for (img = 0; img < c->n_images; img++) {
		if (!used[img])
			continue;
		if (!name_ok(c->images[img].name)) {
			rc = dim_err_set(err, -EINVAL, "image \"%s\": a name may hold only A-Z a-z "
					 "0-9 _ . + -", c->images[img].name);
			goto err;
		}
		rc = add_export(c, s, p, img, NULL, 0, err);
		if (rc < 0)
			goto err;
		for (k = 0; k < s->n_blades; k++) {
			const struct cl_blade *b = &c->blades[s->first_blade + k];

			if (b->absent || b->image != img)
				continue;
			rc = add_export(c, s, p, img, b, k + 1, err);
			if (rc < 0)
				goto err;
		}
	}
	free(used);
	return 0;

err:
	if (rc == -ENOMEM)
		dim_err_set(err, rc, "image server %s: out of memory", s->name);
	free(used);
	nfs_plan_free(p);
	return rc;
}

void nfs_plan_free(struct nfs_plan *p)
{
	free(p->ex);
	p->ex = NULL;
	p->n = 0;
}

void nfs_plan_filter(struct nfs_plan *p, bool (*keep)(const struct nfs_export *, void *),
		     void *arg)
{
	unsigned i, n = 0;

	for (i = 0; i < p->n; i++)
		if (keep(&p->ex[i], arg))
			p->ex[n++] = p->ex[i];
	p->n = n;
}

const struct nfs_export *nfs_plan_at_line(const struct nfs_plan *p, unsigned line)
{
	const struct nfs_export *found = NULL;
	unsigned i;

	/* Sorted by line: the last export that starts at or before it. */
	for (i = 0; i < p->n && p->ex[i].line && p->ex[i].line <= line; i++)
		found = &p->ex[i];
	return found;
}

const struct nfs_export *nfs_plan_find(const struct nfs_plan *p, const char *path)
{
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->ex[i].path, path))
			return &p->ex[i];
	return NULL;
}

/* ---------------------------------------------------------------- text */

void nfs_text_free(struct nfs_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

__attribute__((format(printf, 2, 3)))
static void text_add(struct nfs_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->rc)
		return;
	for (;;) {
		size_t room = t->cap - t->len;

		if (t->buf) {
			va_start(ap, fmt);
			n = vsnprintf(t->buf + t->len, room, fmt, ap);
			va_end(ap);
			if (n < 0) {
				t->rc = -EINVAL;
				return;
			}
			if ((size_t)n < room) {
				t->len += (size_t)n;
				return;
			}
		} else {
			n = 0;
		}
		{
			size_t cap = t->cap ? t->cap * 2 : 4096;
			char *buf;

			while (cap - t->len <= (size_t)n)
				cap *= 2;
			buf = realloc(t->buf, cap);
			if (!buf) {
				t->rc = -ENOMEM;
				return;
			}
			t->buf = buf;
			t->cap = cap;
		}
	}
}

static unsigned count_lines(const struct nfs_text *t, size_t from, size_t to)
{
	unsigned n = 0;

	for (; from < to; from++)
		n += t->buf[from] == '\n';
	return n;
}

static const char *addr_str(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* The management node needs its own client entry unless the boot network holds it. */
static bool mgmt_outside(const struct cluster *c, const struct cl_server *s)
{
	return c->mgmt_addr.s_addr && (c->mgmt_addr.s_addr & s->mask.s_addr) != s->net.s_addr;
}

static bool mgmt_known(const struct cluster *c)
{
	return c->mgmt_addr.s_addr != 0;
}

/*
 * exports(5): one line per export, each client with its options.  sec=sys
 * first (options after it apply to it); sync, as the default is and as a
 * blade's ext4 image over NFS needs; no_subtree_check, the default, said so
 * exportfs does not warn; fsid=, the export's id.
 */
static void render_kernel(struct nfs_plan *p, const struct nfs_opts *o, struct nfs_text *t)
{
	const struct cluster *c = p->c;
	const struct cl_server *s = p->server;
	char net[INET_ADDRSTRLEN], mgmt[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	const char *ro_squash = o->ro_squash ? "root_squash" : "no_root_squash";
	unsigned i, line;

	addr_str(s->net, net);
	addr_str(c->mgmt_addr, mgmt);
	text_add(t,
		 "# Exports of image server %s of cluster %s, for the kernel NFS server\n"
		 "# (exports(5)), written by dim nfs: dim nfs install replaces this file.\n"
		 "# RO trees: read-only to the boot network and the management node; RW\n"
		 "# directories: read-write to their blade, read-only with root squashing to\n"
		 "# the management node.  fsid = image << 10 | position, see dim(8).\n",
		 s->name, c->name);
	line = t->rc ? 0 : count_lines(t, 0, t->len) + 1;
	for (i = 0; i < p->n; i++) {
		struct nfs_export *e = &p->ex[i];

		e->line = line++;
		if (!e->blade) {
			text_add(t, "%s %s/%u(sec=sys,ro,sync,no_subtree_check,%s,fsid=%u)", e->path,
				 net, s->prefix, ro_squash, e->id);
			if (mgmt_outside(c, s))
				text_add(t, " %s(sec=sys,ro,sync,no_subtree_check,%s,fsid=%u)", mgmt,
					 ro_squash, e->id);
		} else {
			text_add(t, "%s %s(sec=sys,rw,sync,no_subtree_check,no_root_squash,fsid=%u)",
				 e->path, addr_str(e->blade->addr, addr), e->id);
			if (mgmt_known(c))
				text_add(t, " %s(sec=sys,ro,sync,no_subtree_check,root_squash,fsid=%u)",
					 mgmt, e->id);
		}
		text_add(t, "\n");
	}
}

/*
 * ganesha-export-config(8): Export_Id is the id; Pseudo = Path, so NFSv3 and
 * NFSv4 clients name an export alike; the EXPORT's own Access_Type = None
 * and only CLIENT blocks grant access, so an address no block names gets
 * nothing.  Transports TCP: blades mount with proto=tcp.
 */
static void render_ganesha(struct nfs_plan *p, const struct nfs_opts *o, struct nfs_text *t)
{
	const struct cluster *c = p->c;
	const struct cl_server *s = p->server;
	char net[INET_ADDRSTRLEN], mgmt[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	const char *ro_squash = o->ro_squash ? "root_squash" : "no_root_squash";
	unsigned i, line;
	size_t mark;

	addr_str(s->net, net);
	addr_str(c->mgmt_addr, mgmt);
	text_add(t,
		 "# Exports of image server %s of cluster %s, for nfs-ganesha, written by\n"
		 "# dim nfs: dim nfs install replaces this file.  Include it from ganesha.conf\n"
		 "# (%%include), which must also set NFSV4 { Allow_Numeric_Owners = true;\n"
		 "# Only_Numeric_Owners = true; } for the blades.  RO trees: read-only to the\n"
		 "# boot network and the management node; RW directories: read-write to their\n"
		 "# blade, read-only with root squashing to the management node.\n"
		 "# Export_Id = image << 10 | position, see dim(8).\n",
		 s->name, c->name);
	line = t->rc ? 0 : count_lines(t, 0, t->len);
	for (i = 0; i < p->n; i++) {
		struct nfs_export *e = &p->ex[i];

		mark = t->len;
		if (e->blade)
			text_add(t, "\n# blade %s (%s), image %s: RW directory\n", e->blade->name,
				 e->blade->linear, e->image->name);
		else
			text_add(t, "\n# image %s: RO tree\n", e->image->name);
		e->line = line + 1;
		text_add(t,
			 "EXPORT {\n"
			 "\tExport_Id = %u;\n"
			 "\tPath = \"%s\";\n"
			 "\tPseudo = \"%s\";\n"
			 "\tProtocols = 3, 4;\n"
			 "\tTransports = TCP;\n"
			 "\tSecType = sys;\n"
			 "\tAccess_Type = None;\n"
			 "\tSquash = root_squash;\n"
			 "\tFSAL { Name = VFS; }\n",
			 e->id, e->path, e->path);
		if (!e->blade) {
			text_add(t, "\tCLIENT { Clients = %s/%u; Access_Type = RO; Squash = %s; }\n",
				 net, s->prefix, ro_squash);
			if (mgmt_outside(c, s))
				text_add(t, "\tCLIENT { Clients = %s; Access_Type = RO; Squash = %s; }\n",
					 mgmt, ro_squash);
		} else {
			text_add(t, "\tCLIENT { Clients = %s; Access_Type = RW; "
				 "Squash = no_root_squash; }\n", addr_str(e->blade->addr, addr));
			if (mgmt_known(c))
				text_add(t, "\tCLIENT { Clients = %s; Access_Type = RO; "
					 "Squash = root_squash; }\n", mgmt);
		}
		text_add(t, "}\n");
		if (t->rc)
			return;
		line += count_lines(t, mark, t->len);
	}
}

int nfs_render(struct nfs_plan *p, const struct nfs_opts *o, struct nfs_text *t,
	       struct dim_err *err)
{
	memset(t, 0, sizeof(*t));
	switch (o->backend) {
	case NFS_BACKEND_KERNEL:
		render_kernel(p, o, t);
		break;
	case NFS_BACKEND_GANESHA:
		render_ganesha(p, o, t);
		break;
	default:
		return dim_err_set(err, -EINVAL, "unknown NFS backend %d", (int)o->backend);
	}
	if (t->rc) {
		int rc = t->rc;

		nfs_text_free(t);
		return dim_err_set(err, rc, "image server %s: exports: %s", p->server->name,
				   strerror(-rc));
	}
	return 0;
}

int nfs_render_ganesha_main(const char *include, struct nfs_text *t, struct dim_err *err)
{
	char why[64];
	const char *problem = path_problem(include, why, sizeof(why));

	memset(t, 0, sizeof(*t));
	if (problem)
		return dim_err_set(err, -EINVAL, "ganesha include \"%s\" %s", include, problem);
	text_add(t,
		 "# nfs-ganesha configuration for a dim image server, written by dim nfs as\n"
		 "# a start for /etc/ganesha/ganesha.conf.  The exports are in the include\n"
		 "# that dim nfs install keeps; everything else here is the admin's.\n"
		 "\n"
		 "NFS_CORE_PARAM {\n"
		 "\tProtocols = 3, 4;\n"
		 "\t# Blades mount NFSv3 with nolock and use no quotas.\n"
		 "\tEnable_NLM = false;\n"
		 "\tEnable_RQUOTA = false;\n"
		 "}\n"
		 "\n"
		 "NFSV4 {\n"
		 "\t# Blades must see the numeric uids and gids of their files: without\n"
		 "\t# these NFSv4 maps every owner to nobody and an unmodified\n"
		 "\t# distribution's mount units fail.\n"
		 "\tAllow_Numeric_Owners = true;\n"
		 "\tOnly_Numeric_Owners = true;\n"
		 "}\n"
		 "\n"
		 "NFS_KRB5 {\n"
		 "\tActive_krb5 = false;\n"
		 "}\n"
		 "\n"
		 "%%include \"%s\"\n",
		 include);
	if (t->rc) {
		int rc = t->rc;

		nfs_text_free(t);
		return dim_err_set(err, rc, "ganesha.conf: %s", strerror(-rc));
	}
	return 0;
}

void nfs_size_str(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	unsigned u = 0;

	if (bytes == 0 || bytes % 1024) {
		snprintf(buf, size, "%llu", (unsigned long long)bytes);
		return;
	}
	bytes /= 1024;
	while (bytes % 1024 == 0 && u + 1 < sizeof(units) - 1) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, "%llu%c", (unsigned long long)bytes, units[u]);
}
