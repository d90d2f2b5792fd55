/* SPDX-License-Identifier: MIT */
/*
 * dim dhcp: each image server's DHCP configuration, from the cluster model
 * (the definition with dim's state laid over it).
 *
 * dhcp_gen.c holds the generators: pure functions from the model to text, one
 * backend per DHCP server in one table (ISC dhcpd, Kea, dnsmasq).  Every value
 * that goes into a file is checked first, twice: against the characters that
 * could break the file's syntax (quotes, backslashes, control characters,
 * ';', '{', '}', '#' ...), and against the validators the blade's linuxrc
 * applies to the same option (linuxrc/config.c), so a value the blade would
 * refuse is refused here, naming the blade and the field.
 *
 * dhcp_apply.c (dhcp_apply.h) writes the files next to their targets under
 * temporary names, runs the daemon's own check on them (dhcpd -t, kea-dhcp4
 * -t, dnsmasq --test) as the daemon would read them, and only then renames
 * them into place; then it tells the daemon to reload.
 *
 * The boot contract's options are linuxrc/contract.h's; dim-linuxrc(7)
 * describes them for administrators.
 */
#ifndef DIM_DHCP_GEN_H
#define DIM_DHCP_GEN_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster.h"
#include "err.h"
#include "tftp.h"

/* Where an image server keeps the files (the daemon's main config includes them). */
#define DHCP_LIVE_DIR		"/etc/dim/dhcp"
/* The management node's set: one directory per image server, DIR/SERVER/. */
#define DHCP_OUT_DIR		"/var/lib/dim/dhcp"
/* The linuxrc keeps option values in CFG_VALUE_MAX bytes (linuxrc/config.h). */
#define DHCP_VALUE_MAX		256

/* Text that grows; after a failed append rc is -ENOMEM and every later append is ignored. */
struct dhcp_buf {
	char *data;
	size_t len, size;
	int rc;
};

__attribute__((format(printf, 2, 3)))
void dhcp_buf_printf(struct dhcp_buf *b, const char *fmt, ...);
void dhcp_buf_puts(struct dhcp_buf *b, const char *s);
void dhcp_buf_putn(struct dhcp_buf *b, const char *s, size_t n);
void dhcp_buf_free(struct dhcp_buf *b);

/* One blade's host entry: every value computed from the model and checked. */
struct dhcp_host {
	const struct cl_blade *blade;
	const struct cl_image *image;
	const struct cl_server *server;
	char mac[18];			/* "52:54:00:00:01:01" */
	char addr[16];			/* its fixed address */
	char server_addr[16];		/* next-server, routers, the NFS server */
	char root_path[DHCP_VALUE_MAX];	/* option 17: SERVER:STORAGE/images/IMAGE/ro */
	char rw[DHCP_VALUE_MAX];	/* option 224: SERVER:STORAGE/images/IMAGE/blades/BLADE */
	char rodirs[DHCP_VALUE_MAX];	/* option 229: the image's shared dirs, "" if none */
	const char *rwimg;		/* option 227; NULL: the contract's default, not sent */
	/* The file field: IMAGE/KERNEL, relative to the image server's TFTP root (tftp.h) */
	char boot_file[TFTP_BOOT_FILE_MAX + 1];
	/* The boot file is an iPXE script: tell iPXE not to wait for ProxyDHCP offers */
	bool ipxe;
};

struct dhcp_gen;

/* A DHCP server dim writes configuration for: one file its main configuration includes. */
struct dhcp_backend {
	const char *name;		/* "isc", "kea", "dnsmasq": the definition's dhcp="..." */
	const char *daemon;		/* the program, for messages and pid files: "dhcpd" */
	const char *file;		/* its name: "dim-dhcpd.conf" */
	const char *include[2];		/* the main config's line: [0] the file's live path [1] */
	/* The check: argv with "%s" where the wrapper's path goes. */
	const char *check_argv[6];
	/* A main config holding nothing but the include of the file: [0] path [1]. */
	const char *wrapper[2];
	/* Check output lines containing one of these are noise (banners, info logs). */
	const char *const *noise;
	bool hup_reloads;		/* SIGHUP makes it read the files again (else: restart) */
	bool control_socket;		/* Kea: "config-reload" over its control socket */

	/* The generator, called in this order; each appends to g's buffers. */
	void (*begin)(struct dhcp_gen *g);
	void (*image)(struct dhcp_gen *g, const struct dhcp_host *h);	/* first host of an image */
	void (*host)(struct dhcp_gen *g, const struct dhcp_host *h);
	void (*end)(struct dhcp_gen *g);
};

extern const struct dhcp_backend dhcp_backends[];
extern const unsigned dhcp_n_backends;

/* By name; NULL if none. */
const struct dhcp_backend *dhcp_backend_find(const char *name);
/* The backend the definition gives an image server; NULL + err if unknown. */
const struct dhcp_backend *dhcp_backend_of(const struct cluster *c, const struct cl_server *s,
					   struct dim_err *err);

/* The generator's state, shared by a backend's functions. */
struct dhcp_gen {
	const struct cluster *c;
	const struct cl_server *s;
	const struct dhcp_backend *b;
	const char *live_dir;		/* where the file lives on the image server */
	char server_addr[16], net[16], mask[16];
	bool ipxe;			/* some host boots an iPXE script: declare its options */
	struct dhcp_buf out;
	unsigned n_hosts;
};

/* A generated configuration of one image server. */
struct dhcp_conf {
	const struct dhcp_backend *backend;
	const struct cl_server *server;
	struct dhcp_buf text;
	unsigned n_hosts;
	unsigned *no_mac, n_no_mac;		/* blades left out: no MAC known (blade indices) */
	unsigned *no_image, n_no_image;		/* ... no image assigned */
};

/*
 * Compute and check blade b's host entry.  An absent bay, a blade without a
 * MAC or without an image is -ENODATA (no message: the caller reports those
 * together); a value that cannot go into a configuration is -EINVAL with a
 * message naming the blade and the field.
 */
int dhcp_host_make(const struct cluster *c, const struct cl_blade *b, struct dhcp_host *h,
		   struct dim_err *err);

/*
 * Image server s's configuration for backend b (NULL: the definition's).
 * live_dir (absolute) is where the file will live on the image server (its
 * comment shows the include line).  0, or -errno + err (nothing generated).
 */
int dhcp_generate(const struct cluster *c, const struct cl_server *s,
		  const struct dhcp_backend *b, const char *live_dir, struct dhcp_conf *conf,
		  struct dim_err *err);
void dhcp_conf_free(struct dhcp_conf *conf);

/*
 * What blade b gets from backend b (NULL: its server's), as the file holds
 * it: the host entry and, for dnsmasq, its image's and its own option lines.
 */
int dhcp_show(const struct cluster *c, const struct cl_blade *blade,
	      const struct dhcp_backend *b, struct dhcp_buf *out, struct dim_err *err);

/*
 * Blade indices as names with runs folded: "s01c1b01-s01c1b04, s02c1b02".
 * Cut with ", ..." (and how many more) when it does not fit.
 */
void dhcp_blade_list(const struct cluster *c, const unsigned *idx, unsigned n, char *buf,
		     size_t size);

#endif /* DIM_DHCP_GEN_H */
