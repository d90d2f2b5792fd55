/* SPDX-License-Identifier: MIT */
/*
 * The linuxrc's settings: one table of keys (config.c), each with its kernel
 * command line name, its DHCP option, its default and its validator.
 * Precedence: default < DHCP < kernel command line (the boot contract).
 */
#ifndef DIM_CONFIG_H
#define DIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct dhcp_lease;

enum cfg_key {
	CFG_IFACE,
	CFG_BOOTIF,	/* pxelinux's BOOTIF=01-aa-bb-..: the boot NIC's MAC */
	CFG_SERVER,
	CFG_SERVERS,
	CFG_RO,
	CFG_RW,
	CFG_RWIMG,
	CFG_MODE,
	CFG_NFS,
	CFG_RODIRS,
	CFG_TIMEOUT,
	CFG_INIT,
	CFG_RESCUE,
	CFG_DEBUG,
	CFG_COUNT
};

enum cfg_src { SRC_NONE, SRC_DEFAULT, SRC_DHCP, SRC_CMDLINE };

#define CFG_VALUE_MAX 256

struct config {
	struct {
		char val[CFG_VALUE_MAX];
		enum cfg_src src;
	} v[CFG_COUNT];
};

struct cfg_key_info {
	const char *key;	/* kernel command line: "dim.ro" */
	const char *env;	/* /run/dim/boot.conf: "DIM_RO" */
	int dhcp;		/* DHCP option code, 0 if none */
	const char *def;	/* built-in default, NULL if none */
	const char *help;	/* for the man page and dim-linuxrc --help */
	/* 0 if val is acceptable, else -EINVAL and a reason in why */
	int (*check)(const char *val, const char **why);
};

extern const struct cfg_key_info cfg_keys[CFG_COUNT];

/* Fill in the built-in defaults. */
void config_init(struct config *cfg);

/*
 * Set key to val from src unless a source of higher precedence already set
 * it.  Returns 1 if set, 0 if overridden by a stronger source, -EINVAL (with
 * *why) if val is not acceptable; then the old value stays.
 */
int config_set(struct config *cfg, enum cfg_key key, const char *val, enum cfg_src src,
	       const char **why);

const char *config_get(const struct config *cfg, enum cfg_key key);
bool config_isset(const struct config *cfg, enum cfg_key key);
/* Numeric value of a validated numeric key. */
long config_num(const struct config *cfg, enum cfg_key key);

/*
 * Parse a kernel command line (the text of /proc/cmdline).  dim.* keys and
 * BOOTIF are taken; other parameters are none of the linuxrc's business.
 * Bad or unknown dim.* keys are reported (step "cmdline") and skipped.
 * Returns the number of problems reported.
 */
int config_parse_cmdline(struct config *cfg, const char *cmdline);

/*
 * Take the DHCP options of the boot contract from a lease (root-path, the DIM
 * site-local options) where the command line did not set them.  Bad values
 * are reported (step "dhcp") and skipped.  Returns the number of problems.
 */
int config_merge_dhcp(struct config *cfg, const struct dhcp_lease *lease);

/*
 * Split an NFS location "server:/path" or "/path" into its parts.  When it
 * names no server, *server is "".  0 or -EINVAL.
 */
int config_split_location(const char *loc, char *server, size_t server_size, char *path,
			  size_t path_size);

/* Write KEY='value' lines of every set key to buf.  Returns the length or -ENOSPC. */
int config_format(const struct config *cfg, char *buf, size_t size);

/* Validators, shared with the tests. */
int cfg_check_ipv4(const char *val, const char **why);
int cfg_check_hostname(const char *val, const char **why);

#endif /* DIM_CONFIG_H */
