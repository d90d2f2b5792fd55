/* SPDX-License-Identifier: MIT */
/*
 * dim: one binary, one subcommand per original DIM command.  Invoked as
 * "dim NAME ..." or through a dim_NAME alias (a symlink), as the original
 * commands were named.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define DIM_VERSION "0.1"

static const struct dim_cmd *const commands[] = {
	&cmd_bcadmin,
	&cmd_bctool,
	&cmd_buildzimage,
	&cmd_dhcp,
	&cmd_list,
	&cmd_nfs,
	&cmd_image,
	&cmd_sync_master,
	&cmd_sync_server,
	&cmd_sync_image,
	&cmd_tftp,
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: dim COMMAND [ARGS...]   (or dim_COMMAND [ARGS...])\n\n"
		     "Distributed Image Management for diskless Linux clusters.\n\n"
		     "commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\n\"dim COMMAND --help\" describes a command; man dim(8), dim-linuxrc(7).\n");
}

static int run(const char *name, int argc, char **argv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i]->run(argc, argv);
	fprintf(stderr, "dim: unknown command \"%s\" (dim --help lists them)\n", name);
	return 2;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	base = base ? base + 1 : argv[0];
	/* dim_dhcp ... is dim dhcp ... */
	if (!strncmp(base, "dim_", 4) && base[4])
		return run(base + 4, argc, argv);

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("dim %s\n", DIM_VERSION);
		return 0;
	}
	return run(argv[1], argc - 1, argv + 1);
}
