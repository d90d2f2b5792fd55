/* SPDX-License-Identifier: MIT */
/*
 * TFTP on the image servers: where the boot files live, the name DHCP gives
 * for them, tftpd-hpa's configuration, and the publishing of boot files.
 *
 * An image server's TFTP root is STORAGE/tftp (cluster_tftp_dir()).  A blade
 * booting image IMAGE is told (DHCP file field, dim dhcp) to fetch
 * IMAGE/KERNEL from it, KERNEL being the image's kernel attribute: so every
 * image has its own directory STORAGE/tftp/IMAGE/, and dim buildzimage
 * --publish IMAGE puts the boot files there under those names.
 *
 * tftpd-hpa reads /etc/default/tftpd-hpa (a file of shell variables its init
 * script and systemd unit source); dim tftp install writes it from the
 * definition.  Every value is checked against a narrow set of characters so
 * that the file stays a plain list of double-quoted assignments that sh
 * reads as written.
 */
#ifndef DIM_TFTP_H
#define DIM_TFTP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "cluster.h"
#include "err.h"
#include "sync.h"

/* BOOTP's file field holds 128 bytes, NUL included (RFC 951). */
#define TFTP_BOOT_FILE_MAX	127
/* Debian's tftpd-hpa package reads this. */
#define TFTP_DEFAULTS_FILE	"/etc/default/tftpd-hpa"
/*
 * Chrooted into the root (--secure: a request cannot leave it), read-only
 * (no --create), blocks of at most one Ethernet frame (a larger block the
 * firmware asks for would be fragmented).
 */
#define TFTP_DEFAULT_OPTIONS	"--secure --blocksize=1468"
/* The script name whose kernel attribute makes an image an iPXE one. */
#define TFTP_IPXE_SUFFIX	".ipxe"

/* The kernel attribute names an iPXE script (it ends in ".ipxe"). */
bool tftp_kernel_is_ipxe(const char *kernel);

/*
 * The boot file of img relative to the TFTP root, "IMAGE/KERNEL", into buf.
 * -EINVAL (why: what is wrong) for a kernel attribute that is not a relative
 * path of plain components, -ENAMETOOLONG past TFTP_BOOT_FILE_MAX.
 */
int tftp_boot_file(const struct cl_image *img, char *buf, size_t size, const char **why);

/* ---------------------------------------------------------------- tftpd-hpa */

struct tftp_defaults {
	char username[33];
	char directory[PATH_MAX];
	char address[32];		/* "10.77.0.1:69" */
	char options[256];
};

/* "tftp" when such a user exists (Debian's tftpd-hpa makes it), else "nobody". */
const char *tftp_default_user(void);

/*
 * Server s's values: user (NULL: tftp_default_user()), the TFTP root, its
 * address on the boot network, options (NULL: TFTP_DEFAULT_OPTIONS).  A
 * value that could change what sh reads from the file is -EINVAL naming it.
 */
int tftp_defaults_make(const struct cluster *c, const struct cl_server *s, const char *user,
		       const char *options, struct tftp_defaults *d, struct dim_err *e);
/* The file's text, malloc'ed (deterministic: no time stamps). */
int tftp_defaults_text(const struct cluster *c, const struct cl_server *s,
		       const struct tftp_defaults *d, char **text, struct dim_err *e);

/*
 * Write text to path atomically (temporary name, fsync, rename), creating
 * the TFTP root d->directory (0755) first.  *unchanged: the file held text
 * already (it is left alone).
 */
int tftp_defaults_install(const char *path, const char *text, const struct tftp_defaults *d,
			  bool *unchanged, struct dim_err *e);

/* ---------------------------------------------------------------- publishing */

/* A boot file: src on this host, published as STORAGE/tftp/IMAGE/name. */
struct tftp_file {
	const char *src;	/* NULL: text is the content */
	const char *text;
	const char *name;	/* relative, plain components */
};

/*
 * A staging directory holding the files under their published names
 * (symbolic links to the sources, text files written out), for one rsync
 * to each server.  *dir is malloc'ed; tftp_stage_remove() deletes it.
 */
int tftp_stage(const struct tftp_file *files, size_t n, char **dir, struct dim_err *e);
void tftp_stage_remove(char *dir, const struct tftp_file *files, size_t n);

/*
 * rsync from the staging directory into server s's STORAGE/tftp/IMAGE/:
 * through s's sync= transport (ssh: ADDRESS:STORAGE/tftp/IMAGE/, rsyncd:
 * rsync://ADDRESS/dim/tftp/IMAGE/), or, local, straight into the directory
 * on this host.  rsync writes each file under a temporary name beside the
 * target, fsyncs it (--fsync) and renames it into place, so firmware never
 * fetches a half-written file; files become world-readable (tftpd drops
 * its privileges); nothing else in the directory is touched.
 */
int tftp_publish_argv(const struct cluster *c, const struct cl_server *s,
		      const struct cl_image *img, const char *stage, bool local, const char *rsh,
		      unsigned timeout_s, struct sync_argv *a, struct dim_err *e);

#endif /* DIM_TFTP_H */
