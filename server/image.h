/* SPDX-License-Identifier: MIT */
/*
 * dim image on an image server: from the server's master copy
 * (STORAGE/images/IMAGE/master, put there by dim sync_server) the RO tree
 * and, for every selected blade of the server that boots the image, its RW
 * image: ext4, sparse, rw-size bytes, made by mke2fs -d from a staging tree
 * (no root needed, no loop device) of the master's RW part with the blade's
 * own /etc/hostname and /etc/hosts.  Each rw.img is built under a temporary
 * name, synced and renamed; an existing one (a blade's data) is kept unless
 * recreate says otherwise.
 */
#ifndef DIM_IMAGE_H
#define DIM_IMAGE_H

#include <stdbool.h>

#include "cluster.h"
#include "err.h"
#include "sync_fanout.h"
#include "sync_tree.h"

struct image_opts {
	bool recreate;		/* replace existing RW images */
	unsigned jobs;		/* mke2fs at once [2] */
	const char *mke2fs;	/* [mke2fs] */
	fan_progress_fn progress;
	void *arg;
};

enum image_blade_state { IMG_SKIPPED, IMG_CREATED, IMG_KEPT, IMG_FAILED };

struct image_blade {
	unsigned blade;			/* index in c->blades */
	enum image_blade_state state;
	char why[256];
};

struct image_result {
	struct tree_stats ro;
	struct image_blade *blades;	/* one per blade considered (free()) */
	unsigned n_blades, created, kept, failed;
};

int image_build(const struct cluster *c, const struct cl_server *s, const struct cl_image *img,
		const struct cl_selection *sel, const struct image_opts *o, struct image_result *r,
		struct dim_err *e);

/* The blade's /etc/hosts: the master's, then the blade, its image server, the management node. */
int image_hosts(const struct cluster *c, const struct cl_blade *b, const char *master_hosts,
		char **out);

#endif /* DIM_IMAGE_H */
