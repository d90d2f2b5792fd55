/* SPDX-License-Identifier: MIT */
/*
 * dim nfs: the exports of each image server, for the kernel NFS server (an
 * exports(5) file in /etc/exports.d, applied with exportfs -ra) or for
 * nfs-ganesha (a configuration include of EXPORT blocks, applied with
 * SIGHUP), and a check of those exports as an NFS client (libnfs), from the
 * management node.  dim(8), section "dim nfs", is the user's description.
 *
 * What an image server exports:
 *  - the RO tree of each image some blade of the server boots,
 *    STORAGE/images/IMAGE/ro: read-only to the server's boot network and to
 *    the management node.  Without root squashing unless asked (ro_squash):
 *    squashing makes every root-only file of the image (/root 0700 in overlay
 *    mode, setuid helpers of mode 4754 in /usr) unreadable to the blade's own
 *    root, and the export is read-only, so it protects nothing the image's
 *    root may not read anyway (qemu/README.md has the measurement).
 *  - each blade's RW directory, STORAGE/images/IMAGE/blades/BLADE, for the
 *    image the blade boots: read-write without root squashing to the blade's
 *    address only (its root owns its files), and read-only WITH root
 *    squashing to the management node, so "dim nfs check" can see the
 *    blade's image file and its size but can neither change it nor read
 *    root-only files.
 *
 * Export ids.  Clients hold file handles that carry the export's id
 * (ganesha's Export_Id; the kernel's fsid=), so a running blade gets ESTALE
 * when its export's id changes.  Ids are therefore a function of what is
 * exported, never of its place in the file:
 *
 *	id = image << 10 | position
 *
 * image: 1 + the image's index in the definition (1..63); position: 0 for
 * the image's RO tree, else 1 + the blade's index among its server's blades,
 * empty bays counted (1..1023).  The largest id, 65535, fits ganesha's 16-bit
 * Export_Id; the kernel takes the same number.  Ids stay as they are when
 * images or bays are appended to the definition; removing or reordering
 * images renumbers the later ones (reboot their blades, or keep the order).
 */
#ifndef DIM_NFS_H
#define DIM_NFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "err.h"

#define NFS_ID_POS_BITS		10
#define NFS_MAX_IMAGES		63	/* (65535 >> NFS_ID_POS_BITS) */
#define NFS_MAX_POSITIONS	1023	/* blades per image server */
#define NFS_PATH_MAX		512

enum nfs_backend {
	NFS_BACKEND_KERNEL,	/* /etc/exports.d/dim.exports, exportfs -ra */
	NFS_BACKEND_GANESHA,	/* /etc/ganesha/dim-exports.conf, SIGHUP */
};

/* "kernel" / "ganesha" (also what <imageserver nfs="..."> says); 0 or -EINVAL. */
int nfs_backend_parse(const char *name, enum nfs_backend *b);
const char *nfs_backend_name(enum nfs_backend b);
/* Where dim installs the exports of a backend by default. */
const char *nfs_backend_default_file(enum nfs_backend b);

struct nfs_export {
	uint32_t id;			/* Export_Id / fsid, see above */
	const struct cl_image *image;
	const struct cl_blade *blade;	/* NULL: the image's RO tree */
	char path[NFS_PATH_MAX];
	unsigned line;			/* its first line in the text nfs_render() made */
};

/* The exports of one image server, sorted by id. */
struct nfs_plan {
	const struct cluster *c;
	const struct cl_server *server;
	struct nfs_export *ex;
	unsigned n;
};

/*
 * Work out the exports of server s.  Refuses (-EINVAL, naming the server,
 * blade or image and the field) what would not survive the trip into an
 * exports file or a ganesha block: paths that are not absolute, hold
 * characters other than A-Z a-z 0-9 _ . + - /, or "." / ".." components; a
 * boot network prefix over 32; a blade with the management node's address;
 * an image or blade position too large for an id.
 */
int nfs_plan(const struct cluster *c, const struct cl_server *s, struct nfs_plan *p,
	     struct dim_err *err);
void nfs_plan_free(struct nfs_plan *p);
/* Drop the exports for which keep() says false (directories not there yet). */
void nfs_plan_filter(struct nfs_plan *p, bool (*keep)(const struct nfs_export *, void *),
		     void *arg);
/* The export whose text holds line (1-based), NULL if none (the header). */
const struct nfs_export *nfs_plan_at_line(const struct nfs_plan *p, unsigned line);
/* The export of that path, NULL if none. */
const struct nfs_export *nfs_plan_find(const struct nfs_plan *p, const char *path);
/* "blade s01c1b01 (RW directory)", "image master (RO tree)": for messages. */
void nfs_export_describe(const struct nfs_export *e, char *buf, size_t size);

/* A growing text; rc sticks at the first -ENOMEM. */
struct nfs_text {
	char *buf;
	size_t len, cap;
	int rc;
};
void nfs_text_free(struct nfs_text *t);

struct nfs_opts {
	enum nfs_backend backend;
	bool ro_squash;		/* root_squash on the RO trees */
};

/* The exports file (kernel) or include (ganesha) of a plan; sets each export's line. */
int nfs_render(struct nfs_plan *p, const struct nfs_opts *o, struct nfs_text *t,
	       struct dim_err *err);
/*
 * A main ganesha.conf for an image server that includes the exports file:
 * the NFSv4 numeric owners blades need (without them every owner is nobody)
 * and the core parameters; dim writes it for the admin to start from.
 */
int nfs_render_ganesha_main(const char *include, struct nfs_text *t, struct dim_err *err);

/* "64M", "1G", "1536K", "1000": the exact binary unit, else bytes. */
void nfs_size_str(uint64_t bytes, char *buf, size_t size);

/* ---------------------------------------------------------------- files (nfs_apply.c) */

/*
 * Many files written atomically at the cost of two syncs, not two per file:
 * each is written to a temporary name beside it, then commit syncs the file
 * system once, renames them all and syncs again.  A crash leaves every file
 * either old or new, as atomic_commit() would; 179 image servers' files
 * took 2.7 s one fsync at a time here, 0.1 s in a batch.
 */
struct nfs_batch {
	struct nfs_batch_file {
		char *path, *tmp;
	} *f;
	unsigned n, cap;
};

int nfs_batch_add(struct nfs_batch *b, const char *path, const void *data, size_t len,
		  struct dim_err *err);
/* 0, or -errno with nothing renamed (then every temporary file is gone). */
int nfs_batch_commit(struct nfs_batch *b, struct dim_err *err);
void nfs_batch_abort(struct nfs_batch *b);

/* ---------------------------------------------------------------- install (nfs_apply.c) */

struct nfs_install_opts {
	enum nfs_backend backend;
	bool ro_squash;
	const char *file;		/* the live file; NULL: the backend's default */
	bool no_check;			/* skip the server's own check */
	bool no_reload;
	bool keep_missing;		/* also export directories that do not exist */
	const char *pid_file;		/* ganesha's (SIGHUP); NULL: /run/ganesha/ganesha.pid */
	const char *ganesha_main;	/* looked at for numeric owners and the include */
	unsigned timeout_ms;		/* for the check server; 0: 20 s */
	/* Notes for the user (a directory left out, a warning); may be NULL. */
	void (*note)(void *arg, const char *msg);
	void *note_arg;
};

struct nfs_install_result {
	unsigned n_ro, n_rw;		/* exports written */
	unsigned n_missing;		/* left out: directory not there */
	bool unchanged;			/* the live file already said this; nothing done */
	char check[128];		/* what checked it ("" if nothing did) */
	char reload[128];		/* what was told to reload ("" if nothing) */
};

/*
 * On the image server: plan the exports of s, leave out those whose
 * directory does not exist (each named in a note) unless keep_missing,
 * write them next to the live file, have the real server check them
 * (exportfs -ra, or a throwaway ganesha.nfsd, each in private mount and
 * network namespaces so the running server sees nothing), rename into place
 * and reload.  On any error before the rename the live file is untouched.
 */
int nfs_install(const struct cluster *c, const struct cl_server *s,
		const struct nfs_install_opts *o, struct nfs_install_result *r,
		struct dim_err *err);

/* The checks alone, on a file already written (tests, "dim nfs install --dry-run"). */
int nfs_check_file(enum nfs_backend b, const char *file, const struct nfs_plan *p,
		   unsigned timeout_ms, struct dim_err *err);

/* ---------------------------------------------------------------- check (nfs_check.c) */

struct nfs_check_opts {
	unsigned timeout_ms;	/* per mount attempt and per step; 0: 5 s */
	unsigned jobs;		/* NFS connections at once; 0: 32 */
	int version;		/* 0: as the image says (auto: 4, then 3); 3 or 4 */
	const char *init;	/* NULL: /sbin/init */
};

enum nfs_check_status {
	NFS_CHECK_UNSELECTED,
	NFS_CHECK_OK,
	NFS_CHECK_FAILED,
	NFS_CHECK_SKIPPED,	/* no image assigned: nothing is exported for it */
};

struct nfs_check_blade {
	enum nfs_check_status status;
	char text[640];		/* "ro 10.77.0.1:/.../ro (NFS 4), rw rw.img 64M", or what failed */
};

struct nfs_check_report {
	struct nfs_check_blade *b;	/* one per blade of the cluster, by index */
	unsigned n_ok, n_failed, n_skipped;
	unsigned mounts;		/* mount attempts made */
	double seconds;
};

/*
 * For each selected blade: its image's RO tree holds an executable init
 * (symbolic links followed inside the export, absolute ones from its root)
 * and its RW directory holds rw.img of the image's rw-size.  Each RO tree
 * is mounted once per image server, each RW directory once; servers are
 * checked in parallel, every wait is bounded.  0 (look at the report) or
 * -errno for a failure of the check itself.
 */
int nfs_check(const struct cluster *c, const struct cl_selection *sel,
	      const struct nfs_check_opts *o, struct nfs_check_report *r, struct dim_err *err);
void nfs_check_report_free(struct nfs_check_report *r);

#endif /* DIM_NFS_H */
