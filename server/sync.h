/* SPDX-License-Identifier: MIT */
/*
 * The update hierarchy (dim sync_master, sync_server, sync_image, image):
 *
 *   master blade --rsync--> MGMT/masters/IMAGE                 (management node)
 *                --rsync--> STORAGE/images/IMAGE/master         (each image server)
 *                --mirror-> STORAGE/images/IMAGE/ro             (the blades' RO tree, live)
 *                --stage--> STORAGE/images/IMAGE/blades/B/pending (RW part, next boot)
 *
 * MGMT is <management storage=...>, STORAGE each server's storage.  rsync
 * writes every file under a temporary name and renames it; with
 * --delay-updates the renames of one run happen together at its end.  The
 * RO tree is hard-linked to the server's master copy entry by entry
 * (sync_tree.h), so it is never half-written and costs no extra disk.
 * STORAGE/images/IMAGE/rw.manifest lists what the blades' RW images were
 * last given; sync_image stages the difference.
 */
#ifndef DIM_SYNC_H
#define DIM_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster.h"
#include "err.h"
#include "sync_fanout.h"
#include "sync_tree.h"

#define SYNC_RSYNC_TIMEOUT	120	/* rsync --timeout: seconds without I/O */

/* A growing argv (NULL-terminated). */
struct sync_argv {
	char **v;
	size_t n, cap;
};
int sync_argv_add(struct sync_argv *a, const char *s);
__attribute__((format(printf, 2, 3)))
int sync_argv_addf(struct sync_argv *a, const char *fmt, ...);
/* Words of a command line split at blanks ("ssh -i key"); no quoting. */
int sync_argv_add_words(struct sync_argv *a, const char *words);
void sync_argv_free(struct sync_argv *a);

/*
 * A PATH argument: an absolute path inside the image ("/etc/ssh"), or
 * relative to its root; normalised to "etc/ssh" ("" for the whole tree).
 * Only letters, digits and ._+-@,=: (it travels on remote command lines);
 * no "." or ".." component.
 */
int sync_path_norm(const char *in, char *out, size_t size, struct dim_err *e);

/* The image to work on: by name, else the only image (or the only one with a master). */
int sync_pick_image(const struct cluster *c, const char *name, bool need_master, unsigned *out,
		    struct dim_err *e);

/* MGMT/masters/IMAGE, STORAGE/images/IMAGE/{master,ro,rw.manifest,.lock}. */
int sync_mgmt_master(const struct cluster *c, const struct cl_image *img, char *buf, size_t size);
int sync_image_dir(const struct cl_server *s, const struct cl_image *img, const char *what,
		   char *buf, size_t size);

struct sync_opts {
	const char *path;	/* normalised PATH, "" for all */
	const char *rsh;	/* ssh command for rsync -e and remote commands; NULL: ssh */
	unsigned timeout_s;	/* rsync --timeout [SYNC_RSYNC_TIMEOUT] */
	bool dry_run;		/* rsync -n */
	bool checksum;		/* rsync -c: compare contents, not size and time */
};

/* The rsync options every step uses: archive, hard links, sparse, numeric owners,
 * deletions after the transfer, --delay-updates, keep-out excluded. */
int sync_rsync_common(struct sync_argv *a, const struct cl_image *img, const struct sync_opts *o,
		      bool remote_shell);

/* rsync from the master blade (img->master) to MGMT/masters/IMAGE. */
int sync_master_argv(const struct cluster *c, const struct cl_image *img, const struct sync_opts *o,
		     struct sync_argv *a, struct dim_err *e);
/* rsync from MGMT/masters/IMAGE to server s's STORAGE/images/IMAGE/master. */
int sync_server_argv(const struct cluster *c, const struct cl_server *s, const struct cl_image *img,
		     const struct sync_opts *o, struct sync_argv *a, struct dim_err *e);
/* ssh to server s running "dim ARGS..." there (args: NULL-terminated). */
int sync_remote_argv(const struct cl_server *s, const char *rsh, const char *remote_dim,
		     const char *const *args, struct sync_argv *a, struct dim_err *e);

/* The filters of the steps inside an image server. */
void sync_filter_ro(const struct cl_image *img, const char *path, struct tree_filter *f);
/* The RW part as sync_image stages it: without keep-out, per-blade files,
 * /etc/hostname and /etc/hosts (dim image writes those per blade).
 * skip must have room for img->n_keep_out + img->n_per_blade + 2 entries. */
void sync_filter_rw(const struct cl_image *img, const char *path, char **skip,
		    struct tree_filter *f);

/* ---------------------------------------------------------------- on an image server */

struct sync_image_result {
	struct tree_stats ro;
	size_t changed, removed;	/* RW entries staged, removals staged */
	unsigned staged, skipped;	/* blades given a new pending/, blades without rw.img */
	bool overlay;
};

/*
 * dim sync_image: apply the server's master copy to the RO tree and stage
 * the RW part's changes for every selected blade of server s that boots img
 * and has an RW image.  Locked (STORAGE/images/IMAGE/.lock).
 */
int sync_image_apply(const struct cluster *c, const struct cl_server *s, const struct cl_image *img,
		     const struct cl_selection *sel, const char *path, struct sync_image_result *r,
		     struct dim_err *e);

/*
 * Stage for one blade: a new pending/ in rwdir holding the old one's
 * entries merged with the changes (copied from master, never linked: the
 * blade may write to its RW directory) and the removals.  Built under a
 * temporary name; *tmp gets it.  stage_commit() renames it into place.
 */
int stage_prepare(const char *rwdir, const char *master, const struct tree_diff *d, char **tmp,
		  struct dim_err *e);
int stage_commit(const char *rwdir, char *tmp, struct dim_err *e);
/*
 * The paths of a pending/.dim-remove, which lies in the blade's RW
 * directory and so may hold anything the blade wrote: absolute paths other
 * than "/", one a line, shorter than PATH_MAX and without NUL; other lines
 * are skipped.  *paths: malloc'd strings in a malloc'd array.  0 or -ENOMEM.
 */
int stage_removals_parse(const char *buf, size_t len, char ***paths, size_t *n);

/* ---------------------------------------------------------------- many servers at once */

/*
 * The servers to work on: those with a present blade that boots image img
 * and that range selects (NULL or "all": every such blade).  want[] has
 * c->n_servers entries; returns how many are wanted, or -errno.
 */
int sync_pick_servers(const struct cluster *c, unsigned img, const char *range, bool *want,
		      struct dim_err *e);

/* One program per server, at most parallel at once; done() hears of each as it ends. */
struct sync_server_job {
	const struct cl_server *s;
	struct sync_argv argv;
	struct fan_job job;
};
int sync_fan_servers(struct sync_server_job *jobs, size_t n, unsigned parallel, unsigned timeout_s,
		     fan_progress_fn progress, void *arg, struct dim_err *e);
void sync_server_jobs_free(struct sync_server_job *jobs, size_t n);

/* From rsync --stats output: files transferred and bytes of them; -1 if not found. */
void sync_rsync_stats(const char *out, long long *files, long long *bytes);

#endif /* DIM_SYNC_H */
