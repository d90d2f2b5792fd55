/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"

int ctx_option(struct dim_ctx *ctx, int opt, const char *arg)
{
	switch (opt) {
	case 'c':
		ctx->cluster_path = arg;
		return 1;
	case 'S':
		ctx->state_path = arg;
		return 1;
	}
	return 0;
}

static const char *pick(const char *given, const char *env, const char *def)
{
	const char *v;

	if (given)
		return given;
	v = getenv(env);
	return v && *v ? v : def;
}

int ctx_open(struct dim_ctx *ctx, bool write, struct dim_err *err)
{
	const char *cpath = pick(ctx->cluster_path, "DIM_CLUSTER", DIM_DEFAULT_CLUSTER);
	const char *spath = pick(ctx->state_path, "DIM_STATE", DIM_DEFAULT_STATE);
	int rc;

	ctx->cluster_path = cpath;
	ctx->state_path = spath;
	rc = cluster_load(cpath, &ctx->cluster, err);
	if (rc < 0)
		return rc;
	/* A reader needs no state yet: nothing has been learned or assigned. */
	if (!write && access(spath, F_OK) < 0 && errno == ENOENT)
		return 0;
	rc = state_open(spath, !write, &ctx->state, err);
	if (rc < 0)
		goto err_cluster;
	rc = state_apply(ctx->state, ctx->cluster, err);
	if (rc < 0)
		goto err_state;
	ctx->state_warnings = rc;
	return 0;

err_state:
	state_close(ctx->state);
	ctx->state = NULL;
err_cluster:
	cluster_free(ctx->cluster);
	ctx->cluster = NULL;
	return rc;
}

void ctx_close(struct dim_ctx *ctx)
{
	if (ctx->state)
		state_close(ctx->state);
	if (ctx->cluster)
		cluster_free(ctx->cluster);
	ctx->state = NULL;
	ctx->cluster = NULL;
}
