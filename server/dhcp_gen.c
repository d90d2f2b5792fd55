/* SPDX-License-Identifier: MIT */
/*
 * The DHCP configuration generators: the model in, text out, nothing else
 * touched.  One table of backends (ISC dhcpd, Kea, dnsmasq); each turns the
 * same checked host entries (struct dhcp_host) into its own syntax.
 *
 * What goes where (dim-linuxrc(7), linuxrc/contract.h):
 *   fixed address, host name (the hierarchical name; the linear name is a
 *   comment), next-server and the boot file (IMAGE/KERNEL in the image
 *   server's TFTP root, tftp.h; iPXE scripts with no-pxedhcp) for the
 *   firmware; root-path (17) = SERVER:STORAGE/images/IMAGE/ro for the RO
 *   tree; dim-rw (224) = SERVER:STORAGE/images/IMAGE/blades/BLADE, dim-mode
 *   (225), dim-nfs (228) and dim-rodirs (229) from the image; dim-rwimg (227)
 *   only when not the contract's default.  The boot network is declared
 *   without a dynamic pool, so a MAC without a host entry gets no answer.
 *
 * Output is deterministic: hierarchical order, no time stamps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "contract.h"
#include "dhcp_gen.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A DHCP option carries at most 255 bytes (RFC 2132 section 2). */
#define OPTION_MAX	255

/* ---------------------------------------------------------------- text buffers */

static int buf_reserve(struct dhcp_buf *b, size_t more)
{
	size_t want;
	char *p;

	if (b->rc)
		return b->rc;
	if (b->len + more < b->size)
		return 0;
	want = b->size ? b->size : 4096;
	while (want <= b->len + more)
		want *= 2;
	p = realloc(b->data, want);
	if (!p) {
		b->rc = -ENOMEM;
		return b->rc;
	}
	b->data = p;
	b->size = want;
	return 0;
}

void dhcp_buf_printf(struct dhcp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(b, 256) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->rc = -EINVAL;
		return;
	}
	if ((size_t)n >= b->size - b->len) {
		if (buf_reserve(b, (size_t)n + 1) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void dhcp_buf_putn(struct dhcp_buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n + 1) < 0)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void dhcp_buf_puts(struct dhcp_buf *b, const char *s)
{
	dhcp_buf_putn(b, s, strlen(s));
}

void dhcp_buf_free(struct dhcp_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---------------------------------------------------------------- checking values */

/*
 * Characters no value may carry into a configuration file: they end or
 * escape a quoted string, end a statement (dhcpd.conf's ';'), open or close a
 * block, start a comment, or mean something to one of the three parsers
 * (Kea's <?include?>, dnsmasq's field splitting outside quotes).  Spaces
 * too: no name or path dim writes has one, and the linuxrc refuses them.
 */
static const struct {
	char c;
	const char *what;
} unsafe_chars[] = {
	{ '"', "a double quote" },   { '\\', "a backslash" },  { ';', "a semicolon" },
	{ '{', "a brace" },          { '}', "a brace" },       { '#', "a '#'" },
	{ '\'', "a single quote" },  { '`', "a backquote" },   { '<', "a '<'" },
	{ '>', "a '>'" },            { ' ', "a space" },       { '$', "a '$'" },
};

/* NULL if v can go into any of the files, else what is wrong with it. */
static const char *unsafe_value(const char *v, char *why, size_t size)
{
	const unsigned char *p;
	size_t i;

	for (p = (const unsigned char *)v; *p; p++) {
		if (*p == '\n')
			return "a newline";
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(why, size, "a control character (0x%02x)", *p);
			return why;
		}
		if (*p >= 0x80) {
			snprintf(why, size, "a non-ASCII byte (0x%02x)", *p);
			return why;
		}
		for (i = 0; i < ARRAY_SIZE(unsafe_chars); i++)
			if (*p == (unsigned char)unsafe_chars[i].c)
				return unsafe_chars[i].what;
	}
	return NULL;
}

/* v for a message: printable, control characters escaped, cut if long. */
static const char *shown(const char *v, char *buf, size_t size)
{
	size_t o = 0;

	for (; *v && o + 5 < size; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '\n')
			o += (size_t)snprintf(buf + o, size - o, "\\n");
		else if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	if (*v && size > 4)
		memcpy(buf + (o < size - 4 ? o : size - 4), "...", 4);
	else
		buf[o < size ? o : size - 1] = '\0';
	return buf;
}

/* Image names become dnsmasq tags and comments: letters, digits, "_.-". */
static bool name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

/* "small.xml:31: " for what the definition says at line, "" if unknown. */
static const char *where(const struct cluster *c, unsigned line, char *buf, size_t size)
{
	if (c->file[0] && line)
		snprintf(buf, size, "%s:%u: ", c->file, line);
	else
		buf[0] = '\0';
	return buf;
}

/*
 * The options of one host entry, each with the linuxrc's validator of the
 * same option (cfg_keys[], linuxrc/config.c) and whether it is the blade's
 * own (224) or its image's (the rest; dnsmasq sends those by image tag).
 */
struct host_opt {
	int code;
	const char *name;	/* ISC and Kea option name; the contract's */
	const char *dnsmasq;	/* dnsmasq's name for it, or its code */
	enum cfg_key key;
	bool per_blade;
	const char *(*get)(const struct dhcp_host *h);
};

static const char *get_root(const struct dhcp_host *h)
{
	return h->root_path;
}

static const char *get_rw(const struct dhcp_host *h)
{
	return h->rw;
}

static const char *get_mode(const struct dhcp_host *h)
{
	return h->image->mode;
}

static const char *get_rwimg(const struct dhcp_host *h)
{
	return h->rwimg;
}

static const char *get_nfs(const struct dhcp_host *h)
{
	return h->image->nfs;
}

static const char *get_rodirs(const struct dhcp_host *h)
{
	return h->rodirs;
}

static const struct host_opt host_opts[] = {
	{ 17, "root-path", "option:root-path", CFG_RO, false, get_root },
	{ DIM_OPT_RW, "dim-rw", "224", CFG_RW, true, get_rw },
	{ DIM_OPT_MODE, "dim-mode", "225", CFG_MODE, false, get_mode },
	{ DIM_OPT_RWIMG, "dim-rwimg", "227", CFG_RWIMG, false, get_rwimg },
	{ DIM_OPT_NFS, "dim-nfs", "228", CFG_NFS, false, get_nfs },
	{ DIM_OPT_RODIRS, "dim-rodirs", "229", CFG_RODIRS, false, get_rodirs },
};

/* The value of option o for h, NULL when it is not sent. */
static const char *opt_value(const struct host_opt *o, const struct dhcp_host *h)
{
	const char *v = o->get(h);

	return v && *v ? v : NULL;
}

/* The contract's option definitions (contract.h), for the files that declare them. */
static const struct {
	int code;
	const char *name;
	const char *isc_type;
	const char *kea_type;
	bool array;
} contract_opts[] = {
	{ DIM_OPT_RW, "dim-rw", "text", "string", false },
	{ DIM_OPT_MODE, "dim-mode", "text", "string", false },
	{ DIM_OPT_SERVERS, "dim-servers", "array of ip-address", "ipv4-address", true },
	{ DIM_OPT_RWIMG, "dim-rwimg", "text", "string", false },
	{ DIM_OPT_NFS, "dim-nfs", "text", "string", false },
	{ DIM_OPT_RODIRS, "dim-rodirs", "text", "string", false },
};

/* One value: safe for the files, short enough, and what the linuxrc accepts. */
static int check_option(const struct dhcp_host *h, const struct host_opt *o, const char *v,
			struct dim_err *err)
{
	char why[64], buf[96];
	const char *bad = unsafe_value(v, why, sizeof(why));

	if (bad)
		return dim_err_set(err, -EINVAL,
				   "blade %s: %s (option %d) \"%s\" holds %s, which cannot go into "
				   "a DHCP configuration",
				   h->blade->name, o->name, o->code, shown(v, buf, sizeof(buf)), bad);
	if (strlen(v) > OPTION_MAX)
		return dim_err_set(err, -ENAMETOOLONG,
				   "blade %s: %s (option %d) \"%s\" is %zu bytes long; an option "
				   "carries at most %d",
				   h->blade->name, o->name, o->code, shown(v, buf, sizeof(buf)),
				   strlen(v), OPTION_MAX);
	if (cfg_keys[o->key].check(v, &bad) < 0)
		return dim_err_set(err, -EINVAL,
				   "blade %s: %s (option %d) \"%s\" %s; the blade's linuxrc would "
				   "refuse it",
				   h->blade->name, o->name, o->code, shown(v, buf, sizeof(buf)), bad);
	return 0;
}

/* What the definition says about an image, checked where it is said. */
static int check_image(const struct cluster *c, const struct cl_blade *b,
		       const struct cl_image *img, struct dim_err *err)
{
	char at[600], why[64], buf[96], boot_file[TFTP_BOOT_FILE_MAX + 1];
	const char *bad;
	unsigned i;

	where(c, img->line, at, sizeof(at));
	if (!name_ok(img->name))
		return dim_err_set(err, -EINVAL,
				   "%simage \"%s\": an image name for DHCP is letters, digits and "
				   "\"_.-\" (blade %s)",
				   at, shown(img->name, buf, sizeof(buf)), b->name);
	bad = unsafe_value(img->kernel, why, sizeof(why));
	if (bad)
		return dim_err_set(err, -EINVAL,
				   "%simage %s: kernel \"%s\" holds %s, which cannot go into a DHCP "
				   "configuration (blade %s)",
				   at, img->name, shown(img->kernel, buf, sizeof(buf)), bad, b->name);
	/* The boot file is IMAGE/KERNEL in the server's TFTP root (tftp.h). */
	if (tftp_boot_file(img, boot_file, sizeof(boot_file), &bad) < 0)
		return dim_err_set(err, -EINVAL,
				   "%simage %s: kernel \"%s\": %s (blade %s)", at, img->name,
				   shown(img->kernel, buf, sizeof(buf)), bad, b->name);
	for (i = 0; i < img->n_shared; i++) {
		bad = unsafe_value(img->shared[i], why, sizeof(why));
		if (bad)
			return dim_err_set(err, -EINVAL,
					   "%simage %s: shared directory \"%s\" holds %s, which "
					   "cannot go into a DHCP configuration (blade %s)",
					   at, img->name, shown(img->shared[i], buf, sizeof(buf)), bad,
					   b->name);
	}
	return 0;
}

static int check_server(const struct cl_server *s, struct dim_err *err)
{
	char why[64], buf[96];
	const char *bad = unsafe_value(s->storage, why, sizeof(why));

	if (bad)
		return dim_err_set(err, -EINVAL,
				   "image server %s: storage \"%s\" holds %s, which cannot go into "
				   "a DHCP configuration",
				   s->name, shown(s->storage, buf, sizeof(buf)), bad);
	return 0;
}

/* "SERVER:" + path into buf, or -ENAMETOOLONG. */
static int location(char *buf, size_t size, const char *server, const char *path)
{
	int n = snprintf(buf, size, "%s:%s", server, path);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int dhcp_host_make(const struct cluster *c, const struct cl_blade *b, struct dhcp_host *h,
		   struct dim_err *err)
{
	char path[DHCP_VALUE_MAX * 2], why[64], buf[96];
	const struct cl_server *s;
	const struct cl_image *img;
	const char *bad;
	size_t o = 0;
	unsigned i;
	int rc;

	memset(h, 0, sizeof(*h));
	if (b->absent || !b->has_mac || b->image == CL_NONE)
		return -ENODATA;
	if (b->server >= c->n_servers || b->image >= c->n_images)
		return dim_err_set(err, -EINVAL, "blade %s: server or image out of range", b->name);
	s = &c->servers[b->server];
	img = &c->images[b->image];
	h->blade = b;
	h->image = img;
	h->server = s;

	/* The name is the host declaration's and the host-name option's (RFC 1123). */
	bad = unsafe_value(b->name, why, sizeof(why));
	if (bad)
		return dim_err_set(err, -EINVAL,
				   "blade \"%s\": its name holds %s, which cannot go into a DHCP "
				   "configuration",
				   shown(b->name, buf, sizeof(buf)), bad);
	if (cfg_check_hostname(b->name, &bad) < 0)
		return dim_err_set(err, -EINVAL, "blade %s: its name, the host-name option, %s",
				   b->name, bad);
	rc = check_server(s, err);
	if (rc < 0)
		return rc;
	rc = check_image(c, b, img, err);
	if (rc < 0)
		return rc;

	snprintf(h->mac, sizeof(h->mac), "%02x:%02x:%02x:%02x:%02x:%02x", b->mac[0], b->mac[1],
		 b->mac[2], b->mac[3], b->mac[4], b->mac[5]);
	inet_ntop(AF_INET, &b->addr, h->addr, sizeof(h->addr));
	inet_ntop(AF_INET, &s->addr, h->server_addr, sizeof(h->server_addr));

	/* The image's shared directories, as the linuxrc's dim.rodirs list. */
	for (i = 0; i < img->n_shared; i++) {
		size_t n = strlen(img->shared[i]);

		if (o + n + 2 > sizeof(h->rodirs))
			return dim_err_set(err, -ENAMETOOLONG,
					   "blade %s: dim-rodirs (option %d): image %s shares more "
					   "directories than fit in %d bytes",
					   b->name, DIM_OPT_RODIRS, img->name, OPTION_MAX);
		if (o)
			h->rodirs[o++] = ',';
		memcpy(h->rodirs + o, img->shared[i], n + 1);
		o += n;
	}

	rc = cluster_ro_path(c, s, img, path, sizeof(path));
	if (rc == 0)
		rc = location(h->root_path, sizeof(h->root_path), h->server_addr, path);
	if (rc < 0)
		return dim_err_set(err, rc, "blade %s: root-path (option 17): %s:%s...: too long",
				   b->name, h->server_addr, s->storage);
	rc = cluster_rw_dir(c, b, img, path, sizeof(path));
	if (rc == 0)
		rc = location(h->rw, sizeof(h->rw), h->server_addr, path);
	if (rc < 0)
		return dim_err_set(err, rc, "blade %s: dim-rw (option %d): %s:%s...: too long",
				   b->name, DIM_OPT_RW, h->server_addr, s->storage);
	/* The model has no per-image file name yet: the default, which is not sent. */
	h->rwimg = NULL;
	/* Checked by check_image(). */
	tftp_boot_file(img, h->boot_file, sizeof(h->boot_file), &bad);
	h->ipxe = tftp_kernel_is_ipxe(img->kernel);

	for (i = 0; i < ARRAY_SIZE(host_opts); i++) {
		const char *v = opt_value(&host_opts[i], h);

		if (v) {
			rc = check_option(h, &host_opts[i], v, err);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- common text */

static void header(struct dhcp_gen *g, struct dhcp_buf *o, const char *cmt, const char *what)
{
	dhcp_buf_printf(o,
			"%s dim dhcp: %s of image server %s (cluster %s).\n"
			"%s Generated from the cluster definition and dim's state; do not edit:\n"
			"%s \"dim dhcp install\" on the image server (\"dim dhcp write\" on the\n"
			"%s management node) writes it again.\n",
			cmt, what, g->s->name, g->c->name, cmt, cmt, cmt);
}

static void include_hint(struct dhcp_gen *g, struct dhcp_buf *o, const char *cmt)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", g->live_dir, g->b->file);
	dhcp_buf_printf(o, "%s\t%s%s%s\n", cmt, g->b->include[0], path, g->b->include[1]);
}

/* ---------------------------------------------------------------- ISC dhcpd */

static void isc_begin(struct dhcp_gen *g)
{
	struct dhcp_buf *o = &g->out;
	size_t i;

	header(g, o, "#", "ISC dhcpd configuration");
	dhcp_buf_puts(o, "# dhcpd.conf includes it and keeps the global settings (authoritative,\n"
			 "# lease times, logging):\n");
	include_hint(g, o, "#");
	dhcp_buf_puts(o, "\n# The boot contract's site-local options, dim-linuxrc(7).\n");
	for (i = 0; i < ARRAY_SIZE(contract_opts); i++)
		dhcp_buf_printf(o, "option %s code %d = %s;\n", contract_opts[i].name,
				contract_opts[i].code, contract_opts[i].isc_type);
	if (g->ipxe)
		dhcp_buf_puts(o, "\n# iPXE's encapsulated options (https://ipxe.org/howto/dhcpd): with\n"
				 "# no-pxedhcp an iPXE blade boots at once instead of waiting seconds\n"
				 "# for ProxyDHCP offers no server here makes.\n"
				 "option space ipxe;\n"
				 "option ipxe-encap-opts code 175 = encapsulate ipxe;\n"
				 "option ipxe.no-pxedhcp code 176 = unsigned integer 8;\n");
	dhcp_buf_printf(o,
			"\n# The boot network of %s.  No pool: a MAC without a host entry below\n"
			"# gets no answer.\n"
			"subnet %s netmask %s {\n"
			"\toption subnet-mask %s;\n"
			"\toption routers %s;\n"
			"}\n",
			g->s->name, g->net, g->mask, g->mask, g->server_addr);
}

/* Host declarations are global in dhcpd (dhcpd.conf(5)): at the top level. */
static void isc_host(struct dhcp_gen *g, const struct dhcp_host *h)
{
	struct dhcp_buf *o = &g->out;
	size_t i;

	dhcp_buf_printf(o,
			"\nhost %s {\t# %s, image %s\n"
			"\thardware ethernet %s;\n"
			"\tfixed-address %s;\n"
			"\toption host-name \"%s\";\n"
			"\tnext-server %s;\n"
			"\tfilename \"%s\";\n",
			h->blade->name, h->blade->linear, h->image->name, h->mac, h->addr,
			h->blade->name, h->server_addr, h->boot_file);
	if (h->ipxe)
		dhcp_buf_puts(o, "\toption ipxe.no-pxedhcp 1;\n");
	for (i = 0; i < ARRAY_SIZE(host_opts); i++) {
		const char *v = opt_value(&host_opts[i], h);

		if (v)
			dhcp_buf_printf(o, "\toption %s \"%s\";\n", host_opts[i].name, v);
	}
	dhcp_buf_puts(o, "}\n");
}

/* dhcpd -t prints a banner and, after an error, advice about bug reports. */
static const char *const isc_noise[] = {
	"Internet Systems Consortium DHCP Server", "Copyright ", "All rights reserved.",
	"For info, please visit", "Config file: ", "Database file: ", "PID file: ",
	"If you think you have received", "than a configuration issue", "bugs on either",
	"before submitting a bug", "process and the information", "exiting.", NULL,
};

/* ---------------------------------------------------------------- Kea */

/* Kea splits option data at commas (csv-format); a comma inside a string is "\\,". */
static void kea_data(struct dhcp_buf *o, const char *v)
{
	const char *comma;

	while ((comma = strchr(v, ','))) {
		dhcp_buf_putn(o, v, (size_t)(comma - v));
		dhcp_buf_puts(o, "\\\\,");
		v = comma + 1;
	}
	dhcp_buf_puts(o, v);
}

static void kea_begin(struct dhcp_gen *g)
{
	struct dhcp_buf *o = &g->out;
	size_t i;

	header(g, o, "//", "Kea DHCPv4 configuration");
	dhcp_buf_puts(o, "// The \"Dhcp4\" map of kea-dhcp4.conf includes it as its last entry and\n"
			 "// keeps interfaces-config, lease-database, control-socket and lifetimes:\n");
	include_hint(g, o, "//");
	dhcp_buf_puts(o, "\n// The boot contract's site-local options, dim-linuxrc(7).\n"
			 "\"option-def\": [\n");
	for (i = 0; i < ARRAY_SIZE(contract_opts); i++)
		dhcp_buf_printf(o,
				"\t{ \"space\": \"dhcp4\", \"name\": \"%s\", \"code\": %d, "
				"\"type\": \"%s\"%s }%s\n",
				contract_opts[i].name, contract_opts[i].code,
				contract_opts[i].kea_type, contract_opts[i].array ? ", \"array\": true" : "",
				i + 1 < ARRAY_SIZE(contract_opts) || g->ipxe ? "," : "");
	/* iPXE's option 175 holds its own options; no-pxedhcp: no ProxyDHCP wait. */
	if (g->ipxe)
		dhcp_buf_puts(o, "\t{ \"space\": \"dhcp4\", \"name\": \"ipxe-encap-opts\", "
				 "\"code\": 175, \"type\": \"empty\", \"encapsulate\": \"ipxe\" },\n"
				 "\t{ \"space\": \"ipxe\", \"name\": \"no-pxedhcp\", \"code\": 176, "
				 "\"type\": \"uint8\" }\n");
	dhcp_buf_printf(o,
			"],\n"
			"// The boot network of %s.  No pool: a MAC without a reservation gets no\n"
			"// answer.\n"
			"\"subnet4\": [\n"
			"\t{\n"
			"\t\t\"id\": %u,\n"
			"\t\t\"subnet\": \"%s/%u\",\n"
			"\t\t\"option-data\": [ { \"name\": \"routers\", \"data\": \"%s\" } ],\n"
			"\t\t\"reservations\": [",
			g->s->name, g->s->index + 1, g->net, g->s->prefix, g->server_addr);
}

static void kea_host(struct dhcp_gen *g, const struct dhcp_host *h)
{
	struct dhcp_buf *o = &g->out;
	const char *sep = "";
	size_t i;

	dhcp_buf_printf(o,
			"%s\n"
			"\t\t\t{\n"
			"\t\t\t\t\"hw-address\": \"%s\",\n"
			"\t\t\t\t\"ip-address\": \"%s\",\n"
			"\t\t\t\t\"hostname\": \"%s\",\n"
			"\t\t\t\t\"next-server\": \"%s\",\n"
			"\t\t\t\t\"boot-file-name\": \"%s\",\n"
			"\t\t\t\t\"user-context\": { \"dim-linear\": \"%s\", \"dim-image\": \"%s\" },\n"
			"\t\t\t\t\"option-data\": [",
			g->n_hosts ? "," : "", h->mac, h->addr, h->blade->name, h->server_addr,
			h->boot_file, h->blade->linear, h->image->name);
	for (i = 0; i < ARRAY_SIZE(host_opts); i++) {
		const char *v = opt_value(&host_opts[i], h);

		if (!v)
			continue;
		dhcp_buf_printf(o, "%s\n\t\t\t\t\t{ \"name\": \"%s\", \"data\": \"", sep,
				host_opts[i].name);
		kea_data(o, v);
		dhcp_buf_puts(o, "\" }");
		sep = ",";
	}
	if (h->ipxe)
		dhcp_buf_printf(o, "%s\n\t\t\t\t\t{ \"space\": \"dhcp4\", \"name\": \"ipxe-encap-opts\" },"
				"\n\t\t\t\t\t{ \"space\": \"ipxe\", \"name\": \"no-pxedhcp\", "
				"\"data\": \"1\" }", sep);
	dhcp_buf_puts(o, "\n\t\t\t\t]\n\t\t\t}");
}

static void kea_end(struct dhcp_gen *g)
{
	dhcp_buf_puts(&g->out, "\n\t\t]\n\t}\n]\n");
}

/* kea-dhcp4 -t logs what it configures at level INFO. */
static const char *const kea_noise[] = {
	" INFO  [", " DEBUG [", "Unable to use interprocess sync lockfile", NULL,
};

/* ---------------------------------------------------------------- dnsmasq */

/*
 * One file, read at start only: a change needs a restart.  SIGHUP would
 * re-read a --dhcp-hostsfile, but the per-blade option (224) needs a tag per
 * host, and dnsmasq 2.90 (Debian 12) crashes with SIGSEGV when it re-reads
 * host lines that set tags while it holds a lease for one of them.
 *
 * Tags: dim-net-SERVER (set by the range), dim-img-IMAGE and dim-blade-BLADE
 * (set by each host line).  next-server (siaddr) is dnsmasq's option 255,
 * server-ip-address, when no dhcp-boot is given.
 */
static void dnsmasq_begin(struct dhcp_gen *g)
{
	struct dhcp_buf *o = &g->out;

	header(g, o, "#", "dnsmasq configuration");
	dhcp_buf_puts(o, "# dnsmasq.conf includes it; dnsmasq reads it at start only:\n");
	include_hint(g, o, "#");
	dhcp_buf_printf(o,
			"\n# The boot network of %s; \"static\": only the hosts below get an\n"
			"# address, a MAC not listed gets no answer.\n"
			"dhcp-range=set:dim-net-%s,%s,static,%s\n"
			"dhcp-option=tag:dim-net-%s,option:router,%s\n"
			"dhcp-option=tag:dim-net-%s,option:server-ip-address,%s\n",
			g->s->name, g->s->name, g->net, g->mask, g->s->name, g->server_addr,
			g->s->name, g->server_addr);
}

static void dnsmasq_opt(struct dhcp_buf *o, const char *kind, const char *tag,
			const char *opt, const char *v)
{
	dhcp_buf_printf(o, "dhcp-option=tag:dim-%s-%s,%s,\"%s\"\n", kind, tag, opt, v);
}

/* The options every blade of an image shares, once per image. */
static void dnsmasq_image(struct dhcp_gen *g, const struct dhcp_host *h)
{
	struct dhcp_buf *o = &g->out;
	const char *tag = h->image->name;
	size_t i;

	dhcp_buf_printf(o, "\n# image %s\n", tag);
	dnsmasq_opt(o, "img", tag, "option:bootfile-name", h->boot_file);
	/* iPXE's option 175 holding no-pxedhcp (176) = 1, as bytes: no ProxyDHCP wait. */
	if (h->ipxe)
		dhcp_buf_printf(o, "dhcp-option=tag:dim-img-%s,175,b0:01:01\n", tag);
	for (i = 0; i < ARRAY_SIZE(host_opts); i++) {
		const char *v = opt_value(&host_opts[i], h);

		if (v && !host_opts[i].per_blade)
			dnsmasq_opt(o, "img", tag, host_opts[i].dnsmasq, v);
	}
}

static void dnsmasq_host(struct dhcp_gen *g, const struct dhcp_host *h)
{
	struct dhcp_buf *o = &g->out;
	const char *name = h->blade->name;
	size_t i;

	dhcp_buf_printf(o,
			"\n# %s %s, image %s\n"
			"dhcp-host=%s,set:dim-img-%s,set:dim-blade-%s,%s,%s\n",
			name, h->blade->linear, h->image->name, h->mac, h->image->name, name,
			h->addr, name);
	for (i = 0; i < ARRAY_SIZE(host_opts); i++) {
		const char *v = opt_value(&host_opts[i], h);

		if (v && host_opts[i].per_blade)
			dnsmasq_opt(o, "blade", name, host_opts[i].dnsmasq, v);
	}
}

static const char *const dnsmasq_noise[] = { NULL };

/* ---------------------------------------------------------------- the table */

const struct dhcp_backend dhcp_backends[] = {
	{
		.name = "isc",
		.daemon = "dhcpd",
		.file = "dim-dhcpd.conf",
		.include = { "include \"", "\";" },
		.check_argv = { "dhcpd", "-t", "-4", "-cf", "%s", NULL },
		.wrapper = { "include \"", "\";\n" },
		.noise = isc_noise,
		.begin = isc_begin,
		.host = isc_host,
	},
	{
		.name = "kea",
		.daemon = "kea-dhcp4",
		.file = "dim-kea-dhcp4.json",
		.include = { "<?include \"", "\"?>" },
		.check_argv = { "kea-dhcp4", "-t", "%s", NULL },
		.wrapper = { "{ \"Dhcp4\": {\n"
			     "\t\"interfaces-config\": { \"interfaces\": [ ] },\n"
			     "\t\"lease-database\": { \"type\": \"memfile\", \"persist\": false },\n"
			     "<?include \"",
			     "\"?>\n} }\n" },
		.noise = kea_noise,
		.hup_reloads = true,
		.control_socket = true,
		.begin = kea_begin,
		.host = kea_host,
		.end = kea_end,
	},
	{
		.name = "dnsmasq",
		.daemon = "dnsmasq",
		.file = "dim-dnsmasq.conf",
		.include = { "conf-file=", "" },
		.check_argv = { "dnsmasq", "--test", "--conf-file=%s", NULL },
		.wrapper = { "conf-file=", "\n" },
		.noise = dnsmasq_noise,
		.begin = dnsmasq_begin,
		.image = dnsmasq_image,
		.host = dnsmasq_host,
	},
};
const unsigned dhcp_n_backends = ARRAY_SIZE(dhcp_backends);

const struct dhcp_backend *dhcp_backend_find(const char *name)
{
	unsigned i;

	for (i = 0; i < dhcp_n_backends; i++)
		if (!strcmp(dhcp_backends[i].name, name))
			return &dhcp_backends[i];
	return NULL;
}

const struct dhcp_backend *dhcp_backend_of(const struct cluster *c, const struct cl_server *s,
					   struct dim_err *err)
{
	const struct dhcp_backend *b = dhcp_backend_find(s->dhcp);
	char buf[64];

	(void)c;
	if (!b)
		dim_err_set(err, -EINVAL,
			    "image server %s: unknown DHCP server \"%s\" (isc, kea or dnsmasq)",
			    s->name, shown(s->dhcp, buf, sizeof(buf)));
	return b;
}

/* ---------------------------------------------------------------- generating */

static int gen_init(struct dhcp_gen *g, const struct cluster *c, const struct cl_server *s,
		    const struct dhcp_backend *b, const char *live_dir, struct dim_err *err)
{
	char why[64], buf[96];
	const char *bad;

	memset(g, 0, sizeof(*g));
	g->c = c;
	g->s = s;
	g->b = b;
	g->live_dir = live_dir;
	bad = unsafe_value(live_dir, why, sizeof(why));
	if (bad || live_dir[0] != '/' || strlen(live_dir) > 1024)
		return dim_err_set(err, -EINVAL,
				   "%s: the directory on the image server must be an absolute path "
				   "without quotes, spaces or control characters%s%s",
				   shown(live_dir, buf, sizeof(buf)), bad ? "; it holds " : "",
				   bad ? bad : "");
	inet_ntop(AF_INET, &s->addr, g->server_addr, sizeof(g->server_addr));
	inet_ntop(AF_INET, &s->net, g->net, sizeof(g->net));
	inet_ntop(AF_INET, &s->mask, g->mask, sizeof(g->mask));
	return 0;
}


static int push_index(unsigned **v, unsigned *n, unsigned i)
{
	unsigned *p;

	/* Grow at powers of two. */
	if ((*n & (*n - 1)) == 0) {
		p = realloc(*v, (*n ? *n * 2 : 8) * sizeof(**v));
		if (!p)
			return -ENOMEM;
		*v = p;
	}
	(*v)[(*n)++] = i;
	return 0;
}

int dhcp_generate(const struct cluster *c, const struct cl_server *s,
		  const struct dhcp_backend *b, const char *live_dir, struct dhcp_conf *conf,
		  struct dim_err *err)
{
	struct dhcp_host *hosts = NULL;
	unsigned *first_of_image = NULL;
	unsigned i, n = 0;
	struct dhcp_gen g;
	int rc;

	memset(conf, 0, sizeof(*conf));
	if (!b) {
		b = dhcp_backend_of(c, s, err);
		if (!b)
			return -EINVAL;
	}
	rc = gen_init(&g, c, s, b, live_dir, err);
	if (rc < 0)
		return rc;
	conf->backend = b;
	conf->server = s;

	/* Compute and check every entry first: nothing is generated from a bad model. */
	hosts = calloc(s->n_blades ? s->n_blades : 1, sizeof(*hosts));
	first_of_image = malloc((c->n_images ? c->n_images : 1) * sizeof(*first_of_image));
	if (!hosts || !first_of_image) {
		rc = dim_err_set(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	for (i = 0; i < c->n_images; i++)
		first_of_image[i] = CL_NONE;
	for (i = s->first_blade; i < s->first_blade + s->n_blades; i++) {
		const struct cl_blade *bl = &c->blades[i];

		rc = dhcp_host_make(c, bl, &hosts[n], err);
		if (rc == -ENODATA) {
			rc = 0;
			if (bl->absent)
				continue;
			if (!bl->has_mac)
				rc = push_index(&conf->no_mac, &conf->n_no_mac, i);
			else
				rc = push_index(&conf->no_image, &conf->n_no_image, i);
			if (rc < 0) {
				dim_err_set(err, rc, "out of memory");
				goto err_free;
			}
			continue;
		}
		if (rc < 0)
			goto err_free;
		if (first_of_image[bl->image] == CL_NONE)
			first_of_image[bl->image] = n;
		g.ipxe |= hosts[n].ipxe;
		n++;
	}

	b->begin(&g);
	if (b->image)
		for (i = 0; i < c->n_images; i++)
			if (first_of_image[i] != CL_NONE)
				b->image(&g, &hosts[first_of_image[i]]);
	for (i = 0; i < n; i++) {
		b->host(&g, &hosts[i]);
		g.n_hosts++;
	}
	if (b->end)
		b->end(&g);
	rc = g.out.rc;
	if (rc < 0) {
		dim_err_set(err, rc, "image server %s: out of memory", s->name);
		goto err_free;
	}
	conf->text = g.out;
	memset(&g.out, 0, sizeof(g.out));
	conf->n_hosts = n;
	free(hosts);
	free(first_of_image);
	return 0;

err_free:
	free(hosts);
	free(first_of_image);
	dhcp_buf_free(&g.out);
	dhcp_conf_free(conf);
	return rc;
}

void dhcp_conf_free(struct dhcp_conf *conf)
{
	dhcp_buf_free(&conf->text);
	free(conf->no_mac);
	free(conf->no_image);
	memset(conf, 0, sizeof(*conf));
}

int dhcp_show(const struct cluster *c, const struct cl_blade *blade,
	      const struct dhcp_backend *b, struct dhcp_buf *out, struct dim_err *err)
{
	const struct cl_server *s;
	struct dhcp_host h;
	struct dhcp_gen g;
	int rc;

	if (blade->server >= c->n_servers)
		return dim_err_set(err, -EINVAL, "blade %s: no image server", blade->name);
	s = &c->servers[blade->server];
	if (!b) {
		b = dhcp_backend_of(c, s, err);
		if (!b)
			return -EINVAL;
	}
	rc = dhcp_host_make(c, blade, &h, err);
	if (rc == -ENODATA)
		return dim_err_set(err, -ENODATA, "blade %s gets no host entry: %s", blade->name,
				   blade->absent      ? "its bay is empty (<absent> in the definition)"
				   : !blade->has_mac ? "no MAC is known (dim dhcp mac BLADE MAC)"
						     : "no image is assigned (dim dhcp assign IMAGE BLADE)");
	if (rc < 0)
		return rc;
	rc = gen_init(&g, c, s, b, DHCP_LIVE_DIR, err);
	if (rc < 0)
		return rc;
	g.ipxe = h.ipxe;
	if (b->image)
		b->image(&g, &h);
	b->host(&g, &h);
	/* The entry itself, without the blank line that separates it in the file. */
	if (!g.out.rc && g.out.len) {
		dhcp_buf_puts(out, g.out.data[0] == '\n' ? g.out.data + 1 : g.out.data);
		if (g.out.data[g.out.len - 1] != '\n')
			dhcp_buf_puts(out, "\n");
	}
	rc = g.out.rc ? g.out.rc : out->rc;
	dhcp_buf_free(&g.out);
	if (rc < 0)
		return dim_err_set(err, rc, "out of memory");
	return 0;
}

void dhcp_blade_list(const struct cluster *c, const unsigned *idx, unsigned n, char *buf,
		     size_t size)
{
	size_t o = 0;
	unsigned i, j;
	int w;

	if (!size)
		return;
	buf[0] = '\0';
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && idx[j] == idx[j - 1] + 1; j++)
			;
		if (j - 1 > i)
			w = snprintf(buf + o, size - o, "%s%s-%s", i ? ", " : "",
				     c->blades[idx[i]].name, c->blades[idx[j - 1]].name);
		else
			w = snprintf(buf + o, size - o, "%s%s", i ? ", " : "",
				     c->blades[idx[i]].name);
		/* Keep room for ", ... (N more)". */
		if (w < 0 || o + (size_t)w + 24 >= size) {
			snprintf(buf + o, size - o, ", ... (%u more)", n - i);
			return;
		}
		o += (size_t)w;
	}
}
