/* SPDX-License-Identifier: MIT */
/*
 * What every command that works on the cluster opens first: the definition
 * (-c FILE, $DIM_CLUSTER, else /etc/dim/cluster.xml) and the state
 * (--state FILE, $DIM_STATE, else /var/lib/dim/state.db), with the state laid
 * over the definition.
 */
#ifndef DIM_CONTEXT_H
#define DIM_CONTEXT_H

#include <getopt.h>
#include <stdbool.h>

#include "cluster.h"
#include "err.h"
#include "state.h"

#define DIM_DEFAULT_CLUSTER	"/etc/dim/cluster.xml"
#define DIM_DEFAULT_STATE	"/var/lib/dim/state.db"

struct dim_ctx {
	const char *cluster_path;	/* NULL: $DIM_CLUSTER, else the default */
	const char *state_path;		/* NULL: $DIM_STATE, else the default */
	struct cluster *cluster;
	struct dim_state *state;
	int state_warnings;		/* stale state entries state_apply() skipped */
};

/* getopt_long entries for the two common options; handle them with ctx_option(). */
#define DIM_CTX_OPTIONS \
	{ "cluster", required_argument, NULL, 'c' }, { "state", required_argument, NULL, 'S' }
#define DIM_CTX_USAGE \
	"  -c, --cluster FILE     the cluster definition [$DIM_CLUSTER, " DIM_DEFAULT_CLUSTER "]\n" \
	"      --state FILE       dim's state database [$DIM_STATE, " DIM_DEFAULT_STATE "]\n"

/* 1 if opt was one of the common options (and was taken), else 0. */
int ctx_option(struct dim_ctx *ctx, int opt, const char *arg);

/*
 * Load the definition, open the state (read-only unless write), apply it.
 * A missing state file is an empty state for readers.  0 or -errno + err.
 */
int ctx_open(struct dim_ctx *ctx, bool write, struct dim_err *err);
void ctx_close(struct dim_ctx *ctx);

#endif /* DIM_CONTEXT_H */
