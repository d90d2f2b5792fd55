/* SPDX-License-Identifier: MIT */
/*
 * Settings of the boot contract: the one table, the kernel command line
 * parser and the DHCP merge.  Every value is validated before it is used in a
 * mount, a path or the shell-readable /run/dim/boot.conf.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "contract.h"
#include "dhcp.h"
#include "log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int check_charset(const char *val, const char *extra, const char **why)
{
	const char *p;

	for (p = val; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p)) {
			*why = "contains a character that is not allowed here";
			return -EINVAL;
		}
	return 0;
}

static int check_iface(const char *val, const char **why)
{
	size_t len = strlen(val);

	if (len == 0 || len > 15 || !strcmp(val, ".") || !strcmp(val, "..")) {
		*why = "must be an interface name of 1 to 15 characters";
		return -EINVAL;
	}
	return check_charset(val, "_.-", why);
}

/* pxelinux's BOOTIF: "01-" (ARP type Ethernet) and the MAC, dash-separated. */
static int check_bootif(const char *val, const char **why)
{
	int i;

	if (strlen(val) != 20 || strncmp(val, "01-", 3))
		goto bad;
	for (i = 3; i < 20; i++) {
		if ((i % 3) == 2 ? val[i] != '-' : !isxdigit((unsigned char)val[i]))
			goto bad;
	}
	return 0;
bad:
	*why = "must be 01-xx-xx-xx-xx-xx-xx (an Ethernet MAC)";
	return -EINVAL;
}

int cfg_check_ipv4(const char *val, const char **why)
{
	struct in_addr a;
	const char *p;

	/* inet_pton takes only dotted quads; insist on digits and dots too. */
	for (p = val; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			goto bad;
	if (inet_pton(AF_INET, val, &a) == 1)
		return 0;
bad:
	*why = "must be an IPv4 address";
	return -EINVAL;
}

static int check_ipv4_list(const char *val, const char **why)
{
	char buf[CFG_VALUE_MAX], *tok, *save = NULL;
	int n = 0;

	if (strlen(val) >= sizeof(buf) || !*val) {
		*why = "must be a comma list of IPv4 addresses";
		return -EINVAL;
	}
	strcpy(buf, val);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (cfg_check_ipv4(tok, why) < 0)
			return -EINVAL;
		if (++n > DHCP_MAX_SERVERS) {
			*why = "names more than 4 servers";
			return -EINVAL;
		}
	}
	return 0;
}

/* An absolute path of safe characters, no ".." component. */
static int check_abs_path(const char *path, const char **why)
{
	if (path[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	if (strstr(path, "/../") || (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/.."))) {
		*why = "must not contain \"..\"";
		return -EINVAL;
	}
	return check_charset(path, "/._+-@%=,~", why);
}

static int check_location(const char *val, const char **why)
{
	char server[64], path[CFG_VALUE_MAX];

	if (config_split_location(val, server, sizeof(server), path, sizeof(path)) < 0) {
		*why = "must be SERVER:/path or /path, SERVER an IPv4 address";
		return -EINVAL;
	}
	if (server[0] && cfg_check_ipv4(server, why) < 0)
		return -EINVAL;
	return check_abs_path(path, why);
}

static int check_filename(const char *val, const char **why)
{
	if (!*val || val[0] == '.' || strlen(val) > 255) {
		*why = "must be a file name, not starting with '.'";
		return -EINVAL;
	}
	return check_charset(val, "._+-", why);
}

static int check_mode(const char *val, const char **why)
{
	if (!strcmp(val, "bind") || !strcmp(val, "overlay"))
		return 0;
	*why = "must be bind or overlay";
	return -EINVAL;
}

static int check_nfs(const char *val, const char **why)
{
	static const char *const ok[] = { "auto", "3", "4", "4.0", "4.1", "4.2" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcmp(val, ok[i]))
			return 0;
	*why = "must be auto, 3, 4, 4.0, 4.1 or 4.2";
	return -EINVAL;
}

static int check_dirlist(const char *val, const char **why)
{
	char buf[CFG_VALUE_MAX], *tok, *save = NULL;

	if (strlen(val) >= sizeof(buf)) {
		*why = "is too long";
		return -EINVAL;
	}
	strcpy(buf, val);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, ".") || !strcmp(tok, "..")) {
			*why = "must list first-level directory names";
			return -EINVAL;
		}
		if (check_charset(tok, "._-", why) < 0)
			return -EINVAL;
	}
	return 0;
}

static int check_seconds(const char *val, const char **why)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(val, &end, 10);
	if (!*val || *end || errno || n < 0 || n > 86400) {
		*why = "must be a number of seconds from 0 to 86400";
		return -EINVAL;
	}
	return 0;
}

static int check_bool(const char *val, const char **why)
{
	if (!strcmp(val, "0") || !strcmp(val, "1"))
		return 0;
	*why = "must be 0 or 1";
	return -EINVAL;
}

static int check_init(const char *val, const char **why)
{
	return check_abs_path(val, why);
}

/* RFC 1123 section 2.1 host names; labels of 1..63, no leading or trailing '-'. */
int cfg_check_hostname(const char *val, const char **why)
{
	const char *label = val, *p;

	if (!*val || strlen(val) > 63)
		goto bad;
	for (p = val;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t len = (size_t)(p - label);

			if (len == 0 || len > 63 || label[0] == '-' || p[-1] == '-')
				goto bad;
			if (!*p)
				return 0;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-') {
			goto bad;
		}
	}
bad:
	*why = "is not a valid host name (RFC 1123)";
	return -EINVAL;
}

#define STR_(x) #x
#define STR(x) STR_(x)

const struct cfg_key_info cfg_keys[CFG_COUNT] = {
	[CFG_IFACE] = { "dim.iface", "DIM_IFACE", 0, DIM_DEFAULT_IFACE,
			"network interface to configure", check_iface },
	[CFG_BOOTIF] = { "BOOTIF", "DIM_BOOTIF", 0, NULL,
			 "MAC of the boot NIC (set by pxelinux/iPXE); picks the interface",
			 check_bootif },
	[CFG_SERVER] = { "dim.server", "DIM_SERVER", 0, NULL,
			 "NFS server when the locations name none (default: DHCP next-server, "
			 "else the DHCP server)",
			 cfg_check_ipv4 },
	[CFG_SERVERS] = { "dim.servers", "DIM_SERVERS", DIM_OPT_SERVERS, NULL,
			  "backup servers for the RO tree, tried in order", check_ipv4_list },
	[CFG_RO] = { "dim.ro", "DIM_RO", 17, NULL, "RO tree: [SERVER:]/path (DHCP root-path)",
		     check_location },
	[CFG_RW] = { "dim.rw", "DIM_RW", DIM_OPT_RW, NULL,
		     "the blade's RW directory: [SERVER:]/path", check_location },
	[CFG_RWIMG] = { "dim.rwimg", "DIM_RWIMG", DIM_OPT_RWIMG, DIM_DEFAULT_RWIMG,
			"image file in the RW directory", check_filename },
	[CFG_MODE] = { "dim.mode", "DIM_MODE", DIM_OPT_MODE, DIM_DEFAULT_MODE,
		       "root assembly: bind or overlay", check_mode },
	[CFG_NFS] = { "dim.nfs", "DIM_NFS", DIM_OPT_NFS, DIM_DEFAULT_NFS,
		      "NFS version: auto (4.1, then 3), 3, 4, 4.0, 4.1, 4.2", check_nfs },
	[CFG_RODIRS] = { "dim.rodirs", "DIM_RODIRS", DIM_OPT_RODIRS, DIM_DEFAULT_RODIRS,
			 "bind mode: first-level directories bound read-only from the RO tree",
			 check_dirlist },
	[CFG_TIMEOUT] = { "dim.timeout", "DIM_TIMEOUT", 0, STR(DIM_DEFAULT_TIMEOUT),
			  "seconds of failing before the rescue shell", check_seconds },
	[CFG_INIT] = { "dim.init", "DIM_INIT", 0, DIM_DEFAULT_INIT, "the init to execute",
		       check_init },
	[CFG_RESCUE] = { "dim.rescue", "DIM_RESCUE", 0, "1",
			 "1: start the rescue shell after dim.timeout, if the initramfs has one",
			 check_bool },
	[CFG_DEBUG] = { "dim.debug", "DIM_DEBUG", 0, "0", "1: verbose messages", check_bool },
};

void config_init(struct config *cfg)
{
	int k;

	memset(cfg, 0, sizeof(*cfg));
	for (k = 0; k < CFG_COUNT; k++) {
		if (!cfg_keys[k].def)
			continue;
		snprintf(cfg->v[k].val, sizeof(cfg->v[k].val), "%s", cfg_keys[k].def);
		cfg->v[k].src = SRC_DEFAULT;
	}
}

int config_set(struct config *cfg, enum cfg_key key, const char *val, enum cfg_src src,
	       const char **why)
{
	if (strlen(val) >= CFG_VALUE_MAX) {
		*why = "is too long";
		return -EINVAL;
	}
	if (cfg_keys[key].check(val, why) < 0)
		return -EINVAL;
	if (cfg->v[key].src > src)
		return 0;
	strcpy(cfg->v[key].val, val);
	cfg->v[key].src = src;
	return 1;
}

const char *config_get(const struct config *cfg, enum cfg_key key)
{
	return cfg->v[key].val;
}

bool config_isset(const struct config *cfg, enum cfg_key key)
{
	return cfg->v[key].src != SRC_NONE;
}

long config_num(const struct config *cfg, enum cfg_key key)
{
	return strtol(cfg->v[key].val, NULL, 10);
}

static int find_key(const char *name, size_t len)
{
	int k;

	for (k = 0; k < CFG_COUNT; k++)
		if (strlen(cfg_keys[k].key) == len && !strncmp(cfg_keys[k].key, name, len))
			return k;
	return -1;
}

/*
 * One parameter: "key=value" or "key".  The kernel's own parser
 * (lib/cmdline.c, next_arg) allows double quotes around a value or a whole
 * parameter; so do we.
 */
static int take_param(struct config *cfg, const char *param, size_t len)
{
	char value[CFG_VALUE_MAX], shown[64];
	const char *eq = memchr(param, '=', len), *why = NULL, *v;
	size_t klen = eq ? (size_t)(eq - param) : len, vlen;
	int k;

	if (klen < 4 || strncmp(param, "dim.", 4)) {
		if (!(klen == 6 && !strncmp(param, "BOOTIF", 6)))
			return 0;
	}
	snprintf(shown, sizeof(shown), "%.*s", (int)(len > 40 ? 40 : len), param);
	for (v = shown; *v; v++)
		if (!isprint((unsigned char)*v))
			shown[v - shown] = '?';
	k = find_key(param, klen);
	if (k < 0) {
		log_warn(STEP_CMDLINE, "unknown key \"%s\" ignored (dim-linuxrc(7) lists the keys)",
			 shown);
		return 1;
	}
	if (eq) {
		v = eq + 1;
		vlen = len - klen - 1;
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
			v++;
			vlen -= 2;
		}
	} else {
		/* A bare flag: "dim.debug" means dim.debug=1. */
		v = "1";
		vlen = 1;
	}
	if (vlen >= sizeof(value)) {
		log_warn(STEP_CMDLINE, "%s: value too long, ignored", cfg_keys[k].key);
		return 1;
	}
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	if (config_set(cfg, (enum cfg_key)k, value, SRC_CMDLINE, &why) < 0) {
		if (config_isset(cfg, (enum cfg_key)k))
			log_warn(STEP_CMDLINE, "%s: %s %s; keeping %s", shown, cfg_keys[k].key, why,
				 config_get(cfg, (enum cfg_key)k));
		else
			log_warn(STEP_CMDLINE, "%s: %s %s; ignored", shown, cfg_keys[k].key, why);
		return 1;
	}
	return 0;
}

int config_parse_cmdline(struct config *cfg, const char *cmdline)
{
	const char *p = cmdline;
	int problems = 0;

	for (;;) {
		const char *start;
		bool quoted = false;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		/* Everything after "--" belongs to init. */
		if (p[0] == '-' && p[1] == '-' && (!p[2] || isspace((unsigned char)p[2])))
			break;
		start = p;
		if (*p == '"') {
			/* A quoted whole parameter: "dim.ro=/a b" */
			start = ++p;
			while (*p && *p != '"')
				p++;
			problems += take_param(cfg, start, (size_t)(p - start));
			if (*p)
				p++;
			continue;
		}
		while (*p && (quoted || !isspace((unsigned char)*p))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		problems += take_param(cfg, start, (size_t)(p - start));
	}
	return problems;
}

/* A DHCP text option as a C string: printable, an optional trailing NUL. */
static int blob_to_text(const struct dhcp_blob *b, char *buf, size_t size)
{
	size_t len = b->len, i;

	while (len > 0 && b->data[len - 1] == '\0')
		len--;
	if (len == 0 || len >= size)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isprint(b->data[i]))
			return -EINVAL;
	memcpy(buf, b->data, len);
	buf[len] = '\0';
	return 0;
}

/* Option 226: a list of IPv4 addresses, 4 bytes each. */
static int blob_to_ipv4_list(const struct dhcp_blob *b, char *buf, size_t size)
{
	size_t i, used = 0;

	if (b->len == 0 || b->len % 4)
		return -EINVAL;
	buf[0] = '\0';
	for (i = 0; i + 4 <= b->len; i += 4) {
		int n = snprintf(buf + used, size - used, "%s%u.%u.%u.%u", i ? "," : "",
				 b->data[i], b->data[i + 1], b->data[i + 2], b->data[i + 3]);

		if (n < 0 || (size_t)n >= size - used)
			return -EINVAL;
		used += (size_t)n;
	}
	return 0;
}

int config_merge_dhcp(struct config *cfg, const struct dhcp_lease *lease)
{
	char val[CFG_VALUE_MAX], name[32];
	const char *why;
	int k, problems = 0;

	for (k = 0; k < CFG_COUNT; k++) {
		int code = cfg_keys[k].dhcp;

		if (!code)
			continue;
		why = "is not printable text";
		if (code == 17) {
			if (!lease->root_path[0])
				continue;
			snprintf(val, sizeof(val), "%s", lease->root_path);
		} else {
			const struct dhcp_blob *b = &lease->site[code - DIM_OPT_FIRST];

			if (!b->present)
				continue;
			if (code == DIM_OPT_SERVERS ? blob_to_ipv4_list(b, val, sizeof(val)) < 0
						    : blob_to_text(b, val, sizeof(val)) < 0) {
				if (code == DIM_OPT_SERVERS)
					why = "is not a list of IPv4 addresses";
				goto bad;
			}
		}
		if (config_set(cfg, (enum cfg_key)k, val, SRC_DHCP, &why) >= 0)
			continue;
bad:
		log_warn(STEP_DHCP, "option %s %s; ignored",
			 dhcp_option_name((uint8_t)code, name, sizeof(name)), why);
		problems++;
	}
	return problems;
}

int config_split_location(const char *loc, char *server, size_t server_size, char *path,
			  size_t path_size)
{
	const char *colon = strchr(loc, ':');
	size_t slen = colon ? (size_t)(colon - loc) : 0;
	const char *p = colon ? colon + 1 : loc;

	if (slen >= server_size || strlen(p) >= path_size || p[0] != '/')
		return -EINVAL;
	if (colon && slen == 0)
		return -EINVAL;
	memcpy(server, loc, slen);
	server[slen] = '\0';
	strcpy(path, p);
	return 0;
}

int config_format(const struct config *cfg, char *buf, size_t size)
{
	size_t used = 0;
	int k;

	for (k = 0; k < CFG_COUNT; k++) {
		int n;

		if (!config_isset(cfg, (enum cfg_key)k))
			continue;
		/* Values passed their validators: no quote can be inside. */
		n = snprintf(buf + used, size - used, "%s='%s'\n", cfg_keys[k].env, cfg->v[k].val);
		if (n < 0 || (size_t)n >= size - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	return (int)used;
}
