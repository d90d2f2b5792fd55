/* SPDX-License-Identifier: MIT */
/*
 * dim list [RANGE] [--chassis] [--json]: the blades (or chassis) a node range
 * selects, with what the definition and the state say about them.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "context.h"
#include "list.h"

#define NAME "list"

static const char usage[] =
	"usage: dim list [RANGE] [--chassis] [--json] [-c FILE] [--state FILE]\n"
	"\n"
	"List the blades a node range selects, in hierarchical order, one per line:\n"
	"name, linear name, address, MAC, image server and image (\"-\" where the\n"
	"definition and the state give none).  Without RANGE, every blade.\n"
	"\n"
	"  RANGE                  s01c1b01-s01c1b14, b1-b28, s[01-42]c[1-4]b[01-14],\n"
	"                         s01 (an image server), s01c2 or mm5 (a chassis), all,\n"
	"                         comma lists of these; see dim-cluster(5)\n"
	"      --chassis          list chassis instead: name, linear name, management\n"
	"                         module, its address, image server\n"
	"  -j, --json             a JSON array of objects with the same fields (null for \"-\")\n"
	DIM_CTX_USAGE
	"  -h, --help             this text\n"
	"\n"
	"Exit status: 0 listed, 1 failed (bad definition, range or state), 2 usage error.\n";

static const struct option options[] = {
	{ "chassis", no_argument, NULL, 'C' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	DIM_CTX_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

#define usage_error(...) cmd_usage_error(NAME, __VA_ARGS__)

static int list_run(int argc, char **argv)
{
	struct dim_ctx ctx = { 0 };
	struct cl_selection sel;
	struct dim_err err = { 0 };
	const char *range = "all";
	bool chassis = false, json = false;
	int opt, rc;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:jh", options, NULL)) != -1) {
		if (ctx_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case 'C':
			chassis = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return usage_error("%s needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option -%c", optopt);
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind + 1 < argc)
		return usage_error("one RANGE at most (a comma list is one RANGE: b1,b5)");
	if (optind < argc)
		range = argv[optind];

	rc = ctx_open(&ctx, false, &err);
	if (rc < 0)
		return cmd_error(NAME, "%s", err.msg);
	if (ctx.state_warnings > 0)
		fprintf(stderr, "dim " NAME ": warning: %s\n", err.msg);
	rc = chassis ? cluster_select_chassis(ctx.cluster, range, &sel, &err) :
		       cluster_select_blades(ctx.cluster, range, &sel, &err);
	if (rc < 0) {
		ctx_close(&ctx);
		return cmd_error(NAME, "%s", err.msg);
	}
	rc = chassis ? list_chassis(stdout, ctx.cluster, &sel, json) :
		       list_blades(stdout, ctx.cluster, &sel, json);
	cl_selection_free(&sel);
	ctx_close(&ctx);
	if (rc < 0 || fflush(stdout) != 0)
		return cmd_error(NAME, "writing the list failed");
	return 0;
}

const struct dim_cmd cmd_list = {
	.name = NAME,
	.summary = "list blades with their names, addresses, MACs, servers and images",
	.usage = usage,
	.run = list_run,
};
