/* SPDX-License-Identifier: MIT */
/*
 * The cluster definition loader: XML (dim-cluster(5)) in, struct cluster out.
 *
 * Four steps, each with its own kind of message:
 *
 *  1. parse: libxml2 with XML_PARSE_NONET, never XML_PARSE_NOENT, no DTD
 *     loading, no XInclude; a DOCTYPE stops the parser at once, so no entity
 *     is ever declared, let alone expanded (billion laughs, external
 *     entities reading local files).  Errors: "FILE:LINE: not well-formed: ...".
 *  2. validate against the RelaxNG schema compiled into dim
 *     (config/dim-cluster.rng).  The first error only, as
 *     "FILE:LINE: element X: ..."; where libxml2 only says an element's
 *     attributes failed, the value checks below name the attribute and why.
 *  3. build the model: every value is checked again as it is converted (the
 *     schema is the first line, not the only one), names and addresses are
 *     computed from the naming levels and the address rules.
 *  4. check meaning: subnets, duplicate addresses and MACs, references,
 *     ranges that select nothing -- "FILE:LINE: blade s01c1b07: ...".
 *
 * Duplicates are found by sorting, never by comparing all pairs: loading
 * 10,000 blades costs milliseconds.  No xmlNode leaves this file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "cluster_int.h"
#include "contract.h"
#include "fsutil.h"
#include "mac.h"
#include "schema.h"

#define DIM_CLUSTER_NS	"urn:dim:cluster:1"
#define DEF_MAX_BYTES	(64u << 20)	/* a definition is a few lines, or one <mac> per blade */
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- value checks */

static bool in_set(char ch, const char *set)
{
	return ch && strchr(set, ch);
}

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* first character alphanumeric, the rest alphanumeric or from extra, 1..max long */
static bool ok_word(const char *v, const char *extra, size_t max, bool alpha_first)
{
	size_t i;

	if (!v[0] || !(alpha_first ? is_alpha(v[0]) : is_alnum(v[0])))
		return false;
	for (i = 1; v[i]; i++)
		if (!is_alnum(v[i]) && !in_set(v[i], extra))
			return false;
	return i <= max;
}

static bool ok_ident(const char *v)
{
	return ok_word(v, "._-", CL_NAME_MAX - 1, false);
}

static bool ok_host(const char *v)
{
	return ok_word(v, ".-", CL_NAME_MAX - 1, false);
}

static bool ok_nodename(const char *v)
{
	return ok_word(v, "", CL_NAME_MAX - 1, false);
}

static bool ok_levelname(const char *v)
{
	return ok_word(v, "_-", 15, true);
}

static bool ok_letters(const char *v, size_t max)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (!is_alpha(v[i]))
			return false;
	return i && i <= max;
}

static bool ok_word15(const char *v)
{
	return ok_letters(v, 15);
}

static bool ok_word7(const char *v)
{
	return ok_letters(v, 7);
}

static bool ok_number(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (!is_digit(v[i]))
			return false;
	return i && i <= 9;
}

/* Dotted quad, each part 0..255 without leading zeros (010 would be octal to some tools). */
static int parse_ipv4(const char *v, uint32_t *out)
{
	uint32_t a = 0;
	unsigned part;
	int i;

	for (i = 0; i < 4; i++) {
		const char *s = v;

		if (!is_digit(*v))
			return -EINVAL;
		for (part = 0; is_digit(*v) && v - s < 4; v++)
			part = part * 10 + (unsigned)(*v - '0');
		if (v - s > 3 || part > 255 || (v - s > 1 && *s == '0'))
			return -EINVAL;
		a = a << 8 | part;
		if (i < 3 && *v++ != '.')
			return -EINVAL;
	}
	if (*v)
		return -EINVAL;
	*out = a;
	return 0;
}

static bool ok_ipv4(const char *v)
{
	uint32_t a;

	return parse_ipv4(v, &a) == 0;
}

static bool ok_mac(const char *v)
{
	uint8_t mac[6];

	return mac_parse(v, false, mac) == 0;
}

/* Bytes with an optional binary suffix: 64M, 2G.  -ERANGE past 2^64 - 1. */
static int parse_size(const char *v, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	uint64_t n = 0;
	const char *s = v, *suf;
	unsigned shift = 0;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	if (*s) {
		suf = strchr(suffixes, *s);
		if (!suf || s[1])
			return -EINVAL;
		shift = 10 * (unsigned)(suf - suffixes + 1);
	}
	if (shift && n > UINT64_MAX >> shift)
		return -ERANGE;
	*out = n << shift;
	return 0;
}

static bool ok_size(const char *v)
{
	uint64_t n;

	return parse_size(v, &n) != -EINVAL;
}

/*
 * Paths that reach DHCP and NFS configuration files, exports and argv:
 * only [A-Za-z0-9._+-] and '/', no empty, "." or ".." component, no
 * trailing '/'.  glob adds the shell pattern characters * ? [ ].
 */
static bool ok_path_chars(const char *v, bool absolute, bool glob, size_t max)
{
	const char *comp;
	size_t i, n;

	if (absolute ? v[0] != '/' : !v[0])
		return false;
	if (!absolute && v[0] == '-')
		return false;
	comp = v[0] == '/' ? v + 1 : v;
	for (;;) {
		n = strcspn(comp, "/");
		if (!n || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
			return false;
		for (i = 0; i < n; i++)
			if (!is_alnum(comp[i]) && !in_set(comp[i], "._+-") &&
			    !(glob && in_set(comp[i], "*?[]")))
				return false;
		if (!comp[n])
			break;
		comp += n + 1;
	}
	return strlen(v) <= max;
}

static bool ok_abspath(const char *v)
{
	return ok_path_chars(v, true, false, 255);
}

static bool ok_filename(const char *v)
{
	return ok_path_chars(v, false, false, 255);
}

static bool ok_glob(const char *v)
{
	return ok_path_chars(v, true, true, 255);
}

/*
 * An image's master (dim sync_master's source): an rsync daemon module,
 * rsync://HOST[:PORT]/MODULE[/PATH], or rsync over ssh, [USER@]HOST:/PATH.
 * Only characters that no shell or rsync argument treats specially.
 */
static bool ok_rsync_source(const char *v)
{
	const char *p = v, *rest;
	size_t i;

	if (!strncmp(v, "rsync://", 8)) {
		p = v + 8;
		for (i = 0; p[i] && p[i] != '/'; i++)
			if (!is_alnum(p[i]) && !in_set(p[i], ".-:"))
				return false;
		if (!i || p[i] != '/' || !p[i + 1])
			return false;
		rest = p + i;
	} else {
		rest = strchr(v, ':');
		if (!rest || rest == v || rest[1] != '/')
			return false;
		for (; p < rest; p++)
			if (!is_alnum(*p) && !in_set(*p, ".-_@"))
				return false;
		rest++;
		if (!strcmp(rest, "/"))
			return true;
	}
	for (i = 0; rest[i]; i++)
		if (!is_alnum(rest[i]) && !in_set(rest[i], "._+-/"))
			return false;
	return !strstr(rest, "/../") && !strstr(rest, "//") && i <= 255;
}

static bool ok_dirname(const char *v)
{
	return ok_path_chars(v, false, false, CL_NAME_MAX - 1) && !strchr(v, '/');
}

static bool ok_nodes(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (!is_alnum(v[i]) && !in_set(v[i], "[],- "))
			return false;
	return i && i <= 4096;
}

/* Free text (an image's distribution): printable ASCII that no config file quotes specially. */
static bool ok_text(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || in_set(v[i], "\"'\\;#$`{}"))
			return false;
	return i <= 127;
}

static int parse_strides_syntax(const char *v);

static bool ok_strides(const char *v)
{
	return parse_strides_syntax(v) == 0;
}

static const char *const roles[] = { "none", "server", "chassis", "blade", NULL };
static const char *const dhcp_backends[] = { "isc", "kea", "dnsmasq", NULL };
static const char *const nfs_servers[] = { "kernel", "ganesha", NULL };
static const char *const modes[] = { "bind", "overlay", NULL };
static const char *const nfs_versions[] = { "auto", "3", "4", "4.0", "4.1", "4.2", NULL };
static const char *const cred_types[] = { "snmp", "ipmi", NULL };
static const char *const sync_transports[] = { "ssh", "rsyncd", NULL };

enum vkind {
	V_IDENT, V_HOST, V_NODENAME, V_LEVELNAME, V_WORD15, V_WORD7, V_NUMBER, V_IPV4,
	V_STRIDES, V_MAC, V_SIZE, V_ABSPATH, V_FILENAME, V_NODES, V_TEXT,
	V_ROLE, V_DHCP, V_NFSSRV, V_MODE, V_NFSVER, V_CREDTYPE,
	V_SYNC, V_RSYNCSRC,
};

static const struct vcheck {
	bool (*ok)(const char *v);
	const char *const *choices;
	const char *what;
} vchecks[] = {
	[V_IDENT] = { ok_ident, NULL, "a name: letters, digits, '.', '_', '-', first a letter or digit, at most 63" },
	[V_HOST] = { ok_host, NULL, "a host name: letters, digits, '.', '-', first a letter or digit" },
	[V_NODENAME] = { ok_nodename, NULL, "a node name like s01c1b01 or b1" },
	[V_LEVELNAME] = { ok_levelname, NULL, "a level name: a letter, then letters, digits, '_', '-', at most 15" },
	[V_WORD15] = { ok_word15, NULL, "1 to 15 letters" },
	[V_WORD7] = { ok_word7, NULL, "1 to 7 letters" },
	[V_NUMBER] = { ok_number, NULL, "a number (at most 9 digits)" },
	[V_IPV4] = { ok_ipv4, NULL, "an IPv4 address (dotted quad, no leading zeros)" },
	[V_STRIDES] = { ok_strides, NULL, "level:stride pairs, a stride a dotted quad or a number (server:0.0.1.0 blade:1)" },
	[V_MAC] = { ok_mac, NULL, "a MAC address (52:54:00:12:34:56)" },
	[V_SIZE] = { ok_size, NULL, "a size in bytes with an optional K, M, G or T suffix (64M)" },
	[V_ABSPATH] = { ok_abspath, NULL, "an absolute path of letters, digits, '.', '_', '+', '-' with no '.', '..' or empty component" },
	[V_FILENAME] = { ok_filename, NULL, "a file name of letters, digits, '.', '_', '+', '-', '/' with no '.', '..' or empty component" },
	[V_NODES] = { ok_nodes, NULL, "a node range (s01c1b01-s01c1b14, b[1-4], all)" },
	[V_TEXT] = { ok_text, NULL, "printable ASCII without quotes, '\\', ';', '#', '$', '`' or braces, at most 127" },
	[V_ROLE] = { NULL, roles, "server, chassis, blade or none" },
	[V_DHCP] = { NULL, dhcp_backends, "isc, kea or dnsmasq" },
	[V_NFSSRV] = { NULL, nfs_servers, "kernel or ganesha" },
	[V_MODE] = { NULL, modes, "bind or overlay" },
	[V_NFSVER] = { NULL, nfs_versions, "auto, 3, 4, 4.0, 4.1 or 4.2" },
	[V_CREDTYPE] = { NULL, cred_types, "snmp or ipmi" },
	[V_SYNC] = { NULL, sync_transports, "ssh or rsyncd" },
	[V_RSYNCSRC] = { ok_rsync_source, NULL, "rsync://HOST[:PORT]/MODULE[/PATH] or [USER@]HOST:/PATH" },
};

static bool value_ok(enum vkind k, const char *v)
{
	const struct vcheck *vc = &vchecks[k];
	unsigned i;

	if (vc->ok)
		return vc->ok(v);
	for (i = 0; vc->choices[i]; i++)
		if (!strcmp(v, vc->choices[i]))
			return true;
	return false;
}

/* Every attribute of the format and what its value must look like (the schema says the same). */
static const struct attr_spec {
	const char *elem, *attr;
	enum vkind kind;
	bool required;
} attr_specs[] = {
	{ "cluster", "name", V_IDENT, true },
	{ "management", "name", V_HOST, true },
	{ "management", "address", V_IPV4, true },
	{ "management", "storage", V_ABSPATH, false },
	{ "naming", "blade-linear", V_WORD7, false },
	{ "naming", "chassis-linear", V_WORD7, false },
	{ "naming", "mm-suffix", V_WORD7, false },
	{ "level", "name", V_LEVELNAME, true },
	{ "level", "prefix", V_WORD15, true },
	{ "level", "count", V_NUMBER, true },
	{ "level", "pad", V_NUMBER, false },
	{ "level", "first", V_NUMBER, false },
	{ "level", "role", V_ROLE, false },
	{ "imageservers", "storage", V_ABSPATH, false },
	{ "imageservers", "dhcp", V_DHCP, false },
	{ "imageservers", "nfs", V_NFSSRV, false },
	{ "imageservers", "sync", V_SYNC, false },
	{ "imageserver", "name", V_NODENAME, true },
	{ "imageserver", "storage", V_ABSPATH, false },
	{ "imageserver", "dhcp", V_DHCP, false },
	{ "imageserver", "nfs", V_NFSSRV, false },
	{ "imageserver", "sync", V_SYNC, false },
	{ "network", "base", V_IPV4, true },
	{ "network", "prefix", V_NUMBER, true },
	{ "network", "strides", V_STRIDES, false },
	{ "address", "base", V_IPV4, true },
	{ "address", "strides", V_STRIDES, false },
	{ "chassis", "credentials", V_IDENT, false },
	{ "use", "nodes", V_NODES, true },
	{ "use", "credentials", V_IDENT, true },
	{ "bmc", "base", V_IPV4, true },
	{ "bmc", "strides", V_STRIDES, false },
	{ "credentials", "name", V_IDENT, true },
	{ "credentials", "type", V_CREDTYPE, true },
	{ "credentials", "file", V_ABSPATH, true },
	{ "image", "name", V_IDENT, true },
	{ "image", "distribution", V_TEXT, false },
	{ "image", "kernel", V_FILENAME, true },
	{ "image", "mode", V_MODE, false },
	{ "image", "nfs", V_NFSVER, false },
	{ "image", "rw-size", V_SIZE, true },
	{ "image", "master", V_RSYNCSRC, false },
	{ "boot", "image", V_IDENT, true },
	{ "boot", "nodes", V_NODES, true },
	{ "absent", "nodes", V_NODES, true },
	{ "mac", "node", V_NODENAME, true },
	{ "mac", "address", V_MAC, true },
};

static const struct attr_spec *attr_spec(const char *elem, const char *attr)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(attr_specs); i++)
		if (!strcmp(attr_specs[i].elem, elem) && !strcmp(attr_specs[i].attr, attr))
			return &attr_specs[i];
	return NULL;
}

/* ---------------------------------------------------------------- the loader */

struct loader {
	struct cluster *c;
	struct dim_err *err;
	xmlNode *root;
	struct cl_rule net_rule, srv_rule, mm_rule, blade_rule;
	struct cl_rule bmc_rule;	/* <blades><bmc>; line 0 if none */
	unsigned net_prefix;
	const char *mm_cred;		/* <chassis credentials=...>, resolved after pass 0 */
	unsigned *mac_line;		/* per blade: the line of its <mac>, 0 for none */
	unsigned *override_line;	/* per image server: the line of its <imageserver> */
};

static unsigned line_of(const xmlNode *n)
{
	long l = xmlGetLineNo(n);

	return l > 0 ? (unsigned)l : 0;
}

static const char *elem_name(const xmlNode *n)
{
	return (const char *)n->name;
}

/* "FILE:LINE: message"; returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
static int lerr(struct loader *L, unsigned line, const char *fmt, ...)
{
	char msg[sizeof(L->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return dim_err_set(L->err, -EINVAL, "%s:%u: %s", L->c->file, line, msg);
}

/* A value from the document, quoted for a message: cut, control bytes escaped. */
static const char *quote(char *buf, size_t size, const char *s)
{
	size_t o = 0;

	for (; *s && o + 8 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '"')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
	}
	if (*s && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * An attribute's value, without copying.  Without a DTD, libxml2 keeps an
 * attribute as one text node (character and predefined entity references
 * already replaced); anything else cannot come from a valid document and
 * reads as a value no check accepts.
 */
static const char *attr_raw(const xmlNode *n, const char *name)
{
	const xmlAttr *a;

	for (a = n->properties; a; a = a->next) {
		if (a->ns || strcmp((const char *)a->name, name))
			continue;
		if (!a->children)
			return "";
		if (a->children->type == XML_TEXT_NODE && !a->children->next && a->children->content)
			return (const char *)a->children->content;
		return "\x7f";
	}
	return NULL;
}

/* Check one attribute against its spec: 0, or -EINVAL with "FILE:LINE: element E: attribute A: ...". */
static int attr_check(struct loader *L, const xmlNode *n, const struct attr_spec *spec,
		      const char *v)
{
	char q[96];

	if (!v) {
		if (!spec->required)
			return 0;
		return lerr(L, line_of(n), "element %s: attribute %s is missing", spec->elem,
			    spec->attr);
	}
	if (value_ok(spec->kind, v))
		return 0;
	return lerr(L, line_of(n), "element %s: attribute %s: \"%s\" is not %s", spec->elem,
		    spec->attr, quote(q, sizeof(q), v), vchecks[spec->kind].what);
}

/* The checked value of an attribute of n, NULL if it is optional and absent. */
static int get(struct loader *L, const xmlNode *n, const char *attr, const char **out)
{
	const struct attr_spec *spec = attr_spec(elem_name(n), attr);
	const char *v = attr_raw(n, attr);
	int rc;

	if (!spec)	/* a bug here, not in the definition */
		return lerr(L, line_of(n), "element %s: attribute %s is unknown to dim",
			    elem_name(n), attr);
	rc = attr_check(L, n, spec, v);
	*out = v;
	return rc;
}

static int get_or(struct loader *L, const xmlNode *n, const char *attr, const char *def,
		  const char **out)
{
	int rc = get(L, n, attr, out);

	if (!rc && !*out)
		*out = def;
	return rc;
}

/* A number attribute in [lo, hi]. */
static int get_num(struct loader *L, const xmlNode *n, const char *attr, unsigned def,
		   unsigned long lo, unsigned long hi, unsigned *out)
{
	const char *v;
	unsigned long x;
	int rc;

	rc = get(L, n, attr, &v);
	if (rc < 0)
		return rc;
	if (!v) {
		*out = def;
		return 0;
	}
	x = strtoul(v, NULL, 10);	/* at most 9 digits: checked */
	if (x < lo || x > hi)
		return lerr(L, line_of(n), "element %s: attribute %s: %lu is not in %lu..%lu",
			    elem_name(n), attr, x, lo, hi);
	*out = (unsigned)x;
	return 0;
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* snprintf into a fixed field whose size the naming checks made sufficient. */
__attribute__((format(printf, 3, 4)))
static void fieldf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

/* The element children of n, skipping text and comments. */
static xmlNode *first_elem(xmlNode *n)
{
	for (n = n ? n->children : NULL; n && n->type != XML_ELEMENT_NODE; n = n->next)
		;
	return n;
}

static xmlNode *next_elem(xmlNode *n)
{
	for (n = n->next; n && n->type != XML_ELEMENT_NODE; n = n->next)
		;
	return n;
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (n = first_elem(n); n; n = next_elem(n))
		if (!strcmp(elem_name(n), name))
			return n;
	return NULL;
}

/* ---------------------------------------------------------------- names */

/* The numbers of the node at depth d, flat index flat, per level. */
static void node_nums(const struct cluster *c, unsigned depth, unsigned long flat, unsigned *num)
{
	unsigned l;

	for (l = depth; l-- > 0;) {
		num[l] = c->levels[l].first + (unsigned)(flat % c->levels[l].count);
		flat /= c->levels[l].count;
	}
}

static void node_name(const struct cluster *c, unsigned depth, const unsigned *num, char *buf,
		      size_t size)
{
	size_t o = 0;
	unsigned l;

	buf[0] = '\0';
	for (l = 0; l < depth && o < size; l++)
		o += (size_t)snprintf(buf + o, size - o, "%s%0*u", c->levels[l].prefix,
				      (int)c->levels[l].pad, num[l]);
}

static void flat_name(const struct cluster *c, unsigned depth, unsigned long flat, char *buf,
		      size_t size)
{
	unsigned num[CL_MAX_LEVELS];

	node_nums(c, depth, flat, num);
	node_name(c, depth, num, buf, size);
}

static unsigned digits(unsigned long v)
{
	unsigned d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/* ---------------------------------------------------------------- <management>, <naming> */

static int addr_unusable(uint32_t a, const char **why)
{
	if (a >> 24 == 0)
		*why = "in 0.0.0.0/8 (\"this network\")";
	else if (a >> 24 == 127)
		*why = "a loopback address";
	else if (a >= 0xe0000000u)
		*why = "a multicast or reserved address";
	else
		return 0;
	return -EINVAL;
}

static void fmt_addr(uint32_t a, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int do_cluster(struct loader *L, xmlNode *n)
{
	const char *v;
	int rc = get(L, n, "name", &v);

	if (!rc)
		copy(L->c->name, sizeof(L->c->name), v);
	return rc;
}

static int do_management(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	const char *name, *addr, *why, *storage;
	char a[16];
	uint32_t ip;
	int rc;

	rc = get(L, n, "name", &name);
	if (!rc)
		rc = get(L, n, "address", &addr);
	if (!rc)
		rc = get_or(L, n, "storage", "/var/lib/dim", &storage);
	if (rc < 0)
		return rc;
	copy(c->mgmt_storage, sizeof(c->mgmt_storage), storage);
	parse_ipv4(addr, &ip);
	fmt_addr(ip, a, sizeof(a));
	if (addr_unusable(ip, &why))
		return lerr(L, line_of(n), "management node %s: address %s is %s", name, a, why);
	copy(c->mgmt_name, sizeof(c->mgmt_name), name);
	c->mgmt_addr.s_addr = htonl(ip);
	return 0;
}

static int role_of(const char *v)
{
	int i;

	for (i = 0; roles[i]; i++)
		if (!strcmp(v, roles[i]))
			return i;
	return -1;
}

/*
 * The levels' roles.  The last level is the blades, the one above it the
 * chassis; one level at or above the chassis is the image servers (level 1
 * unless a level says role="server"; at the chassis level each chassis has
 * its own image server).  A role attribute, where given, must agree.
 */
static int naming_roles(struct loader *L, xmlNode *const *lv, const int *role)
{
	struct cluster *c = L->c;
	unsigned n = c->n_levels, l, server = CL_NONE;

	c->blade_level = n - 1;
	c->chassis_level = n - 2;
	for (l = 0; l < n; l++) {
		static const enum cl_role map[] = { CL_ROLE_NONE, CL_ROLE_SERVER, CL_ROLE_CHASSIS,
						    CL_ROLE_BLADE };
		enum cl_role r = role[l] < 0 ? CL_ROLE_NONE : map[role[l]];
		bool ok;

		if (l == c->blade_level)
			ok = role[l] < 0 || r == CL_ROLE_BLADE;
		else if (l == c->chassis_level)
			ok = role[l] < 0 || r == CL_ROLE_CHASSIS || r == CL_ROLE_SERVER;
		else
			ok = r == CL_ROLE_NONE || r == CL_ROLE_SERVER;
		if (!ok)
			return lerr(L, line_of(lv[l]),
				    "level %s: role %s, but the last level is the blades, the one above it the chassis, image servers above or at the chassis",
				    c->levels[l].name, roles[role[l]]);
		if (r == CL_ROLE_SERVER) {
			if (server != CL_NONE)
				return lerr(L, line_of(lv[l]),
					    "level %s: a second level with role server (%s is one)",
					    c->levels[l].name, c->levels[server].name);
			server = l;
		}
		c->levels[l].role = l == c->blade_level ? CL_ROLE_BLADE :
				    l == c->chassis_level ? CL_ROLE_CHASSIS : r;
	}
	c->server_level = server == CL_NONE ? 0 : server;
	if (c->server_level < c->chassis_level)
		c->levels[c->server_level].role = CL_ROLE_SERVER;
	return 0;
}

/*
 * What would make a name mean two things.  Names are read level by level
 * (prefix, number, prefix, number ...), so the only clashes are a linear
 * name that reads as a name of the first level ("b7": blade 7, or server
 * b7?), the two linear words being equal, and two levels sharing a name
 * (strides name levels) or a prefix (people read "c1c2" and guess).
 */
static int naming_check(struct loader *L, xmlNode *n, xmlNode *const *lv)
{
	struct cluster *c = L->c;
	unsigned l, m;
	size_t len = 0;

	if (!strcmp(c->blade_linear, c->chassis_linear))
		return lerr(L, line_of(n), "naming: blade-linear and chassis-linear are both \"%s\"",
			    c->blade_linear);
	if (!strcmp(c->blade_linear, c->levels[0].prefix) ||
	    !strcmp(c->chassis_linear, c->levels[0].prefix))
		return lerr(L, line_of(n),
			    "naming: \"%s\" is both a linear name and the prefix of level %s: \"%s1\" would name two nodes",
			    c->levels[0].prefix, c->levels[0].name, c->levels[0].prefix);
	for (l = 0; l < c->n_levels; l++) {
		const struct cl_level *a = &c->levels[l];

		for (m = 0; m < l; m++) {
			if (!strcmp(a->name, c->levels[m].name))
				return lerr(L, line_of(lv[l]), "level %s: a second level of that name",
					    a->name);
			if (!strcmp(a->prefix, c->levels[m].prefix))
				return lerr(L, line_of(lv[l]),
					    "level %s: prefix \"%s\" is level %s's too; names would be ambiguous",
					    a->name, a->prefix, c->levels[m].name);
		}
		len += strlen(a->prefix);
		len += a->pad > digits((unsigned long)a->first + a->count - 1) ?
			       a->pad : digits((unsigned long)a->first + a->count - 1);
	}
	if (len + strlen(c->mm_suffix) >= CL_NAME_MAX)
		return lerr(L, line_of(n), "naming: names would be %zu characters long, more than %u",
			    len + strlen(c->mm_suffix), CL_NAME_MAX - 1);
	return 0;
}

/* Image servers, chassis and blades with their names, in hierarchical order. */
static int naming_build(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	unsigned long nb = 1, bays, cps, i, j;
	unsigned l, num[CL_MAX_LEVELS];
	size_t clen, room;

	for (l = 0; l < c->n_levels; l++) {
		if (nb > CL_MAX_BLADES / c->levels[l].count)
			return lerr(L, line_of(n), "naming: more than %u blades", CL_MAX_BLADES);
		nb *= c->levels[l].count;
	}
	c->n_blades = (unsigned)nb;
	c->n_chassis = (unsigned)cl_nodes_at(c, c->chassis_level + 1);
	c->n_servers = (unsigned)cl_nodes_at(c, c->server_level + 1);
	c->servers = calloc(c->n_servers, sizeof(*c->servers));
	c->chassis = calloc(c->n_chassis, sizeof(*c->chassis));
	c->blades = calloc(c->n_blades, sizeof(*c->blades));
	L->mac_line = calloc(c->n_blades, sizeof(*L->mac_line));
	L->override_line = calloc(c->n_servers, sizeof(*L->override_line));
	if (!c->servers || !c->chassis || !c->blades || !L->mac_line || !L->override_line)
		return dim_err_set(L->err, -ENOMEM, "%s: out of memory", c->file);

	bays = c->levels[c->blade_level].count;
	cps = c->n_chassis / c->n_servers;
	for (i = 0; i < c->n_servers; i++) {
		struct cl_server *s = &c->servers[i];

		s->index = (unsigned)i;
		flat_name(c, c->server_level + 1, i, s->name, sizeof(s->name));
		s->first_chassis = (unsigned)(i * cps);
		s->n_chassis = (unsigned)cps;
		s->first_blade = (unsigned)(i * cps * bays);
		s->n_blades = (unsigned)(cps * bays);
	}
	for (i = 0; i < c->n_chassis; i++) {
		struct cl_chassis *ch = &c->chassis[i];
		const struct cl_level *bl = &c->levels[c->blade_level];

		ch->index = (unsigned)i;
		node_nums(c, c->chassis_level + 1, i, num);
		node_name(c, c->chassis_level + 1, num, ch->name, sizeof(ch->name));
		fieldf(ch->mm_name, sizeof(ch->mm_name), "%s%s", ch->name, c->mm_suffix);
		fieldf(ch->linear, sizeof(ch->linear), "%s%lu", c->chassis_linear, i + 1);
		ch->cred = CL_NONE;
		ch->server = (unsigned)(i / cps);
		ch->first_blade = (unsigned)(i * bays);
		ch->n_bays = (unsigned)bays;
		/* A blade's name is its chassis's and its own bay's. */
		clen = strlen(ch->name);
		for (j = 0; j < bays; j++) {
			struct cl_blade *b = &c->blades[i * bays + j];

			b->index = (unsigned)(i * bays + j);
			memcpy(b->name, ch->name, clen);
			room = sizeof(b->name) - clen;
			snprintf(b->name + clen, room, "%s%0*lu", bl->prefix, (int)bl->pad,
				 bl->first + j);
			snprintf(b->linear, sizeof(b->linear), "%s%u", c->blade_linear,
				 b->index + 1);
			b->server = ch->server;
			b->chassis = (unsigned)i;
			b->bay = (unsigned)j + 1;
			memcpy(b->num, num, sizeof(num));
			b->num[c->blade_level] = bl->first + (unsigned)j;
			b->image = CL_NONE;
		}
	}
	return 0;
}

static int do_naming(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	xmlNode *lv[CL_MAX_LEVELS], *x;
	int role[CL_MAX_LEVELS];
	const char *v;
	int rc;

	rc = get_or(L, n, "blade-linear", "b", &v);
	if (rc < 0)
		return rc;
	copy(c->blade_linear, sizeof(c->blade_linear), v);
	rc = get_or(L, n, "chassis-linear", "mm", &v);
	if (rc < 0)
		return rc;
	copy(c->chassis_linear, sizeof(c->chassis_linear), v);
	rc = get_or(L, n, "mm-suffix", "mm", &v);
	if (rc < 0)
		return rc;
	copy(c->mm_suffix, sizeof(c->mm_suffix), v);

	for (x = first_elem(n); x; x = next_elem(x)) {
		struct cl_level *l = &c->levels[c->n_levels];

		if (strcmp(elem_name(x), "level"))
			continue;
		if (c->n_levels == CL_MAX_LEVELS)
			return lerr(L, line_of(x), "naming: more than %u levels", CL_MAX_LEVELS);
		lv[c->n_levels] = x;
		rc = get(L, x, "name", &v);
		if (rc < 0)
			return rc;
		copy(l->name, sizeof(l->name), v);
		rc = get(L, x, "prefix", &v);
		if (rc < 0)
			return rc;
		copy(l->prefix, sizeof(l->prefix), v);
		rc = get_num(L, x, "count", 0, 1, CL_MAX_BLADES, &l->count);
		if (!rc)
			rc = get_num(L, x, "pad", 0, 0, 9, &l->pad);
		if (!rc)
			rc = get_num(L, x, "first", 1, 0, CL_MAX_NUM - l->count + 1, &l->first);
		if (!rc)
			rc = get(L, x, "role", &v);
		if (rc < 0)
			return rc;
		role[c->n_levels] = v ? role_of(v) : -1;
		c->n_levels++;
	}
	if (c->n_levels < 2)
		return lerr(L, line_of(n), "naming: at least two levels (chassis and blade)");
	rc = naming_roles(L, lv, role);
	if (!rc)
		rc = naming_check(L, n, lv);
	if (!rc)
		rc = naming_build(L, n);
	return rc;
}

/* ---------------------------------------------------------------- address rules */

static int level_by_name(const struct cluster *c, const char *name, size_t len)
{
	unsigned l;

	for (l = 0; l < c->n_levels; l++)
		if (strlen(c->levels[l].name) == len && !memcmp(c->levels[l].name, name, len))
			return (int)l;
	return -1;
}

/* One "level:value" of a strides attribute; *end after it.  Value: dotted quad or decimal. */
static int stride_next(const char **s, const char **name, size_t *nlen, uint32_t *value)
{
	const char *p = *s, *colon, *vend;
	char buf[16];
	uint64_t dec = 0;
	size_t vlen;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (!*p)
		return 0;
	colon = strchr(p, ':');
	vend = p + strcspn(p, " \t\n\r");
	if (!colon || colon > vend || colon == p)
		return -EINVAL;
	*name = p;
	*nlen = (size_t)(colon - p);
	vlen = (size_t)(vend - colon - 1);
	if (!vlen || vlen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, colon + 1, vlen);
	buf[vlen] = '\0';
	if (strchr(buf, '.')) {
		if (parse_ipv4(buf, value) < 0)
			return -EINVAL;
	} else {
		for (p = buf; *p; p++) {
			if (!is_digit(*p))
				return -EINVAL;
			dec = dec * 10 + (uint64_t)(*p - '0');
			if (dec > UINT32_MAX)
				return -ERANGE;
		}
		*value = (uint32_t)dec;
	}
	*s = vend;
	return 1;
}

static int parse_strides_syntax(const char *v)
{
	const char *name;
	size_t nlen;
	uint32_t value;
	int rc;

	while ((rc = stride_next(&v, &name, &nlen, &value)) > 0) {
		size_t i;

		if (!is_alpha(name[0]))
			return -EINVAL;
		for (i = 1; i < nlen; i++)
			if (!is_alnum(name[i]) && !in_set(name[i], "_-"))
				return -EINVAL;
	}
	return rc;
}

/*
 * An address rule: base + sum(index at level * stride), for nodes of the
 * given depth.  The biggest address a rule gives is that of the last node
 * (every index at its maximum), so checking that one for overflow checks
 * them all.
 */
static int parse_rule(struct loader *L, xmlNode *n, unsigned depth, const char *what,
		      struct cl_rule *r)
{
	struct cluster *c = L->c;
	const char *base, *strides, *name;
	char last[CL_NAME_MAX];
	size_t nlen;
	uint32_t value;
	uint64_t max;
	unsigned l;
	int rc, lv;

	memset(r, 0, sizeof(*r));
	r->line = line_of(n);
	rc = get(L, n, "base", &base);
	if (!rc)
		rc = get(L, n, "strides", &strides);
	if (rc < 0)
		return rc;
	parse_ipv4(base, &r->base);
	while (strides && (rc = stride_next(&strides, &name, &nlen, &value)) > 0) {
		char q[32];

		snprintf(q, sizeof(q), "%.*s", (int)(nlen < 24 ? nlen : 24), name);
		lv = level_by_name(c, name, nlen);
		if (lv < 0)
			return lerr(L, r->line, "%s: strides: no level named \"%s\"", what, q);
		if ((unsigned)lv >= depth)
			return lerr(L, r->line, "%s: strides: level %s is below the nodes this rule numbers",
				    what, q);
		if (r->stride[lv])
			return lerr(L, r->line, "%s: strides: level %s given twice", what, q);
		if (!value)
			return lerr(L, r->line, "%s: strides: level %s has a stride of 0", what, q);
		r->stride[lv] = value;
	}
	if (rc < 0)
		return lerr(L, r->line, "%s: strides: a stride is more than 32 bits", what);
	max = r->base;
	for (l = 0; l < depth; l++)
		max += (uint64_t)(c->levels[l].count - 1) * r->stride[l];
	if (max > UINT32_MAX) {
		flat_name(c, depth, cl_nodes_at(c, depth) - 1, last, sizeof(last));
		return lerr(L, r->line, "%s: rule overflows 255.255.255.255 (at %s)", what, last);
	}
	return 0;
}

static uint32_t rule_addr(const struct cluster *c, const struct cl_rule *r, unsigned depth,
			  unsigned long flat)
{
	uint32_t a = r->base;
	unsigned l;

	for (l = depth; l-- > 0;) {
		a += (uint32_t)(flat % c->levels[l].count) * r->stride[l];
		flat /= c->levels[l].count;
	}
	return a;
}

/* ---------------------------------------------------------------- <imageservers> */

static int server_settings(struct loader *L, xmlNode *n, struct cl_server *s, bool defaults)
{
	const char *storage, *dhcp, *nfs, *sync;
	int rc;

	rc = get_or(L, n, "sync", defaults ? "ssh" : NULL, &sync);
	if (rc < 0)
		return rc;
	if (sync)
		copy(s->sync, sizeof(s->sync), sync);
	rc = get_or(L, n, "storage", defaults ? "/var/lib/dim" : NULL, &storage);
	if (!rc)
		rc = get_or(L, n, "dhcp", defaults ? "isc" : NULL, &dhcp);
	if (!rc)
		rc = get_or(L, n, "nfs", defaults ? "kernel" : NULL, &nfs);
	if (rc < 0)
		return rc;
	if (storage)
		copy(s->storage, sizeof(s->storage), storage);
	if (dhcp)
		copy(s->dhcp, sizeof(s->dhcp), dhcp);
	if (nfs)
		copy(s->nfs, sizeof(s->nfs), nfs);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Every server's boot network, and its own address inside it. */
static int servers_place(struct loader *L)
{
	struct cluster *c = L->c;
	unsigned depth = c->server_level + 1, i;
	uint32_t mask = L->net_prefix ? ~0u << (32 - L->net_prefix) : 0;
	char a[16], b[16];
	const char *why;
	uint64_t *nets;

	nets = calloc(c->n_servers, sizeof(*nets));
	if (!nets)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	for (i = 0; i < c->n_servers; i++) {
		struct cl_server *s = &c->servers[i];
		uint32_t net = rule_addr(c, &L->net_rule, depth, i);
		uint32_t addr = rule_addr(c, &L->srv_rule, depth, i);

		fmt_addr(net, a, sizeof(a));
		fmt_addr(addr, b, sizeof(b));
		if (net & ~mask) {
			free(nets);
			return lerr(L, L->net_rule.line,
				    "network rule of image servers: %s gets %s/%u, which has host bits set",
				    s->name, a, L->net_prefix);
		}
		if (addr_unusable(net, &why)) {
			free(nets);
			return lerr(L, L->net_rule.line,
				    "network rule of image servers: %s gets %s/%u, %s", s->name, a,
				    L->net_prefix, why);
		}
		if ((addr & mask) != net || addr == net || addr == (net | ~mask)) {
			free(nets);
			return lerr(L, L->srv_rule.line,
				    "address rule of image servers: %s gets %s, %s its boot network %s/%u",
				    s->name, b, (addr & mask) != net ? "outside" :
				    addr == net ? "the network address of" : "the broadcast address of",
				    a, L->net_prefix);
		}
		s->net.s_addr = htonl(net);
		s->mask.s_addr = htonl(mask);
		s->prefix = L->net_prefix;
		s->addr.s_addr = htonl(addr);
		nets[i] = (uint64_t)net << 32 | i;
	}
	/* Two servers on one boot network would answer each other's blades. */
	qsort(nets, c->n_servers, sizeof(*nets), cmp_u64);
	for (i = 1; i < c->n_servers; i++) {
		unsigned later = (unsigned)(nets[i] & 0xffffffffu);
		unsigned earlier = (unsigned)(nets[i - 1] & 0xffffffffu);

		if (nets[i] >> 32 != nets[i - 1] >> 32)
			continue;
		fmt_addr((uint32_t)(nets[i] >> 32), a, sizeof(a));
		free(nets);
		return lerr(L, L->net_rule.line,
			    "network rule of image servers: %s gets %s/%u, the boot network of %s too",
			    c->servers[later].name, a, L->net_prefix, c->servers[earlier].name);
	}
	free(nets);
	return 0;
}

static int do_imageservers(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	struct cl_server defaults = { 0 };
	xmlNode *net = child(n, "network"), *addr = child(n, "address"), *x;
	unsigned depth = c->server_level + 1, i;
	int rc;

	if (!net || !addr)
		return lerr(L, line_of(n), "imageservers: <network> and <address> are needed");
	rc = server_settings(L, n, &defaults, true);
	if (!rc)
		rc = get_num(L, net, "prefix", 0, 1, 30, &L->net_prefix);
	if (!rc)
		rc = parse_rule(L, net, depth, "network rule of image servers", &L->net_rule);
	if (!rc)
		rc = parse_rule(L, addr, depth, "address rule of image servers", &L->srv_rule);
	if (rc < 0)
		return rc;
	for (i = 0; i < c->n_servers; i++) {
		copy(c->servers[i].storage, sizeof(c->servers[i].storage), defaults.storage);
		copy(c->servers[i].dhcp, sizeof(c->servers[i].dhcp), defaults.dhcp);
		copy(c->servers[i].nfs, sizeof(c->servers[i].nfs), defaults.nfs);
		copy(c->servers[i].sync, sizeof(c->servers[i].sync), defaults.sync);
	}
	rc = servers_place(L);
	if (rc < 0)
		return rc;

	/* Per-server settings. */
	for (x = first_elem(n); x; x = next_elem(x)) {
		const struct cl_server *s;
		const char *name;

		if (strcmp(elem_name(x), "imageserver"))
			continue;
		rc = get(L, x, "name", &name);
		if (rc < 0)
			return rc;
		s = cluster_find_server(c, name);
		if (!s)
			return lerr(L, line_of(x), "imageserver %s: no image server of that name (%s..%s)",
				    name, c->servers[0].name, c->servers[c->n_servers - 1].name);
		if (L->override_line[s->index])
			return lerr(L, line_of(x), "imageserver %s: given twice (line %u)", name,
				    L->override_line[s->index]);
		L->override_line[s->index] = line_of(x);
		rc = server_settings(L, x, &c->servers[s->index], false);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- <chassis>, <blades> */

/* <use nodes="s02c[1-4]" credentials="rack"/>: those chassis use other credentials; later wins. */
static int chassis_use(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	struct cl_selection sel = { 0 };
	const char *nodes, *cred;
	unsigned i, k;
	int rc;

	for (xmlNode *u = first_elem(n); u; u = next_elem(u)) {
		if (strcmp(elem_name(u), "use"))
			continue;
		rc = get(L, u, "nodes", &nodes);
		if (!rc)
			rc = get(L, u, "credentials", &cred);
		if (rc < 0)
			return rc;
		for (i = 0; i < c->n_creds; i++)
			if (!strcmp(c->creds[i].name, cred))
				break;
		if (i == c->n_creds)
			return lerr(L, line_of(u), "chassis: use: no <credentials name=\"%s\">", cred);
		rc = cluster_select_chassis(c, nodes, &sel, L->err);
		if (rc < 0) {
			char msg[sizeof(L->err->msg)];

			snprintf(msg, sizeof(msg), "%s", L->err->msg);
			return lerr(L, line_of(u), "chassis: use: %s", msg);
		}
		for (k = 0; k < c->n_chassis; k++)
			if (cl_selected(&sel, k))
				c->chassis[k].cred = i;
		cl_selection_free(&sel);
	}
	return 0;
}

static int do_chassis(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	xmlNode *addr = child(n, "address");
	unsigned depth = c->chassis_level + 1, i;
	const char *why;
	char a[16];
	int rc;

	if (!addr)
		return lerr(L, line_of(n), "chassis: <address> is needed");
	rc = get(L, n, "credentials", &L->mm_cred);
	if (!rc)
		rc = parse_rule(L, addr, depth, "address rule of chassis", &L->mm_rule);
	if (rc < 0)
		return rc;
	for (i = 0; i < c->n_chassis; i++) {
		uint32_t ip = rule_addr(c, &L->mm_rule, depth, i);

		if (addr_unusable(ip, &why)) {
			fmt_addr(ip, a, sizeof(a));
			return lerr(L, L->mm_rule.line, "address rule of chassis: %s gets %s, %s",
				    c->chassis[i].mm_name, a, why);
		}
		c->chassis[i].mm_addr.s_addr = htonl(ip);
	}
	if (L->mm_cred) {
		for (i = 0; i < c->n_creds; i++)
			if (!strcmp(c->creds[i].name, L->mm_cred))
				break;
		if (i == c->n_creds)
			return lerr(L, line_of(n), "chassis: no <credentials name=\"%s\">", L->mm_cred);
		for (unsigned k = 0; k < c->n_chassis; k++)
			c->chassis[k].cred = i;
	}
	return chassis_use(L, n);
}

/*
 * <bmc base=".." strides=".."/>: every node's own BMC address.  Needed when
 * a chassis is reached with ipmi credentials: its nodes are rack nodes, each
 * with its BMC, not blades behind a management module.
 */
static int blades_bmc(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	xmlNode *bmc = child(n, "bmc");
	const char *why;
	char a[16];
	unsigned i;
	int rc;

	if (bmc) {
		rc = parse_rule(L, bmc, c->n_levels, "bmc rule of blades", &L->bmc_rule);
		if (rc < 0)
			return rc;
		for (i = 0; i < c->n_blades; i++) {
			uint32_t ip = rule_addr(c, &L->bmc_rule, c->n_levels, i);

			if (addr_unusable(ip, &why)) {
				fmt_addr(ip, a, sizeof(a));
				return lerr(L, L->bmc_rule.line, "bmc rule of blades: %s gets %s, %s",
					    c->blades[i].name, a, why);
			}
			c->blades[i].bmc_addr.s_addr = htonl(ip);
			c->blades[i].has_bmc = true;
		}
		return 0;
	}
	for (i = 0; i < c->n_chassis; i++) {
		unsigned cr = c->chassis[i].cred;

		if (cr != CL_NONE && !strcmp(c->creds[cr].type, "ipmi"))
			return lerr(L, line_of(n),
				    "blades: chassis %s is reached with ipmi credentials %s, so its nodes need BMC addresses: <bmc base=... strides=.../>",
				    c->chassis[i].name, c->creds[cr].name);
	}
	return 0;
}

/* Blade addresses are checked against their networks after <absent> (empty bays need none). */
static int do_blades(struct loader *L, xmlNode *n)
{
	xmlNode *addr = child(n, "address");
	int rc;

	if (!addr)
		return lerr(L, line_of(n), "blades: <address> is needed");
	rc = parse_rule(L, addr, L->c->n_levels, "address rule of blades", &L->blade_rule);
	if (rc < 0)
		return rc;
	return blades_bmc(L, n);
}

/* ---------------------------------------------------------------- <credentials>, <image> */

static int do_credentials(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	const char *name, *type, *file;
	struct cl_cred *cr;
	unsigned i;
	int rc;

	rc = get(L, n, "name", &name);
	if (!rc)
		rc = get(L, n, "type", &type);
	if (!rc)
		rc = get(L, n, "file", &file);
	if (rc < 0)
		return rc;
	for (i = 0; i < c->n_creds; i++)
		if (!strcmp(c->creds[i].name, name))
			return lerr(L, line_of(n), "credentials %s: defined twice (line %u)", name,
				    c->creds[i].line);
	cr = realloc(c->creds, (c->n_creds + 1) * sizeof(*cr));
	if (!cr)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	c->creds = cr;
	cr = &c->creds[c->n_creds++];
	memset(cr, 0, sizeof(*cr));
	copy(cr->name, sizeof(cr->name), name);
	copy(cr->type, sizeof(cr->type), type);
	copy(cr->file, sizeof(cr->file), file);
	cr->line = line_of(n);
	return 0;
}

static void strv_free(char **v, unsigned n)
{
	unsigned i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* The word lists of an <image>: what each word must be. */
static const struct list_spec {
	const char *elem;
	bool (*ok)(const char *v);
	const char *what;
} list_specs[] = {
	{ "shared", ok_dirname, "a first-level directory name" },
	{ "keep-out", ok_glob, "an absolute path or pattern (*, ?, [])" },
	{ "per-blade", ok_abspath, "an absolute path" },
};

static const struct list_spec *list_spec(const char *elem)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(list_specs); i++)
		if (!strcmp(list_specs[i].elem, elem))
			return &list_specs[i];
	return NULL;
}

/*
 * Words separated by any of seps, each checked; copied to *out unless out is
 * NULL (only checking).  Messages: "FILE:LINE: image IMAGE: LIST: ...".
 */
static int word_list(struct loader *L, const char *text, unsigned line, const char *image,
		     const struct list_spec *ls, const char *seps, char ***out, unsigned *n)
{
	char *words = strdup(text), *save = NULL, *w, q[96];
	char **v = NULL;
	unsigned count = 0;
	int rc = 0;

	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!words)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	for (w = strtok_r(words, seps, &save); w; w = strtok_r(NULL, seps, &save)) {
		char **nv;

		if (!ls->ok(w)) {
			rc = lerr(L, line, "image %s: %s: \"%s\" is not %s", image, ls->elem,
				  quote(q, sizeof(q), w), ls->what);
			goto err_v;
		}
		if (!out)
			continue;
		nv = realloc(v, (count + 1) * sizeof(*v));
		if (!nv)
			goto err_nomem;
		v = nv;
		v[count] = strdup(w);
		if (!v[count])
			goto err_nomem;
		count++;
	}
	free(words);
	if (out) {
		*out = v;
		*n = count;
	}
	return 0;

err_nomem:
	rc = dim_err_set(L->err, -ENOMEM, "out of memory");
err_v:
	strv_free(v, count);
	free(words);
	return rc;
}

/* The list element x of image (NULL: the default, a comma list), checked, copied if out. */
static int image_list(struct loader *L, const xmlNode *x, unsigned line, const char *image,
		      const struct list_spec *ls, const char *def, char ***out, unsigned *count)
{
	xmlChar *text;
	int rc;

	if (!x)
		return word_list(L, def, line, image, ls, ",", out, count);
	text = xmlNodeGetContent(x);
	if (!text)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	rc = word_list(L, (const char *)text, line_of(x), image, ls, " \t\r\n", out, count);
	xmlFree(text);
	return rc;
}

static int do_image(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	const char *name, *dist, *kernel, *mode, *nfs, *size, *master;
	struct cl_image *img;
	char q[64];
	unsigned i;
	int rc;

	rc = get(L, n, "name", &name);
	if (!rc)
		rc = get_or(L, n, "distribution", "", &dist);
	if (!rc)
		rc = get(L, n, "kernel", &kernel);
	if (!rc)
		rc = get_or(L, n, "mode", DIM_DEFAULT_MODE, &mode);
	if (!rc)
		rc = get_or(L, n, "nfs", DIM_DEFAULT_NFS, &nfs);
	if (!rc)
		rc = get(L, n, "rw-size", &size);
	if (!rc)
		rc = get_or(L, n, "master", "", &master);
	if (rc < 0)
		return rc;
	for (i = 0; i < c->n_images; i++)
		if (!strcmp(c->images[i].name, name))
			return lerr(L, line_of(n), "image %s: defined twice (line %u)", name,
				    c->images[i].line);
	img = realloc(c->images, (c->n_images + 1) * sizeof(*img));
	if (!img)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	c->images = img;
	img = &c->images[c->n_images];
	memset(img, 0, sizeof(*img));
	copy(img->name, sizeof(img->name), name);
	copy(img->distribution, sizeof(img->distribution), dist);
	copy(img->kernel, sizeof(img->kernel), kernel);
	copy(img->mode, sizeof(img->mode), mode);
	copy(img->nfs, sizeof(img->nfs), nfs);
	copy(img->master, sizeof(img->master), master);
	img->line = line_of(n);
	rc = parse_size(size, &img->rw_size);
	if (rc == -ERANGE)
		return lerr(L, img->line, "image %s: rw-size %s is more than 16 EiB", name,
			    quote(q, sizeof(q), size));
	if (rc < 0 || img->rw_size < (1u << 20))
		return lerr(L, img->line, "image %s: rw-size %s: an RW image needs at least 1M",
			    name, quote(q, sizeof(q), size));
	/* Count the image only once its lists are there, so cluster_free sees whole images. */
	rc = image_list(L, child(n, "shared"), img->line, name, list_spec("shared"),
			DIM_DEFAULT_RODIRS, &img->shared, &img->n_shared);
	if (rc < 0)
		return rc;
	rc = image_list(L, child(n, "keep-out"), img->line, name, list_spec("keep-out"), "",
			&img->keep_out, &img->n_keep_out);
	if (rc < 0)
		goto err_lists;
	rc = image_list(L, child(n, "per-blade"), img->line, name, list_spec("per-blade"), "",
			&img->per_blade, &img->n_per_blade);
	if (rc < 0)
		goto err_lists;
	c->n_images++;
	return 0;

err_lists:
	strv_free(img->shared, img->n_shared);
	strv_free(img->keep_out, img->n_keep_out);
	return rc;
}

/* ---------------------------------------------------------------- <absent>, <boot>, <mac> */

/* The first selected index at or after i, sel->n if none: whole empty words at a time. */
static unsigned sel_next(const struct cl_selection *sel, unsigned i)
{
	uint64_t w;

	while (i < sel->n) {
		w = sel->bits[i / 64] >> (i % 64);
		if (w)
			return i + (unsigned)__builtin_ctzll(w);
		i = (i / 64 + 1) * 64;
	}
	return sel->n;
}

static int nodes_select(struct loader *L, xmlNode *n, const char *what, struct cl_selection *sel)
{
	const char *nodes;
	int rc;

	rc = get(L, n, "nodes", &nodes);
	if (rc < 0)
		return rc;
	rc = cluster_select_blades(L->c, nodes, sel, L->err);
	if (rc < 0) {
		dim_err_prefix(L->err, "%s:%u: %s: nodes", L->c->file, line_of(n), what);
		L->err->rc = -EINVAL;
		return -EINVAL;
	}
	return 0;
}

static int do_absent(struct loader *L, xmlNode *n)
{
	struct cl_selection sel;
	unsigned i;
	int rc;

	rc = nodes_select(L, n, "absent", &sel);
	if (rc < 0)
		return rc;
	for (i = sel_next(&sel, 0); i < sel.n; i = sel_next(&sel, i + 1))
		L->c->blades[i].absent = true;
	cl_selection_free(&sel);
	return 0;
}

static int do_boot(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	struct cl_selection sel;
	const char *image;
	char what[96];
	unsigned img, i;
	int rc;

	rc = get(L, n, "image", &image);
	if (rc < 0)
		return rc;
	img = cluster_find_image(c, image);
	if (img == CL_NONE)
		return lerr(L, line_of(n), "boot: no <image name=\"%s\">", image);
	snprintf(what, sizeof(what), "boot image %s", image);
	rc = nodes_select(L, n, what, &sel);
	if (rc < 0)
		return rc;
	for (i = sel_next(&sel, 0); i < sel.n; i = sel_next(&sel, i + 1))
		c->blades[i].image = img;	/* a later <boot> wins */
	cl_selection_free(&sel);
	return 0;
}

static void fmt_mac(const uint8_t *m, char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int do_mac(struct loader *L, xmlNode *n)
{
	struct cluster *c = L->c;
	const struct cl_blade *cb;
	struct cl_blade *b;
	const char *node, *addr;
	static const uint8_t zero[6];
	uint8_t mac[6];
	char m[18];
	int rc;

	rc = get(L, n, "node", &node);
	if (!rc)
		rc = get(L, n, "address", &addr);
	if (rc < 0)
		return rc;
	cb = cluster_find_blade(c, node);
	if (!cb)
		return lerr(L, line_of(n), "mac: no blade %s", node);
	b = &c->blades[cb->index];
	mac_parse(addr, false, mac);
	fmt_mac(mac, m, sizeof(m));
	if (b->absent)
		return lerr(L, line_of(n), "blade %s: a MAC for an empty bay (see <absent>)", b->name);
	if (L->mac_line[b->index])
		return lerr(L, line_of(n), "blade %s: a second MAC (the first on line %u)", b->name,
			    L->mac_line[b->index]);
	if (mac[0] & 1)
		return lerr(L, line_of(n), "blade %s: MAC %s is a multicast address", b->name, m);
	if (!memcmp(mac, zero, 6))
		return lerr(L, line_of(n), "blade %s: MAC %s is no NIC's address", b->name, m);
	memcpy(b->mac, mac, 6);
	b->has_mac = true;
	L->mac_line[b->index] = line_of(n);
	return 0;
}

/* ---------------------------------------------------------------- meaning */

static uint64_t mac48(const uint8_t *m)
{
	return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
	       (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5];
}

struct mac_use {
	uint64_t mac;
	unsigned line, blade;
};

static int cmp_mac_use(const void *a, const void *b)
{
	const struct mac_use *x = a, *y = b;

	if (x->mac != y->mac)
		return x->mac < y->mac ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* One MAC, one blade: of every pair, the one given later in the file is named. */
static int check_macs(struct loader *L)
{
	struct cluster *c = L->c;
	struct mac_use *u;
	unsigned i, n = 0, bad = CL_NONE;
	char m[18];
	int rc = 0;

	u = calloc(c->n_blades, sizeof(*u));
	if (!u)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	for (i = 0; i < c->n_blades; i++)
		if (c->blades[i].has_mac)
			u[n++] = (struct mac_use){ mac48(c->blades[i].mac), L->mac_line[i], i };
	qsort(u, n, sizeof(*u), cmp_mac_use);
	for (i = 1; i < n; i++)
		if (u[i].mac == u[i - 1].mac && (bad == CL_NONE || u[i].line < u[bad].line))
			bad = i;
	if (bad != CL_NONE) {
		fmt_mac(c->blades[u[bad].blade].mac, m, sizeof(m));
		rc = lerr(L, u[bad].line, "blade %s: MAC %s already used by %s",
			  c->blades[u[bad].blade].name, m, c->blades[u[bad - 1].blade].name);
	}
	free(u);
	return rc;
}

/*
 * Every address in use: the management node, the image servers, the
 * management modules, the present blades.  "order" is that order; of two
 * users of one address the later is named, with the line of its rule.
 */
enum addr_kind { A_MGMT, A_SERVER, A_MM, A_BLADE, A_BMC };

struct addr_use {
	uint32_t addr;
	enum addr_kind kind;
	unsigned order, index;
};

static int cmp_addr_use(const void *a, const void *b)
{
	const struct addr_use *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void addr_user(const struct cluster *c, const struct addr_use *u, char *buf, size_t size)
{
	switch (u->kind) {
	case A_MGMT:
		snprintf(buf, size, "the management node %s", c->mgmt_name);
		break;
	case A_SERVER:
		snprintf(buf, size, "image server %s", c->servers[u->index].name);
		break;
	case A_MM:
		snprintf(buf, size, "management module %s", c->chassis[u->index].mm_name);
		break;
	case A_BLADE:
		snprintf(buf, size, "blade %s", c->blades[u->index].name);
		break;
	case A_BMC:
		snprintf(buf, size, "the BMC of %s", c->blades[u->index].name);
		break;
	}
}

static unsigned addr_line(const struct loader *L, const struct addr_use *u)
{
	switch (u->kind) {
	case A_MGMT:
		break;
	case A_SERVER:
		return L->srv_rule.line;
	case A_MM:
		return L->mm_rule.line;
	case A_BLADE:
		return L->blade_rule.line;
	case A_BMC:
		return L->bmc_rule.line;
	}
	return line_of(child(L->root, "management"));
}

static void addr_add(struct addr_use *u, unsigned *n, struct in_addr a, enum addr_kind kind,
		     unsigned index)
{
	u[*n] = (struct addr_use){ .addr = ntohl(a.s_addr), .kind = kind, .order = *n,
				   .index = index };
	(*n)++;
}

static int check_addresses(struct loader *L)
{
	struct cluster *c = L->c;
	struct addr_use *u;
	unsigned i, n = 0, bad = CL_NONE;
	char a[16], who[96], whom[96];
	int rc = 0;

	u = calloc(1 + (size_t)c->n_servers + c->n_chassis + 2 * (size_t)c->n_blades, sizeof(*u));
	if (!u)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	addr_add(u, &n, c->mgmt_addr, A_MGMT, 0);
	for (i = 0; i < c->n_servers; i++)
		addr_add(u, &n, c->servers[i].addr, A_SERVER, i);
	for (i = 0; i < c->n_chassis; i++)
		addr_add(u, &n, c->chassis[i].mm_addr, A_MM, i);
	for (i = 0; i < c->n_blades; i++)
		if (!c->blades[i].absent)
			addr_add(u, &n, c->blades[i].addr, A_BLADE, i);
	for (i = 0; i < c->n_blades; i++)
		if (c->blades[i].has_bmc && !c->blades[i].absent)
			addr_add(u, &n, c->blades[i].bmc_addr, A_BMC, i);
	qsort(u, n, sizeof(*u), cmp_addr_use);
	for (i = 1; i < n; i++)
		if (u[i].addr == u[i - 1].addr && (bad == CL_NONE || u[i].order < u[bad].order))
			bad = i;
	if (bad != CL_NONE) {
		fmt_addr(u[bad].addr, a, sizeof(a));
		addr_user(c, &u[bad], who, sizeof(who));
		addr_user(c, &u[bad - 1], whom, sizeof(whom));
		rc = lerr(L, addr_line(L, &u[bad]), "%s: address %s already used by %s", who, a,
			  whom);
	}
	free(u);
	return rc;
}

/* Each present blade inside its image server's boot network, not its network or broadcast address. */
static int blades_place(struct loader *L)
{
	struct cluster *c = L->c;
	unsigned i;
	char a[16], net[16];

	for (i = 0; i < c->n_blades; i++) {
		struct cl_blade *b = &c->blades[i];
		const struct cl_server *s = &c->servers[b->server];
		uint32_t ip = rule_addr(c, &L->blade_rule, c->n_levels, i);
		uint32_t n = ntohl(s->net.s_addr), m = ntohl(s->mask.s_addr);
		const char *why = NULL;

		b->addr.s_addr = htonl(ip);
		if (b->absent)
			continue;
		if ((ip & m) != n)
			why = "outside";
		else if (ip == n)
			why = "the network address of";
		else if (ip == (n | ~m))
			why = "the broadcast address of";
		if (why) {
			fmt_addr(ip, a, sizeof(a));
			fmt_addr(n, net, sizeof(net));
			return lerr(L, L->blade_rule.line,
				    "address rule of blades: %s gets %s, %s %s's boot network %s/%u",
				    b->name, a, why, s->name, net, s->prefix);
		}
	}
	return 0;
}

/* The management node's name must not read as a node's (host names meet in DHCP and /etc/hosts). */
static int check_names(struct loader *L)
{
	struct cluster *c = L->c;
	struct cl_node node;
	unsigned i;

	if (cl_resolve(c, c->mgmt_name, strlen(c->mgmt_name), &node, NULL) == 0)
		return lerr(L, line_of(child(L->root, "management")),
			    "management node %s: that name is a node's", c->mgmt_name);
	for (i = 0; i < c->n_servers; i++)
		if (!strcmp(c->servers[i].name, c->mgmt_name))
			return lerr(L, line_of(child(L->root, "management")),
				    "management node %s: that name is an image server's",
				    c->mgmt_name);
	return 0;
}

/* ---------------------------------------------------------------- the steps */

struct xml_errs {
	bool have;
	bool doctype;
	unsigned line;
	char elem[32];
	char msg[512];
	const xmlNode *node;
};

/* libxml2's structured error handler: keep the first error only. */
static void on_xml_error(void *data, xmlErrorPtr e)
{
	struct xml_errs *x = data;
	size_t n;

	if (!x || x->have || !e || e->level < XML_ERR_ERROR)
		return;
	x->have = true;
	x->line = e->line > 0 ? (unsigned)e->line : 0;
	x->node = e->node;
	if (e->node && ((const xmlNode *)e->node)->type == XML_ELEMENT_NODE) {
		copy(x->elem, sizeof(x->elem), (const char *)((const xmlNode *)e->node)->name);
		if (!x->line)
			x->line = line_of(e->node);
	}
	copy(x->msg, sizeof(x->msg), e->message ? e->message : "error");
	n = strlen(x->msg);
	while (n && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' '))
		x->msg[--n] = '\0';
	/* One line: libxml2 quotes the document, newlines and all. */
	for (; n; n--)
		if ((unsigned char)x->msg[n - 1] < 0x20 || x->msg[n - 1] == 0x7f)
			x->msg[n - 1] = ' ';
}

static void on_parser_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = ctx;

	on_xml_error(ctxt->_private, e);
}

/* A DOCTYPE: stop before its internal subset, so no entity is ever declared. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xml_errs *x = ctxt->_private;

	(void)name;
	(void)ext;
	(void)sys;
	if (!x->have) {
		x->have = true;
		x->doctype = true;
		x->line = ctxt->input ? (unsigned)ctxt->input->line : 0;
		copy(x->msg, sizeof(x->msg),
		     "a DOCTYPE is not allowed (its entities could expand without bound or read local files)");
	}
	xmlStopParser(ctxt);
}

static int xml_parse(struct cluster *c, const char *buf, size_t len, xmlDoc **out,
		     struct dim_err *err)
{
	struct xml_errs x = { 0 };
	xmlParserCtxtPtr ctxt;
	xmlDoc *doc;

	*out = NULL;
	if (len > INT32_MAX)
		return dim_err_set(err, -EFBIG, "%s: too big", c->file);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return dim_err_set(err, -ENOMEM, "%s: out of memory", c->file);
	ctxt->_private = &x;
	ctxt->sax->serror = on_parser_error;
	ctxt->sax->internalSubset = on_doctype;
	ctxt->sax->externalSubset = on_doctype;
	/* NONET: never fetch; no NOENT, DTDLOAD, DTDATTR, XINCLUDE: nothing else is read. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, c->file, NULL,
				XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	if (doc && (doc->intSubset || doc->extSubset || x.have)) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	if (!doc) {
		if (x.doctype)
			return dim_err_set(err, -EINVAL, "%s:%u: %s", c->file, x.line, x.msg);
		return dim_err_set(err, -EINVAL, "%s:%u: not well-formed XML: %s", c->file,
				   x.have ? x.line : 1, x.have ? x.msg : "cannot be parsed");
	}
	*out = doc;
	return 0;
}

/* The schema, compiled from the copy built into dim, once per process. */
static xmlRelaxNGPtr schema_get(struct dim_err *err)
{
	static xmlRelaxNGPtr schema;
	struct xml_errs x = { 0 };
	xmlRelaxNGParserCtxtPtr pctxt;

	if (schema)
		return schema;
	pctxt = xmlRelaxNGNewMemParserCtxt(dim_schema_rng, (int)strlen(dim_schema_rng));
	if (!pctxt) {
		dim_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	xmlRelaxNGSetParserStructuredErrors(pctxt, on_xml_error, &x);
	schema = xmlRelaxNGParse(pctxt);
	xmlRelaxNGFreeParserCtxt(pctxt);
	if (!schema)
		dim_err_set(err, -EINVAL, "the schema built into dim is broken: line %u: %s",
			    x.line, x.msg);
	return schema;
}

/* Elements of the format (those with attributes are in attr_specs too). */
static bool known_element(const xmlNode *n)
{
	static const char *const bare[] = { "blades", "shared", "keep-out", "per-blade" };
	size_t i;

	if (!n->ns || strcmp((const char *)n->ns->href, DIM_CLUSTER_NS))
		return false;
	for (i = 0; i < ARRAY_SIZE(bare); i++)
		if (!strcmp(elem_name(n), bare[i]))
			return true;
	for (i = 0; i < ARRAY_SIZE(attr_specs); i++)
		if (!strcmp(attr_specs[i].elem, elem_name(n)))
			return true;
	return false;
}

/*
 * Name the attribute behind "failed to validate attributes", where the value
 * checks can.  Only for elements of the format: of an unknown element,
 * libxml2's "did not expect element" is the better message.
 */
static int diagnose_attrs(struct loader *L, const xmlNode *n)
{
	const xmlAttr *a;
	size_t i;
	int rc;

	if (!known_element(n))
		return 0;
	if (list_spec(elem_name(n))) {
		const char *image = n->parent ? attr_raw(n->parent, "name") : NULL;
		char q[CL_NAME_MAX];

		rc = image_list(L, n, line_of(n), quote(q, sizeof(q), image ? image : "?"),
				list_spec(elem_name(n)), NULL, NULL, NULL);
		if (rc < 0)
			return rc;
	}

	for (a = n->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		const struct attr_spec *spec = a->ns ? NULL : attr_spec(elem_name(n), name);

		if (!spec)
			return lerr(L, line_of(n), "element %s: attribute %s is not allowed here",
				    elem_name(n), name);
		rc = attr_check(L, n, spec, attr_raw(n, name));
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < ARRAY_SIZE(attr_specs); i++) {
		if (strcmp(attr_specs[i].elem, elem_name(n)))
			continue;
		rc = attr_check(L, n, &attr_specs[i], attr_raw(n, attr_specs[i].attr));
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int diagnose_tree(struct loader *L, const xmlNode *n)
{
	const xmlNode *x;

	if (diagnose_attrs(L, n) < 0)
		return -EINVAL;
	for (x = n->children; x; x = x->next)
		if (x->type == XML_ELEMENT_NODE && diagnose_tree(L, x) < 0)
			return -EINVAL;
	return 0;
}

static int xml_validate(struct loader *L, xmlDoc *doc)
{
	struct xml_errs x = { 0 };
	xmlRelaxNGValidCtxtPtr vctxt;
	xmlRelaxNGPtr schema;
	int rc;

	schema = schema_get(L->err);
	if (!schema)
		return L->err->rc;
	vctxt = xmlRelaxNGNewValidCtxt(schema);
	if (!vctxt)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	xmlRelaxNGSetValidStructuredErrors(vctxt, on_xml_error, &x);
	rc = xmlRelaxNGValidateDoc(vctxt, doc);
	xmlRelaxNGFreeValidCtxt(vctxt);
	if (!rc)
		return 0;
	/*
	 * libxml2 sometimes names no node (inside <interleave>, for one):
	 * then the first attribute in the document the value checks refuse.
	 */
	if (x.node && ((const xmlNode *)x.node)->type == XML_ELEMENT_NODE) {
		if (diagnose_attrs(L, x.node) < 0)
			return -EINVAL;
	} else if (diagnose_tree(L, L->root) < 0) {
		return -EINVAL;
	}
	if (x.elem[0])
		return lerr(L, x.line, "element %s: %s", x.elem, x.have ? x.msg : "invalid");
	return lerr(L, x.have ? x.line : 1, "%s", x.have ? x.msg : "not a valid cluster definition");
}

static const struct elem_handler {
	const char *name;
	unsigned pass;
	int (*fn)(struct loader *L, xmlNode *n);
} handlers[] = {
	/* pass 0: what others refer to */
	{ "management", 0, do_management },
	{ "naming", 0, do_naming },
	{ "credentials", 0, do_credentials },
	{ "image", 0, do_image },
	/* pass 1: the rules */
	{ "imageservers", 1, do_imageservers },
	{ "chassis", 1, do_chassis },
	{ "blades", 1, do_blades },
	/* pass 2: empty bays, before anything selects blades */
	{ "absent", 2, do_absent },
	/* pass 3: in document order, a later <boot> wins */
	{ "boot", 3, do_boot },
	{ "mac", 3, do_mac },
};
#define N_PASSES 4

static const struct elem_handler *handler_of(const xmlNode *n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(handlers); i++)
		if (!strcmp(handlers[i].name, elem_name(n)))
			return &handlers[i];
	return NULL;
}

/* The root's children with their handlers, looked up once (there may be a <mac> per blade). */
struct step {
	xmlNode *n;
	const struct elem_handler *h;
};

static int build_passes(struct loader *L, const struct step *steps, size_t n_steps)
{
	unsigned pass;
	size_t i;
	int rc;

	for (pass = 0; pass < N_PASSES; pass++) {
		for (i = 0; i < n_steps; i++) {
			if (steps[i].h->pass != pass)
				continue;
			rc = steps[i].h->fn(L, steps[i].n);
			if (rc < 0)
				return rc;
		}
		if (pass == 1 && (!L->c->servers[0].storage[0] || !L->blade_rule.line ||
				  !L->mm_rule.line))
			return lerr(L, line_of(L->root),
				    "cluster: <imageservers>, <chassis> and <blades> are needed");
		if (pass == 2) {
			rc = blades_place(L);
			if (rc < 0)
				return rc;
		}
	}
	rc = check_addresses(L);
	if (!rc)
		rc = check_macs(L);
	if (!rc)
		rc = check_names(L);
	return rc;
}

static int build(struct loader *L)
{
	struct step *steps;
	size_t n_steps = 0;
	xmlNode *n;
	int rc;

	rc = do_cluster(L, L->root);
	if (rc < 0)
		return rc;
	/* The schema guarantees <naming> before anything that needs the tree. */
	if (!child(L->root, "naming") || !child(L->root, "management"))
		return lerr(L, line_of(L->root), "cluster: <management> and <naming> are needed");
	for (n = first_elem(L->root); n; n = next_elem(n))
		n_steps++;
	steps = calloc(n_steps, sizeof(*steps));
	if (!steps)
		return dim_err_set(L->err, -ENOMEM, "out of memory");
	n_steps = 0;
	for (n = first_elem(L->root); n; n = next_elem(n)) {
		const struct elem_handler *h = handler_of(n);

		if (h)
			steps[n_steps++] = (struct step){ n, h };
	}
	rc = build_passes(L, steps, n_steps);
	free(steps);
	return rc;
}

static void on_generic_error(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

int cluster_load_buffer(const char *buf, size_t len, const char *name, struct cluster **out,
			struct dim_err *err)
{
	xmlGenericErrorFunc generic = xmlGenericError;
	void *generic_ctx = xmlGenericErrorContext;
	xmlStructuredErrorFunc structured = xmlStructuredError;
	void *structured_ctx = xmlStructuredErrorContext;
	struct xml_errs stray = { 0 };
	struct loader L = { .err = err };
	xmlDoc *doc = NULL;
	int rc;

	*out = NULL;
	L.c = calloc(1, sizeof(*L.c));
	if (!L.c)
		return dim_err_set(err, -ENOMEM, "out of memory");
	copy(L.c->file, sizeof(L.c->file), name ? name : "(definition)");

	/* A library does not print: whatever libxml2 says outside our handlers is dropped. */
	xmlSetStructuredErrorFunc(&stray, on_xml_error);
	xmlSetGenericErrorFunc(NULL, on_generic_error);
	rc = xml_parse(L.c, buf, len, &doc, err);
	if (rc < 0)
		goto out;
	L.root = xmlDocGetRootElement(doc);
	if (!L.root) {
		rc = lerr(&L, 1, "no root element");
		goto out;
	}
	rc = xml_validate(&L, doc);
	if (!rc)
		rc = build(&L);
out:
	xmlSetStructuredErrorFunc(structured_ctx, structured);
	xmlSetGenericErrorFunc(generic_ctx, generic);
	if (doc)
		xmlFreeDoc(doc);
	free(L.mac_line);
	free(L.override_line);
	if (rc < 0) {
		cluster_free(L.c);
		return rc;
	}
	*out = L.c;
	return 0;
}

int cluster_load(const char *path, struct cluster **out, struct dim_err *err)
{
	struct stat st;
	size_t len;
	char *buf;
	int rc;

	*out = NULL;
	if (stat(path, &st) < 0)
		return dim_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return dim_err_set(err, -EINVAL, "%s: not a regular file", path);
	if (st.st_size > DEF_MAX_BYTES)
		return dim_err_set(err, -EFBIG, "%s: %lld bytes, more than a definition can be (%u)",
				   path, (long long)st.st_size, DEF_MAX_BYTES);
	rc = read_file(path, &buf, &len);
	if (rc < 0)
		return dim_err_set(err, rc, "%s: %s", path, strerror(-rc));
	rc = cluster_load_buffer(buf, len, path, out, err);
	free(buf);
	return rc;
}

void cluster_free(struct cluster *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < c->n_images; i++) {
		strv_free(c->images[i].shared, c->images[i].n_shared);
		strv_free(c->images[i].keep_out, c->images[i].n_keep_out);
		strv_free(c->images[i].per_blade, c->images[i].n_per_blade);
	}
	free(c->images);
	free(c->creds);
	free(c->servers);
	free(c->chassis);
	free(c->blades);
	free(c);
}

/* ---------------------------------------------------------------- look-ups */

static bool find(const struct cluster *c, const char *name, unsigned depth, unsigned long *flat)
{
	struct cl_node node;

	if (!c || !name || !c->n_levels)
		return false;
	if (cl_resolve(c, name, strlen(name), &node, NULL) < 0 || node.depth != depth)
		return false;
	*flat = node.flat;
	return true;
}

const struct cl_blade *cluster_find_blade(const struct cluster *c, const char *name)
{
	unsigned long i;

	return find(c, name, c ? c->n_levels : 0, &i) ? &c->blades[i] : NULL;
}

const struct cl_chassis *cluster_find_chassis(const struct cluster *c, const char *name)
{
	unsigned long i;

	return find(c, name, c ? c->chassis_level + 1 : 0, &i) ? &c->chassis[i] : NULL;
}

const struct cl_server *cluster_find_server(const struct cluster *c, const char *name)
{
	unsigned long i;

	return find(c, name, c ? c->server_level + 1 : 0, &i) ? &c->servers[i] : NULL;
}

unsigned cluster_find_image(const struct cluster *c, const char *name)
{
	unsigned i;

	for (i = 0; i < c->n_images; i++)
		if (!strcmp(c->images[i].name, name))
			return i;
	return CL_NONE;
}

int cluster_ro_path(const struct cluster *c, const struct cl_server *s, const struct cl_image *img,
		    char *buf, size_t size)
{
	int n;

	(void)c;
	n = snprintf(buf, size, "%s/images/%s/ro", s->storage, img->name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cluster_rw_dir(const struct cluster *c, const struct cl_blade *b, const struct cl_image *img,
		   char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, "%s/images/%s/blades/%s", c->servers[b->server].storage, img->name,
		     b->name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cluster_tftp_dir(const struct cluster *c, const struct cl_server *s, char *buf, size_t size)
{
	int n;

	(void)c;
	n = snprintf(buf, size, "%s/tftp", s->storage);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
