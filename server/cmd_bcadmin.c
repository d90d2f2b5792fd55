/* SPDX-License-Identifier: MIT */
/*
 * dim bcadmin: chassis-wide power and inventory.  A chassis has no "power
 * everything" object: every bay that holds a blade is worked on, in order,
 * power-on staggered (--stagger) so a chassis does not boot-storm its image
 * server.  The work is in power.c and its backends.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "context.h"
#include "power.h"

#define NAME "bcadmin"

static const char usage[] =
	"usage: dim bcadmin CHASSIS-RANGE power on|off|state [OPTIONS]\n"
	"       dim bcadmin CHASSIS-RANGE list|inventory [OPTIONS]\n"
	"\n"
	"Chassis-wide operations through the management modules (BladeCenter, SNMP;\n"
	"or the nodes' BMCs for chassis with IPMI credentials).  CHASSIS-RANGE names\n"
	"chassis: s01c1, s01c[1-4], mm1-mm8, s01 (its chassis), all.  Every bay that\n"
	"holds a blade is worked on, in bay order; empty bays are listed as such.\n"
	"Modules are worked on in parallel.\n"
	"\n"
	"  power on     power every blade on, --stagger apart within a chassis\n"
	"  power off    power every blade off\n"
	"  power state  every blade's power state\n"
	"  list         each bay: the blade's power, type, serial, name, health\n"
	"  inventory    the chassis' VPD and installed bays, then each blade's\n"
	"\n"
	"  -s, --stagger MS       power on: pause between two bays [2000]\n"
	"  -j, --parallel N       management modules at once [32]\n"
	"  -t, --timeout MS       per try of a request [the credentials', else 1000]\n"
	"  -r, --retries N        tries after the first [the credentials', else 1]\n"
	"  -q, --quiet            only failures and the summary\n"
	DIM_CTX_USAGE
	"  -h, --help             this text\n"
	"\n"
	"Exit status: 0 done, 1 anything failed, 2 usage error.\n";

static const struct option options[] = {
	{ "stagger", required_argument, NULL, 's' },
	{ "parallel", required_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, 't' },
	{ "retries", required_argument, NULL, 'r' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	DIM_CTX_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

/* The words after CHASSIS-RANGE and the operation they mean. */
static const struct {
	const char *w1, *w2;
	enum power_op op;
} verbs[] = {
	{ "power", "on", POWER_ON },
	{ "power", "off", POWER_OFF },
	{ "power", "state", POWER_STATE },
	{ "power", "list", POWER_LIST },
	{ "power", "inventory", POWER_INVENTORY },
	{ "list", NULL, POWER_LIST },
	{ "inventory", NULL, POWER_INVENTORY },
	{ "state", NULL, POWER_STATE },
};

#define usage_error(...) cmd_usage_error(NAME, __VA_ARGS__)


/* Results come per chassis; kept in arrival order, printed grouped by chassis. */
struct collect {
	const struct cluster *c;
	struct power_result *r;
	unsigned n, size;
	unsigned blades, failed, empty;
};

static int collect_one(const struct power_result *r, void *arg)
{
	struct collect *k = arg;

	if (k->n == k->size) {
		unsigned size = k->size ? 2 * k->size : 64;
		struct power_result *nr = realloc(k->r, size * sizeof(*nr));

		if (!nr)
			return 1;
		k->r = nr;
		k->size = size;
	}
	k->r[k->n++] = *r;
	if (r->rc < 0)
		k->failed++;
	if (r->blade != CL_NONE)
		k->blades += !r->empty;
	if (r->empty)
		k->empty++;
	return 0;
}

static int cmp_result(const void *x, const void *y)
{
	const struct power_result *a = x, *b = y;

	if (a->chassis != b->chassis)
		return a->chassis < b->chassis ? -1 : 1;
	return a->bay < b->bay ? -1 : a->bay > b->bay;
}

static void print_results(struct collect *k, bool quiet)
{
	unsigned i;

	qsort(k->r, k->n, sizeof(*k->r), cmp_result);
	for (i = 0; i < k->n; i++) {
		const struct power_result *r = &k->r[i];
		const struct cl_chassis *ch = &k->c->chassis[r->chassis];

		if (quiet && r->rc >= 0)
			continue;
		if (r->blade == CL_NONE)
			printf("%s: %s%s\n", ch->name, r->rc < 0 ? "failed: " : "", r->text);
		else
			printf("%s bay %u %s: %s%s\n", ch->name, r->bay, k->c->blades[r->blade].name,
			       r->rc < 0 ? "failed: " : "", r->text);
	}
}

static int bcadmin_run(int argc, char **argv)
{
	struct power_job job = { .opts = { .retries = -1, .stagger_ms = POWER_STAGGER_MS,
					   .cycle_ms = POWER_CYCLE_MS } };
	struct cl_selection sel = { 0 };
	struct dim_ctx ctx = { 0 };
	struct dim_err err = { 0 };
	struct collect k = { 0 };
	struct timespec t0, t1;
	bool quiet = false;
	unsigned u, i, words;
	int opt, rc;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:s:j:t:r:qh", options, NULL)) != -1) {
		if (ctx_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case 's':
			if (!cmd_uint(optarg, 0, 600000, &job.opts.stagger_ms))
				return usage_error("--stagger wants milliseconds, 0 to 600000");
			break;
		case 'j':
			if (!cmd_uint(optarg, 1, POWER_MAX_PARALLEL, &job.opts.parallel))
				return usage_error("--parallel wants 1 to %d", POWER_MAX_PARALLEL);
			break;
		case 't':
			if (!cmd_uint(optarg, 1, POWER_MAX_TIMEOUT_MS, &job.opts.timeout_ms))
				return usage_error("--timeout wants milliseconds, 1 to %d",
						   POWER_MAX_TIMEOUT_MS);
			break;
		case 'r':
			if (!cmd_uint(optarg, 0, POWER_MAX_RETRIES, &u))
				return usage_error("--retries wants 0 to %d", POWER_MAX_RETRIES);
			job.opts.retries = (int)u;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cmd_usage(&cmd_bcadmin, 0);
		case ':':
			return usage_error("%s wants an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	words = (unsigned)(argc - optind);
	if (words < 2 || words > 3)
		return usage_error("wants CHASSIS-RANGE and power on|off|state, list or inventory");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].w1, argv[optind + 1]) &&
		    (verbs[i].w2 ? words == 3 && !strcmp(verbs[i].w2, argv[optind + 2]) : words == 2))
			break;
	if (i == sizeof(verbs) / sizeof(verbs[0]))
		return usage_error("unknown operation \"%s%s%s\" (power on|off|state, list, inventory)",
				   argv[optind + 1], words == 3 ? " " : "",
				   words == 3 ? argv[optind + 2] : "");
	job.op = verbs[i].op;
	job.whole_chassis = true;

	rc = ctx_open(&ctx, false, &err);
	if (rc < 0)
		return cmd_error(NAME, "%s", err.msg);
	rc = cluster_select_chassis(ctx.cluster, argv[optind], &sel, &err);
	if (rc < 0)
		goto err_msg;
	job.sel = &sel;
	k.c = ctx.cluster;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = power_run(ctx.cluster, &job, collect_one, &k, &err);
	if (rc < 0)
		goto err_msg;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_results(&k, quiet);
	printf("%u chassis, %u blade%s, %u empty bay%s: %u failed (%.2f s)\n", sel.count, k.blades,
	       k.blades == 1 ? "" : "s", k.empty, k.empty == 1 ? "" : "s", k.failed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(k.r);
	cl_selection_free(&sel);
	ctx_close(&ctx);
	return k.failed ? 1 : 0;

err_msg:
	free(k.r);
	cl_selection_free(&sel);
	ctx_close(&ctx);
	return cmd_error(NAME, "%s", err.msg);
}

const struct dim_cmd cmd_bcadmin = {
	.name = "bcadmin",
	.summary = "chassis-wide power and inventory, power-on staggered",
	.usage = usage,
	.run = bcadmin_run,
};
